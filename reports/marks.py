"""Marks beside a figure in a table: what the decision core says of it against its neighbour.

A table of models prints one figure per model and column. Read side by side, two figures that
differ by 1 % look like a ranking. So each figure is compared (`bench.compare`, through
`reports.noise.Evidence`) with its neighbours by that figure, the next lower and the next higher
one, and marked:

* `=` equivalent to a neighbour (shown within the metric's margin);
* `?` cannot be told apart from a neighbour (undetermined: more rounds or seeds would settle it);
* no mark: different from both neighbours.

A figure that is equivalent to one neighbour and undetermined against the other gets `?`: the
warning wins. Throughput is compared as the time per image it is the inverse of.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd

from bench import metrics
from bench.compare import Decision, Outcome
from reports.noise import Evidence
from reports.pareto import Judges

EQUIVALENT, UNDETERMINED = "=", "?"
LEGEND = (
    f"{EQUIVALENT} equivalent to the next model by that figure (within its margin); "
    f"{UNDETERMINED} cannot be told apart from it (more rounds or seeds would settle it)"
)


def _decide(
    evidence: Evidence | Judges, key: str, a: str, va: float, b: str, vb: float
) -> Decision:
    if key == "accuracy":
        return evidence.accuracy(a, b)
    metric = metrics.get(key)
    if metric.inverse_of is None and any(m.inverse_of == key for m in metrics.METRICS):
        inverse = next(m for m in metrics.METRICS if m.inverse_of == key)
        return evidence.cost(inverse, a, 1.0 / va, b, 1.0 / vb)
    return evidence.cost(metric, a, va, b, vb)


def neighbour_marks(table: pd.DataFrame, evidence: Evidence | Judges, key: str) -> dict[str, str]:
    """Model id -> its mark for the figure `key` among the rows of `table` that have one."""
    values: dict[str, float] = {}
    for _, row in table.iterrows():
        value = row.get(key)
        if isinstance(value, int | float) and math.isfinite(value) and value > 0:
            values[str(row["variant"])] = float(value)
    ordered = sorted(values, key=lambda v: (values[v], v))
    marks: dict[str, str] = {}
    for a, b in itertools.pairwise(ordered):
        outcome = _decide(evidence, key, a, values[a], b, values[b]).outcome
        mark = {Outcome.EQUIVALENT: EQUIVALENT, Outcome.UNDETERMINED: UNDETERMINED}.get(outcome)
        for vid in (a, b):
            if mark and marks.get(vid) != UNDETERMINED:
                marks[vid] = mark
    return marks


def all_marks(
    table: pd.DataFrame, evidence: Evidence | Judges, keys: Any
) -> dict[str, dict[str, str]]:
    """key -> `neighbour_marks` for each key."""
    return {key: neighbour_marks(table, evidence, key) for key in keys}
