"""The Pareto report: frontier, uncertainty and verdict on hand-made data whose answer is known.

The fixture generator `make_suite` builds contract-valid suite JSON documents by hand
(`bench.contract.empty_variant_record` plus filled figures) with the course report's real
parameter counts and reported accuracies (docs/source-report.md), MAC counts computed by hand
from the layer lists there (conv: H·W·9·C_in·C_out; dense: in·out), and invented but plausible CPU
latencies with raw `stats.data` samples. Expected frontiers, ratios and gains are worked out by hand
in the comments next to each assertion.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench import metrics, units
from bench.compare import Outcome, Seeds, compare
from bench.contract import CONTRACT_VERSION, empty_variant_record, validate
from reports.data import ReportInputError, aggregate, suite_from_documents
from reports.noise import judges
from reports.pareto import (
    Axis,
    analyse,
    analyse_axis,
    cost_axes,
    dominated_by,
    gain_per_doubling,
)
from reports.stats import estimate, wilson_interval
from reports.verdict import make_verdict

REPO = Path(__file__).resolve().parents[1]

# id: (params_total, params_non_trainable, MACs per image, reported accuracy)
# Params and accuracies: the report's model.summary() tables and printed results
# (docs/source-report.md). MACs: hand count from the layer lists (v04/v05/v08 and v07/v09 share
# architectures).
REPORT_FIGURES: dict[str, tuple[int, int, int, float | None]] = {
    "v01": (159_146, 0, 10_387_776, 0.7232),
    "v02": (159_146, 0, 10_387_776, 0.7743),
    "v03": (305_546, 896, 20_955_456, 0.8036),
    "v04": (1_709_514, 2_048, 153_324_032, None),
    "v05": (1_709_514, 2_048, 153_324_032, 0.8577),
    "v06": (2_267_210, 2_304, 153_881_088, 0.8465),
    "v07": (6_797_898, 4_864, 176_100_352, 0.8856),
    "v08": (1_709_514, 2_048, 153_324_032, 0.8843),
    "v09": (6_797_898, 4_864, 176_100_352, 0.9045),
    "v10": (36_595_850, 11_776, 851_847_168, 0.9135),
}
# He et al. 2016, Table 6: ResNet-20 8.75 % and ResNet-56 6.97 % test error, 0.27 M and 0.85 M
# parameters; option-A MACs 40.55 M and 125.49 M (hand count of the paper's layer list).
PUBLISHED_POINTS = (
    {"variant": "resnet20", "description": "ResNet-20 (published)", "accuracy": 0.9125,
     "test_examples": 10_000, "dataset": "cifar10", "citation": "He et al. 2016, Table 6",
     "costs": {"params_total": 270_000, "macs": 40_550_000}},
    {"variant": "resnet56", "description": "ResNet-56 (published)", "accuracy": 0.9303,
     "test_examples": 10_000, "dataset": "cifar10", "citation": "He et al. 2016, Table 6",
     "costs": {"params_total": 850_000, "macs": 125_490_000}},
)  # fmt: skip
V04_REASON = "not legible in the course report (the text only says it beat v03)"


def _latency_s(macs: float) -> float:
    """Invented CPU batch-1 latency: 0.4 ms overhead plus 2 ps per MAC (monotonic in MACs)."""
    return 0.4e-3 + 2e-12 * macs


def _stats(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    n = len(ordered)
    mean = sum(ordered) / n
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stddev": math.sqrt(sum((s - mean) ** 2 for s in ordered) / (n - 1)),
        "rounds": n,
        "median": ordered[n // 2],
        "iterations": 1,
        "data": samples,
    }


def _benchmark(vid: str, scenario: str, samples: list[float], batch: int, device: str) -> dict:
    return {
        "group": scenario,
        "name": f"test_{scenario}[{vid}]",
        "fullname": f"bench/test_suite.py::test_{scenario}[{vid}]",
        "params": {"variant": vid},
        "extra_info": {
            "variant": vid,
            "scenario": scenario,
            "batch_size": batch,
            "device": device,
            "xla": False,
            "precision": "float32",
            "first_call_s": 0.15,
        },
        "options": {"timer": "perf_counter", "min_rounds": 20, "warmup": False},
        "stats": _stats(samples),
    }


def make_record(
    vid: str,
    params: float | None,
    macs: float | None,
    accuracy: float | None,
    *,
    source: str = "reported",
    latency_s: float | None = None,
    train_time_s: float | None = None,
    gpu_memory_bytes: float | None = None,
    seed: int = 0,
    kind: str = "variant",
) -> dict[str, Any]:
    """One contract-valid variant record; every None figure gets a reason in `unavailable`."""
    record = empty_variant_record(vid)
    latency_s = _latency_s(macs or 1e6) if latency_s is None else latency_s
    record.update(
        kind=kind,
        description=f"{vid} (hand-made fixture)",
        params_total=params,
        params_trainable=params,
        params_non_trainable=0,
        macs=macs,
        flops=None if macs is None else 2 * macs + 100_000,
        flops_analytic=None if macs is None else 2 * macs + 90_000,
        accuracy=accuracy,
        accuracy_source=source,
        accuracy_citation='course report "Proyecto IV – Visión por Computador"'
        if source == "reported"
        else None,
        test_examples=10_000,
        dataset="cifar10",
        input_shape=[32, 32, 3],
        seed=seed,
        latency_median_s=latency_s,
        latency_p90_s=1.2 * latency_s,
        latency_p99_s=1.5 * latency_s,
        throughput_images_per_s=1.0 / (0.1 * latency_s),
        train_time_s=train_time_s,
        peak_gpu_memory_bytes=gpu_memory_bytes,
        recipe={"optimizer": "adam", "batch_size": 64},
        published={"test_accuracy": accuracy},
    )
    if accuracy is None:
        record["unavailable"]["accuracy"] = V04_REASON
    if train_time_s is None:
        record["unavailable"]["train_time_s"] = "not trained here (accuracy source: reported)"
    if gpu_memory_bytes is None:
        record["unavailable"]["peak_gpu_memory_bytes"] = "no GPU on this machine"
    for key in ("params_total", "macs", "flops"):
        if record[key] is None:
            record["unavailable"][key] = f"{key} could not be computed for this fixture"
    return record


def make_suite(
    records: list[dict[str, Any]] | None = None,
    *,
    device: str = "CPU",
    dataset: str = "cifar10",
    accuracy_source: str = "reported",
    seed: int = 0,
    latency_rounds: int = 20,
) -> dict[str, Any]:
    """A contract-valid suite document; default: the report's ten variants, reported accuracies.

    Each variant gets a latency benchmark whose `stats.data` holds `latency_rounds` raw samples
    spread ±5 % around the record's median, and a throughput benchmark.
    """
    if records is None:
        records = [
            make_record(vid, params, macs, acc)
            for vid, (params, _, macs, acc) in REPORT_FIGURES.items()
        ]
    benchmarks = []
    for rec in records:
        median = rec["latency_median_s"]
        if median is None:
            continue
        samples = [median * (1 + 0.05 * math.sin(i)) for i in range(latency_rounds)]
        benchmarks.append(_benchmark(rec["variant"], "latency", samples, 1, device))
        tput = rec["throughput_images_per_s"]
        benchmarks.append(_benchmark(rec["variant"], "throughput", [128 / tput] * 5, 128, device))
    doc = {
        "machine_info": {
            "node": "fixture",
            "machine": "x86_64",
            "python_version": "3.11.2",
            "tensorflow_version": "2.21.0",
            "keras_version": "3.15.1",
            "numpy_version": "2.3.0",
            "cpu_model": "Fixture CPU",
            "cpu_count_logical": 2,
            "gpu": None,
            "device": device,
            "threads": {"intra_op": 1, "inter_op": 1},
            "xla": False,
            "precision": "float32",
            "tf32": None,
            "onednn": True,
        },
        "commit_info": {"id": "0123456789abcdef", "dirty": False, "branch": "main"},
        "benchmarks": benchmarks,
        "datetime": "2026-01-01T00:00:00",
        "version": "5.2.3",
        "contract_version": CONTRACT_VERSION,
        "run": {
            "variants": [r["variant"] for r in records],
            "accuracy_source": accuracy_source,
            "profile": None,
            "dataset": dataset,
            "seed": seed,
            "latency_batch_size": 1,
            "throughput_batch_size": 128,
            "latency_reference": "ref_matmul",
        },
        "variants": {r["variant"]: r for r in records},
        "published_references": [dict(p) for p in PUBLISHED_POINTS],
    }
    return validate(doc)


def build(doc_or_docs: dict | list[dict], *, references: bool = True):
    """(table, analysis, verdict) for one or several in-memory documents."""
    docs = doc_or_docs if isinstance(doc_or_docs, list) else [doc_or_docs]
    suite = suite_from_documents([(f"run{i}.json", d) for i, d in enumerate(docs)])
    table = aggregate(suite, references=references)
    analysis = analyse(table, judges=judges(table, suite.samples, suite.labels))
    return (
        table,
        analysis,
        make_verdict(
            table, analysis, device=suite.device, dataset=suite.dataset, labels=suite.labels
        ),
    )


def axis(analysis, key: str):
    return next(a for a in analysis.axes if a.axis.key == key)


def with_changes(doc: dict, **changes: dict[str, Any]) -> dict:
    """A deep copy of `doc` with `changes[vid]` merged into that variant's record."""
    doc = copy.deepcopy(doc)
    for vid, fields in changes.items():
        doc["variants"][vid].update(fields)
    return validate(doc)


