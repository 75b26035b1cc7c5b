"""How sure one accuracy is: Wilson intervals and seed spread (no pairwise decision here).

Claims:

* A test accuracy p on n images is a binomial proportion; its 95 % interval is Wilson's score
  interval (better than p ± 1.96·se near 0 or 1 and for small n). For accuracies taken from the
  course report, n is the record's `test_examples` (10,000 for CIFAR-10).
* When several runs (seeds) of a variant were measured, the estimate is their mean and the
  interval is the Student-t 95 % interval of that mean, widened where needed to contain the
  Wilson interval of the mean on n images: seeds share one test set, so their spread shows
  training noise but not the test set's sampling noise, and the wider of the two is reported.
* Whether two accuracies differ is decided by `bench.compare` (Welch-Satterthwaite over seeds,
  McNemar on shared images), never by overlapping intervals: two 95 % intervals can overlap
  while the difference is resolvable (v09 90.45 % and v10 91.35 % on 10,000 images, p = 0.027).
  `mcnemar_p` here only reports a p-value beside a deployment's accuracy change.

`tests/test_reports.py` checks the Wilson bounds against Newcombe's (1998) examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

CONFIDENCE = 0.95


def wilson_interval(accuracy: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    Args:
        accuracy: observed fraction correct, in [0, 1].
        n: number of test examples (> 0).
        confidence: two-sided coverage.

    Returns:
        (low, high) as fractions.
    """
    if n <= 0:
        raise ValueError(f"a binomial interval needs n > 0 test examples, got {n}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1], got {accuracy}")
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    denom = 1 + z2 / n
    centre = (accuracy + z2 / (2 * n)) / denom
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class AccuracyEstimate:
    """An accuracy with its 95 % interval and how the interval was made.

    Attributes:
        mean: the accuracy (mean over seeds when there are several).
        low, high: the interval's bounds.
        n_test: test examples behind each accuracy (None when unknown: no interval).
        seeds: the per-seed accuracies (one value when there is a single run).
        method: one phrase for the report.
    """

    mean: float
    low: float | None
    high: float | None
    n_test: int | None
    seeds: tuple[float, ...]
    method: str


def estimate(values: Sequence[float], n_test: int | None) -> AccuracyEstimate:
    """Accuracy estimate from one or several runs' accuracies on an `n_test`-image test set."""
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("an accuracy estimate needs at least one accuracy")
    mean = sum(values) / len(values)
    low = high = None
    if n_test:
        low, high = wilson_interval(mean, n_test)
        method = f"Wilson 95 % on {n_test:,} test images"
    else:
        method = "no interval: the test-set size is unknown"
    if len(values) >= 2:
        k = len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
        half = float(_st.t.ppf(0.5 + CONFIDENCE / 2, k - 1)) * sd / math.sqrt(k)
        t_low, t_high = max(0.0, mean - half), min(1.0, mean + half)
        low = t_low if low is None else min(low, t_low)
        high = t_high if high is None else max(high, t_high)
        method = f"seed spread (Student t, {k} runs)" + (
            f", at least the Wilson interval on {n_test:,} images" if n_test else ""
        )
    return AccuracyEstimate(mean, low, high, n_test, values, method)


def estimate_row(row: Any) -> AccuracyEstimate:
    """The accuracy estimate of one row of `reports.data.aggregate`'s table."""
    n = row.get("test_examples")
    n = int(n) if n is not None and not (isinstance(n, float) and math.isnan(n)) else None
    runs = row.get("accuracy_runs")
    values = list(runs) if isinstance(runs, tuple) and runs else [row["accuracy"]]
    return estimate(values, n)


def variance(est: AccuracyEstimate) -> float | None:
    """The variance of an accuracy estimate's mean, or None when it cannot be known: the decision
    core's (`bench.compare.mean_variance`): one run on n images, the binomial p(1 - p) / n;
    several seeds, their spread s² / k, but no less than the binomial term of the mean (seeds
    share one test set, so their spread misses its sampling noise)."""
    from bench.compare import Seeds, mean_variance

    return mean_variance(Seeds(est.seeds, est.n_test))[0]


def mcnemar_p(predicted_a: Any, predicted_b: Any, labels: Any) -> tuple[float, int, int]:
    """McNemar's exact test of two models scored on the same test images.

    Returns:
        (two-sided p, images only a got right, images only b got right).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    right_a = np.asarray(predicted_a) == np.asarray(labels)
    right_b = np.asarray(predicted_b) == np.asarray(labels)
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(right_b & ~right_a))
    both = int(np.sum(right_a & right_b))
    neither = int(np.sum(~right_a & ~right_b))
    result = mcnemar([[both, only_a], [only_b, neither]], exact=True)
    return float(result.pvalue), only_a, only_b
