"""History across commits: a store of suite runs, a trend page per model, a gate against history.

- `store`: every saved run in pytest-benchmark's storage layout
  (`.benchmarks/<machine>/NNNN_<commit>_<time>.json`), keyed by machine and by the settings that
  make runs comparable, samples compressed and predictions by reference;
- `autosave`: `pytest bench --benchmark-autosave` (and `python -m bench run --save`) write into it;
- `series`: per model and cost, the figure of every comparable run in commit order, its interval,
  and the commits where a step is found;
- `gate`: `python -m bench gate --against-history CUR.json`, the current run against the last N
  comparable stored runs;
- `decide`: the one place this package reaches the pairwise decision code of the gates;
- `cli`: `python -m bench history {list,report}`.
"""
