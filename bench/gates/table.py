"""The gates' human-readable output: aligned tables for a CI log and the final verdict line.

Claim: every number printed by either gate goes through `bench.units` (the only place where
numbers are rounded); rows that carry nothing but a shared verdict are folded into one line per
variant so the rows a reader looks for are not buried. The JSON summary keeps every row.

How it is checked: `tests/test_gate.py` reads the printed table (its columns, a regression's
line) and `tests/test_paired.py` runs the paired command end to end.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench import units
from bench.gates.decision import EXIT_UNUSABLE, LOST, MISSING, NOT_COMPARABLE, OK, REGRESSION
from bench.gates.policy import Policy
from bench.gates.rows import GateResult, PairedRow, Row

HEADER = ("variant", "check", "baseline", "current", "ratio", "interval", "p", "norm", "verdict")
PAIRED_HEADER = ("variant", "baseline", "current", "ratio", "interval", "p", "core", "verdict")


def align(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header; the last column unpadded."""
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(header)]
    widths[-1] = 0
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = ["-" * max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    out = [fmt.format(*header).rstrip(), fmt.format(*rule).rstrip()]
    out.extend(fmt.format(*line).rstrip() for line in lines)
    return "\n".join(out)


def _value(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    if row.kind == "latency":
        return units.seconds(value)
    if row.kind == "memory":
        return units.mebibytes(value)
    if row.kind == "accuracy":
        return units.percent(value)
    return units.exact(value)


def _verdict(verdict: str, note: str) -> str:
    return verdict + (f" ({note})" if note else "")


def _interval(row: Row) -> str:
    """A ratio's interval; an accuracy row's is of the difference, in percentage points."""
    if row.ci_low is None or row.ci_high is None:
        return ""
    if row.kind == "accuracy":
        return f"[{units.points(row.ci_low)}, {units.points(row.ci_high)}]"
    return units.interval(row.ci_low, row.ci_high)


def _line(row: Row) -> tuple[str, ...]:
    return (
        row.variant,
        row.check,
        _value(row, row.baseline),
        _value(row, row.current),
        units.factor(row.ratio) if row.ratio is not None else "",
        _interval(row),
        units.p_compact(row.p_value) if row.p_value is not None else "",
        row.normalization or "",
        _verdict(row.verdict, row.note),
    )


def _collapsible(row: Row) -> bool:
    """Rows a shared verdict and note say all about: equal exact figures, figures null for the
    same reason, lost or accepted as missing for the same reason."""
    if row.kind == "exact" and row.verdict == OK:
        return True
    return row.verdict in (NOT_COMPARABLE, LOST, MISSING) and row.kind not in ("latency", "record")


def render_table(result: GateResult) -> str:
    """The two-file gate's table for a CI log."""
    # Figure rows with nothing to show but a verdict (equal exact figures, figures missing for the
    # same reason) take one line per variant and verdict: ten variants x nine figures would bury
    # the rows a reader is looking for.
    groups: dict[tuple[str, str, str], list[str]] = {}
    for row in result.rows:
        if _collapsible(row):
            groups.setdefault((row.variant, row.verdict, row.note), []).append(row.check)
    lines = []
    shown: set[tuple[str, str, str]] = set()
    for row in result.rows:
        key = (row.variant, row.verdict, row.note)
        if not (_collapsible(row) and len(groups[key]) > 1):
            lines.append(_line(row))
        elif key not in shown:
            shown.add(key)
            names = ", ".join(groups[key])
            note = f"{row.note}: {names}" if row.note else f"unchanged: {names}"
            blank = [""] * 6
            lines.append(
                (row.variant, f"{len(groups[key])} figures", *blank, f"{row.verdict} ({note})")
            )
    return align(HEADER, lines)


def render(result: GateResult, policy: Policy) -> str:
    """Notes, table, problems and the final verdict line of the two-file gate."""
    parts = [
        f"latency rule: ratio > threshold (default {units.setting(policy.threshold)}) and "
        f"{units.percent(policy.confidence, decimals=0)} interval above 1 and Mann-Whitney "
        f"p < {units.setting(policy.alpha)} and slowdown > {units.seconds(policy.floor_s)}; "
        f"normalisation {policy.normalize}",
        "accuracy rule: worse than the baseline beyond seed noise (bench.compare, 95 %) and "
        f"dropped by more than {units.points(policy.accuracy_tolerance).lstrip('+')}",
    ]
    parts.extend(f"note: {note}" for note in result.notes)
    if result.rows:
        parts.append(render_table(result))
    parts.extend(f"failure: {failure}" for failure in result.failures)
    parts.extend(f"error: {problem}" for problem in result.problems)
    parts.append(_verdict_line(result))
    return "\n".join(parts)


def _verdict_line(result: GateResult) -> str:
    if result.exit_code == EXIT_UNUSABLE:
        return f"gate: UNUSABLE INPUT ({len(result.problems)} problem(s)), exit 2"
    failing = []
    for verdict, label in ((REGRESSION, "REGRESSION in"), (LOST, "LOST:")):
        checks = [f"{r.variant} {r.check}" for r in result.rows if r.verdict == verdict]
        if checks:
            failing.append(f"{label} {', '.join(checks)}")
    return f"gate: {'; '.join(failing)}, exit 1" if failing else "gate: pass, exit 0"


def render_paired(rows: Sequence[PairedRow]) -> str:
    """The paired gate's table: per variant, raw medians, ratio, interval, p, the decision
    core's word (better / worse / equivalent / undetermined, current against baseline) and the
    verdict."""
    lines = [
        (
            r.variant,
            units.seconds(r.baseline_s),
            units.seconds(r.current_s),
            units.factor(r.ratio),
            units.interval(r.ci_low, r.ci_high),
            units.p_compact(r.p_value),
            r.outcome,
            _verdict(r.verdict, r.note),
        )
        for r in rows
    ]
    return align(PAIRED_HEADER, lines)
