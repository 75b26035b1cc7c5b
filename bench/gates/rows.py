"""The gates' row types: one line of a gate's table, and one comparison's result.

They live apart from the gates that fill them (`twofile`, `paired`) and the tables that print
them (`table`): the gates import the tables and the rows, the tables import only the rows, and
no import goes round in a circle (`tests/test_layers.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.gates.decision import (
    EXIT_PASS,
    EXIT_REGRESSION,
    EXIT_UNUSABLE,
    FAILING,
    LOST,
    OK,
    exit_status,
    failure_sentences,
)


@dataclass
class Row:
    """One line of the gate's table and of the summary's `rows`.

    Attributes:
        variant: the point: a variant id, or `model@deployment` for a deployment.
        check: the scenario ("latency") or the figure ("params_total", "accuracy", ...).
        kind: "latency", "exact", "accuracy", "memory", "figures" (a whole record) or
            "record" (its `errors`).
        baseline: baseline value in SI units (latency: the raw samples' policy quantile in
            seconds, by default their minimum).
        current: current value in SI units.
        ratio: current / baseline (latency: of the normalised samples' policy quantile).
        ci_low: lower bound of the ratio's interval (`bench.gates.decision.ratio_interval`);
            accuracy: of the difference current - baseline (`bench.compare`).
        ci_high: upper bound of that interval.
        p_value: one-sided Mann-Whitney p-value (current slower); accuracy: the core's
            two-sided p of "no difference".
        delta: latency: slowdown in seconds at baseline speed; accuracy: drop; memory: relative
            growth; exact: current minus baseline.
        limit: the threshold or tolerance applied.
        normalization: "reference", "run" or "none" (latency rows only).
        raw_ratio: the same ratio of the raw samples (latency rows only), to show what
            normalising removed.
        verdict: OK, FASTER, REGRESSION, LOST, NOT_COMPARABLE or MISSING.
        note: one sentence for the reader, empty when there is nothing to add.
        outcome: accuracy: the decision core's word, current against baseline (better, worse,
            equivalent, undetermined); empty for other rows.
    """

    variant: str
    check: str
    kind: str
    baseline: float | None = None
    current: float | None = None
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    delta: float | None = None
    limit: float | None = None
    normalization: str | None = None
    raw_ratio: float | None = None
    verdict: str = OK
    note: str = ""
    outcome: str = ""


@dataclass
class GateResult:
    """Rows, problems (unusable input) and notes of one comparison.

    Attributes:
        rows: one per compared benchmark or figure; a REGRESSION or LOST row makes the exit
            code 1.
        problems: one sentence each; any problem makes the exit code 2.
        notes: things the reader should know that do not change the verdict.
    """

    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        failing = any(row.verdict in FAILING for row in self.rows)
        return exit_status(unusable=bool(self.problems), failing=failing)

    @property
    def losses(self) -> list[str]:
        """What the current run lost and why (LOST rows), one clause per variant and reason."""
        groups: dict[tuple[str, str, str], list[str]] = {}
        for row in self.rows:
            if row.verdict == LOST:
                groups.setdefault((row.variant, row.kind, row.note), []).append(row.check)
        return [_loss(*key, checks) for key, checks in groups.items()]

    @property
    def failures(self) -> list[str]:
        """One sentence per loss, naming the variant, what is lost and why, and what to do."""
        return failure_sentences(self.losses, "fix the run")

    @property
    def verdict(self) -> str:
        return {EXIT_PASS: "pass", EXIT_REGRESSION: "regression", EXIT_UNUSABLE: "unusable"}[
            self.exit_code
        ]

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary (`--json-summary`)."""
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "rows": [asdict(row) for row in self.rows],
            "failures": self.failures,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _loss(variant: str, kind: str, reason: str, checks: list[str]) -> str:
    """One clause for lost `checks` of one variant sharing one reason."""
    if kind == "record":
        return f"{variant}: the current run recorded errors ({reason.rstrip('.')})"
    verb = "is" if len(checks) == 1 else "are"
    what = f"{variant} {', '.join(checks)} {verb} missing from the current run"
    return f"{what} ({reason.rstrip('.')})"


@dataclass
class PairedRow:
    """One variant's verdict; times in seconds (medians of the raw calls)."""

    variant: str
    baseline_s: float
    current_s: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    rounds: int
    verdict: str
    note: str = ""
    outcome: str = ""