@pytest.fixture(scope="module")
def report_doc() -> dict:
    return make_suite()


@pytest.fixture(scope="module")
def reported(report_doc):
    return build(report_doc)


# ---------------------------------------------------------------- units


def test_units_render_si_figures_human_readably():
    assert units.count(36_595_850) == "36.6 M"
    assert units.count(159_146) == "159 k"
    assert units.macs(851_847_168) == "852 M MACs"
    assert units.flops(1.7e9) == "1.70 GFLOPs"
    assert units.seconds(0.00123) == "1.23 ms"
    assert units.seconds(5400) == "90.0 min"
    assert units.mebibytes(512 * 2**20) == "512 MiB"
    assert units.percent(0.9135) == "91.35 %"
    assert units.points(0.009) == "+0.90 pp"
    assert units.ratio(36_595_850 / 6_797_898) == "5.38×"
    assert units.images_per_s(12_345.6) == "12.3 k images/s"
    assert units.percent(None) == units.seconds(math.nan) == "n/a"
    assert units.clock(5.2) == "0:05"
    assert units.clock(59.6) == "1:00"
    assert units.clock(3725) == "1:02:05"
    assert units.clock(-3) == "0:00"
    assert units.clock(None) == "n/a"


# ---------------------------------------------------------------- pareto, pure functions


