"""Energy in the suite and the report: a training run's joules from its sessions' windows, energy
per 1,000 images from the throughput call, null with a reason where there is no counter, and an
energy axis that always names its source. Fake counters whose joules are watts x seconds, so every
expected figure is worked out by hand from the window's recorded length.
"""

from __future__ import annotations

import time

import pytest
from test_reports import make_record, make_suite

from bench import units
from bench.measure.energy import CounterSet
from bench.suite.executors import accuracy
from bench.suite.orchestration import assemble, scenarios
from bench.suite.plan import seeds
from reports.data import suite_from_documents


class WattsCounter:
    """A counter drawing `watts` in real time: joules = watts x perf_counter seconds."""

    source = "nvml_counter"
    device = "GPU 0: fake"
    max_joules = None
    update_period_s = 0.001

    def __init__(self, watts: float) -> None:
        self.watts = watts

    def read_joules(self) -> float:
        return self.watts * time.perf_counter()


class FakeTimed:
    """A `Timed`-like batched call that takes about a millisecond."""

    batch_size = 64

    def __init__(self) -> None:
        self.calls = 0

    def call(self) -> None:
        self.calls += 1
        time.sleep(0.001)


def _window(joules: float | None, *, source: str = "nvml_counter", reason: str = "") -> dict:
    unavailable = {} if joules is not None else {"joules": reason}
    return {"source": source, "device": "GPU 0: fake", "joules": joules, "window_s": 10.0,
            "unavailable": unavailable}  # fmt: skip


# --- a training run's energy -------------------------------------------------------------------


def test_a_run_is_the_sum_of_its_sessions():
    segments = [{"energy": _window(120.0)}, {"energy": _window(80.5)}]
    assert accuracy.run_energy(segments) == (200.5, None)


@pytest.mark.parametrize(
    ("segments", "words"),
    [
        ([], "no training session"),
        ([{"energy": _window(1.0)}, {}], "recorded no energy (killed"),
        ([{"energy": _window(None, reason="no energy counter on this machine: x")}],
         "no energy counter on this machine"),
        ([{"energy": _window(1.0)}, {"energy": _window(2.0, source="rapl")}],
         "different counters"),
        ([{"energy": _window(1.0), "concurrent_jobs": 2}], "2 training jobs ran at once"),
    ],
)  # fmt: skip
def test_a_run_energy_that_cannot_stand_is_refused_with_its_reason(segments, words):
    joules, reason = accuracy.run_energy(segments)
    assert joules is None and words in reason


def test_seeds_pool_energy_only_when_every_seed_has_one():
    def record(seed, joules):
        return {"seed": seed, "accuracy": 0.5, "accuracy_source": "measured", "errors": [],
                "train_time_s": 10.0, "energy_train_j": joules,
                "unavailable": {} if joules else {"energy_train_j": "no counter"}}  # fmt: skip

    merged, _ = seeds.merge([record(0, 300.0), record(1, 100.0), record(2, 200.0)])
    assert merged["energy_train_j"] == 200.0  # median of 300, 100, 200
    assert [r["energy_train_j"] for r in merged["runs"]] == [300.0, 100.0, 200.0]
    merged, _ = seeds.merge([record(0, 300.0), record(1, None)])
    assert merged["energy_train_j"] is None
    assert merged["unavailable"]["energy_train_j"] == "seed 1: no counter"


def test_training_records_each_sessions_window_and_the_run_total(tmp_path):
    from test_training import epochs_profile, tiny_dataset, tiny_entry

    from bench.training import fit

    setup = fit.EnergySetup(counters=CounterSet(counters=(WattsCounter(50.0),)), idle_s=0.02)
    result = fit.train_variant(tiny_entry(), tiny_dataset(), profile=epochs_profile(2),
                               cache_root=tmp_path, seed=0, energy_setup=setup)  # fmt: skip
    window = result.provenance["segments"][0]["energy"]
    assert window["source"] == "nvml_counter" and window["window_s"] > 0
    # 50 W for the window's length; the counter is read a few microseconds from the clock
    assert window["joules"] == pytest.approx(50.0 * window["window_s"], rel=1e-3)
    assert window["idle_watts"] == pytest.approx(50.0, rel=1e-2)
    assert accuracy.run_energy(result.provenance["segments"]) == (window["joules"], None)
    again = fit.train_variant(tiny_entry(), tiny_dataset(), profile=epochs_profile(2),
                              cache_root=tmp_path, seed=0)  # fmt: skip
    assert again.from_cache and again.provenance["segments"][0]["energy"] == window


