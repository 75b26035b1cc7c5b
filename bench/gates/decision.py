"""The decision rule and the statistics shared by both latency gates (two-file and paired).

Claim: one rule decides every latency verdict. A benchmark is a REGRESSION only when all four
hold: the ratio (current / baseline) exceeds the threshold, the interval of the ratio lies above
1, the one-sided p-value is below alpha, and the slowdown in seconds (at the baseline's speed)
exceeds an absolute floor; it is FASTER when the ratio is below 1 / threshold and the interval
lies below 1; otherwise OK, with a note saying which condition held a slowdown back. Both gates
fail closed the same way: what the baseline has and the current side lacks is LOST (exit 1, one
sentence each) unless --allow-missing lists it as a note; unusable input is exit 2.
The gates differ only in what they feed it: `bench.gates.twofile` two independent runs (ratio
of quantiles, Mann-Whitney: the statistics below), `bench.gates.paired` ABBA rounds timed in one
process (the decision core's paired-rounds test, `bench.compare`: Hodges-Lehmann estimate and
Wilcoxon signed-rank interval and p of the per-round ratios).

How it is checked: `tests/test_gate.py` and `tests/test_paired.py` feed both gates hand-made
samples of known shape (unchanged, 25-30 % slower, faster, below the floor, noisy) and assert
the verdicts; the bootstrap's determinism, the exact smallest p-value and the coverage of the
minimum's interval on 1000 hand-made pairs are tested directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from bench import units

# Verdicts. REGRESSION (slower, changed, dropped, grew) and LOST (what the baseline has, the
# current run lacks, or a current record holds errors) fail the gate; MISSING is a loss or an
# absence accepted with --allow-missing; the others are shown so nothing is skipped without a
# line in the table.
OK = "ok"
FASTER = "faster"
REGRESSION = "REGRESSION"
LOST = "LOST"
NOT_COMPARABLE = "not comparable"
MISSING = "missing"
FAILING = (REGRESSION, LOST)

EXIT_PASS = 0
EXIT_REGRESSION = 1
EXIT_UNUSABLE = 2


def exit_status(*, unusable: bool, failing: bool) -> int:
    """2 for unusable input, else 1 when something regressed or was lost, else 0."""
    if unusable:
        return EXIT_UNUSABLE
    return EXIT_REGRESSION if failing else EXIT_PASS


def failure_sentences(losses: Sequence[str], fix: str) -> list[str]:
    """One sentence per loss (what the current side lacks and why), then what to do."""
    return [f"{loss}; {fix}, or pass --allow-missing to accept the loss." for loss in losses]


def accepted_notes(losses: Sequence[str]) -> list[str]:
    """The notes that list losses accepted with --allow-missing, one per loss."""
    return [f"accepted with --allow-missing: {loss}." for loss in losses]


class GateInputError(ValueError):
    """An option, policy file or benchmark file the user gave is unusable; one sentence."""


@dataclass(frozen=True)
class Evidence:
    """What a gate measured for one benchmark, in the terms the rule reads.

    Attributes:
        ratio: current / baseline (a ratio of quantiles, or the median per-round ratio).
        ci_low: lower bound of the ratio's interval.
        ci_high: upper bound of that interval.
        p_value: one-sided p-value for "current is slower".
        delta_s: the slowdown in seconds at the baseline's speed, baseline x (ratio - 1).
    """

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    delta_s: float


@dataclass(frozen=True)
class Rule:
    """The settings of the rule for one benchmark.

    Attributes:
        threshold: largest tolerated ratio.
        alpha: largest p-value that counts as a real difference.
        floor_s: smallest slowdown in seconds that may fail.
    """

    threshold: float
    alpha: float
    floor_s: float


def decide(evidence: Evidence, rule: Rule) -> tuple[str, str]:
    """Apply the four conditions.

    Returns:
        (verdict, note): REGRESSION, FASTER or OK, and one phrase for the reader (may be empty).
    """
    large = evidence.ratio > rule.threshold
    real = evidence.ci_low > 1.0 and evidence.p_value < rule.alpha
    above_floor = evidence.delta_s > rule.floor_s
    if large and real and above_floor:
        return REGRESSION, f"slower than the threshold {units.setting(rule.threshold)}"
    if evidence.ratio < 1.0 / rule.threshold and evidence.ci_high < 1.0:
        return FASTER, ""
    if large and not real:
        return OK, "slower but not significant (noise)"
    if large and not above_floor:
        return OK, f"slower by less than the floor {units.seconds(rule.floor_s)}"
    if real and evidence.ratio > 1.0:
        return OK, f"slower, under the threshold {units.setting(rule.threshold)}"
    return OK, ""


# ---------------------------------------------------------------------------------------------
# Intervals


def bootstrap_interval(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[float, float]:
    """Seeded percentile bootstrap interval of `statistic` over independent samples.

    Each sample is resampled with replacement on its own (the two runs of the two-file gate are
    independent), so the same inputs always give the same interval.

    Args:
        samples: one 1-d array per independent sample.
        statistic: maps the resampled arrays, each shaped (resamples, n), to `resamples` values.
        confidence: two-sided coverage.
        resamples: bootstrap resamples.
        seed: the generator's seed.

    Returns:
        (low, high).
    """
    rng = np.random.default_rng(seed)
    drawn = [x[rng.integers(0, x.size, size=(resamples, x.size))] for x in samples]
    values = statistic(*drawn)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_ratio_interval(
    baseline: np.ndarray,
    current: np.ndarray,
    *,
    confidence: float,
    resamples: int,
    seed: int,
    quantile: float = 0.5,
) -> tuple[float, float]:
    """Percentile bootstrap interval of quantile(current) / quantile(baseline) (medians: 0.5).

    Returns:
        (low, high), the two-sided `confidence` interval.
    """

    def ratio(base: np.ndarray, cur: np.ndarray) -> np.ndarray:
        return np.quantile(cur, quantile, axis=1) / np.quantile(base, quantile, axis=1)

    return bootstrap_interval(
        (baseline, current), ratio, confidence=confidence, resamples=resamples, seed=seed
    )


def _precedence_rank(n_own: int, n_other: int, tail: float) -> int | None:
    """Smallest k with P(the k smallest of both samples all come from this one) <= tail.

    With no difference between the samples every arrangement of the pooled values is equally
    likely, so that probability is C(n_own, k) / C(n_own + n_other, k). None when even k = n_own
    is more likely than `tail` (too few samples for this confidence).
    """
    probability = 1.0
    for k in range(1, n_own + 1):
        probability *= (n_own - k + 1) / (n_own + n_other - k + 1)
        if probability <= tail:
            return k
    return None


def minimum_ratio_interval(
    baseline: np.ndarray, current: np.ndarray, *, confidence: float
) -> tuple[float, float]:
    """Distribution-free interval of min(current) / min(baseline): the inverted precedence test.

    Why not a bootstrap. A percentile bootstrap is not a valid interval for a sample minimum:
    a resampled minimum can never fall below the sample's own, and equals it with probability
    1 - (1 - 1/n)^n ~ 0.63, so the bootstrap distribution is a lopsided atom, not the sampling
    distribution. On hand-made A/A pairs of 60 rounds its 99 % interval excluded 1 in 2.3 % of
    the pairs (nominal 0.5 %) and covered a true ratio of 1.3 in 95.6 % (nominal 99 %;
    `tests/test_gate.py`). An m-out-of-n bootstrap is consistent for extremes, but only once
    rescaled by the minimum's rate of convergence, which depends on the unknown density at the
    floor (n for a density positive there, sqrt(n) for the test's product of delays, whose
    density vanishes there); estimating that rate from 60 rounds is not reliable.

    What this is instead. Model: current = rho x baseline in distribution (a slowdown scales the
    latency distribution; rho = 1 is "no change", the case whose false alarms the gate must
    control). For a given rho, pool the baseline and current / rho: every arrangement is equally
    likely, so the probability that the k smallest values all come from the baseline is
    C(n_b, k) / C(n_b + n_c, k) for ANY continuous distribution (the precedence test, Nelson
    1963). Rejecting the rho for which that, or the same from the current side, happens with
    probability at most (1 - confidence) / 2 each and keeping the rest gives
        [min(current) / b_(k_b), c_(k_c) / min(baseline)],
    b_(k) and c_(k) the k-th smallest samples. Its coverage is at least `confidence` exactly,
    at every sample size, without assuming a shape for the delays; it always contains the ratio
    of the minima; and like the minimum it reads only the lowest samples, so preemption in the
    upper tail cannot move it. (60 rounds a side, 99 %: k = 8.) Ties only make "low > 1" rarer.

    Returns:
        (low, high); 0 or infinity on a side with too few samples for the confidence.
    """
    tail = (1.0 - confidence) / 2.0
    base, cur = np.sort(baseline), np.sort(current)
    k_base = _precedence_rank(base.size, cur.size, tail)
    k_cur = _precedence_rank(cur.size, base.size, tail)
    low = cur[0] / base[k_base - 1] if k_base else 0.0
    high = cur[k_cur - 1] / base[0] if k_cur else math.inf
    return float(low), float(high)


def ratio_interval(
    baseline: np.ndarray,
    current: np.ndarray,
    *,
    quantile: float,
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[float, float]:
    """The interval of quantile(current) / quantile(baseline) that the two-file gate uses.

    The minimum (quantile 0, the default) gets the exact `minimum_ratio_interval`; another
    quantile the percentile bootstrap, which is consistent for a quantile inside the
    distribution (asymptotically normal where the density is positive) as long as n x quantile
    is more than a handful of samples.

    Returns:
        (low, high), the two-sided `confidence` interval.
    """
    if quantile == 0.0:
        return minimum_ratio_interval(baseline, current, confidence=confidence)
    return bootstrap_ratio_interval(
        baseline,
        current,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        quantile=quantile,
    )


# ---------------------------------------------------------------------------------------------
# p-values


def slower_p_value(baseline: np.ndarray, current: np.ndarray) -> float:
    """One-sided Mann-Whitney U p-value for "current is stochastically larger (slower)"."""
    return float(scipy_stats.mannwhitneyu(current, baseline, alternative="greater").pvalue)


def smallest_p_value(n_baseline: int, n_current: int) -> float:
    """The smallest p-value `slower_p_value` can give for these sample sizes.

    With too few rounds even a complete separation cannot reach alpha (5 rounds a side: 1/252 =
    0.004 > 0.002), and the gate could never fail; such inputs are refused instead.
    """
    base = np.arange(n_baseline, dtype=float)
    cur = np.arange(n_current, dtype=float) + n_baseline
    return slower_p_value(base, cur)
