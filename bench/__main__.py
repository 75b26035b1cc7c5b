"""`python -m bench run` (the main job), `python -m bench gate BASE CURRENT` (the CI gate) and
`python -m bench count` (costs on paper)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m bench {run,count,gate,paired,history} ...

  run     run the benchmark suite and build the report (python -m bench run --help)
  count   parameters, MACs and FLOPs of each model, in seconds, nothing timed or trained
          (python -m bench count --help)
  gate    compare two suite JSON files and fail on a regression (python -m bench gate --help)
  paired  time saved baseline models against the current ones in one process, interleaved
          (python -m bench paired --help)
  history the stored runs (run --save) and their trend page (python -m bench history --help);
          gate --against-history CUR.json gates against them
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        from bench.suite.orchestration.runner import main as run_main

        return run_main(rest)
    if command == "gate" and "--against-history" in rest:
        from bench.history.gate import main as history_gate_main

        return history_gate_main(rest)
    if command == "count":
        from bench.suite.presentation.count import main as count_main

        return count_main(rest)
    if command == "gate":
        from bench.gates.twofile import main as gate_main

        return gate_main(rest)
    if command == "history":
        from bench.history.cli import main as history_main

        return history_main(rest)
    if command == "paired":
        from bench.gates.paired import main as paired_main

        return paired_main(rest)
    print(
        f"unknown command {command!r}; choose 'run', 'count', 'gate', 'paired' or 'history'.\n\n"
        f"{USAGE}",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
