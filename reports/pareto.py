"""Pareto analysis of accuracy (maximised) against one cost at a time (minimised), noise-aware.

Claims (every pairwise decision comes from `bench.compare`: better, worse, equivalent or
undetermined):

* A model a dominates b on an axis when a is better or equivalent on both cost and accuracy,
  and better on one. An undetermined comparison never dominates: "cannot be told apart" is not
  "equal". The frontier is every model that is not dominated.
* Pairs that might dominate one another once an undetermined comparison is settled both stay on
  the frontier, marked *unresolved*, with what would settle them (more rounds, more seeds).
* Between neighbours on the frontier, ordered by cost, the accuracy gained per doubling of cost
  is Δaccuracy / log2(cost ratio), only where the two costs are decided different and the dearer
  figure is higher: across equivalent or undetermined costs there is no step (a ratio of 1.006
  between identical graphs would make any accuracy gap look enormous), so no ratio is ever
  divided by a zero cost step. A step whose accuracy gain is undetermined says so.
* Every point lists the models whose cost is equivalent to its own ("tied with v05") and those
  whose cost cannot be told from its own.
* Missing figures leave a model out of that axis only, with the reason recorded in the suite's
  `unavailable` map (or "no figure in the data"). Rows with no accuracy are left out of every
  axis by `analyse`, which says so once.
* Reference rows (kind "reference": published architectures) are a separate layer: they are not
  part of the frontier of the measured models, but each one records which models it would
  dominate, by the same rule.
* Equivalence is not transitive, so domination could in principle be circular; if that leaves
  no model undominated, the axis falls back to exact domination of the point figures and says so.
* Nothing depends on the order of the models in the files: ties in the point figures are broken
  by model id wherever an order is needed.

`dominated_by` on plain sequences is pure; `analyse_axis`/`analyse` apply it to the table made
by `reports.data.aggregate`. `tests/test_reports.py` and `tests/test_noise.py` check them on
hand-made data whose answer is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from bench import metrics
from bench.compare import Counted, Decision, Outcome, compare
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


Relation = Callable[[int, int], Outcome]  # (i, j) -> i against j, from `bench.compare`
GOOD = (Outcome.BETTER, Outcome.EQUIVALENT)


def _exact(values: Sequence[float], better: str) -> Relation:
    def relation(i: int, j: int) -> Outcome:
        a, b = values[i], values[j]
        if a == b:
            return Outcome.EQUIVALENT
        return Outcome.BETTER if (a > b) == (better == "higher") else Outcome.WORSE

    return relation


def dominates(cost: Outcome, accuracy: Outcome) -> bool:
    """Whether a model dominates another, given how it compares on cost and on accuracy: better
    or equivalent on both, and better on one."""
    return cost in GOOD and accuracy in GOOD and Outcome.BETTER in (cost, accuracy)


def could_dominate(cost: Outcome, accuracy: Outcome) -> bool:
    """Whether it might, once an undetermined comparison is settled (neither shows it worse)."""
    pair = (cost, accuracy)
    return Outcome.UNDETERMINED in pair and Outcome.WORSE not in pair


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
        cost_relation: (i, j) -> i against j on cost, BETTER meaning cheaper (default: exact
            comparison of `costs`).
        accuracy_relation: (i, j) -> i against j on accuracy, BETTER meaning more accurate
            (default: exact comparison of `accuracies`).
    """
    if len(costs) != len(accuracies):
        raise ValueError("costs and accuracies must have the same length")
    cost = cost_relation or _exact(costs, "lower")
    acc = accuracy_relation or _exact(accuracies, "higher")
    return [
        [j for j in range(len(costs)) if j != i and dominates(cost(j, i), acc(j, i))]
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
    if doublings <= 0:
        return math.nan
    return (acc_to - acc_from) / doublings


@dataclass(frozen=True)
class Step:
    """A move between neighbours on the frontier, cheaper to dearer: their costs are decided
    different (`bench.compare`) and the dearer point's figure is higher, so the ratio is > 1.

    `accuracy` says how the dearer model's accuracy compares with the cheaper one's: "better",
    or "undetermined" (an unresolved step: more seeds would say whether it buys anything).
    """

    from_id: str
    to_id: str
    cost_ratio: float
    accuracy_gain: float
    gain_per_doubling: float
    accuracy: str = "better"


@dataclass(frozen=True)
class AxisResult:
    """The analysis of one axis.

    Attributes:
        axis: which cost.
        points: one row per model on this axis, in table order: variant, cost, accuracy,
            on_frontier, dominated_by (tuple of ids), cost_ties (ids whose cost is shown
            equivalent to this one's), cost_undetermined (ids whose cost the data cannot tell
            from this one's), unresolved (ids that might dominate this model, or be dominated
            by it, once an undetermined comparison is settled), settle (what more data would
            settle those: "v05: more seeds").
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
        """Frontier model ids, cheapest first (then most accurate, then by id)."""
        on = self.points.loc[self.points["on_frontier"]]
        on = on.assign(_acc=-on["accuracy"]).sort_values(["cost", "_acc", "variant"])
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
    """Every axis, plus the models that have no accuracy at all, and the judges that decided
    them (None: the point figures, exactly), for later decisions on the same models to reuse."""

    axes: tuple[AxisResult, ...]
    no_accuracy: dict[str, str] = field(default_factory=dict)
    judges: Judges | None = None

    @property
    def measured_axes(self) -> tuple[AxisResult, ...]:
        """The axes with at least one model on them."""
        return tuple(a for a in self.axes if not a.empty)

    def axis(self, key: str) -> AxisResult | None:
        return next((a for a in self.axes if a.axis.key == key), None)


@dataclass(frozen=True)
class Judges:
    """How two models compare, as far as the data can tell: both from `bench.compare`.

    Attributes:
        cost: (axis, a, cost_a, b, cost_b) -> a against b (`reports.noise.Evidence.cost`).
        accuracy: (a, b) -> a against b (`reports.noise.Evidence.accuracy`).
    """

    cost: Callable[[Axis, str, float, str, float], Decision]
    accuracy: Callable[[str, str], Decision]

    @classmethod
    def exact(cls, accuracies: dict[str, float]) -> Judges:
        """Point figures compared as they are (no noise): for tests and as a fallback."""

        def cost(axis: Axis, _a: str, ca: float, _b: str, cb: float) -> Decision:
            return compare(Counted(ca), Counted(cb), replace(axis, noise="exact"))

        def accuracy(a: str, b: str) -> Decision:
            exact = replace(metrics.get("accuracy"), noise="exact", tolerance=0.0)
            return compare(Counted(accuracies[a]), Counted(accuracies[b]), exact)

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
    ids: list[str], costs: list[float], accs: list[float], front: list[int],
    cost: Relation, acc: Relation,
) -> tuple[list[Step], list[tuple[str, ...]]]:  # fmt: skip
    """Steps between frontier neighbours whose costs are decided different, and the groups of
    neighbours whose costs are not (equivalent or undetermined: no step, no ratio across them).
    A step needs the dearer figure to be higher too, so no ratio is ever 1 or below."""
    steps: list[Step] = []
    groups: list[list[int]] = []
    for i in front:
        if groups:
            a = groups[-1][-1]
            if cost(i, a) is not Outcome.WORSE or costs[i] <= costs[a]:
                groups[-1].append(i)
                continue
            steps.append(
                Step(
                    from_id=ids[a],
                    to_id=ids[i],
                    cost_ratio=costs[i] / costs[a],
                    accuracy_gain=accs[i] - accs[a],
                    gain_per_doubling=gain_per_doubling(costs[a], accs[a], costs[i], accs[i]),
                    accuracy=acc(i, a).value,
                )
            )
        groups.append([i])
    ties = [tuple(ids[j] for j in g) for g in groups if len(g) > 1]
    return steps, ties


def _references(found: _AxisInputs, axis: Axis, judges: Judges) -> pd.DataFrame:
    rows = []
    for ref, c, a in found.references:
        beaten = [
            found.ids[j]
            for j in range(len(found.ids))
            if dominates(
                judges.cost(axis, ref, c, found.ids[j], found.costs[j]).outcome,
                judges.accuracy(ref, found.ids[j]).outcome,
            )
        ]
        rows.append({"variant": ref, "cost": c, "accuracy": a, "dominates": tuple(sorted(beaten))})
    columns = ["variant", "cost", "accuracy", "dominates"]
    return pd.DataFrame(rows, columns=columns).astype({"cost": float, "accuracy": float})


@dataclass(frozen=True)
class _Pairs:
    """Every pairwise decision of one axis, i against j."""

    cost: list[list[Decision | None]]
    accuracy: list[list[Decision | None]]

    def cost_outcome(self, i: int, j: int) -> Outcome:
        return Outcome.EQUIVALENT if i == j else self.cost[i][j].outcome  # type: ignore[union-attr]

    def accuracy_outcome(self, i: int, j: int) -> Outcome:
        return Outcome.EQUIVALENT if i == j else self.accuracy[i][j].outcome  # type: ignore[union-attr]

    def unresolved(self, i: int) -> list[int]:
        """The models that might dominate i, or that i might dominate, once settled."""
        n = len(self.cost)
        return [
            j for j in range(n) if j != i and (
                could_dominate(self.cost_outcome(j, i), self.accuracy_outcome(j, i))
                or could_dominate(self.cost_outcome(i, j), self.accuracy_outcome(i, j)))
        ]  # fmt: skip

    def settle(self, i: int, ids: list[str]) -> str:
        """What more data would settle i's unresolved pairs, one phrase per other model."""
        phrases = []
        for j in self.unresolved(i):
            needs = [
                d.settle
                for d in (self.cost[j][i], self.accuracy[j][i])
                if d is not None and d.outcome is Outcome.UNDETERMINED and d.settle
            ]
            if needs:
                phrases.append(f"{ids[j]}: {' and '.join(dict.fromkeys(needs))}")
        return "; ".join(sorted(phrases))


def _pairs(ids: list[str], costs: list[float], axis: Axis, judges: Judges) -> _Pairs:
    n = len(ids)
    cost: list[list[Decision | None]] = [[None] * n for _ in range(n)]
    acc: list[list[Decision | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            cost[i][j] = judges.cost(axis, ids[i], costs[i], ids[j], costs[j])
            cost[j][i] = cost[i][j].mirrored()
            acc[i][j] = judges.accuracy(ids[i], ids[j])
            acc[j][i] = acc[i][j].mirrored()
    return _Pairs(cost, acc)


def _points(ids: list[str], costs: list[float], accs: list[float], doms: list[list[int]],
            pairs: _Pairs) -> pd.DataFrame:  # fmt: skip
    def others(i: int, outcome: Outcome) -> tuple[str, ...]:
        return tuple(
            ids[j] for j in range(len(ids)) if j != i and pairs.cost_outcome(i, j) is outcome
        )

    columns = ["variant", "cost", "accuracy", "on_frontier", "dominated_by", "cost_ties",
               "cost_undetermined", "unresolved", "settle"]  # fmt: skip
    frame = pd.DataFrame(
        {
            "variant": ids,
            "cost": costs,
            "accuracy": accs,
            "on_frontier": [not d for d in doms],
            "dominated_by": [tuple(sorted(ids[j] for j in d)) for d in doms],
            "cost_ties": [others(i, Outcome.EQUIVALENT) for i in range(len(ids))],
            "cost_undetermined": [others(i, Outcome.UNDETERMINED) for i in range(len(ids))],
            # Only a frontier point's membership is at stake in an unresolved pair.
            "unresolved": [
                () if doms[i] else tuple(sorted(ids[j] for j in pairs.unresolved(i)))
                for i in range(len(ids))
            ],
            "settle": ["" if doms[i] else pairs.settle(i, ids) for i in range(len(ids))],
        },
        columns=columns,
    )
    return frame.astype({"cost": float, "accuracy": float, "on_frontier": bool})


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
    pairs = _pairs(ids, costs, axis, judges)
    doms = dominated_by(costs, accs, cost_relation=pairs.cost_outcome,
                        accuracy_relation=pairs.accuracy_outcome)  # fmt: skip
    notes = []
    if ids and all(doms):
        doms = dominated_by(costs, accs)
        notes.append(
            "the decisions made domination circular on this axis, so it is decided on the point "
            "figures"
        )
    points = _points(ids, costs, accs, doms, pairs)
    front = sorted((i for i in range(len(ids)) if not doms[i]),
                   key=lambda i: (costs[i], -accs[i], ids[i]))  # fmt: skip
    steps, ties = _frontier_walk(ids, costs, accs, front, pairs.cost_outcome,
                                 pairs.accuracy_outcome)  # fmt: skip
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
    return Analysis(tuple(analyse_axis(table, axis, judges) for axis in axes), no_accuracy, judges)
