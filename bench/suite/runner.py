"""`python -m bench run`: the main job. Runs the suite, writes the JSON, then builds the report.

It is a thin wrapper over `pytest bench/test_suite.py --benchmark-json ...` (every suite option is
passed through unchanged), so the JSON is exactly what `pytest bench` writes. Defaults answer the
report's question on a laptop in minutes: costs measured here, accuracies taken from the report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent.parent / "test_suite.py"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m bench run",
        description=(
            "Run the efficiency suite and build the Pareto report. Other options are passed to "
            "pytest (suite options such as --variants, --accuracy, --profile, --dataset, "
            "--data-dir, --weights-dir, --model-cache, --device, --xla, --precision, "
            "--threads, --plugin; see "
            "`pytest bench --help`)."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--no-report", action="store_true", help="only write the JSON")
    return parser.parse_known_args(argv)


def main(argv: list[str]) -> int:
    args, passthrough = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "benchmark.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--benchmark-json={json_path}",
        *passthrough,
    ]
    print("running:", " ".join(command), flush=True)
    status = subprocess.call(command)
    if status not in (0, 1):  # 1: some variant failed, and its record says why; still report
        print(f"the suite did not run (pytest exit {status}); see the message above.")
        return status
    if not json_path.exists():
        print(f"the suite wrote no {json_path}; see the messages above.")
        return 2
    print(f"benchmark JSON: {json_path}")
    if args.no_report:
        return status
    from reports import build_report

    html = build_report([json_path], args.out / "report")
    print(f"report: {html}")
    return status