def test_frontier_and_dominators_on_four_points():
    # (cost, acc): a(1, .5) b(2, .7) c(3, .6) d(4, .8): c is beaten by b (cheaper, more accurate).
    costs, accs = [1, 2, 3, 4], [0.5, 0.7, 0.6, 0.8]
    assert dominated_by(costs, accs) == [[], [], [1], []]  # only c has a dominator


def test_ties_stay_on_the_frontier_and_one_strict_inequality_suffices():
    # Identical points: neither dominates. Same cost, lower accuracy: dominated.
    # Same accuracy, higher cost: dominated.
    assert dominated_by([1, 1], [0.5, 0.5]) == [[], []]
    assert dominated_by([1, 1], [0.5, 0.6]) == [[1], []]
    assert dominated_by([1, 2], [0.5, 0.5]) == [[], [0]]
    assert dominated_by([1, 1, 2], [0.5, 0.5, 0.4]) == [[], [], [0, 1]]


def test_gain_per_doubling_is_accuracy_over_log2_of_cost_ratio():
    # 4x the cost is two doublings: +0.2 accuracy / 2 = +0.1 per doubling.
    assert gain_per_doubling(1.0, 0.5, 4.0, 0.7) == pytest.approx(0.1)
    # 8x the cost for -0.3: three doublings, -0.1 each.
    assert gain_per_doubling(2.0, 0.8, 16.0, 0.5) == pytest.approx(-0.1)
    assert math.isnan(gain_per_doubling(3.0, 0.5, 3.0, 0.5))
    with pytest.raises(ValueError):
        gain_per_doubling(0.0, 0.5, 1.0, 0.6)


def _table(rows: list[tuple[str, float | None, float | None]], key: str = "params_total"):
    """Minimal aggregated table: (variant, cost, accuracy)."""
    return pd.DataFrame(
        [
            {"variant": v, "kind": "variant", key: c, "accuracy": a, "unavailable": {}}
            for v, c, a in rows
        ]
    ).astype({key: float, "accuracy": float})


