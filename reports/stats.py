"""How sure an accuracy is: Wilson intervals, seed spread, and whether two accuracies differ.

Claims:

* A test accuracy p on n images is a binomial proportion; its 95 % interval is Wilson's score
  interval (better than p ± 1.96·se near 0 or 1 and for small n). For accuracies taken from the
  course report, n is the record's `test_examples` (10,000 for CIFAR-10).
* When several runs (seeds) of a variant were measured, the estimate is their mean and the
  interval is the Student-t 95 % interval of that mean, widened where needed to contain the
  Wilson interval of the mean on n images: seeds share one test set, so their spread shows
  training noise but not the test set's sampling noise, and the wider of the two is reported.
* "Cannot be told apart" is decided by a test, not by overlapping intervals (two 95 % intervals
  can overlap while the difference is significant, e.g. v09 90.45 % and v10 91.35 % on 10,000
  images: the intervals overlap but p = 0.027). With one accuracy per variant the test is the
  pooled two-proportion z-test; with at least two seeds on both sides it is Welch's t-test on the
  seed accuracies. When each side has one measured run with predictions on the same test images
  (`test_labels_sha256`), McNemar's exact test on the discordant images replaces the z-test
  (`compare_rows`); the z-test, used for reported figures, treats the two test sets as
  independent, which overstates the variance of the difference, so there "cannot be told apart"
  errs on the side of caution. Level: 5 %, two-sided.

`tests/test_reports.py` checks the Wilson bounds against Newcombe's (1998) examples and the z-test
against a hand computation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

CONFIDENCE = 0.95
ALPHA = 0.05


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


def two_proportion_p_value(p1: float, n1: int, p2: float, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (see the module docstring)."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / math.sqrt(variance)
    return float(2 * _st.norm.sf(abs(z)))


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


@dataclass(frozen=True)
class Comparison:
    """Whether two accuracies can be told apart.

    Attributes:
        difference: a.mean - b.mean (fraction).
        p_value: two-sided; None when no test is possible (unknown test-set size).
        method: "two-proportion z-test" or "Welch t-test on seeds".
        distinguishable: p_value < ALPHA (False when no test was possible).
    """

    difference: float
    p_value: float | None
    method: str
    distinguishable: bool


def estimate_row(row: Any) -> AccuracyEstimate:
    """The accuracy estimate of one row of `reports.data.aggregate`'s table."""
    n = row.get("test_examples")
    n = int(n) if n is not None and not (isinstance(n, float) and math.isnan(n)) else None
    runs = row.get("accuracy_runs")
    values = list(runs) if isinstance(runs, tuple) and runs else [row["accuracy"]]
    return estimate(values, n)


def variance(est: AccuracyEstimate) -> float | None:
    """The variance of an accuracy estimate's mean, or None when it cannot be known.

    One run on n images: the binomial p(1 - p) / n. Several seeds: their spread, s² / k, but no
    less than the binomial term of the mean (seeds share one test set, so their spread misses
    its sampling noise), as for the interval in `estimate`.
    """
    binomial = est.mean * (1 - est.mean) / est.n_test if est.n_test else None
    if len(est.seeds) < 2:
        return binomial
    k = len(est.seeds)
    spread = sum((v - est.mean) ** 2 for v in est.seeds) / (k - 1) / k
    return spread if binomial is None else max(spread, binomial)


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


def _paired_predictions(a: Any, b: Any, labels: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """The single runs' predictions of two rows and their shared labels, when they have them."""
    runs_a, runs_b = a.get("accuracy_predictions"), b.get("accuracy_predictions")
    if not (isinstance(runs_a, tuple) and isinstance(runs_b, tuple)):
        return None
    if len(runs_a) != 1 or len(runs_b) != 1 or runs_a[0][0] != runs_b[0][0]:
        return None
    encoded = labels.get(runs_a[0][0])
    if encoded is None:
        return None
    from bench.contract import decode_classes

    return decode_classes(runs_a[0][1]), decode_classes(runs_b[0][1]), decode_classes(encoded)


def compare_rows(a: Any, b: Any, labels: dict[str, Any] | None = None) -> Comparison:
    """Compare two rows of `reports.data.aggregate`'s table: seeds (Welch) when both have
    several, McNemar's exact test when each has one run with predictions on the same test
    images, else the two-proportion z-test (`compare`)."""
    est_a, est_b = estimate_row(a), estimate_row(b)
    if len(est_a.seeds) >= 2 and len(est_b.seeds) >= 2:
        return compare(est_a, est_b)
    paired = _paired_predictions(a, b, labels or {})
    if paired is None:
        return compare(est_a, est_b)
    p, only_a, only_b = mcnemar_p(*paired)
    method = f"McNemar exact test ({only_a} vs {only_b} discordant images)"
    return Comparison(est_a.mean - est_b.mean, p, method, p < ALPHA)


def compare(a: AccuracyEstimate, b: AccuracyEstimate) -> Comparison:
    """Test whether accuracies `a` and `b` differ (module docstring says which test when)."""
    diff = a.mean - b.mean
    if len(a.seeds) >= 2 and len(b.seeds) >= 2:
        if len(set(a.seeds)) == 1 and len(set(b.seeds)) == 1:
            p = 1.0 if a.mean == b.mean else 0.0
        else:
            p = float(_st.ttest_ind(a.seeds, b.seeds, equal_var=False).pvalue)
        return Comparison(diff, p, "Welch t-test on seeds", p < ALPHA)
    if a.n_test and b.n_test:
        p = two_proportion_p_value(a.mean, a.n_test, b.mean, b.n_test)
        return Comparison(diff, p, "two-proportion z-test", p < ALPHA)
    return Comparison(diff, None, "no test: the test-set size is unknown", False)
