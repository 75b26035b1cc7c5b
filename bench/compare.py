"""The one place where two models' figures are compared: better, worse, equivalent or undetermined.

Every pairwise decision the harness prints (a cost tie, a frontier position, the verdict, the
accuracy table, both gates) comes from `compare` here; nothing else decides on its own. A
comparison of model a against model b on one metric has four outcomes:

* **better** / **worse**: the data show a difference, in the metric's good or bad direction.
  The interval of the difference (at confidence 1 - alpha) excludes zero and does not lie within
  the margin.
* **equivalent**: the data show the two are within the metric's margin of each other: the whole
  interval lies inside +-margin (an interval-inclusion equivalence test: two one-sided tests at
  alpha / 2 each, TOST). A real but tiny difference (1 % on a 3 % margin) is equivalent: it is
  not worth a model choice.
* **undetermined**: neither: the data cannot say. More rounds (timings) or more seeds (accuracy)
  would settle it, and `Decision.settle` says which.

"Cannot be told apart" therefore never means "equal": only *equivalent* does.

The evidence decides the test (`Evidence` subclasses):

* `Counted` (parameters, MACs, FLOPs): exact; equal is equivalent, anything else differs.
* `Apart` (memory, training time, file size, energy: measured once each, apart): the ratio of
  the two figures against the metric's tolerance; within it is equivalent, outside it differs.
* `Rounds`, centre (medians of batch-1 and batch-8 latency, training step, and time per image,
  whose figure is the 5 % quantile of the calls: `bench.metrics.THROUGHPUT_QUANTILE`):
  per-round log ratios from one interleaved session (a round's calls taken at their median);
  the Hodges-Lehmann estimate of their centre with the Wilcoxon signed-rank interval, and the
  signed-rank test's p. A session with fewer rounds than a rank interval can have at that level
  (8 at 99 %) uses the paired t-interval of the mean log ratio instead, and says so.
* `Rounds`, tail (p90, p99): the ratio of the two models' quantiles, with a bootstrap over rounds
  (each resampled round keeps both models' samples, so the pairing survives).
* `Seeds` (accuracy): the difference of the mean accuracies with the Welch-Satterthwaite
  interval over seeds (a single run contributes the binomial variance p(1-p)/n, and a seed
  spread is never taken below it: seeds share one test set); McNemar's exact test when each side
  is one run with predictions on the same test images.

Costs are compared on log ratios, so the decision does not depend on the unit of a cost (ms or
s, bytes or MiB). `compare(b, a)` is the mirror image of `compare(a, b)`: the pair is put in a
canonical order (by a fingerprint of the evidence, never by name or position) before any test,
and the result is mirrored back. Random resampling is seeded from the same fingerprint.

Bad numbers never reach a test: `figure` refuses NaN, infinities, strings, booleans and negative
costs with one sentence naming the file, model and field (`InvalidFigure`).

When many pairs are decided on one axis, each decision is at its own level alpha; `holm` gives
Holm's step-down adjusted p-values, which the report prints beside the per-pair ones so a reader
can control the family-wise error rate.

This module imports NumPy and SciPy only (no TensorFlow): the report and the gates read it.
`tests/test_compare.py` checks the properties (symmetry, order and unit invariance, NaN refused)
with hypothesis, and each test against hand computations.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from bench.metrics import Metric

ALPHA_COSTS = 0.01  # timings: many pairs per axis, hundreds of rounds
ALPHA_ACCURACY = 0.05  # accuracies: a handful of seeds
BOOTSTRAP_RESAMPLES = 2000
# Above this many rounds the Walsh averages (n^2 / 2 of them) are taken on an evenly spaced
# subset of rounds: the interval is then a little wider than it could be, never narrower.
MAX_WALSH_ROUNDS = 3000
MIN_ROUNDS = 3


class Outcome(StrEnum):
    """What the data say of model a against model b on one metric."""

    BETTER = "better"
    WORSE = "worse"
    EQUIVALENT = "equivalent"
    UNDETERMINED = "undetermined"

    def mirror(self) -> Outcome:
        """The outcome of b against a."""
        swap = {Outcome.BETTER: Outcome.WORSE, Outcome.WORSE: Outcome.BETTER}
        return swap.get(self, self)

    @property
    def settled(self) -> bool:
        return self is not Outcome.UNDETERMINED

    @property
    def words(self) -> str:
        """For prose: "better", "worse", "equivalent", "cannot be told apart"."""
        return "cannot be told apart" if self is Outcome.UNDETERMINED else self.value


@dataclass(frozen=True)
class Decision:
    """One comparison of a against b.

    Attributes:
        outcome: better / worse / equivalent / undetermined, a against b.
        scale: "ratio" (costs: a / b) or "difference" (accuracy: a - b, a fraction).
        estimate: the ratio or difference.
        low, high: its interval at `confidence`.
        test: the test used, one phrase.
        p_value: two-sided p of "no difference" (None where no test applies: counts, apart).
        n: what the interval rests on (rounds, seeds, images; 1 for a single figure).
        margin: the equivalence margin (relative for ratios, absolute for differences).
        confidence: of the interval.
        settle: what more data would settle an undetermined outcome ("" otherwise).
    """

    outcome: Outcome
    scale: str
    estimate: float
    low: float
    high: float
    test: str
    p_value: float | None
    n: int
    margin: float
    confidence: float
    settle: str = ""

    def mirrored(self) -> Decision:
        """The same decision seen from b."""
        if self.scale == "ratio":
            est, low, high = _inverse(self.estimate), _inverse(self.high), _inverse(self.low)
        else:
            est, low, high = -self.estimate, -self.high, -self.low
        return replace(self, outcome=self.outcome.mirror(), estimate=est, low=low, high=high)

    @property
    def differs(self) -> bool:
        return self.outcome in (Outcome.BETTER, Outcome.WORSE)

    @property
    def interval(self) -> str:
        """ "[0.98, 1.02]" style, for tables."""
        return f"[{self.low:.4g}, {self.high:.4g}]"


def _inverse(x: float) -> float:
    return math.inf if x == 0 else 1.0 / x


# ------------------------------------------------------------------------- validated figures


class InvalidFigure(ValueError):
    """A figure that no decision may read; the message is one sentence naming where it is."""


def figure(value: Any, *, where: str, model: str, field: str, cost: bool = True) -> float | None:
    """A figure read from a file, validated once: a float, or None when it is null.

    Args:
        value: what the file holds.
        where: the file (or other source) for the message.
        model: the model id it belongs to.
        field: the JSON key.
        cost: True for a cost (must be >= 0); False for accuracy (must be in [0, 1]).

    Raises:
        InvalidFigure: a string, a boolean, NaN, an infinity, a negative cost or an accuracy
            outside [0, 1].
    """
    if value is None:
        return None
    problem = _problem(value, cost)
    if problem:
        raise InvalidFigure(
            f"{where}: {model}'s {field} is {value!r}, {problem}; fix or regenerate that file."
        )
    return float(value)


def _problem(value: Any, cost: bool) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return f"a {type(value).__name__} where a number belongs"
    if math.isnan(value):
        return "not a number (NaN)"
    if math.isinf(value):
        return "infinite"
    if cost and value < 0:
        return "negative, which no cost can be"
    if not cost and not 0.0 <= value <= 1.0:
        return "outside [0, 1], which no accuracy fraction can be"
    return ""


def _check_finite(values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise InvalidFigure(f"{what} holds NaN or infinite values; regenerate those samples.")
    return values


# ------------------------------------------------------------------------- evidence


class Evidence:
    """What is known of one model's figure; subclasses choose the test."""

    def fingerprint(self) -> bytes:
        raise NotImplementedError


