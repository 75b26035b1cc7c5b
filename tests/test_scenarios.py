"""The scenario table (`bench.metrics.SCENARIOS`) drives the run: a made-up row, with its metric,
reaches the estimate, the facts, the contract's keys and the assembly, with no other code.
Hand-made numbers; no TensorFlow, no suite run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench import contract, metrics
from bench.suite.orchestration import assemble
from bench.suite.presentation import estimate, facts

MADE_UP = metrics.Scenario(
    "batch4_latency", "batch-4", "Batch-4 latency", "inference", batch=4, budget_s="made_up_budget",
    rounds=(7, 9), fill_s=0.0, warm_up_calls=3, rate="latency",
)  # fmt: skip
MADE_UP_METRIC = metrics.Metric(
    "latency_b4_median_s", "s", "lower", "Batch-4 latency, median", "batch-4 latency",
    scenario="batch4_latency", statistic="median",
)  # fmt: skip
OPTIONS = SimpleNamespace(latency_budget=3.0, throughput_batch=256, made_up_budget=0.5)


@pytest.fixture
def made_up(monkeypatch):
    monkeypatch.setattr(metrics, "SCENARIOS", (*metrics.SCENARIOS, MADE_UP))
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, MADE_UP_METRIC))


def _plan() -> estimate.Plan:
    model = estimate.Model("v01", 1e7, batch_size=64, max_epochs=200)
    return estimate.Plan(
        models=(model,), jobs=(("v01", "v01"),), parallel=1, accuracy="reported", profile=None,
        dataset="cifar10", options=OPTIONS, device="CPU",
    )  # fmt: skip


def test_every_timed_metric_names_a_scenario_of_the_table_and_the_names_are_unique():
    names = [s.name for s in metrics.SCENARIOS]
    assert len(set(names)) == len(names)
    assert set(metrics.scenarios()) <= set(names)
    assert metrics.scenario("train_step").label == "train step"  # one name, one label
    with pytest.raises(KeyError, match=r"known: latency, .*train_step"):
        metrics.scenario("train step")


def test_a_made_up_row_is_estimated_by_its_own_batch_budget_and_rounds(made_up):
    est = estimate.estimate(_plan())
    items = est.items["batch-4"]
    # one call from MACs at the row's rate and batch: 7e-4 s + 1e7 MACs * 4 images * 4.8e-11 s
    # (bench/suite/presentation/estimate.py's fitted latency rates)
    call = 7e-4 + 1e7 * 4 * 4.8e-11
    assert items["v01"] == pytest.approx(0.3 + call + 2 * call + 3 * call)  # first + 2 + primer
    # budget 0.5 s at 0.00262 s a round would be 190 rounds; the row caps them at 9
    assert items["rounds"] == pytest.approx(9 * call)
    assert facts.phase_names()[-1] == "batch-4"
    assert "batch-4 " in facts.expected_line(est)


def test_a_made_up_rows_earlier_timings_are_reused_only_at_its_batch(made_up):
    def doc(batch):
        extra = {"variant": "v01", "scenario": "batch4_latency", "first_call_s": 0.2,
                 "batch_size": batch}  # fmt: skip
        return {
            "machine_info": {"device": "CPU", "xla": False, "precision": "float32"},
            "run": {}, "benchmarks": [{"extra_info": extra, "stats": {"median": 0.01}}],
        }  # fmt: skip

    assert estimate.Previous.from_document(doc(4), _plan()).calls == {
        "batch4_latency": {"v01": (0.01, 0.2)}
    }
    assert estimate.Previous.from_document(doc(8), _plan()).calls == {}


def test_a_made_up_row_is_in_the_facts_and_fills_its_metric_in_the_contract(made_up):
    suite = SimpleNamespace(
        options=SimpleNamespace(**vars(OPTIONS), accuracy="reported"),
        entries=[SimpleNamespace(id="v01")], job_seeds=(0,), parallel_jobs=1,
    )  # fmt: skip
    info = {"device": "CPU", "threads": {}, "xla": False}
    text = "\n".join(facts.facts(suite, info, estimate.Estimate({}, 1, "x")))
    assert "train step (each recipe's batch) · batch-4 (batch 4, 500 ms of samples per model)" in (
        text.replace("\n", " ")
    )
    assert "latency_b4_median_s" in contract.variant_keys()
    assert MADE_UP.metrics == (MADE_UP_METRIC,)
    entry = SimpleNamespace(id="v01", kind="model", description="")
    bench = {
        "extra_info": {"variant": "v01", "scenario": "batch4_latency", "batch_size": 4},
        "stats": {"data": [0.03, 0.01, 0.02]},
    }
    record = assemble.variants_section([entry], {"v01": {}}, [bench])["v01"]
    assert record["latency_b4_median_s"] == pytest.approx(0.02)


def test_point_figures_use_only_the_rounds_every_model_of_the_session_shared():
    # v02 was decided and left after 3 rounds; v01 went on for 3 more, which ran faster (fewer
    # models per round). Its figures come from the 3 shared rounds, so the two medians compare
    # like with like; the later rounds stay in stats.data for the paired comparison.
    def bench(variant, rounds, data, calls=1):
        session = {"id": "latency-1", "rounds": rounds, "calls_per_round": calls}
        extra = {"variant": variant, "scenario": "latency", "batch_size": 1, "session": session}
        return {"extra_info": extra, "stats": {"data": data}}

    entries = [SimpleNamespace(id=v, kind="model", description="") for v in ("v01", "v02")]
    benches = [bench("v01", 6, [4.0, 4.0, 4.0, 1.0, 1.0, 1.0]), bench("v02", 3, [2.0, 2.0, 2.0])]
    records = assemble.variants_section(entries, {}, benches)
    assert records["v01"]["latency_median_s"] == 4.0  # all six samples would give 2.5
    assert records["v02"]["latency_median_s"] == 2.0
    # several calls per round: the shared rounds' samples are rounds x calls
    benches = [bench("v01", 4, [5.0, 5.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0], calls=2),
               bench("v02", 2, [2.0, 2.0])]  # fmt: skip
    assert assemble.variants_section(entries, {}, benches)["v01"]["latency_median_s"] == 4.0
    # outside any session (an old file): every sample counts
    del benches[0]["extra_info"]["session"]
    assert assemble.variants_section(entries, {}, benches)["v01"]["latency_median_s"] == 2.0
    # a session that is not a mapping, or an id that is not a string: every sample counts
    benches[0]["extra_info"]["session"] = "latency-1"
    assert assemble.variants_section(entries, {}, benches)["v01"]["latency_median_s"] == 2.0
    benches[0]["extra_info"]["session"] = {"id": ["latency-1"], "rounds": 2}
    assert assemble.variants_section(entries, {}, benches)["v01"]["latency_median_s"] == 2.0


def test_throughput_figures_take_all_of_a_models_own_rounds():
    # Throughput calls are long and primed, and its later rounds are not faster: v10 left after
    # 2 rounds, v04 stayed 5; v04's images/s comes from all 5 of its rounds, not from the 2
    # shared ones. The figure is the batch (32) over the 5 % quantile of the calls (numpy's
    # linear rule): v04's sorted 0.1, 0.2, 0.2, 0.2, 0.3 at position 0.05 * 4 = 0.2 is
    # 0.1 + 0.2 * 0.1 = 0.12 s (from the 2 shared rounds, 0.1, 0.2 at 0.05: 0.105 s); v10's
    # 1.0, 1.2 at 0.05 is 1.01 s.
    def bench(variant, rounds, data):
        session = {"id": "throughput-1", "rounds": rounds, "calls_per_round": 1}
        extra = {"variant": variant, "scenario": "throughput", "batch_size": 32,
                 "session": session}  # fmt: skip
        return {"extra_info": extra, "stats": {"data": data}}

    entries = [SimpleNamespace(id=v, kind="model", description="") for v in ("v04", "v10")]
    benches = [bench("v04", 5, [0.1, 0.2, 0.2, 0.2, 0.3]), bench("v10", 2, [1.0, 1.2])]
    records = assemble.variants_section(entries, {}, benches)
    assert records["v04"]["throughput_images_per_s"] == pytest.approx(32 / 0.12)
    assert records["v10"]["throughput_images_per_s"] == pytest.approx(32 / 1.01)
