"""Time many models in the same rounds, so that whatever the machine does hits them all alike.

Claim: on a shared machine the time of one call drifts by tens of per cent over a run (another
process, frequency changes). Timing the models one after another puts each drift on one model
and not the next; timing them in rounds that visit every model, in a freshly shuffled order each
round, puts every drift on every model. Round `i` of one model and round `i` of another were
measured within the same round, so the report can compare two models through their per-round
ratios (a paired comparison) instead of through two figures taken minutes apart.

Rules kept from the single-model timing (`bench.measure.timing`): every callable is a pre-built
`Timed`; its first call (trace, XLA compile, cuDNN autotune) is timed apart and never sampled;
the single-trace guard runs after the warm-up and again after the rounds, so a function that
retraced is dropped with a reason and none of its samples is kept. The optional reference
workload is timed in every round too (the two-file gate divides by it).

`tests/test_interleave.py` checks the order (every model once per round, shuffled, seeded), the
alignment of the samples, the guard, and the round count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from bench.measure import sequential
from bench.measure.sequential import StopRule
from bench.measure.timing import Timed
from bench.metrics import primed

REFERENCE = "__reference__"


@dataclass
class Session:
    """The samples of one interleaved session.

    Attributes:
        samples: seconds per call, by name, round after round: `calls[name]` samples per round
            (round i of every name is the same round), on each callable's clock (`Timed.clock`).
        reference: the reference workload's sample of each round, or None.
        rounds: rounds run.
        order_seed: seed of the per-round shuffles.
        calls: timed calls per round of each name (1 unless `metrics.calls_per_round` gave more).
        first_call_s: the first call of each name (timed apart, not in `samples`).
        dropped: name -> why it has no samples (it retraced, or its first call failed).
        taken: rounds each name took part in (the first `taken[name]` rounds of the session;
            all of them unless a stopping rule let it leave early).
        stops: name -> why its rounds ended ("decided after 64 rounds", "the cap", ...).
    """

    samples: dict[str, list[float]]
    reference: list[float] | None
    rounds: int
    order_seed: int
    calls: dict[str, int] = field(default_factory=dict)
    first_call_s: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    taken: dict[str, int] = field(default_factory=dict)
    stops: dict[str, str] = field(default_factory=dict)

    @property
    def shared_rounds(self) -> int:
        """The rounds every kept name took part in (the first ones): a point figure of one name
        is taken from these only, so that all are taken from the same rounds."""
        return min((self.taken.get(n, self.rounds) for n in self.samples), default=self.rounds)


def per_call_s(timed: Timed, calls: int = 3) -> float:
    """Seconds of one call, to size the rounds: the last warm-up call's when it was timed and
    the call is long (a second or so: timing it again would cost as much as a round), else the
    mean of `calls` more calls; on the callable's own clock."""
    if timed.warm_call_s >= 0.05:
        return timed.warm_call_s
    start = timed.clock()
    for _ in range(calls):
        timed.call()
    return (timed.clock() - start) / calls


def _retraced(name: str, count: int) -> str:
    return (
        f"the timed function of {name} was traced {count} times instead of once, so its samples "
        "would mix tracing into the timing; none are kept"
    )


def warm_up(timed: Mapping[str, Timed], *, calls: int) -> dict[str, str]:
    """`calls` warm-up calls in all (the first timed apart) for every callable.

    A callable whose first call already ran (to find a batch that fits, say) gets only the rest.

    Returns:
        name -> why to drop it: its function was traced more than once.
    """
    dropped = {}
    for name, t in timed.items():
        if math.isnan(t.first_call_s):
            t.warm_up(calls)
        else:
            t.more_warm_up(calls - 1)
        if t.tracing_count != 1:
            dropped[name] = _retraced(name, t.tracing_count)
    return dropped


def alike(calls: Mapping[str, int], groups: Iterable[frozenset[str]]) -> dict[str, int]:
    """Calls per round with every group's members (models that must be told apart or shown
    equivalent: `bench.suite.orchestration.scenarios.same_architecture`) at the fewest any of
    them makes. Twins sized apart (one call a little over the fill target, the other under it)
    would otherwise be timed by different protocols: several primed calls against one cold one.
    A model in two groups takes the fewest of either, and its groups are then applied again
    until nothing changes, so the result does not depend on the groups' order."""
    out = dict(calls)
    groups = [[m for m in group if m in out] for group in groups]
    changed = True
    while changed:
        changed = False
        for members in groups:
            fewest = min((out[m] for m in members), default=None)
            if fewest is not None and any(out[m] != fewest for m in members):
                out.update(dict.fromkeys(members, fewest))
                changed = True
    return out