@dataclass(frozen=True)
class Counted(Evidence):
    """A counted figure (parameters, MACs): exact."""

    value: float

    def fingerprint(self) -> bytes:
        return repr(float(self.value)).encode()


@dataclass(frozen=True)
class Apart(Evidence):
    """A figure measured once, apart from the other model's (memory, training time)."""

    value: float

    def fingerprint(self) -> bytes:
        return repr(float(self.value)).encode()


@dataclass(frozen=True)
class Rounds(Evidence):
    """Raw timings of one model by round of an interleaved session.

    Attributes:
        by_round: round key -> that round's samples (seconds, or per-image seconds). Round keys
            are shared between the models timed in the same session (e.g. (file, session,
            round)); only rounds both models have are compared.
    """

    by_round: dict[Any, tuple[float, ...]] = field(hash=False)

    def fingerprint(self) -> bytes:
        h = hashlib.sha256()
        for key in sorted(self.by_round, key=repr):
            h.update(repr(key).encode())
            h.update(np.asarray(self.by_round[key], dtype=float).tobytes())
        return h.digest()


@dataclass(frozen=True)
class Seeds(Evidence):
    """Test accuracies of a model's runs (one per seed) on `n_test` images.

    Attributes:
        runs: accuracy fraction per run.
        n_test: test images behind each (None when unknown).
        correct: per run, (test-set checksum, boolean array "this image right") where known, for
            McNemar's test between single runs on the same images.
    """

    runs: tuple[float, ...]
    n_test: int | None = None
    correct: tuple[tuple[str, Any], ...] = ()

    def fingerprint(self) -> bytes:
        h = hashlib.sha256(repr((tuple(float(r) for r in self.runs), self.n_test)).encode())
        for sha, right in self.correct:
            h.update(sha.encode())
            h.update(np.asarray(right, dtype=bool).tobytes())
        return h.digest()


