"""`python -m bench gate --against-history [--branch main] CUR.json`: the current run against the
last N comparable stored runs, so that one noisy baseline cannot decide.

The rule:
  1. Baselines: the stored runs comparable with CUR (same machine and settings keys,
     `bench.history.store`), of `--branch` when given, other than runs of CUR's own commit (a
     run is not its own baseline; outside git, only the identical run is left out); the last
     `--last` (default 5) of them in commit order.
  2. CUR is gated against each baseline by the two-file gate, unchanged
     (`bench.history.decide.gate_pair`: the same rules, thresholds, policy file and options).
  3. A row (model and check) fails when it fails (REGRESSION or LOST) against a strict majority
     of the baselines that have it: 2 of 2, 2 of 3, 3 of 5. One fast or slow baseline among
     five can neither fail nor pass the run alone. A row that fails against a minority passes,
     with a note naming those runs.
  4. Exit codes as the two-file gate: 0 nothing fails; 1 a row fails; 2 unusable input (no
     comparable stored run, CUR not a suite file, or any comparison's problem, such as a model
     missing from a baseline without --allow-missing).

How it is checked: `tests/test_history_gate.py` stores hand-made runs (one of them a noisy,
fast outlier) and asserts the exit codes; `tests/test_history_commits.py` on real suite runs of
three commits (exit 1 on the slower third, 0 on a rerun of the second).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.contract import ContractError, load
from bench.gates.decision import EXIT_UNUSABLE, FAILING, GateInputError
from bench.gates.policy import Policy, build_policy
from bench.gates.policy import parser as gate_parser
from bench.gates.rows import GateResult, Row
from bench.gates.table import render
from bench.history.decide import gate_pair
from bench.history.store import DEFAULT_STORAGE, Entry, Store, StoreError, entry_of

DEFAULT_LAST = 5


def baselines(
    entries: Sequence[Entry], current: Entry, *, branch: str | None, last: int
) -> list[Entry]:
    """The stored runs the current one is gated against (rule 1 of the module docstring)."""
    chosen = []
    for entry in entries:
        if entry.group != current.group or (branch and entry.branch != branch):
            continue
        if (entry.commit, entry.run_time) == (current.commit, current.run_time):
            continue
        if current.commit != "unversioned" and entry.commit == current.commit:
            continue
        chosen.append(entry)
    return chosen[-last:]


def _short(entry: Entry) -> str:
    return entry.commit[:7] if len(entry.commit) == 40 else entry.commit


def _merged_row(pairs: list[tuple[Entry, Row]]) -> Row:
    """One row from the same row against every baseline (rule 3 of the module docstring)."""
    failing = [(e, r) for e, r in pairs if r.verdict in FAILING]
    tally = f"{len(failing)} of {len(pairs)} stored runs"
    if 2 * len(failing) > len(pairs):
        _, row = failing[-1]
        return replace(row, note="; ".join(n for n in (row.note, f"fails against {tally}") if n))
    _, row = [(e, r) for e, r in pairs if r.verdict not in FAILING][-1]
    if not failing:
        return row
    names = ", ".join(_short(e) for e, _ in failing)
    note = f"fails against {tally} ({names}): not a majority"
    return replace(row, note="; ".join(n for n in (row.note, note) if n))


def merge(results: Sequence[tuple[Entry, GateResult]]) -> GateResult:
    """The history's verdict: rows by majority, every comparison's problems and notes."""
    merged = GateResult()
    keyed: dict[tuple[str, str], list[tuple[Entry, Row]]] = {}
    for entry, result in results:
        for problem in result.problems:
            merged.problems.append(f"against the stored run of {_short(entry)}: {problem}")
        merged.notes.extend(n for n in result.notes if n not in merged.notes)
        for row in result.rows:
            keyed.setdefault((row.variant, row.check), []).append((entry, row))
    merged.rows = [_merged_row(pairs) for pairs in keyed.values()]
    return merged


def gate_against_history(
    current: dict[str, Any],
    store: Store,
    policy: Policy,
    *,
    branch: str | None = None,
    last: int = DEFAULT_LAST,
    source: str = "current",
    **options: Any,
) -> tuple[GateResult, list[Entry]]:
    """Gate `current` (a validated suite document) against the store.

    Returns:
        The merged result and the baselines used.

    Raises:
        StoreError: no comparable stored run, or a damaged one.
    """
    entry = entry_of(Path(source), current)
    entries, _ = store.entries()
    chosen = baselines(entries, entry, branch=branch, last=last)
    if not chosen:
        on = f" of branch {branch}" if branch else ""
        raise StoreError(
            f"the store {store.root} holds no run{on} comparable with {source} (machine "
            f"{entry.machine}, settings {entry.settings_key}; `python -m bench history list` shows "
            "what it holds); save runs of the base branch with `python -m bench run --save`, or "
            "gate against one file with `python -m bench gate BASELINE.json CURRENT.json`."
        )
    results = []
    for base in chosen:
        base_source = f"{store.root}/{base.path.parent.name}/{base.path.name}"
        result = gate_pair(store.load(base), current, policy, base_source=base_source,
                           cur_source=source, **options)  # fmt: skip
        results.append((base, result))
    return merge(results), chosen


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise GateInputError(f"{message} (see python -m bench gate --against-history --help).")


HELP = f"""usage: python -m bench gate --against-history [--branch BRANCH] [--storage DIR]
                                [--last N] [gate options] CURRENT.json

