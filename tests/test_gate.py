"""Tests of the regression gate (`bench/gates/twofile.py`) on suite JSON files built by hand.

Each file is made from `bench.contract.empty_variant_record` and pytest-benchmark entries whose
samples are drawn from seeded distributions of known shape, so the right verdict is known before
the gate runs: the slowdowns (30 %), machine-wide load factors and figure changes are injected
here, not computed by the code under test. The last tests check that pytest-benchmark's own
`compare` command and `--benchmark-compare(-fail)` options read the same files.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.stats import Stats

from bench.contract import CONTRACT_VERSION, empty_variant_record
from bench.gates import decision
from bench.gates import twofile as gate

VARIANTS = ("v01", "v05", "v10")
# Batch-1 medians of the same order as the suite's on a 2-core CPU; only their size matters.
MEDIAN_S = {"v01": 1.5e-3, "v05": 6e-3, "v10": 40e-3}
REFERENCE_MEDIAN_S = 1e-3
ROUNDS = 60

MACHINE_INFO = {
    # pytest-benchmark's own keys
    "node": "runner-1",
    "processor": "x86_64",
    "machine": "x86_64",
    "python_compiler": "GCC 12.2.0",
    "python_implementation": "CPython",
    "python_implementation_version": "3.11.7",
    "python_version": "3.11.7",
    "python_build": ["main", "Jan 1 2024"],
    "release": "6.1.0",
    "system": "Linux",
    "cpu": {"brand_raw": "Example CPU @ 2.20GHz", "count": 2},
    # the suite's additions (docs/contract.md)
    "tensorflow_version": "2.21.0",
    "keras_version": "3.15.1",
    "numpy_version": "2.3.0",
    "cpu_model": "Example CPU @ 2.20GHz",
    "cpu_count_logical": 2,
    "gpu": None,
    "device": "CPU",
    "threads": {"intra_op": 1, "inter_op": 1},
    "xla": False,
    "precision": "float32",
    "tf32": None,
    "onednn": True,
}


def latency_samples(
    seed: int,
    median_s: float,
    *,
    slowdown: float = 1.0,
    machine_load: float = 1.0,
    rounds: int = ROUNDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-round samples of a variant and of the reference workload timed in the same rounds.

    Shaped like real latencies (the suite's A/A runs): a floor, the cost of the work, plus
    right-skewed delays that only ever add time (exponential, mean 5 % of the cost, per call),
    and a per-round machine load shared by both workloads that also only adds (exponential,
    mean 20 %); `machine_load` scales the whole run (a slower or busier machine), `slowdown` the
    variant only.
    """
    rng = np.random.default_rng(seed)
    load = machine_load * (1.0 + rng.exponential(0.2, rounds))
    variant = median_s * slowdown * (1.0 + rng.exponential(0.05, rounds)) * load
    reference = REFERENCE_MEDIAN_S * (1.0 + rng.exponential(0.05, rounds)) * load
    return variant, reference


def benchmark_entry(
    variant: str, data: np.ndarray, reference: np.ndarray | None, scenario: str = "latency"
) -> dict[str, Any]:
    """A pytest-benchmark entry as `--benchmark-json` writes it, with the suite's extra_info."""
    stats = Stats()
    for value in data:
        stats.update(float(value))
    stats_dict = stats.as_dict()
    stats_dict.update(data=[float(v) for v in data], iterations=1)
    extra: dict[str, Any] = {
        "variant": variant,
        "scenario": scenario,
        "batch_size": 1,
        "device": "CPU",
        "xla": False,
        "precision": "float32",
        "first_call_s": 0.2,
    }
    if reference is not None:
        extra["reference_samples_s"] = [float(v) for v in reference]
    return {
        "group": scenario,
        "name": f"test_{scenario}[{variant}]",
        "fullname": f"bench/test_suite.py::test_{scenario}[{variant}]",
        "params": {"variant": variant},
        "param": variant,
        "extra_info": extra,
        "options": {
            "disable_gc": False,
            "timer": "perf_counter",
            "min_rounds": ROUNDS,
            "max_time": 1.0,
            "min_time": 5e-06,
            "warmup": False,
        },
        "stats": stats_dict,
    }


