"""Sample until decided: when an interleaved session may stop, and which models may leave it.

A fixed budget per session spends most of its rounds on comparisons that were clear after a few
rounds, and leaves close ones with three. Here a session looks at its data at a few planned
round counts (`StopRule.looks`) and, at each look, decides the comparisons the report will make
of this figure with the decision core (`bench.compare`): each model against its neighbours in
the order of the figure so far, and every pair of models the caller says must be told apart or
shown equivalent (`groups`, e.g. models of the same architecture). A model whose every such
comparison is decided (better, worse or equivalent) leaves the session; the session ends when no
model is left, at its last look (the cap), or past its time limit.

**The error rate.** Looking at the data several times and stopping at the first "decided" would
inflate the chance of a false difference (peek until p < 0.01 finds one in identical data far
more often than 1 % of the time). The rule spends its error rate instead (Bonferroni
alpha-spending): with at most J planned looks, each look decides at alpha / J, so the chance that
any look declares a difference between two identical models is at most J * alpha / J = alpha.
The looks are planned before the session starts (geometric: the first look, then doubling, up to
the cap), so J is known in advance; stopping early or at the time limit only removes looks.
The report's own decision, made later on all the rounds the pair shares at the usual level, is
the one printed; the stopping rule only decides how many rounds are taken.
`tests/test_sequential.py` simulates identical models and counts false decisions, against a
naive peeking rule that exceeds its level on the same data.

No TensorFlow here: the rule reads arrays of seconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from bench.compare import ALPHA_COSTS, Outcome, Rounds, compare
from bench.metrics import Metric, point_quantile


@dataclass(frozen=True)
class StopRule:
    """When a session looks at its data, and at what level it decides.

    Attributes:
        metric: the figure the session fills (its margin and its test: `bench.compare`).
        looks: round counts at which to look, increasing; the last is the cap.
        alpha: the error rate spent over all looks of one pair.
        groups: sets of models every pair of which must be decided (identical architectures).
        per_image: batch size of each model, to compare seconds per image (throughput).
        max_s: stop looking (and end the session) once this many seconds have passed.
    """

    metric: Metric
    looks: tuple[int, ...]
    alpha: float = ALPHA_COSTS
    groups: tuple[frozenset[str], ...] = ()
    per_image: Mapping[str, int] | None = None
    max_s: float = math.inf

    @classmethod
    def geometric(cls, metric: Metric, *, first: int, cap: int, **kwargs) -> StopRule:
        """Looks at `first`, 2 x `first`, 4 x `first`, ... and at `cap` (all <= `cap`)."""
        first = max(1, min(first, cap))
        looks = []
        n = first
        while n < cap:
            looks.append(n)
            n *= 2
        looks.append(cap)
        return cls(metric, tuple(looks), **kwargs)

    @property
    def look_alpha(self) -> float:
        """The level of each look: the error rate divided by the number of planned looks."""
        return self.alpha / len(self.looks)


def pairs_to_decide(medians: Mapping[str, float], groups: Iterable[frozenset[str]]) -> set:
    """Neighbours in the order of `medians` (ties by name), plus every pair within a group."""
    order = sorted(medians, key=lambda n: (medians[n], n))
    pairs = {tuple(sorted(p)) for p in itertools.pairwise(order)}
    for group in groups:
        members = sorted(set(group) & set(medians))
        pairs |= {tuple(p) for p in itertools.combinations(members, 2)}
    return pairs


def _rounds(per_round: np.ndarray) -> Rounds:
    """Rows of calls (one row per round) as the decision core's evidence."""
    return Rounds({i: tuple(float(v) for v in row) for i, row in enumerate(per_round)})


def _figure(calls: np.ndarray, metric: Metric) -> float:
    """The figure so far that orders the models as the report will (its neighbours): the
    quantile of every call the metric's figure reads (throughput's 5 %, a tail's), or the
    median of the per-round medians."""
    quantile = point_quantile(metric)
    if quantile is not None:
        return float(np.quantile(calls, quantile))
    return float(np.median(np.median(calls, axis=1)))


def look(
    per_round: Mapping[str, np.ndarray], active: set[str], rule: StopRule
) -> tuple[set[str], dict[tuple[str, str], Outcome]]:
    """One look: which active models are settled, and every pair's outcome at the look's level.

    Args:
        per_round: each model's calls so far (seconds), one row per round (a 1-D array is
            one call per round), round i of every model being the same round (a model that
            left the session has fewer rounds; only shared rounds are compared). A centre
            (median) takes each round's median, a quantile metric every call.
        active: the models still taking part.
        rule: the stopping rule.

    Returns:
        (settled: active models whose every comparison with another active model is decided,
        outcomes of the pairs looked at).
    """
    scaled = {
        name: np.asarray(v, dtype=float).reshape(len(v), -1)
        / float((rule.per_image or {}).get(name, 1))
        for name, v in per_round.items()
        if len(v)
    }
    medians = {name: _figure(v, rule.metric) for name, v in scaled.items()}
    outcomes = {}
    for a, b in pairs_to_decide(medians, rule.groups):
        n = min(len(scaled[a]), len(scaled[b]))
        decision = compare(_rounds(scaled[a][:n]), _rounds(scaled[b][:n]), rule.metric,
                           alpha=rule.look_alpha)  # fmt: skip
        outcomes[(a, b)] = decision.outcome
    open_ = {
        m
        for (a, b), outcome in outcomes.items()
        if outcome is Outcome.UNDETERMINED and a in active and b in active
        for m in (a, b)
    }
    return {m for m in active if m not in open_}, outcomes
