"""`python -m bench history {list,report}`: what the store holds, and the trend page.

`list` prints one block per group of comparable runs (machine and settings), the runs in commit
order; `report --out DIR` writes the trend page (`bench.history.series` finds the figures and the
steps, `reports.trend` draws them). `report` takes the gate's policy options (`--threshold`,
`--policy FILE`, ...), read by the gate's own parser, so a step on the page and a failure of
`gate --against-history` are one rule under one setting. Bad input (a store that is not there, a
damaged file, a bad policy value) is one sentence and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import units
from bench.gates.decision import GateInputError
from bench.history.store import DEFAULT_STORAGE, Entry, Store, StoreError, group_heading

USAGE = """usage: python -m bench history {list,report} [--storage DIR] ...

  list    the stored runs, one group per machine and comparable settings
  report  the trend page: per model and cost, the figure against commit order, with the steps
          (python -m bench history report --help); it takes the gate's policy options
          (--threshold [KEY=]RATIO, --policy FILE, ...: python -m bench gate --help), so a step
          is what the gate would fail under the same settings
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise StoreError(f"{message} (see python -m bench history {self.prog.split()[-1]} --help).")


def _parser(command: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"python -m bench history {command}")
    parser.add_argument(
        "--storage",
        "--benchmark-storage",
        default=str(DEFAULT_STORAGE),
        help="the store's folder (default .benchmarks; file://DIR is accepted)",
    )
    if command == "report":
        parser.add_argument("--out", type=Path, required=True, help="folder for the page")
        parser.add_argument("--branch", help="only runs made on this branch (e.g. main)")
        parser.epilog = (
            "The gate's policy options (--threshold [KEY=]RATIO, --policy FILE, --quantile, "
            "--normalize, --accuracy-tolerance, --memory-tolerance, ...) set what counts as a "
            "step, as they set what fails the gate: see python -m bench gate --help."
        )
    return parser


def _short(commit: str) -> str:
    return commit[:10] if len(commit) == 40 else commit


def list_lines(entries: Sequence[Entry], ignored: Sequence[Path], root: Path) -> list[str]:
    """`history list`'s text: a heading per group, then its runs in commit order."""
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0
    lines = [f"store: {root} ({len(entries)} runs, {units.mebibytes(size)} on disk)"]
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    for members in groups.values():
        lines += ["", group_heading(members[0]), f"  folder {members[0].path.parent}"]
        lines.append(f"  {'NNNN':<5} {'commit':<11} {'branch':<12} {'run at (UTC)':<20} models")
        for e in members:
            commit = _short(e.commit) + ("+" if e.dirty else "")
            lines.append(
                f"  {e.number:04d}  {commit:<11} {e.branch[:12]:<12} {e.run_time[:19]:<20} "
                f"{', '.join(e.variants)}"
            )
    if len(groups) > 1:
        lines += ["", f"{len(groups)} groups: runs of different groups are never compared."]
    if ignored:
        lines.append(f"ignored: {len(ignored)} files that are not suite runs ({ignored[0]}, ...)")
    if not entries:
        lines.append("no suite runs yet: save one with `python -m bench run --save`.")
    return lines


def _list(argv: list[str]) -> int:
    args = _parser("list").parse_args(argv)
    store = Store(args.storage)
    entries, ignored = store.entries()
    print("\n".join(list_lines(entries, ignored, store.root)))
    return 0


def _report(argv: list[str]) -> int:
    from bench.gates.policy import build_policy
    from bench.gates.policy import parser as gate_parser
    from bench.history.page import trend_page

    args, rest = _parser("report").parse_known_args(argv)
    # The gate's own parser reads its policy options; two placeholders stand in for its files.
    policy = build_policy(gate_parser().parse_args(["(stored runs)", "(stored runs)", *rest]))
    page = trend_page(Store(args.storage), args.out, branch=args.branch, policy=policy)
    print(f"trend page: {page}")
    return 0


def main(argv: list[str]) -> int:
    """Run a history command; 0 on success, 2 on bad input (one sentence on stderr)."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    commands = {"list": _list, "report": _report}
    if argv[0] not in commands:
        print(f"unknown history command {argv[0]!r}; choose 'list' or 'report'.", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]](argv[1:])
    except (StoreError, GateInputError) as exc:
        print(f"history: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
