"""Pareto analysis of accuracy (maximised) against one cost at a time (minimised), noise-aware.

Claims:

* A model a dominates b on an axis when a is no dearer (cheaper, or tied: `reports.noise`) and no
  less accurate (more accurate, or the test cannot tell them apart: `reports.stats`), and better
  on at least one of the two by a difference that survives its noise. The frontier is every model
  that is not dominated. So a dearer model whose accuracy cannot be told apart from a cheaper
  one's is dominated by it (its extra cost buys nothing measurable), and two models whose costs
  are tied are compared on accuracy alone.
* Between neighbours on the frontier, ordered by cost, the accuracy gained per doubling of cost
  is Δaccuracy / log2(cost ratio), only where the two costs differ: across a cost tie there is
  no step (a ratio of 1.02 between identical graphs would make any accuracy gap look enormous).
  By construction each step's accuracy gain is one the test can resolve.
* Every point lists the models it is tied with on that axis ("tied with v05").
* Missing figures leave a model out of that axis only, with the reason recorded in the suite's
  `unavailable` map (or "no figure in the data"). Rows with no accuracy are left out of every
  axis by `analyse`, which says so once.
* Reference rows (kind "reference": published architectures) are a separate layer: they are not
  part of the frontier of the measured models, but each one records which models it would
  dominate, by the same rule.
* Ties can make domination cyclic in rare cases (a ~ b, b ~ c but a < c); if that leaves no
  model undominated, the axis falls back to exact domination of the point figures and says so.

`dominated_by` on plain sequences is pure; `analyse_axis`/`analyse` apply it to the table made
by `reports.data.aggregate`. `tests/test_reports.py` and `tests/test_noise.py` check them on
hand-made data whose answer is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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


Relation = Callable[[int, int], int]  # (i, j) -> -1 / 0 / +1, i against j


def _exact(values: Sequence[float], sign: int) -> Relation:
    def relation(i: int, j: int) -> int:
        a, b = values[i], values[j]
        return 0 if a == b else (sign if a > b else -sign)

    return relation


def dominated_by(
    costs: Sequence[float],
    accuracies: Sequence[float],
    *,
    cost_relation: Relation | None = None,
    accuracy_relation: Relation | None = None,
) -> list[list[int]]:
    """For each point, the indices of the points that dominate it (empty: on the frontier).

    Args:
        costs: the points' costs.
        accuracies: the points' accuracies.
        cost_relation: (i, j) -> -1 when i is cheaper than j, 0 when tied, +1 when dearer
            (default: exact comparison of `costs`).
        accuracy_relation: (i, j) -> +1 when i is more accurate than j, 0 when they cannot be
            told apart, -1 when less accurate (default: exact comparison of `accuracies`).
    """
    if len(costs) != len(accuracies):
        raise ValueError("costs and accuracies must have the same length")
    cost = cost_relation or _exact(costs, +1)
    acc = accuracy_relation or _exact(accuracies, +1)
    found = []
    for i in range(len(costs)):
        found.append(
            [
                j
                for j in range(len(costs))
                if j != i
                and cost(j, i) <= 0
                and acc(j, i) >= 0
                and (cost(j, i) < 0 or acc(j, i) > 0)
            ]
        )
    return found


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


@dataclass(frozen=True)
class Step:
    """A move between neighbours on the frontier, cheaper to dearer (their costs differ)."""

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
        points: one row per model on this axis, in table order: variant, cost, accuracy,
            on_frontier, dominated_by (tuple of ids), cost_ties (tuple of the ids whose cost
            cannot be told apart from this one's).
        steps: frontier neighbours whose costs differ, cheapest first.
        ties: groups of frontier models tied on cost and on accuracy (none dominates another).
        left_out: model -> why it is not on this axis.
        references: reference rows on this axis: variant, cost, accuracy, dominates (tuple of
            model ids the reference would dominate).
        notes: remarks on how this axis was decided (a fallback, say).
    """

    axis: Axis
    points: pd.DataFrame
    steps: tuple[Step, ...]
    ties: tuple[tuple[str, ...], ...]
    left_out: dict[str, str]
    references: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def frontier(self) -> list[str]:
        """Frontier model ids, cheapest first."""
        on = self.points.loc[self.points["on_frontier"]]
        on = on.sort_values(["cost", "accuracy"], kind="stable")
        return list(on["variant"])

    @property
    def empty(self) -> bool:
        """True when no model has both an accuracy and this cost."""
        return self.points.empty

    def point(self, variant: str) -> dict[str, Any] | None:
        """The row of `variant` on this axis as a dict, or None when it is left out."""
        rows = self.points[self.points["variant"] == variant]
        return None if rows.empty else rows.iloc[0].to_dict()


@dataclass(frozen=True)
class Analysis:
    """Every axis, plus the models that have no accuracy at all."""

    axes: tuple[AxisResult, ...]
    no_accuracy: dict[str, str] = field(default_factory=dict)

    @property
    def measured_axes(self) -> tuple[AxisResult, ...]:
        """The axes with at least one model on them."""
        return tuple(a for a in self.axes if not a.empty)

    def axis(self, key: str) -> AxisResult | None:
        return next((a for a in self.axes if a.axis.key == key), None)


