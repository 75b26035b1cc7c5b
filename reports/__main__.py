"""`python -m reports FILE [FILE ...] --out DIR`: build the Pareto report from suite JSON files.

Exit 0 with the HTML path on stdout; exit 2 with one sentence on stderr (no traceback) when the
input is unusable (not a suite JSON, no `variants` section, empty, mixed devices) or the output
directory cannot be written. `tests/test_reports.py` runs it on good and garbage input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.contract import ContractError


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the report, map user errors to exit 2."""
    parser = argparse.ArgumentParser(
        prog="python -m reports",
        description="Build the accuracy-against-cost (Pareto) report from suite JSON files.",
    )
    parser.add_argument("files", nargs="+", type=Path, help="suite JSON files (seeds: several)")
    parser.add_argument("--out", required=True, type=Path, help="report directory to write")
    parser.add_argument(
        "--allow-mixed",
        action="store_true",
        help="pool files that differ in profile, test-set size, accuracy source, precision, XLA, "
        "device, threads or throughput batch (every pooled figure is labelled)",
    )
    args = parser.parse_args(argv)

    # Imported here so that `--help` and argument errors stay fast (matplotlib, seaborn).
    from reports.build import build_report
    from reports.data import ReportInputError

    try:
        html_path = build_report(args.files, args.out, allow_mixed=args.allow_mixed)
    except (ContractError, ReportInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if not str(exc.filename or "").startswith(str(args.out)):
            raise  # not the output directory: our bug, keep the traceback
        print(
            f"error: cannot write the report to {args.out} ({exc.strerror or exc}); "
            "choose a writable directory with --out.",
            file=sys.stderr,
        )
        return 2
    print(html_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