def test_tied_variants_both_on_frontier_with_no_step_between_them():
    params = next(a for a in cost_axes() if a.key == "params_total")
    result = analyse_axis(_table([("a", 1e5, 0.7), ("b", 1e6, 0.8), ("c", 1e6, 0.8)]), params)
    assert result.frontier == ["a", "b", "c"]
    assert result.ties == (("b", "c"),)
    assert [(s.from_id, s.to_id) for s in result.steps] == [("a", "b")]
    # 10x the parameters is log2(10) = 3.3219 doublings for +0.1.
    assert result.steps[0].gain_per_doubling == pytest.approx(0.1 / 3.321928, rel=1e-6)


def test_single_variant_is_its_own_frontier():
    params = next(a for a in cost_axes() if a.key == "params_total")
    result = analyse_axis(_table([("solo", 1e6, 0.8)]), params)
    assert result.frontier == ["solo"]
    assert result.steps == ()


def test_non_positive_cost_is_left_out_with_a_note():
    axis_ = Axis("latency_median_s", "s", "lower", "Latency", "latency")
    result = analyse_axis(
        _table([("a", 0.0, 0.7), ("b", 1e-3, 0.8)], key="latency_median_s"), axis_
    )
    assert result.frontier == ["b"]
    assert "not a cost" in result.left_out["a"]


# ---------------------------------------------------------------- the report's ten variants


def test_parameter_frontier_of_the_reported_figures(reported):
    _, analysis, _ = reported
    params = axis(analysis, "params_total")
    # By hand from docs/source-report.md: v02 beats v01 (same params, +5.11 pp); v08 beats v05 (same
    # params) and v06 (fewer params, more accurate); v09 beats v07 (same params, +1.89 pp). v08
    # has 4x fewer parameters at 88.43 % against v07's 88.56 %, which 10,000 test images cannot
    # tell apart (p = 0.77): undetermined is not equal, so v08 does not dominate v07 (the old
    # rule said it did).
    assert params.frontier == ["v02", "v03", "v08", "v09", "v10"]
    dominators = dict(zip(params.points["variant"], params.points["dominated_by"], strict=True))
    assert dominators["v01"] == ("v02",)
    assert dominators["v05"] == ("v08",)
    assert set(dominators["v06"]) == {"v05", "v08"}
    assert dominators["v07"] == ("v09",)
    last = params.steps[-1]
    assert (last.from_id, last.to_id) == ("v09", "v10")
    # 36,595,850 / 6,797,898 = 5.3834 => log2 = 2.4285 doublings for +0.90 pp: 0.3706 pp each.
    assert last.cost_ratio == pytest.approx(5.3834, rel=1e-4)
    assert 100 * last.gain_per_doubling == pytest.approx(0.3706, abs=1e-3)


def test_variant_without_accuracy_is_left_out_of_every_axis_with_its_reason(reported):
    _, analysis, verdict = reported
    assert analysis.no_accuracy == {"v04": V04_REASON}
    for result in analysis.axes:
        assert "v04" not in set(result.points["variant"])
    assert "v04" in verdict.text


def test_unmeasured_axes_are_empty_and_say_why(reported):
    _, analysis, _ = reported
    memory = axis(analysis, "peak_gpu_memory_bytes")
    assert memory.empty
    assert set(memory.left_out.values()) == {"no GPU on this machine"}
    assert "peak_gpu_memory_bytes" not in {a.axis.key for a in analysis.measured_axes}


def test_missing_metric_leaves_the_variant_out_of_that_axis_only(report_doc):
    doc = with_changes(report_doc, v03={"latency_median_s": None, "latency_p99_s": None})
    doc["variants"]["v03"]["unavailable"]["latency_median_s"] = "the latency run crashed"
    _, analysis, _ = build(doc)
    latency = axis(analysis, "latency_median_s")
    assert latency.left_out == {"v03": "the latency run crashed"}
    assert "v03" not in latency.frontier
    assert "v03" in axis(analysis, "params_total").frontier
    assert axis(analysis, "latency_p99_s").left_out == {"v03": "no figure in the data"}