Gate CURRENT.json against the last N (default {DEFAULT_LAST}) stored runs comparable with it (same
machine and settings; `python -m bench run --save` stores runs), of BRANCH when given, other
than runs of its own commit: each compared by the two-file gate; a row fails when it fails
against a strict majority of them (2 of 2, 2 of 3, 3 of 5). Exit 0 / 1 / 2 as the two-file gate.
Every option of `python -m bench gate` applies (thresholds, policy file, --allow-missing,
--json-summary, ...); --storage DIR (or --benchmark-storage) names the store (default
{DEFAULT_STORAGE}).
"""


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, argparse.Namespace]:
    """(history options, the two-file gate's options) of the command line.

    The gate's own parser reads its options; the stored runs stand in for its baseline argument.
    """
    own = _Parser(prog="python -m bench gate --against-history", add_help=False)
    own.add_argument("--against-history", action="store_true")
    own.add_argument("--branch")
    own.add_argument("--storage", "--benchmark-storage", default=str(DEFAULT_STORAGE))
    own.add_argument("--last", type=int, default=DEFAULT_LAST)
    known, rest = own.parse_known_args(list(argv))
    if known.last < 1:
        raise GateInputError(f"--last must be at least 1, got {known.last}.")
    return known, gate_parser().parse_args(["(stored runs)", *rest])


def _header(chosen: Sequence[Entry], store: Store, branch: str | None) -> str:
    runs = ", ".join(f"{_short(e)} ({e.run_time[:19].replace('T', ' ')})" for e in chosen)
    on = f" of branch {branch}" if branch else ""
    return (
        f"against history: {len(chosen)} comparable stored run(s){on} in {store.root}: {runs}\n"
        "a row fails when it fails against a strict majority of them"
    )


def _write_summary(path: str, result: GateResult, chosen: Sequence[Entry], policy: Policy) -> None:
    summary = result.summary()
    summary["policy"] = {**asdict(policy), "thresholds": dict(policy.thresholds)}
    summary["against_history"] = [
        {"commit": e.commit, "branch": e.branch, "run_time": e.run_time, "file": str(e.path)}
        for e in chosen
    ]
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")


def main(argv: Sequence[str]) -> int:
    """Run the gate against history; print the table; return 0, 1 or 2."""
    if any(a in {"-h", "--help"} for a in argv):
        print(HELP)
        return 0
    try:
        known, args = parse(argv)
        policy = build_policy(args)
        store = Store(known.storage)
        current = load(args.current)
        result, chosen = gate_against_history(
            current, store, policy, branch=known.branch, last=known.last, source=args.current,
            allow_different_machines=args.allow_different_machines,
            allow_different_settings=args.allow_different_settings,
            allow_missing=args.allow_missing,
        )  # fmt: skip
    except (GateInputError, ContractError, StoreError) as exc:
        print(f"gate: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(_header(chosen, store, known.branch))
    print(render(result, policy))
    if args.json_summary:
        try:
            _write_summary(args.json_summary, result, chosen, policy)
        except OSError as exc:
            print(f"gate: error: cannot write {args.json_summary} ({exc}).", file=sys.stderr)
            return EXIT_UNUSABLE
    return result.exit_code
