"""The up-front time estimate (`bench.suite.presentation.estimate`): the suite's sizing rules, which
earlier timings it may reuse, and the sources it names. Hand-made numbers; no suite run."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from bench import metrics
from bench.suite.presentation import estimate
from bench.training.profiles import PROFILES

LATENCY, THROUGHPUT, TRAIN_STEP = (
    metrics.scenario(n) for n in ("latency", "throughput", "train_step")
)
MODELS = (
    estimate.Model("v01", 10_387_776, batch_size=64, max_epochs=200),
    estimate.Model("v10", 851_847_168, batch_size=32, max_epochs=200),
)


def plan(**changes) -> estimate.Plan:
    fields = dict(
        models=MODELS,
        jobs=(("v01", "v01"), ("v10", "v10")),
        parallel=2,
        accuracy="reported",
        profile=None,
        dataset="cifar10",
        options=SimpleNamespace(latency_budget=3.0, throughput_batch=256),
        device="CPU",
    )
    return estimate.Plan(**{**fields, **changes})


def bench(vid: str, scenario: str, median: float, first: float, batch: int = 1) -> dict:
    extra = {"variant": vid, "scenario": scenario, "first_call_s": first, "batch_size": batch}
    if scenario == "latency":
        extra["reference_samples_s"] = [4e-4, 5e-4, 6e-4]
    return {"extra_info": extra, "stats": {"median": median}}


EARLIER = {
    "machine_info": {"device": "CPU", "xla": False, "precision": "float32"},
    "run": {"accuracy_source": "reported", "profile": None, "dataset": "cifar10"},
    "variants": {"v01": {"worker_wall_s": 4.0}, "v10": {"worker_wall_s": 20.0}},
    "benchmarks": [
        bench("v01", "latency", 6e-4, 0.06),
        bench("v10", "latency", 3.6e-2, 0.2),
        bench("v01", "latency_b8", 1.2e-3, 0.07, batch=8),
        bench("v10", "latency_b8", 0.25, 0.5, batch=8),
        bench("v01", "throughput", 0.05, 0.1, batch=256),
        bench("v10", "throughput", 3.9, 4.2, batch=256),
        bench("v01", "train_step", 0.04, 0.35),
        bench("v10", "train_step", 1.9, 3.8),
    ],
}


@pytest.mark.parametrize(
    ("per_call", "fill_s", "budget_s", "rounds"),
    [
        ({"a": 6e-4, "b": 3.6e-2}, LATENCY.fill_s, 6.0, LATENCY.rounds),
        ({"a": 0.05, "b": 3.9}, THROUGHPUT.fill_s, 10.0, THROUGHPUT.rounds),
        ({"a": 0.04, "b": 0.1}, TRAIN_STEP.fill_s, 10.0, TRAIN_STEP.rounds),
    ],
)
def test_rounds_are_sized_as_the_suite_sizes_them(per_call, fill_s, budget_s, rounds):
    items, _, _ = estimate.session_span(
        per_call,
        dict.fromkeys(per_call, 0.0),
        budget_s=budget_s,
        rounds=rounds,
        fill_s=fill_s,
        warm_up_calls=2,
    )
    calls = metrics.calls_per_round(per_call, target_s=fill_s, most=metrics.MOST_CALLS_PER_ROUND)
    per_round = sum(s * (calls[k] + (calls[k] > 1)) for k, s in per_call.items())
    count = metrics.rounds_for(
        per_round, budget_s=budget_s, min_rounds=rounds[0], max_rounds=rounds[1]
    )
    assert items["rounds"] == pytest.approx(count * per_round)
    assert items["a"] == pytest.approx(per_call["a"] * (1 + (3 if per_call["a"] < 0.05 else 0)))


def test_an_earlier_run_on_this_device_supplies_every_figure():
    est = estimate.estimate(plan(), estimate.Previous.from_document(EARLIER, plan()), "r.json")
    assert est.source == "from the last run's timings in r.json"
    assert est.items["records"] == {"v01": 4.0, "v10": 20.0}
    assert est.phase_s("records") == pytest.approx(12.0)  # two workers at once
    # Throughput: 3.9 s calls and 0.05 s calls (10 per round: primed, then up to 8 timed).
    assert est.items["throughput"]["v10"] == pytest.approx(4.2 + 3.9)
    fixed = estimate.START_S + estimate.REPORT_S  # speed 1: the fitted box
    assert est.total_s == pytest.approx(sum(est.phase_s(p) for p in est.items) + fixed)


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("machine_info", {"device": "GPU:0 NVIDIA H200"}),
        ("machine_info", {"xla": True}),
        ("run", {"accuracy_source": "train", "profile": "smoke"}),
    ],
)
def test_timings_of_unlike_runs_are_not_reused(where, change):
    doc = copy.deepcopy(EARLIER)
    doc[where].update(change)
    previous = estimate.Previous.from_document(doc, plan())
    assert previous.worker_s == {}
    if where == "machine_info":
        assert previous.calls == {}
        est = estimate.estimate(plan(), previous, "r.json")
        assert est.source.startswith("from MACs")
        assert "r.json is not comparable" in est.source


def test_a_throughput_at_another_batch_is_not_reused():
    previous_options = SimpleNamespace(latency_budget=3.0, throughput_batch=64)
    previous = estimate.Previous.from_document(EARLIER, plan(options=previous_options))
    assert "throughput" not in previous.calls and "latency" in previous.calls
    est = estimate.estimate(plan(options=previous_options), previous, "r.json")
    assert "where it has them, else from MACs" in est.source


def test_training_costs_more_than_counting_and_is_a_most_without_a_step_budget():
    reported = estimate.estimate(plan())
    smoke = estimate.estimate(plan(accuracy="train", profile=PROFILES["smoke"], parallel=1))
    cpu = estimate.estimate(plan(accuracy="train", profile=PROFILES["cpu"], parallel=1))
    assert reported.source.startswith("from MACs") and not reported.upper_bound
    assert smoke.upper_bound and not cpu.upper_bound  # cpu: a fixed 250 steps per model
    assert cpu.items["records"]["v10"] > smoke.items["records"]["v10"]
    assert smoke.items["records"]["v10"] > reported.items["records"]["v10"]


def test_a_sequential_session_spans_its_first_look_to_its_cap_or_budget():
    # By hand: one call per round (fill 0), 0.11 s a round; the budget's count is 10 / 0.11 =
    # 90 rounds, held to the row's most, 50; the cap is max(50, 50). The first look comes at 5
    # rounds (0.55 s), the end at the cap (5.5 s, under the 10 s budget); the point is the
    # first look plus four fifths of the rest: 0.55 + 0.8 * 4.95.
    rule = metrics.Sequential("time_per_image_s", first=5, cap=50)
    per_call = {"a": 0.01, "b": 0.1}
    items, low, high = estimate.session_span(
        per_call, dict.fromkeys(per_call, 0.0), budget_s=10.0, rounds=(3, 50), fill_s=0.0,
        warm_up_calls=2, sequential=rule,
    )  # fmt: skip
    assert (low, high) == pytest.approx((0.55, 5.5))
    assert items["rounds"] == pytest.approx(4.51)
    # a time budget shorter than the cap ends it sooner: 1 s budget + one round in progress
    _, low, high = estimate.session_span(
        per_call, dict.fromkeys(per_call, 0.0), budget_s=1.0, rounds=(3, 50), fill_s=0.0,
        warm_up_calls=2, sequential=rule,
    )  # fmt: skip
    assert (low, high) == pytest.approx((0.55, 1.11))


def test_the_range_holds_the_point_and_widens_for_rates_from_macs():
    fitted = estimate.estimate(plan())
    known = estimate.estimate(plan(), estimate.Previous.from_document(EARLIER, plan()), "r.json")
    for est in (fitted, known):
        low, high = est.total_range
        assert low < est.total_s < high
    # from MACs: 0.75-1.35 of the point; from an earlier run: 0.85-1.2 (estimate.SPREAD)
    records = fitted.phase_s("records")
    assert fitted.phase_range("records") == pytest.approx((0.75 * records, 1.35 * records))
    assert known.phase_range("records") == pytest.approx((0.85 * 12.0, 1.2 * 12.0))


def test_cached_records_cost_a_read_and_a_busy_machine_slows_the_workers():
    quiet = estimate.estimate(plan(cores=2), estimate.Previous.from_document(EARLIER, plan()))
    assert quiet.items["records"] == {"v01": 4.0, "v10": 20.0}  # two workers on two cores
    # one other core's worth busy: three want two cores, each worker takes 1.5 times as long
    busy = plan(cores=2, busy_cores=1.0)
    est = estimate.estimate(busy, estimate.Previous.from_document(EARLIER, busy))
    assert est.items["records"] == pytest.approx({"v01": 6.0, "v10": 30.0})
    cached = plan(cores=2, busy_cores=1.0, cached=frozenset({"v10"}))
    est = estimate.estimate(cached, estimate.Previous.from_document(EARLIER, cached))
    assert est.items["records"] == pytest.approx({"v01": 6.0, "v10": estimate.CACHED_RECORD_S})


def test_a_slower_machine_scales_every_figure_from_macs_but_not_an_earlier_runs():
    slow = estimate.estimate(plan(speed=2.0))
    base = estimate.estimate(plan())
    # the workers and the loads take twice as long, each model's warm-up longer (a call that
    # grows past 50 ms is no longer timed three more times to size the rounds); the rounds do
    # not all double, since a session's budget in seconds bounds them whatever a call costs
    for phase in ("records", "load"):
        assert slow.items[phase] == pytest.approx({k: 2 * v for k, v in base.items[phase].items()})
    for phase, items in base.items.items():
        for item, seconds in items.items():
            if item != "rounds":
                assert slow.items[phase][item] > seconds, (phase, item)
    assert (slow.start_s, slow.report_s) == (2 * base.start_s, 2 * base.report_s)
    assert base.total_s < slow.total_s < 2 * base.total_s
    assert "its probe took 2x the time it took there" in slow.source
    known = estimate.Previous.from_document(EARLIER, plan())
    assert estimate.estimate(plan(speed=2.0), known).items["records"] == {"v01": 4.0, "v10": 20.0}


def test_the_probe_times_its_stack_and_the_speed_is_its_ratio_to_the_fitted_box(monkeypatch):
    from bench.measure import probe
    from bench.suite.presentation import facts

    seconds = probe.probe_s(calls=3)
    assert 0 < seconds < 5  # 17 ms on the fitted box, one op thread
    # a probe twice as slow as on the fitted box: speed 2; a probe that fails: the rates stand
    monkeypatch.setattr(probe, "probe_s", lambda: 2 * estimate.PROBE_FIT_S)
    assert facts.speed() == pytest.approx(2.0)

    def broken() -> float:
        raise RuntimeError("no TensorFlow device")

    monkeypatch.setattr(probe, "probe_s", broken)
    assert facts.speed() is None
    # then the rates stand unscaled, and the facts do not claim a probe ran
    unprobed = estimate.estimate(plan(probed=False))
    assert "not scaled to this machine (its speed probe could not run)" in unprobed.source
    assert "probe took" not in unprobed.source
    assert "probe took 1x" in estimate.estimate(plan()).source
