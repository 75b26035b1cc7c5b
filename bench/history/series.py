"""Per model and cost, the figure of every comparable stored run in commit order, its interval,
and the commits where a step is found.

Figures (one point per stored run, runs ordered by commit time, then run time):
  - timed scenarios (batch-1 latency, throughput batch, training step): the gate's statistic,
    the policy's quantile of the raw samples (by default the minimum), divided by the same
    quantile of the reference workload timed in the same rounds when every run of the series has
    one ("× reference"), else in seconds. Its band spans the minimum to the k-th smallest sample,
    k the rank the gate's exact 99 % interval reads for two runs of this size
    (`bench.gates.decision.minimum_ratio_interval`): two runs of equal size whose bands do not
    overlap are exactly the pairs whose interval of the ratio excludes 1. (Another quantile:
    its seeded bootstrap interval.)
  - accuracy: the mean over seeds with the report's 95 % interval (Student t over the seeds, at
    least Wilson's on the test images; `reports.stats.estimate`);
  - parameters, MACs, FLOPs (exact) and peak memory: the recorded figure, no interval.

A step at run i, in direction D (higher or lower), when all three hold:
  1. run i differs from the run just before it (of an earlier commit) in direction D;
  2. it differs in direction D from a strict majority of the last `BEFORE` runs of earlier
     commits (so one noisy earlier run can neither make nor hide a step);
  3. the first run of a later commit, where there is one, does not differ from run i in the
     other direction (a lone outlier that comes back is not a step).
"Differs" is the gate's rule for that figure (`bench.history.decide.differs`): latency needs the
ratio beyond the threshold, the interval off 1, the p-value and the floor; counted figures any
change; memory the tolerance; accuracy the tolerance and the report's test. The page names the
first commit of each step, the commit of run i.

How it is checked: `tests/test_history_report.py` builds stores of hand-made runs with a 30 %
slowdown at a known commit, a lone outlier and pure noise, and asserts where steps are found;
`tests/test_history_commits.py` does it on real suite runs of three commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench import metrics
from bench.gates import files
from bench.gates.decision import GateInputError, bootstrap_interval, minimum_ratio_interval
from bench.gates.policy import Policy
from bench.history.decide import HIGHER, LOWER, accuracy_estimate, differs
from bench.history.store import Entry

BEFORE = 3  # earlier runs a step must differ from, by majority (rule 2 above)


@dataclass(frozen=True)
class Cost:
    """One figure drawn per model.

    Attributes:
        key: the benchmark scenario (rule "latency") or the record key.
        label: for titles.
        unit: `bench.metrics.Unit`, or "reference" for latencies divided by the reference's.
        rule: how `differs` judges it (`bench.metrics.GateRule`).
        better: "lower" or "higher".
    """

    key: str
    label: str
    unit: str
    rule: str
    better: str


def costs() -> tuple[Cost, ...]:
    """What the trend page draws, from the metric table: every timed scenario and every figure
    the gate judges that is a cost axis or accuracy or memory."""
    # A timed scenario's figure here is the gate's statistic of one call, not the metric
    # table's median or images per second: titled by what one call is (`Scenario.title`).
    timed = [
        Cost(name, metrics.scenario(name).title, "s", "latency", "lower")
        for name in metrics.scenarios()
    ]
    figures = [
        Cost(m.key, m.label, m.unit, m.gate, m.better)
        for m in metrics.METRICS
        if (m.gate == "exact" and m.axis) or m.gate in ("max_drop", "max_growth")
    ]
    return (*timed, *figures)


@dataclass
class Point:
    """One run's figure of one model and cost.

    Attributes:
        entry: the stored run.
        value: the figure (None when the run lacks it).
        low: lower end of its interval or band (None: no interval).
        high: upper end.
        material: what `differs` reads: the benchmark entry or the variant record.
        scale: the reference workload's quantile (timed figures with a reference), else None.
    """

    entry: Entry
    value: float | None
    low: float | None = None
    high: float | None = None
    material: Mapping[str, Any] = field(default_factory=dict)
    scale: float | None = None


@dataclass
class Series:
    """One model's figure of one cost over a group of comparable runs."""

    model: str
    cost: Cost
    points: list[Point]
    unit: str
    label: str = ""
    steps: list[tuple[int, str]] = field(default_factory=list)  # (index of the run, direction)


def _band(samples: np.ndarray, policy: Policy) -> tuple[float, float | None]:
    """The band of a run's statistic (module docstring); None above when too few samples."""
    if policy.quantile == 0.0:
        _, high = minimum_ratio_interval(samples, samples, confidence=policy.confidence)
        low = float(samples.min())
        return low, (low * high if np.isfinite(high) else None)
    low, high = bootstrap_interval(
        [samples], lambda x: np.quantile(x, policy.quantile, axis=1),
        confidence=policy.confidence, resamples=policy.resamples, seed=policy.seed,
    )  # fmt: skip
    return low, high