def variant_record(variant: str) -> dict[str, Any]:
    """A variant record with the report's parameter counts (docs/source-report.md) and plausible
    figures."""
    params = {"v01": (159_146, 0), "v05": (1_709_514, 2_048), "v10": (36_595_850, 11_776)}
    total, non_trainable = params[variant]
    record = empty_variant_record(variant)
    record.update(
        kind="variant",
        params_total=total,
        params_trainable=total - non_trainable,
        params_non_trainable=non_trainable,
        macs=total * 10,
        flops=total * 20,
        flops_analytic=total * 20,
        accuracy=0.80,
        accuracy_source="measured",
        dataset="cifar10",
        profile="quick",
        peak_host_memory_bytes=900 * 2**20,
    )
    record["unavailable"]["peak_gpu_memory_bytes"] = "no GPU on this machine."
    return record


def suite(seed: int, **slowdowns: float) -> dict[str, Any]:
    """A suite JSON with latency benchmarks for VARIANTS; `v01=1.3` makes v01 30 % slower."""
    benchmarks = []
    for i, vid in enumerate(VARIANTS):
        data, ref = latency_samples(seed * 100 + i, MEDIAN_S[vid], slowdown=slowdowns.get(vid, 1))
        benchmarks.append(benchmark_entry(vid, data, ref))
    return {
        "machine_info": copy.deepcopy(MACHINE_INFO),
        "commit_info": {"id": "abc", "dirty": False, "project": "work", "branch": "main"},
        "benchmarks": benchmarks,
        "datetime": "2025-01-01T00:00:00",
        "version": "5.2.3",
        "contract_version": CONTRACT_VERSION,
        "run": {"variants": list(VARIANTS), "latency_batch_size": 1},
        "variants": {vid: variant_record(vid) for vid in VARIANTS},
        "published_references": [],
    }


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def run_gate(
    tmp_path: Path, base: Any, cur: Any, *options: str, capsys: pytest.CaptureFixture
) -> tuple[int, str, dict[str, Any] | None]:
    """Run `main` on two files; return exit code, printed text and the JSON summary."""
    summary = tmp_path / "summary.json"
    argv = [write(tmp_path, "base.json", base), write(tmp_path, "cur.json", cur)]
    code = gate.main([*argv, "--json-summary", str(summary), *options])
    captured = capsys.readouterr()
    data = json.loads(summary.read_text()) if summary.exists() else None
    return code, captured.out + captured.err, data


def rows_by(summary: dict[str, Any], variant: str, check: str) -> dict[str, Any]:
    (row,) = [r for r in summary["rows"] if r["variant"] == variant and r["check"] == check]
    return row


# ----- latency ------------------------------------------------------------------------------


def test_identical_distributions_pass(tmp_path, capsys):
    code, out, summary = run_gate(tmp_path, suite(1), suite(2), capsys=capsys)
    assert code == 0, out
    assert summary["verdict"] == "pass" and summary["exit_code"] == 0
    for vid in VARIANTS:
        row = rows_by(summary, vid, "latency")
        assert row["verdict"] == gate.OK
        assert row["normalization"] == "run"
        assert 0.9 < row["ratio"] < 1.1


def test_thirty_percent_slowdown_fails(tmp_path, capsys):
    code, out, summary = run_gate(tmp_path, suite(1), suite(2, v05=1.3), capsys=capsys)
    assert code == 1, out
    row = rows_by(summary, "v05", "latency")
    assert row["verdict"] == gate.REGRESSION
    assert row["ratio"] == pytest.approx(1.3, abs=0.12)  # injected; ~3 standard errors
    assert row["ci_low"] > 1.0 and row["p_value"] < 0.002
    assert rows_by(summary, "v01", "latency")["verdict"] == gate.OK
    assert "REGRESSION in v05 latency" in out


def test_machine_wide_slowdown_cancels_with_reference_only(tmp_path, capsys):
    base = suite(1)
    cur = suite(2)
    for i, bench in enumerate(cur["benchmarks"]):
        vid = bench["extra_info"]["variant"]
        data, ref = latency_samples(500 + i, MEDIAN_S[vid], machine_load=1.3)
        cur["benchmarks"][i] = benchmark_entry(vid, data, ref)

    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 0, out
    raw = [rows_by(summary, v, "latency")["raw_ratio"] for v in VARIANTS]
    assert raw == pytest.approx([1.3] * 3, abs=0.15), raw

    code, out, summary = run_gate(tmp_path, base, cur, "--normalize", "none", capsys=capsys)
    assert code == 1, out
    assert all(rows_by(summary, v, "latency")["verdict"] == gate.REGRESSION for v in VARIANTS)