# ------------------------------------------------------------------------- the decision


def _alpha(metric: Metric) -> float:
    return ALPHA_ACCURACY if metric.noise == "seeds" else ALPHA_COSTS


def compare(a: Evidence, b: Evidence, metric: Metric, *, alpha: float | None = None) -> Decision:
    """Model a against model b on `metric` (see the module docstring).

    The pair is put in a canonical order before any computation, so `compare(b, a, m)` is
    exactly `compare(a, b, m).mirrored()`.
    """
    if type(a) is not type(b):
        raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    if b.fingerprint() < a.fingerprint():
        return _compare(b, a, metric, alpha).mirrored()
    return _compare(a, b, metric, alpha)


def _compare(a: Evidence, b: Evidence, metric: Metric, alpha: float | None) -> Decision:
    alpha = _alpha(metric) if alpha is None else alpha
    if isinstance(a, Seeds):
        return _accuracy(a, b, metric, alpha)  # type: ignore[arg-type]
    if isinstance(a, Counted | Apart):
        return _point(a.value, b.value, metric, exact=isinstance(a, Counted))  # type: ignore[union-attr]
    if isinstance(a, Rounds):
        if metric.statistic in ("p90", "p99"):
            return _tail(a, b, metric, alpha)  # type: ignore[arg-type]
        return _paired_centre(a, b, metric, alpha)  # type: ignore[arg-type]
    raise TypeError(f"no test for {type(a).__name__}")


def _outcome(low: float, high: float, margin: float, metric: Metric) -> Outcome:
    """From an interval on the difference scale (log ratio, or difference) to an outcome."""
    if -margin <= low and high <= margin:
        return Outcome.EQUIVALENT
    if low > 0 or high < 0:
        higher = low > 0
        return Outcome.BETTER if higher == (metric.better == "higher") else Outcome.WORSE
    return Outcome.UNDETERMINED


def _log_margin(metric: Metric) -> float:
    # A relative tolerance t, made symmetric on the log scale: |log(a/b)| <= log(1 + t).
    return math.log1p(metric.tolerance)


def _point(x: float, y: float, metric: Metric, *, exact: bool) -> Decision:
    if x == y:
        return Decision(
            Outcome.EQUIVALENT,
            "ratio",
            1.0,
            1.0,
            1.0,
            "counted: equal" if exact else "measured apart: equal",
            None,
            1,
            0.0 if exact else metric.tolerance,
            1.0,
        )
    # A zero cost against a positive one has no ratio, but a clear order.
    log = math.copysign(math.inf, x - y) if x <= 0 or y <= 0 else math.log(x / y)
    margin = 0.0 if exact else _log_margin(metric)
    test = "counted: equal or not" if exact else f"measured apart: within {metric.tolerance:.1%}"
    ratio = math.exp(log) if math.isfinite(log) else (math.inf if log > 0 else 0.0)
    outcome = _outcome(log, log, margin, metric)
    return Decision(
        outcome,
        "ratio",
        ratio,
        ratio,
        ratio,
        test,
        None,
        1,
        0.0 if exact else metric.tolerance,
        1.0,
    )


def _shared_rounds(a: Rounds, b: Rounds) -> list[Any]:
    return sorted(set(a.by_round) & set(b.by_round), key=repr)


def _undetermined(
    scale: str,
    estimate: float,
    test: str,
    n: int,
    metric: Metric,
    settle: str,
    p: float | None = None,
) -> Decision:
    low, high = (0.0, math.inf) if scale == "ratio" else (-math.inf, math.inf)
    return Decision(
        Outcome.UNDETERMINED,
        scale,
        estimate,
        low,
        high,
        test,
        p,
        n,
        metric.tolerance,
        1 - _alpha(metric),
        settle,
    )