def test_published_references_from_the_json_are_a_separate_layer_on_params_and_macs_only(reported):
    table, analysis, _ = reported
    refs = table[table["kind"] == "reference"].set_index("variant")
    # He et al. 2016 Table 6: error 8.75 % and 6.97 %; 0.27 M and 0.85 M parameters.
    assert refs.loc["resnet20", "accuracy"] == pytest.approx(0.9125)
    assert refs.loc["resnet56", "accuracy"] == pytest.approx(0.9303)
    assert refs.loc["resnet56", "macs"] == pytest.approx(125.49e6)
    for result in analysis.axes:
        assert "resnet20" not in set(result.points["variant"])  # never on the frontier
        on_layer = set(result.references["variant"])
        expected = (
            {"resnet20", "resnet56"} if result.axis.key in {"params_total", "macs"} else set()
        )
        assert on_layer == expected, result.axis.key
    params_refs = axis(analysis, "params_total").references.set_index("variant")
    # resnet20: 270 k params at 91.25 % beats v03 (306 k, 80.36 %) but not v02 (159 k).
    assert "v03" in params_refs.loc["resnet20", "dominates"]
    assert "v02" not in params_refs.loc["resnet20", "dominates"]


def test_measured_reference_replaces_the_published_point(report_doc):
    doc = copy.deepcopy(report_doc)
    ref = make_record("resnet20", 272_474, 40_810_000, 0.9125, source="published", kind="reference")
    ref["accuracy_citation"] = "He et al. 2016, Table 6"
    doc["variants"]["resnet20"] = ref
    table, analysis, _ = build(validate(doc))
    rows = table[table["variant"] == "resnet20"]
    assert len(rows) == 1
    assert rows.iloc[0]["cost_source"] == "measured"
    assert rows.iloc[0]["params_total"] == 272_474
    assert "resnet20" in set(axis(analysis, "latency_median_s").references["variant"])
    assert table[table["variant"] == "resnet56"].iloc[0]["cost_source"] == "published"