def test_missing_reference_falls_back_to_raw_and_says_so(tmp_path, capsys):
    base, cur = suite(1), suite(2, v01=1.3)
    for bench in cur["benchmarks"]:
        del bench["extra_info"]["reference_samples_s"]
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 1
    row = rows_by(summary, "v01", "latency")
    assert row["normalization"] == "none" and row["verdict"] == gate.REGRESSION
    assert "no reference samples in current" in row["note"]
    assert "normalisation 'none'" in out


def test_slowdown_below_the_absolute_floor_passes(tmp_path, capsys):
    def tiny(seed: int, slowdown: float) -> dict[str, Any]:
        data = suite(seed)
        # 20 µs calls: a 30 % slowdown is 6 µs, under the 50 µs default floor
        d, r = latency_samples(seed, 20e-6, slowdown=slowdown)
        data["benchmarks"][0] = benchmark_entry("v01", d, r)
        return data

    code, out, summary = run_gate(tmp_path, tiny(1, 1.0), tiny(2, 1.3), capsys=capsys)
    assert code == 0, out
    row = rows_by(summary, "v01", "latency")
    assert row["ratio"] > 1.2 and "floor" in row["note"]
    assert 4e-6 < row["delta"] < 8e-6

    code, _, _ = run_gate(tmp_path, tiny(1, 1.0), tiny(2, 1.3), "--floor-s", "0", capsys=capsys)
    assert code == 1


def test_large_but_noisy_difference_is_not_significant():
    # Six rounds a side, all-over-the-place: the median ratio exceeds 1.15 but nothing is real.
    base = np.array([1.0, 1.1, 1.2, 2.5, 2.6, 2.8]) * 1e-3  # median 1.85
    cur = np.array([1.0, 1.1, 2.4, 2.5, 2.7, 2.9]) * 1e-3  # median 2.45: ratio 1.32
    entry_b = benchmark_entry("v01", base, None)
    entry_c = benchmark_entry("v01", cur, None)
    row = gate.compare_latency(entry_b, entry_c, gate.Policy(quantile=0.5))
    assert row.ratio > 1.15
    assert row.verdict == gate.OK and "not significant" in row.note


def test_faster_is_reported_not_failed(tmp_path, capsys):
    code, _, summary = run_gate(tmp_path, suite(1), suite(2, v10=0.7), capsys=capsys)
    assert code == 0
    assert rows_by(summary, "v10", "latency")["verdict"] == gate.FASTER


def test_bootstrap_interval_is_deterministic_and_brackets_the_ratio():
    rng = np.random.default_rng(0)
    base = rng.lognormal(0.0, 0.1, 80)
    cur = 1.25 * rng.lognormal(0.0, 0.1, 80)
    kwargs = {"confidence": 0.99, "resamples": 2000, "seed": 7}
    first = decision.bootstrap_ratio_interval(base, cur, **kwargs)
    assert first == decision.bootstrap_ratio_interval(base, cur, **kwargs)
    assert first[0] < 1.25 < first[1]
    assert first[0] > 1.0


def test_smallest_p_value_matches_the_exact_distribution():
    # Complete separation of n and m samples: exact one-sided p = 1 / C(n + m, n).
    assert decision.smallest_p_value(5, 5) == pytest.approx(1 / 252)
    assert decision.smallest_p_value(3, 4) == pytest.approx(1 / 35)


def test_too_few_rounds_is_unusable(tmp_path, capsys):
    base, cur = suite(1), suite(2)
    for data in (base, cur):
        vid = "v01"
        d, r = latency_samples(3, MEDIAN_S[vid], rounds=5)
        data["benchmarks"][0] = benchmark_entry(vid, d, r)
    code, out, _ = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2
    assert "more rounds" in out


def test_reference_of_another_length_is_unusable(tmp_path, capsys):
    cur = suite(2)
    cur["benchmarks"][1]["extra_info"]["reference_samples_s"].pop()
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 2
    assert "59 reference samples for 60" in out


