"""Interleaved timing: every model once per round, shuffled, aligned; the trace guard; replay.

Stub callables stand in for models (their `call` records the order), so the order, the alignment
of samples and the guard are checked exactly, without timing anything real.
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import metrics
from bench.measure import interleave
from bench.measure.timing import Timed
from bench.suite.orchestration.replay import ReplayClock, TimerOptionError, use_replay_clock


class _Function:
    def __init__(self) -> None:
        self.traces = 1

    def experimental_get_tracing_count(self) -> int:
        return self.traces


def _stub(name: str, log: list[str], function: _Function | None = None) -> Timed:
    function = function or _Function()
    return Timed(call=lambda: log.append(name), batch_size=1, function=function)


def test_every_round_calls_every_model_once_in_a_shuffled_seeded_order():
    log: list[str] = []
    timed = {name: _stub(name, log) for name in ("a", "b", "c")}
    reference = _stub("ref", log)
    session = interleave.run_rounds(timed, rounds=40, reference=reference, seed=7)
    rounds = [log[i : i + 4] for i in range(0, len(log), 4)]
    assert len(rounds) == 40
    assert all(sorted(r) == ["a", "b", "c", "ref"] for r in rounds)
    orders = {tuple(r) for r in rounds}
    assert len(orders) > 10  # shuffled: 24 possible orders, not one fixed rotation
    assert sum(r[0] == "ref" for r in rounds) not in (0, 40)  # the reference moves too
    assert {k: len(v) for k, v in session.samples.items()} == {"a": 40, "b": 40, "c": 40}
    assert len(session.reference) == 40 and session.order_seed == 7

    again: list[str] = []
    interleave.run_rounds(
        {name: _stub(name, again) for name in ("a", "b", "c")},
        rounds=40,
        reference=_stub("ref", again),
        seed=7,
    )
    assert again == log  # the same seed gives the same orders


def test_samples_are_stored_in_round_order():
    # A callable that is slower at each call (round i sleeps 6 (i + 1) ms; steps of 6 ms stay
    # ordered on a loaded 2-core machine, where 2 ms steps did not): its samples, stored by
    # round, must come out increasing, whatever position it had within each round.
    import time

    calls = {"n": 0}

    def slower_each_time():
        calls["n"] += 1
        time.sleep(0.006 * calls["n"])

    log: list[str] = []
    timed = {
        "slow": Timed(call=slower_each_time, batch_size=1, function=_Function()),
        "other": _stub("other", log),
    }
    session = interleave.run_rounds(timed, rounds=6, seed=1)
    samples = session.samples["slow"]
    assert samples == sorted(samples) and samples[-1] > samples[0] + 0.025


def test_a_model_that_retraces_is_dropped_with_its_reason():
    log: list[str] = []
    retracing = _Function()
    timed = {"ok": _stub("ok", log), "bad": _stub("bad", log, retracing)}
    assert interleave.warm_up(timed, calls=3) == {}
    retracing.traces = 2  # it traced again during the rounds
    session = interleave.run_rounds(timed, rounds=5)
    assert "bad" not in session.samples and "ok" in session.samples
    assert "traced 2 times" in session.dropped["bad"]


def test_warm_up_times_the_first_call_apart_and_drops_a_retrace():
    log: list[str] = []
    twice = _Function()
    twice.traces = 2
    timed = {"a": _stub("a", log), "b": _stub("b", log, twice)}
    dropped = interleave.warm_up(timed, calls=4)
    assert log == ["a"] * 4 + ["b"] * 4
    assert not math.isnan(timed["a"].first_call_s)
    assert list(dropped) == ["b"]
    log.clear()
    interleave.warm_up({"a": timed["a"]}, calls=4)  # first call already done: only the rest
    assert log == ["a"] * 3


def test_rounds_fit_the_budget_within_bounds():
    assert metrics.rounds_for(0.01, budget_s=3.0, min_rounds=30, max_rounds=2000) == 300
    assert metrics.rounds_for(1.0, budget_s=3.0, min_rounds=30, max_rounds=2000) == 30
    assert metrics.rounds_for(1e-6, budget_s=3.0, min_rounds=30, max_rounds=2000) == 2000


def test_replay_timer_gives_back_each_sample_as_one_round():
    samples = [0.5, 0.25, 2.0]
    timer = ReplayClock()
    durations = []
    with timer.replaying(samples):
        for _ in samples:
            start = timer()
            end = timer()
            durations.append(end - start)
    assert durations == pytest.approx(samples)


def test_replay_refuses_samples_the_timer_did_not_give_back_as_rounds():
    timer = ReplayClock()
    with (
        pytest.raises(RuntimeError, match="read the timer 1 times for 2 samples"),
        timer.replaying([0.5, 0.25]),
    ):
        timer()
    before = time.perf_counter()  # outside `replaying`: the ordinary clock
    assert before <= timer() <= time.perf_counter()


def test_a_fast_model_is_primed_and_timed_several_times_per_round():
    log: list[str] = []
    timed = {"fast": _stub("fast", log), "slow": _stub("slow", log)}
    session = interleave.run_rounds(timed, rounds=4, seed=2, calls={"fast": 3})
    rounds = [log[i : i + 5] for i in range(0, len(log), 5)]
    # each round: the slow model once, the fast one 1 untimed + 3 timed calls, kept together
    assert all(sorted(r) == ["fast"] * 4 + ["slow"] for r in rounds)
    assert all(r in (["slow", *["fast"] * 4], [*["fast"] * 4, "slow"]) for r in rounds)
    assert len(session.samples["fast"]) == 12 and len(session.samples["slow"]) == 4
    assert session.calls == {"fast": 3, "slow": 1}


def test_warm_each_round_primes_every_model_and_never_the_reference():
    log: list[str] = []
    timed = {"fast": _stub("fast", log), "slow": _stub("slow", log)}
    reference = _stub("reference", log)
    session = interleave.run_rounds(
        timed, rounds=3, seed=1, calls={"fast": 2}, reference=reference, warm_each_round=True
    )
    rounds = [log[i : i + 6] for i in range(0, len(log), 6)]
    # each round: the slow model 1 untimed + 1 timed, the fast one 1 untimed + 2 timed, the
    # reference once (its protocol never changes)
    assert len(rounds) == 3
    assert all(sorted(r) == ["fast"] * 3 + ["reference"] + ["slow"] * 2 for r in rounds)
    assert len(session.samples["slow"]) == 3 and len(session.samples["fast"]) == 6
    assert len(session.reference) == 3


def test_calls_per_round_fill_the_target_within_bounds():
    calls = metrics.calls_per_round(
        {"v01": 0.6e-3, "v03": 1.5e-3, "v10": 36e-3}, target_s=2e-3, most=8
    )
    assert calls == {"v01": 4, "v03": 2, "v10": 1}  # ceil(2 / 0.6) = 4, ceil(2 / 1.5) = 2


def test_twins_sized_either_side_of_the_fill_target_get_the_same_calls():
    # v01 and v02 (one inference graph) at 1.9 and 2.1 ms against a 2 ms target: 2 and 1 calls
    # as sized apart; alike, both 1, so neither is timed warm while the other is timed cold
    calls = metrics.calls_per_round({"v01": 1.9e-3, "v02": 2.1e-3}, target_s=2e-3, most=8)
    assert calls == {"v01": 2, "v02": 1}
    assert interleave.alike(calls, [frozenset({"v01", "v02"})]) == {"v01": 1, "v02": 1}


_NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@given(
    calls=st.dictionaries(_NAMES, st.integers(1, 8), min_size=1),
    groups=st.lists(st.frozensets(_NAMES, max_size=4), max_size=4),
    data=st.data(),
)
def test_alike_levels_every_group_down_whatever_the_groups_order(calls, groups, data):
    out = interleave.alike(calls, groups)
    assert out.keys() == calls.keys()
    assert all(1 <= out[m] <= calls[m] for m in calls)  # only ever fewer calls, never none
    for group in groups:
        assert len({out[m] for m in group if m in out}) <= 1
    grouped = {m for group in groups for m in group}
    assert all(out[m] == calls[m] for m in calls if m not in grouped)
    disjoint = all(not (g & h) for i, g in enumerate(groups) for h in groups[i + 1 :])
    if disjoint:  # each group at the fewest of its own members
        for group in groups:
            members = [m for m in group if m in calls]
            assert all(out[m] == min(calls[n] for n in members) for m in members)
    shuffled = data.draw(st.permutations(groups))
    assert interleave.alike(calls, shuffled) == out


def test_the_suite_names_its_clock_as_the_timer_and_refuses_another():
    option = SimpleNamespace(benchmark_timer="time.perf_counter")  # pytest-benchmark's default
    use_replay_clock(option)
    assert option.benchmark_timer == "bench.suite.orchestration.replay.interleaved_rounds"
    with pytest.raises(TimerOptionError, match=r"--benchmark-timer time\.process_time cannot"):
        use_replay_clock(SimpleNamespace(benchmark_timer="time.process_time"))