def run_rounds(
    timed: Mapping[str, Timed],
    *,
    rounds: int,
    reference: Timed | None = None,
    seed: int = 0,
    calls: Mapping[str, int] | None = None,
    until: StopRule | None = None,
    warm_each_round: bool = False,
) -> Session:
    """Time every callable in every round, in a new random order each round.

    Call `warm_up` first; callables it dropped should not be passed. After the rounds the
    tracing counts are checked again and a callable that retraced is dropped.

    Args:
        timed: name -> a warmed-up `Timed`.
        rounds: number of rounds (with `until`: at most this many).
        reference: a workload timed once in every round too (shuffled with the others).
        seed: seed of the per-round orders (recorded in the session).
        calls: timed calls per round of each name (default 1). A name with more than one gets
            an untimed call first, so its samples start from its own warm caches (a 36 M-param
            model before it doubles a 0.6 ms model's next call on the 2-core box).
        warm_each_round: every name gets that untimed call (docs/measurement.md §1).
        until: a stopping rule (`bench.measure.sequential`): decided models leave at its looks
            (keeping the first rounds' samples); the session ends when none is left.
    """
    counts = {name: int((calls or {}).get(name, 1)) for name in timed}
    jobs = _jobs(timed, counts, reference, warm_each_round)
    out = {name: np.empty(rounds * job[1]) for name, job in jobs.items()}
    taken = dict.fromkeys(jobs, 0)
    active = set(timed)
    stops: dict[str, str] = {}
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    done = 0
    for i in range(rounds):
        _one_round(i, rng.permutation(list(jobs)), jobs, active, out, taken)
        done = i + 1
        if until is not None:
            _check(until, done, time.perf_counter() - started, out, counts, taken, active, stops)
            if not active:
                break
    for name in active:
        stops[name] = f"the cap of {done} rounds" if until is not None else f"{done} rounds"
    session = Session(
        samples={name: out[name][: taken[name] * counts[name]].tolist() for name in timed},
        reference=out[REFERENCE][:done].tolist() if reference is not None else None,
        rounds=done,
        order_seed=seed,
        calls=counts,
        first_call_s={name: t.first_call_s for name, t in timed.items()},
        taken={name: taken[name] for name in timed},
        stops=stops,
    )
    for name, t in timed.items():
        if t.tracing_count != 1:
            session.dropped[name] = _retraced(name, t.tracing_count)
            del session.samples[name]
    return session


def _jobs(
    timed: Mapping[str, Timed], counts: Mapping[str, int], reference: Timed | None,
    warm_each_round: bool,
) -> dict[str, tuple]:  # fmt: skip
    """name -> (callable, timed calls a round, clock, primed) of every name and the reference,
    whose protocol never changes: one cold call a round."""
    jobs = {
        name: (t.call, counts[name], t.clock, primed(counts[name], warm_each_round))
        for name, t in timed.items()
    }
    if reference is not None:
        jobs[REFERENCE] = (reference.call, 1, reference.clock, False)
    return jobs


def _one_round(
    i: int, order: np.ndarray, jobs: Mapping[str, tuple], active: set[str],
    out: dict[str, np.ndarray], taken: dict[str, int],
) -> None:  # fmt: skip
    """Round `i`: every active name (and the reference) in `order`, its samples into `out`, each
    on its callable's clock (`Timed.clock`)."""
    for name in order:
        if name != REFERENCE and name not in active:
            continue
        call, k, clock, prime = jobs[name]
        if prime:
            call()  # primer: warm this model's caches, untimed
        for j in range(i * k, (i + 1) * k):
            start = clock()
            call()
            out[name][j] = clock() - start
        taken[name] += 1


def _check(
    until: StopRule, done: int, elapsed: float, out: dict[str, np.ndarray],
    counts: Mapping[str, int], taken: Mapping[str, int], active: set[str],
    stops: dict[str, str],
) -> None:  # fmt: skip
    """After round `done`: a look of `until` when one is planned, then its time limit."""
    if done in until.looks:
        _look(out, counts, taken, active, stops, until, done)
    if active and elapsed > until.max_s:
        for name in active:
            stops[name] = f"the time limit after {done} rounds"
        active.clear()


def _look(
    out: dict[str, np.ndarray], counts: Mapping[str, int], taken: Mapping[str, int],
    active: set[str], stops: dict[str, str], rule: StopRule, done: int,
) -> None:  # fmt: skip
    """One look of `rule`: the settled models leave `active`."""
    per_round = {  # every call, one row per round
        name: out[name][: taken[name] * counts[name]].reshape(-1, counts[name]) for name in counts
    }
    settled, _ = sequential.look(per_round, active, rule)
    for name in settled:
        stops[name] = f"decided after {done} rounds"
    active -= settled