# ---------------------------------------------------------------- uncertainty


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), Stat. Med. 17:857-872, worked examples, method 3 (Wilson score interval
    # without continuity correction).
    for successes, n, low, high in [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                                    (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]:  # fmt: skip
        got = wilson_interval(successes / n, n)
        assert got == pytest.approx((low, high), abs=5e-5)


def test_two_proportion_test_resolves_v09_v10_although_intervals_overlap(reported):
    table, _, _ = reported
    rows = table.set_index("variant")
    # Hand: se = sqrt((0.9135 * 0.0865 + 0.9045 * 0.0955) / 10,000) = 0.0040670,
    # z = 0.009 / 0.0040670 = 2.2130, two-sided p = 0.0269.
    accuracy = metrics.get("accuracy")
    c = compare(Seeds((0.9135,), 10_000), Seeds((0.9045,), 10_000), accuracy)
    assert c.p_value == pytest.approx(0.0269, abs=2e-4) and c.outcome is Outcome.BETTER
    assert rows.loc["v10", "accuracy_low"] < rows.loc["v09", "accuracy_high"]  # overlap
    # v07 88.56 % vs v08 88.43 %: z = 0.0013 / 0.00452 = 0.29, far from significant.
    c = compare(Seeds((0.8856,), 10_000), Seeds((0.8843,), 10_000), accuracy)
    assert c.outcome is Outcome.UNDETERMINED


def test_seed_spread_widens_the_interval_and_welch_decides():
    # Three seeds 0.90, 0.91, 0.92: sd 0.01, t(0.975, 2) = 4.3027, half-width 0.02484.
    est = estimate([0.90, 0.91, 0.92], 10_000)
    assert est.mean == pytest.approx(0.91)
    assert est.low == pytest.approx(0.91 - 0.024841, abs=1e-5)
    assert est.high == pytest.approx(0.91 + 0.024841, abs=1e-5)
    assert "seed" in est.method
    accuracy = metrics.get("accuracy")
    c = compare(Seeds((0.90, 0.91, 0.92), 10_000), Seeds((0.905, 0.915, 0.925), 10_000), accuracy)
    assert c.test.startswith("Welch") and c.outcome is Outcome.UNDETERMINED
    far = compare(Seeds((0.90, 0.91, 0.92), 10_000), Seeds((0.80, 0.801, 0.802), 10_000), accuracy)
    assert far.outcome is Outcome.BETTER


# ---------------------------------------------------------------- data layer


def test_runs_frame_has_si_columns_and_provenance(report_doc):
    suite = suite_from_documents([("a.json", report_doc)])
    runs = suite.runs.set_index("variant")
    assert len(runs) == 10
    for column in ("params_total", "latency_median_s", "peak_gpu_memory_bytes", "time_per_image_s",
                   "device", "tensorflow_version", "keras_version", "precision", "xla",
                   "accuracy_source", "file"):  # fmt: skip
        assert column in runs.columns
    assert runs.loc["v10", "accuracy"] == 0.9135  # unrounded
    tput = report_doc["variants"]["v10"]["throughput_images_per_s"]
    assert runs.loc["v10", "time_per_image_s"] == pytest.approx(1 / tput)
    assert runs.loc["v10", "device"] == "CPU"
    assert len(suite.latency) == 10 * 20  # ten variants with latency, 20 raw rounds each


def _measured_suite(seed: int, accuracies: dict[str, float], **kwargs) -> dict:
    records = []
    for vid, acc in accuracies.items():
        params, _, macs, _ = REPORT_FIGURES[vid]
        rec = make_record(
            vid, params, macs, acc, source="measured", seed=seed,
            train_time_s=50.0 + macs / 1e7, gpu_memory_bytes=200 * 2**20 + 8 * params,
        )  # fmt: skip
        rec["history"] = [
            {"epoch": e, "wall_s": 10.0, "cumulative_s": 10.0 * e, "loss": 1.0 / e,
             "accuracy": acc * (1 - 0.5 / e), "val_loss": 1.1 / e,
             "val_accuracy": acc * (1 - 0.6 / e)}
            for e in range(1, 6)
        ]  # fmt: skip
        records.append(rec)
    return make_suite(
        records, device="GPU:0 NVIDIA H100 80GB HBM3", accuracy_source="train", seed=seed, **kwargs
    )


def test_several_seeds_are_pooled_with_their_spread():
    a = _measured_suite(0, {"v09": 0.90, "v10": 0.91})
    b = _measured_suite(1, {"v09": 0.91, "v10": 0.92})
    table, _, verdict = build([a, b])
    rows = table.set_index("variant")
    assert rows.loc["v10", "n_runs"] == 2
    assert rows.loc["v10", "accuracy"] == pytest.approx(0.915)
    assert rows.loc["v10", "seeds"] == (0, 1)
    assert "seed spread" in rows.loc["v10", "accuracy_method"]
    # Two seeds 0.91/0.92: sd 0.00707, t(0.975, 1) = 12.706 => half-width 0.0635.
    assert rows.loc["v10", "accuracy_high"] == pytest.approx(min(1.0, 0.915 + 0.0635), abs=1e-3)
    assert verdict.comparison.test.startswith("Welch-Satterthwaite over seeds (2 and 2 runs)")
    assert "v09 90.50 %" in verdict.text
    assert "cannot be told apart (Welch-Satterthwaite" in verdict.text


def test_measured_accuracy_wins_over_reported_with_a_note(report_doc):
    measured = _measured_suite(0, {"v10": 0.93}, dataset="cifar10")
    measured["machine_info"]["device"] = "CPU"
    with pytest.raises(ReportInputError, match="accuracy source: reported, train"):
        build([report_doc, measured])  # unlike runs: refused unless asked for
    suite = suite_from_documents([("a", report_doc), ("b", measured)], allow_mixed=True)
    table = aggregate(suite)
    v10 = table.set_index("variant").loc["v10"]
    assert v10["accuracy"] == pytest.approx(0.93)
    assert v10["accuracy_source"] == "measured"
    assert any("set aside" in n for n in v10["notes"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"accuracy": 91.35}, r"outside \[0, 1\]"),
        ({"params_total": "36.6M"}, "a str where a number belongs"),
        ({"accuracy_source": "guessed"}, "accuracy_source"),
        # NaN was read as "missing" and the model quietly left the axis; now it is refused.
        ({"accuracy": float("nan")}, r"v10's accuracy is nan, not a number \(NaN\)"),
        ({"peak_host_memory_bytes": float("nan")}, "not a number"),
        ({"macs": float("inf")}, "infinite"),
        ({"latency_median_s": -0.001}, "negative, which no cost can be"),
        ({"params_total": True}, "a bool where a number belongs"),
    ],
)
def test_malformed_figures_are_refused_in_one_sentence(report_doc, change, words):
    with pytest.raises(ReportInputError, match=words) as raised:
        build(with_changes(report_doc, v10=change))
    assert str(raised.value).count(". ") == 0  # one sentence
    assert "v10" in str(raised.value)


