"""The one place `bench.history` reaches the pairwise decision code of the gates.

Everything the history decides (a step between two runs on the trend page, the gate against
stored runs) goes through the two functions below, which call the two-file gate's per-benchmark
and per-figure comparisons (`bench.gates.twofile`). Those decide with the decision core
(`bench.compare`) where it has evidence for the figure: accuracy against its seed noise
(Welch-Satterthwaite, McNemar on shared images); latency between two independent runs keeps the
gate's own rule (`bench.gates.decision`), since two runs share no rounds to pair. Nothing else
in this package compares two runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.gates import twofile
from bench.gates.decision import FASTER, NOT_COMPARABLE, REGRESSION, GateInputError
from bench.gates.policy import Policy
from reports import stats

HIGHER, LOWER, SAME, UNKNOWN = "higher", "lower", "same", "unknown"


def accuracy_estimate(record: Mapping[str, Any]) -> stats.AccuracyEstimate:
    runs = [r["accuracy"] for r in record.get("runs") or () if r.get("accuracy") is not None]
    return stats.estimate(runs or [record["accuracy"]], record.get("test_examples"))


def differs(
    before: Mapping[str, Any], after: Mapping[str, Any], metric: str, rule: str, policy: Policy
) -> str:
    """Whether a figure moved between two runs, as the gate's rules judge it.

    Args:
        before: the earlier run's material: a benchmark entry (rule "latency") or a variant
            record (the other rules).
        after: the later run's, of the same kind.
        metric: the scenario ("latency", ...) or the record key ("macs", "accuracy", ...).
        rule: "latency", "exact", "max_growth" or "max_drop" (`bench.metrics.GateRule`).
        policy: the gate's settings.

    Returns:
        "higher" or "lower" when the figure differs beyond the noise and tolerance; "same" when
        it does not; "unknown" when the two cannot be compared (a figure missing, too few
        samples).
    """
    try:
        if rule == "latency":
            row = twofile.compare_latency(before, after, policy)
            return {REGRESSION: HIGHER, FASTER: LOWER}.get(row.verdict, SAME)
        if rule == "exact":
            row = twofile.compare_exact(before, after, metric)
            if row.verdict == NOT_COMPARABLE:
                return UNKNOWN
            return SAME if row.delta == 0 else (HIGHER if row.delta > 0 else LOWER)
        if rule == "max_growth":
            compare = twofile.compare_growth
            up, down = (
                compare(before, after, metric, policy),
                compare(after, before, metric, policy),
            )
        elif rule == "max_drop":
            # Accuracy: worse beyond its seed noise (bench.compare) AND beyond the gate's
            # tolerance, in either direction, so noise alone is never a step.
            compare = twofile.compare_drop
            up, down = (
                compare(after, before, metric, policy),
                compare(before, after, metric, policy),
            )
        else:
            raise ValueError(f"no history rule for {rule!r}")
    except GateInputError:
        return UNKNOWN
    if NOT_COMPARABLE in (up.verdict, down.verdict):
        return UNKNOWN
    return HIGHER if up.verdict == REGRESSION else LOWER if down.verdict == REGRESSION else SAME


def gate_pair(
    base: Mapping[str, Any], cur: Mapping[str, Any], policy: Policy, **options: Any
) -> twofile.GateResult:
    """The two-file gate's rows for one stored run (baseline) against the current run.

    `options` are `bench.gates.twofile.gate`'s keyword arguments (allow_missing, sources, ...).
    """
    return twofile.gate(base, cur, policy, **options)
