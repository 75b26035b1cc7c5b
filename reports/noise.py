"""Can two models' costs be told apart? Exact for counts, paired for timings, a tolerance otherwise.

A difference between two costs is printed as a difference only when it survives the noise that
produced it; otherwise the two are *tied* on that axis, and a tie decides nothing: neither model
dominates the other for that cost, no gain per doubling is computed across it, and no verdict
rests on it. How a metric is judged is declared in its row of `bench.metrics` (`noise`,
`tolerance`):

* **exact** (parameters, MACs, FLOPs: counted, not measured): tied only when equal.
* **paired** (batch-1 latency, time per image, training step): the suite times every model in
  the same rounds of one interleaved session, so round `i` of model a and round `i` of model b
  met the same machine (a model called several times in a round counts once there, by the median
  of its samples). The evidence is the per-round log ratio log(a_i / b_i), pooled over the
  sessions (files) where both were timed; a one-sample t-test of its mean against 0 gives p
  (two-sided). The two differ only when p < `ALPHA` *and* the ratio of their figures lies
  outside 1 ± the metric's tolerance (3 % for medians, 10 % for tails), in the direction the
  per-round ratios point. Without shared rounds (files written before interleaving, a model
  timed alone) the tolerance rule below applies, and the comparison says so.
* **tolerance** (memory, training time: measured apart): tied when the figures are within the
  tolerance of each other.

Why a tolerance on top of the test: with hundreds of rounds a test resolves differences of a
fraction of a per cent, which are real but too small to choose a model on, and too small to
survive the next machine. `experiments/ties_experiment.py` measured what identical inference
graphs (v01/v02, v04/v05/v08, v07/v09) show on the 2-core dev box; the tolerances are above that.

`tests/test_noise.py` checks a detected tie on hand-made samples, a real 10 % difference that is
not called a tie, the exact and tolerance rules, and the fallback without shared rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench import metrics
from bench.metrics import Metric
from reports.pareto import Judges
from reports.stats import compare_rows

ALPHA = 0.01  # two-sided; many pairs are compared, and the tolerance guards the rest


@dataclass(frozen=True)
class CostComparison:
    """Whether cost a differs from cost b.

    Attributes:
        ratio: a's figure / b's figure, as the report shows them.
        relation: -1 (a is cheaper), 0 (tied), +1 (a is dearer).
        p_value: the paired test's, or None when no test applies.
        rounds: shared rounds behind the test (0 without one).
        method: one phrase for the report.
    """

    ratio: float
    relation: int
    p_value: float | None
    rounds: int
    method: str

    @property
    def tied(self) -> bool:
        return self.relation == 0


def _within(ratio: float, tolerance: float) -> bool:
    return abs(ratio - 1.0) <= tolerance + 1e-12


def _direction(ratio: float) -> int:
    return -1 if ratio < 1.0 else 1


class CostNoise:
    """Decides ties between the models of one report, axis by axis.

    Args:
        samples: `reports.data.Suite.samples` (raw per-round samples with their sessions).
    """

    def __init__(self, samples: pd.DataFrame) -> None:
        self._per_image = samples.assign(seconds=samples["seconds"] / samples["batch_size"])
        self._cache: dict[tuple[str, str, str], np.ndarray] = {}

    def log_ratios(self, scenario: str, a: str, b: str) -> np.ndarray:
        """log(a_i / b_i) over every round where both were timed in the same session."""
        key = (scenario, a, b)
        if key not in self._cache:
            self._cache[key] = self._log_ratios(scenario, a, b)
        return self._cache[key]

    def _log_ratios(self, scenario: str, a: str, b: str) -> np.ndarray:
        rows = self._per_image[self._per_image["scenario"] == scenario]
        keys = ["run", "session", "round"]
        # A model timed several times in a round counts once: the median of its samples there.
        left = rows[rows["variant"] == a].groupby(keys, as_index=False)["seconds"].median()
        right = rows[rows["variant"] == b].groupby(keys, as_index=False)["seconds"].median()
        both = left.merge(right, on=keys, suffixes=("_a", "_b"))
        return np.log(both["seconds_a"].to_numpy() / both["seconds_b"].to_numpy())

    def compare(
        self, metric: Metric, a: str, cost_a: float, b: str, cost_b: float
    ) -> CostComparison:
        """Compare the figures `cost_a` of model `a` and `cost_b` of model `b` on `metric`."""
        ratio = cost_a / cost_b
        if metric.noise == "exact":
            relation = 0 if cost_a == cost_b else _direction(ratio)
            return CostComparison(ratio, relation, None, 0, "counted: equal or not")
        scenario = metrics.sample_scenario(metric)
        logs = self.log_ratios(scenario, a, b) if metric.noise == "paired" and scenario else None
        if logs is None or logs.size < 3:
            relation = 0 if _within(ratio, metric.tolerance) else _direction(ratio)
            how = f"within {metric.tolerance:.0%} counts as a tie"
            if metric.noise == "paired":
                how = f"no shared rounds to pair: {how}"
            return CostComparison(ratio, relation, None, 0, how)
        return self._paired(metric, ratio, logs)

    @staticmethod
    def _paired(metric: Metric, ratio: float, logs: np.ndarray) -> CostComparison:
        mean = float(np.mean(logs))
        if np.allclose(logs, logs[0]):  # no spread at all: a t-test is undefined
            p = 0.0 if abs(mean) > 0 else 1.0
        else:
            p = float(scipy_stats.ttest_1samp(logs, 0.0).pvalue)
        agrees = (mean < 0) == (ratio < 1.0)
        differs = p < ALPHA and not _within(ratio, metric.tolerance) and agrees
        method = (
            f"paired t-test on {logs.size} shared rounds' log ratios, p < {ALPHA:g} and beyond "
            f"±{metric.tolerance:.0%}"
        )
        return CostComparison(ratio, _direction(ratio) if differs else 0, p, logs.size, method)


def accuracy_relation(difference: float, distinguishable: bool) -> int:
    """+1 when a is more accurate than b and the test can tell, -1 the reverse, 0 a tie."""
    if not distinguishable or math.isnan(difference) or difference == 0:
        return 0
    return 1 if difference > 0 else -1


def judges(
    table: pd.DataFrame, samples: pd.DataFrame, labels: dict[str, Any] | None = None
) -> Judges:
    """How two models of `table` compare: costs by this module's rules, accuracies by a test.

    Args:
        table: `reports.data.aggregate`'s table (accuracy estimates per model).
        samples: `reports.data.Suite.samples`.
        labels: the test sets' labels by checksum (`reports.data.Suite.labels`), for McNemar.
    """
    noise = CostNoise(samples)
    rows = table.set_index("variant")

    def cost(axis: Metric, a: str, cost_a: float, b: str, cost_b: float) -> int:
        return noise.compare(axis, a, cost_a, b, cost_b).relation

    def accuracy(a: str, b: str) -> int:
        c = compare_rows(rows.loc[a], rows.loc[b], labels)
        return accuracy_relation(c.difference, c.distinguishable)

    return Judges(cost, accuracy)