@pytest.mark.parametrize("bad", [float("nan"), "0.001", -0.001, 0.0, None])
def test_a_bad_timing_sample_is_refused_naming_the_file_and_model(report_doc, bad):
    doc = copy.deepcopy(report_doc)
    bench = doc["benchmarks"][0]
    bench["stats"]["data"][1] = bad
    with pytest.raises(ReportInputError, match=rf"^a\.json: {bench['extra_info']['variant']}"):
        suite_from_documents([("a.json", doc)])


def test_mixed_devices_and_empty_variants_are_refused(report_doc):
    gpu = copy.deepcopy(report_doc)
    gpu["machine_info"]["device"] = "GPU:0 NVIDIA H100 80GB HBM3"
    with pytest.raises(ReportInputError, match="device: CPU, GPU:0 NVIDIA H100 80GB HBM3"):
        build([report_doc, gpu])
    empty = copy.deepcopy(report_doc)
    empty["variants"] = {}
    with pytest.raises(ReportInputError, match="hold no variant records"):
        build(empty)


# ---------------------------------------------------------------- the built report


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One report from two seeds of measured runs (histories, GPU memory, training time)."""
    root = tmp_path_factory.mktemp("report")
    figures = {vid: fig[3] for vid, fig in REPORT_FIGURES.items() if fig[3] is not None}
    paths = []
    for seed, shift in ((0, 0.0), (1, 0.004)):
        doc = _measured_suite(seed, {v: a + shift for v, a in figures.items()})
        for rec in doc["variants"].values():  # the remaining axes: file size and energy
            rec["model_file_bytes"] = 4 * rec["params_total"] + 20_000
            rec["energy_train_j"] = 300.0 * rec["train_time_s"]  # a 300 W GPU
            rec["energy_per_1000_images_j"] = 1e3 * 300.0 / rec["throughput_images_per_s"]
        path = root / f"seed{seed}.json"
        path.write_text(json.dumps(doc))
        paths.append(path)
    from reports import build_report

    html_path = build_report(paths, root / "out")
    return html_path


def test_report_directory_has_every_artefact(built):
    out = built.parent
    assert built.name == "report.html"
    for name in ("report.md", "variants.csv", "runs.csv", "frontiers.csv"):
        assert (out / name).stat().st_size > 0, name
    slugs = {a.slug for a in cost_axes()}  # every axis is measured in this fixture
    expected = {f"pareto_{s}" for s in slugs} | {"time_to_accuracy", "latency_distribution"}
    assert {p.stem for p in (out / "plots").glob("*.png")} == expected
    assert {p.stem for p in (out / "plots").glob("*.svg")} == expected
    for png in (out / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_plot_states_device_and_dataset(built):
    import xml.etree.ElementTree as ET

    svgs = sorted((built.parent / "plots").glob("*.svg"))
    assert len(svgs) == len(cost_axes()) + 2  # every axis, time to accuracy, latency
    for svg in svgs:
        root = ET.parse(svg).getroot()  # valid XML
        text = " ".join(t for t in root.itertext())
        assert "NVIDIA H100" in text and "CIFAR-10" in text, svg.name


def test_html_is_self_contained_and_carries_the_verdict(built):
    page = built.read_text(encoding="utf-8")
    assert "<link" not in page
    for attr in ('src="http', "src='http", "url(http", "<script src"):
        assert attr not in page
    assert page.count('<img src="data:image/png;base64,') == len(cost_axes()) + 2
    # v10 (91.35/91.75 %) and v09 (90.45/90.85 %), two seeds each, cannot be told apart: the
    # answer names both as co-winners.
    assert "co-winners v10 and v09" in page and "v10 (91.55 %)" in page
    assert "data-render" not in page  # set by the script at load time, not baked in


def test_markdown_has_the_same_content_as_html(built):
    import html as html_lib

    page = html_lib.unescape(built.read_text(encoding="utf-8"))
    md = (built.parent / "report.md").read_text(encoding="utf-8")
    verdict = md.split("## Verdict\n\n")[1].split("\n")[0].strip("*")
    assert verdict.startswith(("Yes:", "No:", "Partly:")) and verdict in page
    assert md.count("\n|---|") == page.count("<table>")
    for heading in ("Accuracy vs parameters", "Time to accuracy", "Latency distributions"):
        assert heading in md and heading in page


def test_csv_keeps_si_units_unrounded(built):
    variants = pd.read_csv(built.parent / "variants.csv").set_index("variant")
    assert variants.loc["v10", "accuracy"] == pytest.approx(0.9155)  # mean of 0.9135, 0.9175
    assert variants.loc["v10", "params_total"] == 36_595_850
    frontiers = pd.read_csv(built.parent / "frontiers.csv")
    params = frontiers[(frontiers["axis"] == "params_total") & frontiers["on_frontier"]]
    # Two seeds each, 0.4 pp apart: v09 (90.45, 90.85 %) and v10 (91.35, 91.75 %) differ by 0.90
    # pp, Welch t = 0.009 / 0.00283 = 3.18 on 2 df, p = 0.086: they cannot be told apart.
    # Undetermined is not equal: the cheaper v09 does not dominate v10 (the old rule said it
    # did); both stay, unresolved. v08 -> v09 (+2.02 pp, t = 7.1, p = 0.019) stays.
    assert list(params.sort_values("cost")["variant"]) == ["v02", "v03", "v08", "v09", "v10"]
    v10 = params.set_index("variant").loc["v10"]
    assert v10["unresolved"] == "v09" and "more seeds" in v10["settle"]
    runs = pd.read_csv(built.parent / "runs.csv")
    assert len(runs) == 2 * 9


# ---------------------------------------------------------------- the command line


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"hello": "world"}', "not a pytest-benchmark JSON"),
        ("[1, 2, 3]", "not a benchmark JSON object"),
        ('{"machine_info": {}, "benchmarks": []}', "without the suite's 'variants' section"),
        ("", "is empty"),
        ('{"machine_info": ', "not valid JSON"),
    ],
)
def test_cli_refuses_garbage_with_one_sentence(tmp_path, capsys, content, words):
    from reports.__main__ import main

    path = _write(tmp_path, "in.json", content)
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert err.count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_unwritable_output_is_one_sentence(tmp_path, capsys, report_doc):
    from reports.__main__ import main

    good = _write(tmp_path, "good.json", json.dumps(report_doc))
    blocker = _write(tmp_path, "not_a_dir", "a file where the report directory should go")
    assert main([str(good), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write the report to {blocker}")
    assert err.count("\n") == 0


def test_cli_end_to_end_in_a_subprocess_without_tensorflow(tmp_path):
    bad = _write(tmp_path, "bad.json", "")
    small = make_suite([make_record("v01", 159_146, 10_387_776, 0.7232)])  # fewer plots: faster
    good = _write(tmp_path, "good.json", json.dumps(small))
    env_cmd = [sys.executable, "-m", "reports"]
    run = subprocess.run(
        [*env_cmd, str(bad), "--out", str(tmp_path / "x")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: ") and "Traceback" not in run.stderr
    check = (
        "import sys; from reports.__main__ import main; "
        f"rc = main([{str(good)!r}, '--out', {str(tmp_path / 'out')!r}]); "
        "assert 'tensorflow' not in sys.modules, 'reports imported tensorflow'; sys.exit(rc)"
    )
    run = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("report.html")


def test_published_cifar10_points_stay_out_of_a_report_on_another_dataset():
    doc = make_suite(dataset="synthetic", accuracy_source="measured")
    for record in doc["variants"].values():
        record["dataset"] = "synthetic"
    table = aggregate(suite_from_documents([("synthetic.json", doc)]))
    assert "reference" not in set(table["kind"])
    cifar = aggregate(suite_from_documents([("cifar.json", make_suite())]))
    assert {"resnet20", "resnet56"} <= set(cifar["variant"])


def test_number_renders_a_dimensionless_figure_to_three_significant_figures():
    # A cross-entropy of ln 2 and of ln 10 (chance on 2 and 10 classes), and a small one.
    assert units.number(math.log(2)) == "0.693"
    assert units.number(math.log(10)) == "2.30"
    assert units.number(0.0001234) == "0.000123"
    assert units.number(None) == "n/a"


def test_p_values_are_never_rounded_across_a_level_they_are_judged_against():
    # 0.04996 < 0.05 is significant at 5 %: three significant figures would print "0.0500".
    assert units.p_value(0.04996) == "p = 0.04996"
    assert units.p_value(0.0269) == "p = 0.0269"
    assert units.p_value(0.45) == "p = 0.45"
    assert units.p_value(0.0004) == "p < 0.001"
    # Two figures in the gate's columns would print 0.0020 for 0.00199 < 0.002.
    assert units.p_compact(0.00199) == "0.00199"
    assert units.p_compact(1.234e-10) == "1.2e-10"