def _paired_centre(a: Rounds, b: Rounds, metric: Metric, alpha: float) -> Decision:
    keys = _shared_rounds(a, b)
    if len(keys) < MIN_ROUNDS:
        return _undetermined(
            "ratio",
            math.nan,
            f"paired rounds: only {len(keys)} shared",
            len(keys),
            metric,
            "time both models in the same session",
        )
    x = np.array([np.median(a.by_round[k]) for k in keys], dtype=float)
    y = np.array([np.median(b.by_round[k]) for k in keys], dtype=float)
    _check_finite(np.concatenate([x, y]), "the timing samples")
    if np.any(x <= 0) or np.any(y <= 0):
        raise InvalidFigure("a timing sample is zero or negative; regenerate those samples.")
    d = np.log(x / y)  # one division: exact under a change of unit by a power of two
    if _signed_rank_k(d.size, alpha) >= 1:
        centre, low, high = hodges_lehmann(d, alpha)
        p = signed_rank_p(d)
        test = f"Hodges-Lehmann / Wilcoxon signed-rank on {d.size} paired rounds"
    else:
        centre, low, high, p = _paired_t(d, alpha)
        test = f"paired t on {d.size} rounds' log ratios (too few rounds for a rank interval)"
    outcome = _outcome(low, high, _log_margin(metric), metric)
    return Decision(outcome, "ratio", math.exp(centre), math.exp(low), math.exp(high), test, p,
                    d.size, metric.tolerance, 1 - alpha,
                    "more rounds" if outcome is Outcome.UNDETERMINED else "")  # fmt: skip


