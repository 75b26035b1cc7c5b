"""Pareto analysis of accuracy (maximised) against one cost at a time (minimised).

Claims:

* A variant is dominated when another has accuracy >= and cost <= with at least one of the two
  strict. The frontier is every variant that is not dominated. Exact ties (same accuracy and
  same cost) dominate neither way, so both stay on the frontier and are listed as a tie.
* Between neighbours on the frontier, ordered by cost, the accuracy gained per doubling of cost
  is Δaccuracy / log2(cost ratio) (a fraction; the report renders it in percentage points).
  Neighbours of equal cost are exact ties and get no step.
* Missing figures leave a variant out of that axis only, with the reason recorded in the suite's
  `unavailable` map (or "no figure in the data"). Rows with no accuracy are left out of every
  axis by `analyse`, which says so once.
* Reference rows (kind "reference": published architectures) are a separate layer: they are not
  part of the frontier of the report's variants, but each one records which variants it would
  dominate.

The functions on plain sequences are pure; `analyse_axis`/`analyse` apply them to the table made
by `reports.data.aggregate`. `tests/test_reports.py` checks them on hand-made data whose answer is
known: ties, a variant missing a metric, a single variant, and a biggest model that is the most
efficient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bench import metrics
from bench.metrics import Metric

# An axis is a cost metric of the one table (`bench.metrics`): key, label, short, unit, slug.
Axis = Metric


def cost_axes() -> tuple[Metric, ...]:
    """The Pareto cost axes, read from the metric table at call time."""
    return metrics.axes()


def lowercase_label(label: str) -> str:
    """A label for mid-sentence use: "Batch-1 latency" -> "batch-1 latency", "MACs" unchanged."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def dominates(cost_a: float, acc_a: float, cost_b: float, acc_b: float) -> bool:
    """True when point a dominates point b: no worse on both, strictly better on one."""
    return acc_a >= acc_b and cost_a <= cost_b and (acc_a > acc_b or cost_a < cost_b)


def dominated_by(costs: Sequence[float], accuracies: Sequence[float]) -> list[list[int]]:
    """For each point, the indices of the points that dominate it (empty: on the frontier)."""
    if len(costs) != len(accuracies):
        raise ValueError("costs and accuracies must have the same length")
    return [
        [
            j
            for j in range(len(costs))
            if j != i and dominates(costs[j], accuracies[j], costs[i], accuracies[i])
        ]
        for i in range(len(costs))
    ]


def gain_per_doubling(cost_from: float, acc_from: float, cost_to: float, acc_to: float) -> float:
    """Accuracy gained per doubling of cost going from one point to another.

    Returns:
        (acc_to - acc_from) / log2(cost_to / cost_from); NaN when the costs are equal.

    Raises:
        ValueError: a cost is not positive (a ratio of costs needs both > 0).
    """
    if cost_from <= 0 or cost_to <= 0:
        raise ValueError(f"costs must be positive, got {cost_from} and {cost_to}")
    doublings = math.log2(cost_to / cost_from)
    if doublings == 0:
        return math.nan
    return (acc_to - acc_from) / doublings