# --- energy per 1,000 images -------------------------------------------------------------------


def test_energy_per_1000_images_is_joules_over_images(monkeypatch):
    monkeypatch.setattr(scenarios, "ENERGY_WINDOW_S", 0.05)
    monkeypatch.setattr(scenarios, "ENERGY_IDLE_S", 0.02)
    timed = FakeTimed()
    counters = CounterSet(counters=(WattsCounter(200.0),))
    row = scenarios.energy_scenario({"v01": timed}, on_gpu=False, counters=counters)["v01"]
    details = row["inference_energy"]
    assert row["reason"] is None and details["calls"] == timed.calls >= 2
    expected = 200.0 * details["window_s"] / (timed.calls * 64) * 1000
    assert row["energy_per_1000_images_j"] == pytest.approx(expected, rel=1e-3)
    assert details["batch_size"] == 64 and details["source"] == "nvml_counter"


def test_without_a_counter_nothing_runs_and_the_figure_is_null_with_the_reason():
    timed = FakeTimed()
    counters = CounterSet(unavailable="no energy counter on this machine: no NVIDIA driver")
    row = scenarios.energy_scenario({"v01": timed}, on_gpu=False, counters=counters)["v01"]
    assert timed.calls == 0
    assert row["energy_per_1000_images_j"] is None
    assert row["reason"] == "no energy counter on this machine: no NVIDIA driver"
    record = {"unavailable": {}}
    assemble._energy_figures(record, row)
    assert record["energy_per_1000_images_j"] is None
    assert record["unavailable"]["energy_per_1000_images_j"] == row["reason"]


def test_this_box_has_no_counter_and_says_why():
    row = scenarios.energy_scenario({"v01": FakeTimed()}, on_gpu=False)["v01"]
    assert row["energy_per_1000_images_j"] is None
    assert row["reason"].startswith("no energy counter on this machine")


# --- the report --------------------------------------------------------------------------------


def test_joules_render_with_their_prefix():
    assert units.joules(1234.5) == "1.23 kJ"
    assert units.joules(0.0456) == "45.6 mJ"
    assert units.joules(12.0) == "12.0 J"
    assert units.joules(None) == units.MISSING


def _energy_doc(with_energy: bool) -> dict:
    records = []
    for vid, params, acc, joules in (
        ("v01", 159_146, 0.72, 2.0),
        ("v10", 36_595_850, 0.9135, 40.0),
    ):
        rec = make_record(vid, params, 10_000_000, acc, latency_s=1e-3)
        if with_energy:
            rec["energy_per_1000_images_j"] = joules
            rec["inference_energy"] = {"source": "nvml_counter", "device": "GPU 0: fake"}
        else:
            rec["unavailable"]["energy_per_1000_images_j"] = "no energy counter on this machine"
        records.append(rec)
    return make_suite(records)


def test_the_energy_axis_names_its_source(tmp_path):
    from reports.data import aggregate
    from reports.pareto import analyse
    from reports.render import energy_note

    table = aggregate(suite_from_documents([("run.json", _energy_doc(True))]))
    axis = analyse(table).axis("energy_per_1000_images_j")
    assert axis.frontier == ["v01", "v10"]  # 20x the energy for +19 pp: both on the frontier
    assert "nvml_counter (GPU 0: fake)" in energy_note(table)


def test_without_energy_the_axis_is_left_out_with_the_reason():
    from reports.data import aggregate
    from reports.pareto import analyse

    table = aggregate(suite_from_documents([("run.json", _energy_doc(False))]))
    axis = analyse(table).axis("energy_per_1000_images_j")
    assert axis.empty
    assert set(axis.left_out.values()) == {"no energy counter on this machine"}