# ----- unusable input -----------------------------------------------------------------------


def test_benchmark_missing_from_the_baseline_is_unusable_unless_allowed(tmp_path, capsys):
    base = suite(1)
    base["benchmarks"] = [b for b in base["benchmarks"] if b["extra_info"]["variant"] != "v10"]
    code, out, summary = run_gate(tmp_path, base, suite(2), capsys=capsys)
    assert code == 2
    assert "v10 latency is missing from the baseline file" in out
    assert summary["verdict"] == "unusable" and len(summary["problems"]) == 1

    code, out, summary = run_gate(tmp_path, base, suite(2), "--allow-missing", capsys=capsys)
    assert code == 0
    assert rows_by(summary, "v10", "latency")["verdict"] == gate.MISSING


def test_variant_missing_on_one_side_is_listed(tmp_path, capsys):
    base = suite(1)
    del base["variants"]["v05"]
    code, out, _ = run_gate(tmp_path, base, suite(2), capsys=capsys)
    assert code == 2
    assert "v05 figures is missing from the baseline file" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"foo": 1}', "not a pytest-benchmark JSON"),
        ("", "is empty"),
        ('{"benchmarks": [', "not valid JSON"),
        (json.dumps({"machine_info": {}, "benchmarks": []}), "without the suite's 'variants'"),
    ],
    ids=["not-suite", "empty", "malformed", "plain-pytest-benchmark"],
)
def test_unusable_file_gives_one_sentence_and_exit_2(tmp_path, capsys, content, expected):
    code, out, summary = run_gate(tmp_path, suite(1), content, capsys=capsys)
    assert code == 2
    (error,) = [line for line in out.splitlines() if line.startswith("error:")]
    assert expected in error and error.endswith(".")
    assert summary["problems"] and summary["rows"] == []


