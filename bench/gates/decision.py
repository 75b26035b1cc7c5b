"""The decision rule and the statistics shared by both latency gates (two-file and paired).

Claim: one rule decides every latency verdict. A benchmark is a REGRESSION only when all four
hold: the ratio (current / baseline) exceeds the threshold, the interval of the ratio lies above
1, the one-sided p-value is below alpha, and the slowdown in seconds (at the baseline's speed)
exceeds an absolute floor; it is FASTER when the ratio is below 1 / threshold and the interval
lies below 1; otherwise OK, with a note saying which condition held a slowdown back.
The gates differ only in what they feed it: `bench.gates.twofile` two independent runs (ratio
of quantiles, Mann-Whitney), `bench.gates.paired` ABBA rounds timed in one process (median of
per-round ratios, Wilcoxon signed-rank).

How it is checked: `tests/test_gate.py` and `tests/test_paired.py` feed both gates hand-made
samples of known shape (unchanged, 25-30 % slower, faster, below the floor, noisy) and assert
the verdicts; the bootstrap's determinism and the exact smallest p-value are tested directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from reports import units

# Verdicts. Only REGRESSION changes the exit code; the others are shown so nothing is skipped
# without a line in the table.
OK = "ok"
FASTER = "faster"
REGRESSION = "REGRESSION"
NOT_COMPARABLE = "not comparable"
MISSING = "missing"

EXIT_PASS = 0
EXIT_REGRESSION = 1
EXIT_UNUSABLE = 2


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
    independent; the paired gate passes one sample, its per-round ratios), so the same inputs
    always give the same interval.

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


def paired_slower_p_value(log_ratios: np.ndarray) -> float:
    """One-sided Wilcoxon signed-rank p-value for "log(current / baseline) > 0", per round.

    All-zero differences (identical timings) give 1: nothing suggests a slowdown.
    """
    if np.allclose(log_ratios, 0.0):
        return 1.0
    return float(scipy_stats.wilcoxon(log_ratios, alternative="greater").pvalue)