def best_per_unit(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points with the most accuracy per unit of cost (ties all returned)."""
    ratios = [a / c for a, c in zip(accuracies, costs, strict=True)]
    if not ratios:
        return []
    top = max(ratios)
    return [i for i, r in enumerate(ratios) if math.isclose(r, top, rel_tol=1e-12)]


@dataclass(frozen=True)
class Step:
    """A move between neighbours on the frontier, cheaper to dearer."""

    from_id: str
    to_id: str
    cost_ratio: float
    accuracy_gain: float
    gain_per_doubling: float


@dataclass(frozen=True)
class AxisResult:
    """The analysis of one axis.

    Attributes:
        axis: which cost.
        points: one row per variant on this axis, in table order: variant, cost, accuracy,
            on_frontier, dominated_by (tuple of ids), best_per_unit (bool).
        steps: frontier neighbours, cheapest first.
        ties: groups of variants with identical cost and accuracy on the frontier.
        left_out: variant -> why it is not on this axis.
        references: reference rows on this axis: variant, cost, accuracy, dominates (tuple of
            variant ids the reference would dominate).
    """

    axis: Axis
    points: pd.DataFrame
    steps: tuple[Step, ...]
    ties: tuple[tuple[str, ...], ...]
    left_out: dict[str, str]
    references: pd.DataFrame

    @property
    def frontier(self) -> list[str]:
        """Frontier variant ids, cheapest first."""
        on = self.points.loc[self.points["on_frontier"]]
        on = on.sort_values(["cost", "accuracy"], kind="stable")
        return list(on["variant"])

    @property
    def empty(self) -> bool:
        """True when no variant has both an accuracy and this cost."""
        return self.points.empty

    def point(self, variant: str) -> dict[str, Any] | None:
        """The row of `variant` on this axis as a dict, or None when it is left out."""
        rows = self.points[self.points["variant"] == variant]
        return None if rows.empty else rows.iloc[0].to_dict()


@dataclass(frozen=True)
class Analysis:
    """Every axis, plus the variants that have no accuracy at all."""

    axes: tuple[AxisResult, ...]
    no_accuracy: dict[str, str] = field(default_factory=dict)

    @property
    def measured_axes(self) -> tuple[AxisResult, ...]:
        """The axes with at least one variant on them."""
        return tuple(a for a in self.axes if not a.empty)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float | int) and not isinstance(value, bool) and math.isnan(value)


def _reason(row: pd.Series, key: str) -> str:
    unavailable = row.get("unavailable")
    if isinstance(unavailable, dict) and unavailable.get(key):
        return str(unavailable[key])
    return "no figure in the data"


@dataclass
class _AxisInputs:
    ids: list[str] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    accs: list[float] = field(default_factory=list)
    references: list[tuple[str, float, float]] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)


def _axis_inputs(table: pd.DataFrame, axis: Axis) -> _AxisInputs:
    """The variants with both figures, the reference rows, and why the others are left out."""
    found = _AxisInputs()
    for _, row in table.iterrows():
        acc, cost = row.get("accuracy"), row.get(axis.key)
        if _missing(acc):
            continue  # said once for every axis by `analyse`
        if _missing(cost):
            if row["kind"] != "reference":
                found.left_out[row["variant"]] = _reason(row, axis.key)
            continue
        if cost <= 0:
            found.left_out[row["variant"]] = f"its {axis.short} is {cost}, which is not a cost"
        elif row["kind"] == "reference":
            found.references.append((row["variant"], float(cost), float(acc)))
        else:
            found.ids.append(row["variant"])
            found.costs.append(float(cost))
            found.accs.append(float(acc))
    return found


def _steps_and_ties(
    ids: list[str], costs: list[float], accs: list[float], front: list[int]
) -> tuple[list[Step], list[tuple[str, ...]]]:
    """Steps between frontier neighbours (cheapest first) and groups of exact ties."""
    steps: list[Step] = []
    ties: list[tuple[str, ...]] = []
    group: list[int] = []
    for i in front:
        if group and costs[i] == costs[group[-1]] and accs[i] == accs[group[-1]]:
            group.append(i)
            continue
        if len(group) > 1:
            ties.append(tuple(ids[j] for j in group))
        if group:
            a = group[-1]
            steps.append(
                Step(
                    from_id=ids[a],
                    to_id=ids[i],
                    cost_ratio=costs[i] / costs[a],
                    accuracy_gain=accs[i] - accs[a],
                    gain_per_doubling=gain_per_doubling(costs[a], accs[a], costs[i], accs[i]),
                )
            )
        group = [i]
    if len(group) > 1:
        ties.append(tuple(ids[j] for j in group))
    return steps, ties


def _reference_frame(found: _AxisInputs) -> pd.DataFrame:
    ids, costs, accs = found.ids, found.costs, found.accs
    rows = [
        {
            "variant": ref,
            "cost": c,
            "accuracy": a,
            "dominates": tuple(
                ids[j] for j in range(len(ids)) if dominates(c, a, costs[j], accs[j])
            ),
        }
        for ref, c, a in found.references
    ]
    columns = ["variant", "cost", "accuracy", "dominates"]
    return pd.DataFrame(rows, columns=columns).astype({"cost": float, "accuracy": float})


def analyse_axis(table: pd.DataFrame, axis: Axis) -> AxisResult:
    """Frontier, domination, steps and left-out notes for one axis.

    Args:
        table: one row per variant with `variant`, `kind`, `accuracy`, `axis.key` and
            optionally `unavailable` (dict of reasons), as made by `reports.data.aggregate`.
        axis: the cost.
    """
    found = _axis_inputs(table, axis)
    ids, costs, accs = found.ids, found.costs, found.accs
    doms = dominated_by(costs, accs)
    best = set(best_per_unit(costs, accs))
    points = pd.DataFrame(
        {
            "variant": ids,
            "cost": costs,
            "accuracy": accs,
            "on_frontier": [not d for d in doms],
            "dominated_by": [tuple(ids[j] for j in d) for d in doms],
            "best_per_unit": [i in best for i in range(len(ids))],
        },
        columns=["variant", "cost", "accuracy", "on_frontier", "dominated_by", "best_per_unit"],
    ).astype({"cost": float, "accuracy": float, "on_frontier": bool, "best_per_unit": bool})
    front = sorted(
        (i for i in range(len(ids)) if not doms[i]), key=lambda i: (costs[i], accs[i], i)
    )
    steps, ties = _steps_and_ties(ids, costs, accs, front)
    references = _reference_frame(found)
    return AxisResult(axis, points, tuple(steps), tuple(ties), found.left_out, references)


def analyse(table: pd.DataFrame, axes: Sequence[Axis] | None = None) -> Analysis:
    """Analyse every axis (default: `cost_axes()`); variants without an accuracy are listed once
    in `no_accuracy`."""
    axes = cost_axes() if axes is None else axes
    no_accuracy = {
        row["variant"]: _reason(row, "accuracy")
        for _, row in table.iterrows()
        if row["kind"] != "reference" and _missing(row.get("accuracy"))
    }
    return Analysis(tuple(analyse_axis(table, axis) for axis in axes), no_accuracy)