@dataclass(frozen=True)
class Judges:
    """How two models compare, as far as the data can tell.

    Attributes:
        cost: (axis, a, cost_a, b, cost_b) -> -1 / 0 / +1 (`reports.noise.CostNoise.compare`).
        accuracy: (a, b) -> +1 / 0 / -1, a against b (`reports.stats`).
    """

    cost: Callable[[Axis, str, float, str, float], int]
    accuracy: Callable[[str, str], int]

    @classmethod
    def exact(cls, accuracies: dict[str, float]) -> Judges:
        """Point figures compared as they are (no noise): for tests and as a fallback."""

        def cost(_axis: Axis, _a: str, ca: float, _b: str, cb: float) -> int:
            return 0 if ca == cb else (1 if ca > cb else -1)

        def accuracy(a: str, b: str) -> int:
            return (
                0
                if accuracies[a] == accuracies[b]
                else (1 if accuracies[a] > accuracies[b] else -1)
            )

        return cls(cost, accuracy)


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
    """The models with both figures, the reference rows, and why the others are left out."""
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


def _frontier_walk(
    ids: list[str], costs: list[float], accs: list[float], front: list[int], cost: Relation
) -> tuple[list[Step], list[tuple[str, ...]]]:
    """Steps between frontier neighbours whose costs differ, and the groups tied on cost."""
    steps: list[Step] = []
    ties: list[tuple[str, ...]] = []
    group: list[int] = []
    for i in front:
        if group and cost(i, group[-1]) == 0:
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


def _references(found: _AxisInputs, axis: Axis, judges: Judges) -> pd.DataFrame:
    rows = []
    for ref, c, a in found.references:
        beaten = [
            found.ids[j]
            for j in range(len(found.ids))
            if (rel_c := judges.cost(axis, ref, c, found.ids[j], found.costs[j])) <= 0
            and (rel_a := judges.accuracy(ref, found.ids[j])) >= 0
            and (rel_c < 0 or rel_a > 0)
        ]
        rows.append({"variant": ref, "cost": c, "accuracy": a, "dominates": tuple(beaten)})
    columns = ["variant", "cost", "accuracy", "dominates"]
    return pd.DataFrame(rows, columns=columns).astype({"cost": float, "accuracy": float})


def analyse_axis(table: pd.DataFrame, axis: Axis, judges: Judges | None = None) -> AxisResult:
    """Frontier, domination, cost ties, steps and left-out notes for one axis.

    Args:
        table: one row per model with `variant`, `kind`, `accuracy`, `axis.key` and
            optionally `unavailable` (dict of reasons), as made by `reports.data.aggregate`.
        axis: the cost.
        judges: how two models compare (default: the point figures, exactly).
    """
    found = _axis_inputs(table, axis)
    ids, costs, accs = found.ids, found.costs, found.accs
    if judges is None:
        judges = Judges.exact({**dict(zip(ids, accs, strict=True)), **{
            r: a for r, _, a in found.references}})  # fmt: skip
    matrix = [[judges.cost(axis, ids[i], costs[i], ids[j], costs[j]) for j in range(len(ids))]
              for i in range(len(ids))]  # fmt: skip
    cost = lambda i, j: 0 if i == j else matrix[i][j]  # noqa: E731
    acc = lambda i, j: 0 if i == j else judges.accuracy(ids[i], ids[j])  # noqa: E731
    doms = dominated_by(costs, accs, cost_relation=cost, accuracy_relation=acc)
    notes = []
    if ids and all(doms):
        doms = dominated_by(costs, accs)
        notes.append(
            "ties made domination circular on this axis, so it is decided on the point figures"
        )
    points = pd.DataFrame(
        {
            "variant": ids,
            "cost": costs,
            "accuracy": accs,
            "on_frontier": [not d for d in doms],
            "dominated_by": [tuple(ids[j] for j in d) for d in doms],
            "cost_ties": [
                tuple(ids[j] for j in range(len(ids)) if j != i and cost(i, j) == 0)
                for i in range(len(ids))
            ],
        },
        columns=["variant", "cost", "accuracy", "on_frontier", "dominated_by", "cost_ties"],
    ).astype({"cost": float, "accuracy": float, "on_frontier": bool})
    front = sorted((i for i in range(len(ids)) if not doms[i]), key=lambda i: (costs[i], accs[i]))
    steps, ties = _frontier_walk(ids, costs, accs, front, cost)
    references = _references(found, axis, judges)
    return AxisResult(axis, points, tuple(steps), tuple(ties), found.left_out, references,
                      tuple(notes))  # fmt: skip


def analyse(
    table: pd.DataFrame, axes: Sequence[Axis] | None = None, judges: Judges | None = None
) -> Analysis:
    """Analyse every axis (default: `cost_axes()`); models without an accuracy are listed once
    in `no_accuracy`."""
    axes = cost_axes() if axes is None else axes
    no_accuracy = {
        row["variant"]: _reason(row, "accuracy")
        for _, row in table.iterrows()
        if row["kind"] != "reference" and _missing(row.get("accuracy"))
    }
    return Analysis(tuple(analyse_axis(table, axis, judges) for axis in axes), no_accuracy)