def timed_point(entry: Entry, bench: Mapping[str, Any], policy: Policy) -> Point:
    """A timed benchmark's point (raw seconds; `scale` set when it has reference samples)."""
    source = str(entry.path)
    try:
        samples = files.samples(bench, source)
        reference = files.reference(bench, samples.size, source)
    except GateInputError:
        return Point(entry, None, material=bench)
    low, high = _band(samples, policy)
    value = float(np.quantile(samples, policy.quantile))
    scale = None
    if reference is not None and policy.normalize != "none":
        scale = float(np.quantile(reference, policy.quantile))
    return Point(entry, value, low, high, bench, scale)


def figure_point(entry: Entry, record: Mapping[str, Any], cost: Cost) -> Point:
    """A recorded figure's point (accuracy with its interval)."""
    value = record.get(cost.key)
    if value is None:
        return Point(entry, None, material=record)
    if cost.rule != "max_drop":
        return Point(entry, float(value), material=record)
    estimate = accuracy_estimate(record)
    return Point(entry, estimate.mean, estimate.low, estimate.high, record)


def _model(bench: Mapping[str, Any]) -> str:
    extra = bench.get("extra_info") or {}
    deployment = extra.get("deployment", "keras")
    variant = str(extra.get("variant"))
    return variant if deployment == "keras" else f"{variant}@{deployment}"


def _differs(before: Point, after: Point, cost: Cost, policy: Policy) -> str:
    return differs(before.material, after.material, cost.key, cost.rule, policy)


def find_steps(series: Series, policy: Policy) -> list[tuple[int, str]]:
    """The runs where a step starts, with its direction (the rules in the module docstring)."""
    opposite = {HIGHER: LOWER, LOWER: HIGHER}
    present = [(i, p) for i, p in enumerate(series.points) if p.value is not None]
    steps: list[tuple[int, str]] = []
    stepped: set[str] = set()
    for n, (index, point) in enumerate(present):
        commit = point.entry.commit
        earlier = [p for _, p in present[:n] if p.entry.commit != commit]
        if not earlier or commit in stepped:
            continue
        window = earlier[-BEFORE:]
        votes = [_differs(p, point, series.cost, policy) for p in window]
        direction = votes[-1]  # against the run just before (rule 1)
        if direction not in opposite or 2 * votes.count(direction) <= len(window):
            continue
        later = next((p for _, p in present[n + 1 :] if p.entry.commit != commit), None)
        if later is not None and _differs(point, later, series.cost, policy) == opposite[direction]:
            continue
        steps.append((index, direction))
        stepped.add(commit)
    return steps


def _normalise(series: Series, policy: Policy) -> None:
    """Divide a timed series by its runs' reference workload when every run has one."""
    present = [p for p in series.points if p.value is not None]
    series.label = series.cost.label
    if series.cost.rule != "latency":
        return
    statistic = "minimum" if policy.quantile == 0 else f"quantile {policy.quantile:g}"
    series.label = f"{series.cost.label}, {statistic}"
    if not all(p.scale for p in present):
        return
    series.label += " / the reference's"
    series.unit = "reference"
    for p in present:
        p.value, p.low = p.value / p.scale, p.low / p.scale if p.low is not None else None
        p.high = p.high / p.scale if p.high is not None else None


def build_series(runs: Sequence[tuple[Entry, Mapping[str, Any]]], policy: Policy) -> list[Series]:
    """Every (model, cost) series of a group of comparable runs, with its steps.

    Args:
        runs: (entry, suite document) of one group, in commit order.
        policy: the gate's settings (quantile, normalisation, thresholds, tolerances).
    """
    by_key = {c.key: c for c in costs()}
    figures = [c for c in by_key.values() if c.rule != "latency"]
    table: dict[tuple[str, str], list[Point]] = {}
    for entry, document in runs:
        for bench in document["benchmarks"]:
            scenario = (bench.get("extra_info") or {}).get("scenario")
            if scenario in by_key:
                point = timed_point(entry, bench, policy)
                table.setdefault((_model(bench), scenario), []).append(point)
        for vid, record in document["variants"].items():
            for cost in figures:
                table.setdefault((vid, cost.key), []).append(figure_point(entry, record, cost))
    order = list(by_key)
    out = []
    for (model, key), points in sorted(
        table.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))
    ):
        if all(p.value is None for p in points):
            continue
        series = Series(model, by_key[key], points, by_key[key].unit)
        _normalise(series, policy)
        series.steps = find_steps(series, policy)
        out.append(series)
    return out