def _paired_t(d: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """Mean of the log ratios with its Student-t interval, and the two-sided p: for sessions with
    fewer rounds than a rank interval needs at 1 - alpha (8 at 99 %: 2 / 2^n must be <= alpha)."""
    mean = float(np.mean(d))
    if np.all(d == d[0]):
        return mean, mean, mean, (1.0 if mean == 0 else 0.0)
    se = float(np.std(d, ddof=1)) / math.sqrt(d.size)
    half = float(scipy_stats.t.ppf(1 - alpha / 2, d.size - 1)) * se
    p = float(2 * scipy_stats.t.sf(abs(mean) / se, d.size - 1))
    return mean, mean - half, mean + half, p


def _tail(a: Rounds, b: Rounds, metric: Metric, alpha: float) -> Decision:
    q = {"p90": 0.90, "p99": 0.99}[str(metric.statistic)]
    keys = _shared_rounds(a, b)
    xa = [np.asarray(a.by_round[k], dtype=float) for k in keys]
    xb = [np.asarray(b.by_round[k], dtype=float) for k in keys]
    n_a, n_b = sum(v.size for v in xa), sum(v.size for v in xb)
    if min(n_a, n_b) < metric.min_samples or len(keys) < MIN_ROUNDS:
        return _undetermined(
            "ratio",
            math.nan,
            f"{metric.statistic} from too few paired samples",
            min(n_a, n_b),
            metric,
            "more rounds",
        )
    _check_finite(np.concatenate(xa + xb), "the timing samples")
    point = math.log(np.quantile(np.concatenate(xa), q) / np.quantile(np.concatenate(xb), q))
    seed = int.from_bytes(hashlib.sha256(a.fingerprint() + b.fingerprint()).digest()[:8], "big")
    boots = _tail_bootstrap(xa, xb, q, np.random.default_rng(seed))
    low, high = (float(v) for v in np.quantile(boots, [alpha / 2, 1 - alpha / 2]))
    p = float(min(1.0, 2 * min(np.mean(boots <= 0), np.mean(boots >= 0))))
    outcome = _outcome(low, high, _log_margin(metric), metric)
    return Decision(
        outcome,
        "ratio",
        math.exp(point),
        math.exp(low),
        math.exp(high),
        f"bootstrap of the {metric.statistic} ratio over {len(keys)} paired rounds "
        f"({BOOTSTRAP_RESAMPLES} resamples)",
        p,
        min(n_a, n_b),
        metric.tolerance,
        1 - alpha,
        "more rounds" if outcome is Outcome.UNDETERMINED else "",
    )


def _tail_bootstrap(
    xa: list[np.ndarray], xb: list[np.ndarray], q: float, rng: np.random.Generator
) -> np.ndarray:
    """`BOOTSTRAP_RESAMPLES` log ratios of the `q` quantiles, each over the same resampled rounds
    of both models (the pairing kept). Rounds of one size each side (a session's every round has
    the same number of calls) are resampled as rows of a matrix, many resamples per numpy call
    (the report makes about fifty of these; a loop of 2,000 resamples each took 25 s of its 33);
    rounds of mixed sizes one resample at a time, with the same draws."""
    picks = rng.integers(0, len(xa), (BOOTSTRAP_RESAMPLES, len(xa)))
    if len({v.size for v in xa}) == 1 and len({v.size for v in xb}) == 1:
        ma, mb = np.stack(xa), np.stack(xb)
        step = max(1, 2_000_000 // max(ma.size, mb.size))  # about 16 MB per side at a time
        boots = np.empty(BOOTSTRAP_RESAMPLES)
        for start in range(0, BOOTSTRAP_RESAMPLES, step):
            pick = picks[start : start + step]
            qa = np.quantile(ma[pick].reshape(len(pick), -1), q, axis=1)
            qb = np.quantile(mb[pick].reshape(len(pick), -1), q, axis=1)
            boots[start : start + step] = np.log(qa / qb)
        return boots
    return np.array([
        math.log(np.quantile(np.concatenate([xa[j] for j in pick]), q)
                 / np.quantile(np.concatenate([xb[j] for j in pick]), q))
        for pick in picks
    ])  # fmt: skip


# ------------------------------------------------------------------------- accuracy


def mean_variance(s: Seeds) -> tuple[float | None, float]:
    """(variance of the mean accuracy, its degrees of freedom); None when it cannot be known.

    One run: the binomial p(1 - p) / n, on n - 1 degrees of freedom. Several seeds: their spread
    s^2 / k, never below the binomial term of the mean (seeds share one test set, so their
    spread misses its sampling noise), on k - 1 degrees of freedom either way: with two seeds
    the training noise is barely known, whatever the test set says.
    """
    mean = float(np.mean(s.runs))
    binomial = mean * (1 - mean) / s.n_test if s.n_test else None
    k = len(s.runs)
    if k < 2:
        return binomial, (s.n_test - 1 if s.n_test else math.nan)
    spread = float(np.var(s.runs, ddof=1)) / k
    return (spread if binomial is None else max(spread, binomial)), k - 1


def _accuracy(a: Seeds, b: Seeds, metric: Metric, alpha: float) -> Decision:
    if not a.runs or not b.runs:
        raise InvalidFigure("an accuracy comparison needs at least one run on each side.")
    paired = _shared_predictions(a, b)
    if paired is not None:
        return _mcnemar(*paired, metric, alpha)
    return _welch(a, b, metric, alpha)


def _welch(a: Seeds, b: Seeds, metric: Metric, alpha: float) -> Decision:
    diff = float(np.mean(a.runs) - np.mean(b.runs))
    (va, dfa), (vb, dfb) = mean_variance(a), mean_variance(b)
    n = len(a.runs) + len(b.runs)
    test = f"Welch-Satterthwaite over seeds ({len(a.runs)} and {len(b.runs)} runs)"
    if va is None or vb is None:
        return _undetermined(
            "difference",
            diff,
            "no test: a test-set size is unknown",
            n,
            metric,
            "the test-set size, or two seeds per model",
        )
    total = va + vb
    if total == 0:
        outcome = _outcome(diff, diff, metric.tolerance, metric)
        return Decision(
            outcome,
            "difference",
            diff,
            diff,
            diff,
            test,
            1.0 if diff == 0 else 0.0,
            n,
            metric.tolerance,
            1 - alpha,
        )
    df = 1.0 / ((va / total) ** 2 / dfa + (vb / total) ** 2 / dfb)  # Welch-Satterthwaite
    se = math.sqrt(total)
    half = float(scipy_stats.t.ppf(1 - alpha / 2, df)) * se
    p = float(2 * scipy_stats.t.sf(abs(diff) / se, df))
    outcome = _outcome(diff - half, diff + half, metric.tolerance, metric)
    return Decision(
        outcome,
        "difference",
        diff,
        diff - half,
        diff + half,
        test,
        p,
        n,
        metric.tolerance,
        1 - alpha,
        _settle_accuracy(a, b, outcome),
    )


def _settle_accuracy(a: Seeds, b: Seeds, outcome: Outcome) -> str:
    if outcome is not Outcome.UNDETERMINED:
        return ""
    fewest = min(len(a.runs), len(b.runs))
    return f"more seeds (at least {max(3, fewest + 2)} per model)"


def _shared_predictions(a: Seeds, b: Seeds) -> tuple[np.ndarray, np.ndarray] | None:
    if len(a.runs) != 1 or len(b.runs) != 1 or len(a.correct) != 1 or len(b.correct) != 1:
        return None
    (sha_a, right_a), (sha_b, right_b) = a.correct[0], b.correct[0]
    right_a, right_b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if sha_a != sha_b or right_a.shape != right_b.shape:
        return None
    return right_a, right_b


def _mcnemar(right_a: np.ndarray, right_b: np.ndarray, metric: Metric, alpha: float) -> Decision:
    n = right_a.size
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(right_b & ~right_a))
    diff = (only_a - only_b) / n
    discordant = only_a + only_b
    p = (
        1.0 if discordant == 0 else float(scipy_stats.binomtest(only_a, discordant, 0.5).pvalue)
    )  # exact McNemar
    # Agresti-Min interval of a paired difference of proportions: the Wald interval after adding
    # 1/2 to each cell of the 2x2 table, so that identical predictions on 10 images do not make
    # an interval of zero width (Agresti & Min 2005, Statistics in Medicine 24:729-740).
    b, c, m = only_a + 0.5, only_b + 0.5, n + 2
    centre = (b - c) / m
    se = math.sqrt(max(b + c - (b - c) ** 2 / m, 0.0)) / m
    half = float(scipy_stats.norm.ppf(1 - alpha / 2)) * se
    low, high = centre - half, centre + half
    # The interval decides equivalence; the exact test decides a difference.
    if -metric.tolerance <= low and high <= metric.tolerance:
        outcome = Outcome.EQUIVALENT
    elif p < alpha:
        outcome = Outcome.BETTER if (diff > 0) == (metric.better == "higher") else Outcome.WORSE
    else:
        outcome = Outcome.UNDETERMINED
    return Decision(
        outcome,
        "difference",
        diff,
        low,
        high,
        f"McNemar exact test ({discordant:,} discordant of {n:,} images)",
        p,
        n,
        metric.tolerance,
        1 - alpha,
        "more seeds" if outcome is Outcome.UNDETERMINED else "",
    )


# ------------------------------------------------------------------------- rank statistics


def hodges_lehmann(d: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate of the centre of `d` and its Wilcoxon signed-rank interval.

    The estimate is the median of the Walsh averages (d_i + d_j) / 2, i <= j; the interval runs
    from the k-th smallest to the k-th largest Walsh average, with k from the signed-rank
    statistic's null distribution (exact up to 400 values, normal above), so that it covers the
    centre with probability at least 1 - alpha (Hollander & Wolfe, Nonparametric Statistical
    Methods, 3rd ed., section 3.3). Too few values for that coverage give (-inf, inf).
    """
    d = np.asarray(d, dtype=float)
    if d.size > MAX_WALSH_ROUNDS:
        d = np.sort(d)[np.linspace(0, d.size - 1, MAX_WALSH_ROUNDS).astype(int)]
    n = d.size
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    centre = float(np.median(walsh))
    k = _signed_rank_k(n, alpha)
    if k < 1:
        return centre, -math.inf, math.inf
    return centre, float(walsh[k - 1]), float(walsh[walsh.size - k])


@cache
def _signed_rank_k(n: int, alpha: float) -> int:
    """The largest k with P(T+ <= k - 1) <= alpha / 2 under the null (0 when none)."""
    total = n * (n + 1) // 2
    if n <= 400:
        counts = np.zeros(total + 1)
        counts[0] = 1.0
        for r in range(1, n + 1):
            counts[r:] = counts[r:] + counts[: total + 1 - r].copy()
        cdf = np.cumsum(counts) / counts.sum()
        below = np.nonzero(cdf <= alpha / 2)[0]
        return int(below[-1]) + 1 if below.size else 0
    mean, sd = total / 2, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return max(0, math.floor(mean - scipy_stats.norm.ppf(1 - alpha / 2) * sd - 0.5) + 1)


def signed_rank_p(d: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test that the centre of `d` is zero."""
    d = np.asarray(d, dtype=float)
    if np.all(d == 0):
        return 1.0
    if np.all(d == d[0]):
        return 0.0
    return float(scipy_stats.wilcoxon(d, zero_method="zsplit").pvalue)


# ------------------------------------------------------------------------- many pairs


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None): reject where adjusted < alpha and
    the family-wise error rate over these tests is at most alpha."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
