"""Pooling files: the same run counted once, unlike runs refused (or labelled), and training
times from another device kept off the axis. Hand-made suite documents (`test_reports`)."""

from __future__ import annotations

import copy

import pytest
from test_reports import build, make_record, make_suite

from reports.data import ReportInputError, aggregate, suite_from_documents


def measured(seed: int, accuracies: dict[str, float], *, key: str = "", profile="quick", **kw):
    """A measured run: one record per model, each with its training run's cache key."""
    records = []
    for vid, acc in accuracies.items():
        size = 1 + len(records)
        rec = make_record(vid, 1_000_000 * size, 10_000_000, acc, source="measured", seed=seed,
                          train_time_s=100.0 * size)  # fmt: skip
        rec["profile"] = profile
        rec["train_provenance"] = {"key": f"{vid}-{key or seed}", "segments": []}
        rec["train_device"] = kw.get("train_device", "CPU")
        records.append(rec)
    doc = make_suite(records, accuracy_source="train", seed=seed)
    doc["run"]["profile"] = profile
    return doc


def test_the_same_file_twice_is_one_run_not_two_seeds():
    # v10 is 0.01 pp above v09. As two identical "seeds" the old code ran Welch's test on
    # (0.9046, 0.9046) vs (0.9045, 0.9045) and called it resolvable (p < 0.001).
    doc = measured(0, {"v09": 0.9045, "v10": 0.9046})
    table, _, verdict = build([doc, copy.deepcopy(doc)], references=False)
    row = table.set_index("variant").loc["v10"]
    assert row["n_runs"] == 1 and row["accuracy_runs"] == (0.9046,)
    assert not verdict.comparison.differs
    assert verdict.comparison.test.startswith("Welch-Satterthwaite over seeds (1 and 1 runs)")
    suite = suite_from_documents([("a.json", doc), ("b.json", copy.deepcopy(doc))])
    assert any("b.json is the same run as a.json" in n for n in suite.notes)


def test_a_rerun_from_the_model_cache_is_the_same_training_run():
    # A second run with the same seed: new timings, but its models came from the cache (same
    # keys), so the accuracy is one run.
    first = measured(0, {"v09": 0.9045, "v10": 0.9046})
    second = copy.deepcopy(first)
    second["variants"]["v10"]["latency_median_s"] *= 1.01  # a new timing, the same trained model
    second["datetime"] = "2026-01-02T00:00:00"
    table, _, verdict = build([first, second], references=False)
    row = table.set_index("variant").loc["v10"]
    assert row["accuracy_runs"] == (0.9046,)
    assert any("repeat a training run" in n for n in row["notes"])
    assert not verdict.comparison.differs


def test_two_real_seeds_are_two_runs():
    table, _, _ = build([measured(0, {"v10": 0.91}), measured(1, {"v10": 0.92})],
                        references=False)  # fmt: skip
    assert table.set_index("variant").loc["v10", "accuracy_runs"] == (0.91, 0.92)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["run"].update(profile="paper"), "training profile: quick, paper"),
        (lambda d: d["machine_info"].update(precision="mixed_float16"), "precision: float32"),
        (lambda d: d["machine_info"].update(xla=True), "XLA: False, True"),
        (lambda d: d["machine_info"].update(cpu_model="Other CPU"), "CPU model"),
        (lambda d: d["machine_info"].update(threads={"intra_op": 2, "inter_op": 2}), "threads"),
        (lambda d: d["run"].update(throughput_batch_size=64), "throughput batch: 128, 64"),
        (lambda d: d["run"].update(accuracy_source="load"), "accuracy source: train, load"),
        (lambda d: d["variants"]["v10"].update(test_examples=256), "test-set size: 256, 10,000"),
    ],
)
def test_unlike_runs_are_refused_with_the_difference_named(change, words):
    a, b = measured(0, {"v09": 0.90, "v10": 0.91}), measured(1, {"v09": 0.90, "v10": 0.91})
    change(b)
    with pytest.raises(ReportInputError, match="pass --allow-mixed") as caught:
        suite_from_documents([("a.json", a), ("b.json", b)])
    assert words in str(caught.value)


def test_allow_mixed_pools_and_labels_every_pooled_figure():
    a, b = measured(0, {"v09": 0.90, "v10": 0.91}), measured(1, {"v09": 0.90, "v10": 0.91})
    b["run"]["profile"] = "paper"
    suite = suite_from_documents([("a.json", a), ("b.json", b)], allow_mixed=True)
    assert suite.mixed == ("training profile: quick, paper",)
    table = aggregate(suite, references=False)
    assert all(any("pooled across unlike runs" in n for n in notes) for notes in table["notes"])


def test_a_cached_training_time_from_another_device_stays_off_the_axis():
    doc = measured(0, {"v09": 0.90, "v10": 0.91})
    doc["variants"]["v10"]["train_device"] = "GPU:0 NVIDIA H100 80GB HBM3"
    doc["variants"]["v10"]["from_cache"] = True
    table, analysis, _ = build(doc, references=False)
    row = table.set_index("variant").loc["v10"]
    assert row["train_time_s"] != row["train_time_s"]  # NaN: not this device's figure
    reason = analysis.axis("train_time_s").left_out["v10"]
    assert reason.startswith("trained on GPU:0 NVIDIA H100 80GB HBM3 (from cache), not on")