def test_missing_file_gives_exit_2(tmp_path, capsys):
    code = gate.main([write(tmp_path, "b.json", suite(1)), str(tmp_path / "nope.json")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().out


def test_different_machines_refused_unless_overridden(tmp_path, capsys):
    cur = suite(2)
    cur["machine_info"]["cpu_model"] = "Other CPU"
    cur["machine_info"]["threads"] = {"intra_op": 0, "inter_op": 0}
    cur["machine_info"]["node"] = "runner-7"  # node names never matter
    code, out, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 2
    assert "cpu_model" in out and "threads" in out and "node" not in summary["problems"][0]

    code, out, summary = run_gate(
        tmp_path, suite(1), cur, "--allow-different-machines", capsys=capsys
    )
    assert code == 0
    assert len([r for r in summary["rows"] if r["kind"] == "latency"]) == 3
    assert any("compared across machines" in note for note in summary["notes"])


@pytest.mark.parametrize(
    ("key", "base_value", "cur_value"),
    [
        ("throughput_batch_size", 256, 128),  # another batch: other images/s, other memory
        ("accuracy_source", "train", "reported"),  # measured against the report's figures
        ("latency_budget_s", 3.0, 0.5),  # fewer rounds: other minima, other power
        ("throughput_batch_size", 256, None),  # present on one side only: not known to match
    ],
)
def test_different_run_settings_refused_unless_overridden(
    tmp_path, capsys, key, base_value, cur_value
):
    base, cur = suite(1), suite(2)
    base["run"][key] = base_value
    if cur_value is None:
        cur["run"].pop(key, None)
    else:
        cur["run"][key] = cur_value
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2, out
    (problem,) = summary["problems"]
    assert key in problem and "--allow-different-settings" in problem

    code, out, summary = run_gate(tmp_path, base, cur, "--allow-different-settings", capsys=capsys)
    assert code == 0, out
    assert any("different suite settings" in n and key in n for n in summary["notes"])


def test_software_change_is_a_note_not_a_refusal(tmp_path, capsys):
    cur = suite(2)
    cur["machine_info"]["tensorflow_version"] = "2.22.0"
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 0
    assert "software changed: tensorflow_version" in out


def test_bad_options_exit_2(tmp_path, capsys):
    base = write(tmp_path, "b.json", suite(1))
    assert gate.main([base, base, "--threshold", "0.9"]) == 2
    assert "ratio >= 1" in capsys.readouterr().err
    assert gate.main([base, base, "--threshold", "v10:warmup=1.2"]) == 2
    assert gate.main([base, base, "--alpha", "2"]) == 2
    assert gate.main([base]) == 2
    assert gate.main(["--help"]) == 0


# ----- losses: what the baseline has and the current run lacks fails (exit 1) ---------------


def failure_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("failure:")]


def test_benchmark_lost_in_the_current_run_fails_unless_allowed(tmp_path, capsys):
    cur = suite(2)
    cur["benchmarks"] = [b for b in cur["benchmarks"] if b["extra_info"]["variant"] != "v10"]
    cur["variants"]["v10"]["unavailable"]["latency_median_s"] = "the latency test crashed."
    code, out, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1, out
    (line,) = failure_lines(out)
    assert "v10 latency is missing from the current run" in line
    assert "the latency test crashed" in line and "--allow-missing" in line
    assert summary["verdict"] == "regression" and summary["problems"] == []
    assert rows_by(summary, "v10", "latency")["verdict"] == gate.LOST

    code, out, summary = run_gate(tmp_path, suite(1), cur, "--allow-missing", capsys=capsys)
    assert code == 0, out
    assert rows_by(summary, "v10", "latency")["verdict"] == gate.MISSING
    assert any("--allow-missing" in n and "v10 latency" in n for n in summary["notes"])


@pytest.mark.parametrize(
    ("figure", "reason"),
    [
        ("flops", "the TF profiler crashed on this graph."),
        ("accuracy", "training diverged: the loss became NaN in epoch 3."),
        ("peak_host_memory_bytes", "v05 runs out of memory even at batch 1."),
    ],
)
def test_figure_null_in_the_current_run_fails_with_its_reason(tmp_path, capsys, figure, reason):
    cur = suite(2)
    cur["variants"]["v05"][figure] = None
    cur["variants"]["v05"]["unavailable"][figure] = reason
    code, out, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1, out
    (line,) = failure_lines(out)
    assert f"v05 {figure}" in line and reason.rstrip(".") in line
    assert rows_by(summary, "v05", figure)["verdict"] == gate.LOST

    code, out, summary = run_gate(tmp_path, suite(1), cur, "--allow-missing", capsys=capsys)
    assert code == 0, out
    assert rows_by(summary, "v05", figure)["verdict"] == gate.MISSING
    assert any(f"v05 {figure}" in n for n in summary["notes"])


def test_errors_in_a_current_record_fail_even_with_every_figure_present(tmp_path, capsys):
    cur = suite(2)
    cur["variants"]["v01"]["errors"] = ["v01 runs out of memory for one training step."]
    code, out, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1, out
    (line,) = failure_lines(out)
    assert line.startswith("failure: v01") and "out of memory for one training step" in line

    code, _, summary = run_gate(tmp_path, suite(1), cur, "--allow-missing", capsys=capsys)
    assert code == 0
    assert any("v01" in n and "out of memory" in n for n in summary["notes"])


def test_variant_lost_in_the_current_run_fails_unless_allowed(tmp_path, capsys):
    cur = suite(2)
    del cur["variants"]["v05"]
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1, out
    (line,) = failure_lines(out)
    assert "v05 figures is missing from the current run" in line

    code, out, _ = run_gate(tmp_path, suite(1), cur, "--allow-missing", capsys=capsys)
    assert code == 0, out


# ----- other figures ------------------------------------------------------------------------


@pytest.mark.parametrize("figure", ["params_total", "params_trainable", "macs", "flops"])
def test_any_change_of_an_exact_figure_fails(tmp_path, capsys, figure):
    cur = suite(2)
    cur["variants"]["v05"][figure] += 1
    code, _, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1
    row = rows_by(summary, "v05", figure)
    assert row["verdict"] == gate.REGRESSION and "refresh the baseline" in row["note"]
    assert row["delta"] == 1


def test_accuracy_drop_beyond_tolerance_fails(tmp_path, capsys):
    cur = suite(2)
    cur["variants"]["v01"]["accuracy"] = 0.80 - 0.01
    cur["variants"]["v05"]["accuracy"] = 0.80 - 0.003  # within the 0.005 default
    code, _, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1
    assert rows_by(summary, "v01", "accuracy")["verdict"] == gate.REGRESSION
    assert rows_by(summary, "v05", "accuracy")["verdict"] == gate.OK
    code, _, _ = run_gate(tmp_path, suite(1), cur, "--accuracy-tolerance", "0.02", capsys=capsys)
    assert code == 0


def test_accuracy_from_different_sources_is_not_comparable(tmp_path, capsys):
    cur = suite(2)
    cur["variants"]["v01"].update(accuracy=0.60, accuracy_source="reported")
    code, _, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 0
    row = rows_by(summary, "v01", "accuracy")
    assert row["verdict"] == gate.NOT_COMPARABLE and "accuracy_source" in row["note"]


def test_memory_growth_beyond_tolerance_fails(tmp_path, capsys):
    cur = suite(2)
    cur["variants"]["v10"]["peak_host_memory_bytes"] = int(900 * 2**20 * 1.2)
    cur["variants"]["v05"]["peak_host_memory_bytes"] = int(900 * 2**20 * 1.05)
    code, _, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 1
    assert rows_by(summary, "v10", "peak_host_memory_bytes")["verdict"] == gate.REGRESSION
    assert rows_by(summary, "v05", "peak_host_memory_bytes")["verdict"] == gate.OK


def test_null_figure_is_listed_with_its_reason(tmp_path, capsys):
    code, out, summary = run_gate(tmp_path, suite(1), suite(2), capsys=capsys)
    assert code == 0
    row = rows_by(summary, "v01", "peak_gpu_memory_bytes")
    assert row["verdict"] == gate.NOT_COMPARABLE
    assert row["note"] == "both: no GPU on this machine."
    assert "not comparable (both: no GPU" in out

    cur = suite(2)
    cur["variants"]["v01"]["peak_gpu_memory_bytes"] = 2**30
    del cur["variants"]["v01"]["unavailable"]["peak_gpu_memory_bytes"]
    _, _, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    row = rows_by(summary, "v01", "peak_gpu_memory_bytes")
    assert row["verdict"] == gate.NOT_COMPARABLE
    assert row["note"] == "baseline: no GPU on this machine."


# ----- overrides ----------------------------------------------------------------------------


def test_threshold_precedence():
    policy = gate.Policy(
        threshold=1.1, thresholds={"v10:latency": 1.4, "v10": 1.3, "*:latency": 1.2}
    )
    assert policy.threshold_for("v10", "latency") == 1.4
    assert policy.threshold_for("v10", "throughput") == 1.3
    assert policy.threshold_for("v01", "latency") == 1.2
    assert policy.threshold_for("v01", "throughput") == 1.1


def test_command_line_overrides_apply(tmp_path, capsys):
    base, cur = suite(1), suite(2, v01=1.3, v10=1.3)
    code, _, summary = run_gate(
        tmp_path, base, cur, "--threshold", "v10:latency=1.5", capsys=capsys
    )
    assert code == 1
    assert rows_by(summary, "v10", "latency")["verdict"] == gate.OK
    assert rows_by(summary, "v10", "latency")["limit"] == 1.5
    assert rows_by(summary, "v01", "latency")["verdict"] == gate.REGRESSION

    code, _, _ = run_gate(
        tmp_path, base, cur, "--threshold", "1.5", "--threshold", "v01=1.2", capsys=capsys
    )
    assert code == 1
    code, _, _ = run_gate(tmp_path, base, cur, "--threshold", "1.5", capsys=capsys)
    assert code == 0


def test_policy_file_and_command_line_precedence(tmp_path, capsys):
    policy = tmp_path / "policy.toml"
    policy.write_text('threshold = 1.5\nmemory_tolerance = 0.3\n[thresholds]\n"v01" = 1.6\n')
    base, cur = suite(1), suite(2, v01=1.3, v10=1.3)
    cur["variants"]["v10"]["peak_host_memory_bytes"] = int(900 * 2**20 * 1.2)
    code, out, _ = run_gate(tmp_path, base, cur, "--policy", str(policy), capsys=capsys)
    assert code == 0, out
    code, _, summary = run_gate(
        tmp_path, base, cur, "--policy", str(policy), "--threshold", "v01=1.2", capsys=capsys
    )
    assert code == 1
    assert rows_by(summary, "v01", "latency")["verdict"] == gate.REGRESSION

    bad = tmp_path / "bad.json"
    bad.write_text('{"treshold": 1.2}')
    code, out, _ = run_gate(tmp_path, base, cur, "--policy", str(bad), capsys=capsys)
    assert code == 2 and "unknown keys treshold" in out


def test_table_has_the_columns_a_reader_needs(tmp_path, capsys):
    _, out, _ = run_gate(tmp_path, suite(1), suite(2, v05=1.3), capsys=capsys)
    header = next(line for line in out.splitlines() if line.startswith("variant"))
    for column in ("check", "baseline", "current", "ratio", "interval", "p", "norm", "verdict"):
        assert column in header.split()
    v05 = next(line for line in out.splitlines() if line.startswith("v05") and "latency" in line)
    assert "ms" in v05 and "[" in v05 and "REGRESSION" in v05


def test_python_dash_m_bench_gate_dispatches(tmp_path):
    base = write(tmp_path, "b.json", suite(1))
    cur = write(tmp_path, "c.json", suite(2, v01=1.3))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "gate", base, cur],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REGRESSION in v01 latency" in proc.stdout


