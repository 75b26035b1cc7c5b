"""The regression gates: `python -m bench gate BASE CUR` and `python -m bench paired`.

Modules, one job each:

- `decision`: the rule both gates apply (threshold, interval, p-value, floor), the intervals
  and p-values they use, the verdicts and exit codes;
- `files`: reading benchmark files (raw and reference samples, entries) and comparing machines;
- `policy`: the two-file gate's settings, their command line and TOML/JSON policy files; the
  gated figures and scenarios, derived from `bench.metrics`;
- `rows`: the row types both gates fill and `table` prints (`Row`, `GateResult`, `PairedRow`);
- `table`: the tables both gates print (numbers through `bench.units`);
- `twofile`: two suite JSON files compared (`gate`, `main`);
- `paired`: the baseline's saved models timed against the current ones in one process
  (`decide`, `time_abba`, `main`).
"""