# ----- pytest-benchmark's own tools read our files ------------------------------------------


def test_pytest_benchmark_compare_cli_reads_suite_files(tmp_path):
    base = write(tmp_path, "0001_base.json", suite(1))
    cur = write(tmp_path, "0002_cur.json", suite(2, v05=1.3))
    proc = subprocess.run(
        ["pytest-benchmark", "compare", base, cur],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for vid in VARIANTS:
        assert f"test_latency[{vid}]" in proc.stdout
    assert "Median" in proc.stdout


@pytest.mark.parametrize(("baseline_median_s", "fails"), [(1e-9, True), (10.0, False)])
def test_benchmark_compare_fail_reads_a_suite_file(tmp_path, baseline_median_s, fails):
    # A one-test suite whose fullname matches the constructed baseline's v01 latency entry.
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "test_suite.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.parametrize("variant", ["v01"])
            def test_latency(benchmark, variant):
                benchmark.pedantic(sum, args=(range(100),), rounds=5, iterations=1)
            """
        )
    )
    data = suite(1)
    samples = np.full(ROUNDS, baseline_median_s)
    data["benchmarks"][0] = benchmark_entry("v01", samples, samples)
    saved = write(tmp_path, "0001_baseline.json", data)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "bench/test_suite.py",
            f"--benchmark-compare={saved}",
            "--benchmark-compare-fail=median:5%",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "Comparing against benchmarks from" in output, output
    assert ("Performance has regressed" in output) is fails, output
    assert (proc.returncode != 0) is fails, output


def test_a_record_unavailable_as_a_whole_gives_that_reason():
    base, cur = empty_variant_record("v01"), empty_variant_record("v01")
    for record in (base, cur):
        record["unavailable"]["all"] = "the worker did not run."
    row = gate.compare_exact(base, cur, "flops")
    assert row.verdict == gate.NOT_COMPARABLE and row.note == "both: the worker did not run."


def test_minimum_ignores_preemption_that_moves_the_median():
    # The default statistic is the minimum: a run whose calls were often delayed by a neighbour
    # (half the rounds 40 % slower) keeps its floor, so it passes; the same data compared by
    # medians is 18 % slower. Hand-made samples: floor 1.00 ms in both, delays only add time.
    base = np.array([1.00, 1.01, 1.02, 1.03, 1.04, 1.05] * 10) * 1e-3
    cur = np.array([1.00, 1.01, 1.02, 1.40, 1.41, 1.42] * 10) * 1e-3
    entry_b = benchmark_entry("v01", base, None)
    entry_c = benchmark_entry("v01", cur, None)
    by_min = gate.compare_latency(entry_b, entry_c, gate.Policy())
    assert by_min.ratio == pytest.approx(1.0) and by_min.verdict == gate.OK
    by_median = gate.compare_latency(entry_b, entry_c, gate.Policy(quantile=0.5))
    assert by_median.ratio > 1.15  # what a median-based rule would have to explain away


def test_run_normalisation_divides_by_the_reference_floor_of_each_run():
    # Current ran on a machine 30 % slower overall: variant and reference floors both x1.3.
    base = np.array([1.00, 1.10, 1.20] * 20) * 1e-3
    ref_b = np.array([0.100, 0.120, 0.110] * 20) * 1e-3
    entry_b = benchmark_entry("v01", base, ref_b)
    entry_c = benchmark_entry("v01", base * 1.3, ref_b * 1.3)
    row = gate.compare_latency(entry_b, entry_c, gate.Policy())
    assert row.normalization == "run" and row.ratio == pytest.approx(1.0)
    assert row.raw_ratio == pytest.approx(1.3)
    assert gate.compare_latency(entry_b, entry_c, gate.Policy(normalize="none")).ratio == (
        pytest.approx(1.3)
    )


# ----- the interval of the minimum ----------------------------------------------------------


def _bare_entry(data: np.ndarray) -> dict[str, Any]:
    """The least of a benchmark entry `compare_latency` reads: raw samples and their name."""
    return {
        "name": "test_latency[v01]",
        "stats": {"data": [float(v) for v in data]},
        "extra_info": {"variant": "v01", "scenario": "latency"},
    }


def _minimum_intervals(pairs: int, slowdown: float) -> list[tuple[float, float]]:
    """The default rule's interval (raw minima) for `pairs` pairs of 60-round runs.

    Both runs draw from one hand-made latency distribution, a 1 ms floor times delays that only
    add time, (1 + Exp(0.05)) (1 + Exp(0.2)), the current one scaled by `slowdown`; so the true
    ratio of the floors is `slowdown`, known before the gate runs.
    """
    rng = np.random.default_rng(20240611)
    policy = gate.Policy(normalize="none")
    out = []
    for _ in range(pairs):
        base, cur = (
            1e-3 * s * (1.0 + rng.exponential(0.05, ROUNDS)) * (1.0 + rng.exponential(0.2, ROUNDS))
            for s in (1.0, slowdown)
        )
        row = gate.compare_latency(_bare_entry(base), _bare_entry(cur), policy)
        out.append((row.ci_low, row.ci_high))
    return out


def test_interval_of_the_minimum_rarely_calls_an_unchanged_build_slower():
    # A/A: "interval low > 1" is the rule's evidence that a slowdown is real; a 99 % two-sided
    # interval may show it for at most 0.5 % of unchanged pairs. A percentile bootstrap of the
    # minimum did in about 2.5 % (its resampled minima never fall below the sample's minimum).
    intervals = _minimum_intervals(1000, slowdown=1.0)
    false_alarms = sum(low > 1.0 for low, _ in intervals)
    assert false_alarms <= 10, false_alarms  # 0.5 % of 1000; the bootstrap gave about 25


def test_interval_of_the_minimum_covers_a_true_slowdown():
    # Current 30 % slower (the whole distribution scaled): the 99 % interval must contain 1.3 in
    # at least 98 % of pairs. The percentile bootstrap of the minimum covered it in about 95 %.
    intervals = _minimum_intervals(1000, slowdown=1.3)
    covered = sum(low <= 1.3 <= high for low, high in intervals)
    assert covered >= 980, covered


def test_minimum_interval_reads_the_hand_computed_order_statistics():
    # 5 rounds a side, 99 %: P(the k smallest of 10 all from one side) = C(5, k) / C(10, k) is
    # 1/2, 2/9, 1/12, 1/42, 1/252 for k = 1..5; the first at most 0.005 is k = 5, so the interval
    # is [min(cur) / 5th baseline, 5th current / min(base)].
    base = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    cur = np.array([2.0, 6.0, 3.0, 5.0, 4.0])
    assert decision.minimum_ratio_interval(base, cur, confidence=0.99) == (2 / 5, 6 / 1)
    # 60 a side: the product of (60 - i) / (120 - i), i < k, first drops under 0.005 at k = 8.
    base, cur = np.arange(1.0, 61.0), np.arange(1.0, 61.0) * 10
    assert decision.minimum_ratio_interval(base, cur, confidence=0.99) == (10 / 8, 80 / 1)
    # 3 a side: even k = 3 (1/20) is too likely for 99 %; the interval is unbounded, never "real".
    low, high = decision.minimum_ratio_interval(base[:3], cur[:3], confidence=0.99)
    assert low == 0.0 and high == float("inf")
