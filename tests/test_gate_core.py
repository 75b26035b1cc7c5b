"""The gates on the decision core (issue 19): bad figures refused, the same file counted once,
deployments gated as `model@deployment`, accuracy against its seed noise, seeds / dataset /
deployment set shared, and the paired gate's statistics from `bench.compare`.

Every file is hand-made from `tests/test_gate.py`'s builders; each defect is injected here (a NaN,
a string, a duplicated entry, a seed set, a drop of known size), so the right verdict is known
before the gate runs. Each test failed on the gates before issue 19.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_gate import (
    MEDIAN_S,
    benchmark_entry,
    latency_samples,
    rows_by,
    run_gate,
    suite,
    write,
)

from bench.contract import encode_classes
from bench.gates import paired
from bench.gates import twofile as gate
from bench.gates.policy import GATED_FIGURES

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS_RUN = ROOT / "docs" / "results" / "deployments" / "benchmark.json"


def error_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("error:")]


# ----- 1. every figure validated once: refused in one sentence, exit 2 ----------------------


@pytest.mark.parametrize(
    ("side", "field", "value"),
    [
        ("current", "accuracy", math.nan),  # passed as "ok", exit 0, before
        ("current", "peak_host_memory_bytes", math.nan),  # passed as "ok", exit 0, before
        ("current", "accuracy", "0.80"),  # a traceback, exit 1 (read as a regression), before
        ("baseline", "accuracy", math.inf),
        ("baseline", "params_total", True),
        ("current", "macs", -5),
        ("current", "accuracy", 1.7),
    ],
)
def test_a_bad_figure_in_either_file_is_refused_naming_file_model_and_field(
    tmp_path, capsys, side, field, value
):
    base, cur = suite(1), suite(2)
    (base if side == "baseline" else cur)["variants"]["v05"][field] = value
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2, out
    (line,) = error_lines(out)
    file_name = {"baseline": "base.json", "current": "cur.json"}[side]
    assert file_name in line and "v05" in line and field in line, line
    assert line.endswith("fix or regenerate that file."), line
    assert summary["rows"] == [] and summary["verdict"] == "unusable"


BAD_VALUES = st.one_of(
    st.just(math.nan),
    st.sampled_from([math.inf, -math.inf]),
    st.text(max_size=5),
    st.booleans(),
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
)
BASE_FILE, CUR_FILE = suite(1), suite(2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from(["baseline", "current"]),
    vid=st.sampled_from(["v01", "v05", "v10"]),
    field=st.sampled_from(GATED_FIGURES),
    value=BAD_VALUES,
)
def test_property_any_bad_gated_figure_anywhere_is_refused(side, vid, field, value):
    # NaN, an infinity, any string, a boolean or a negative number in any gated figure of any
    # model of either file: exactly one problem, naming the file, the model and the field.
    base, cur = copy.deepcopy(BASE_FILE), copy.deepcopy(CUR_FILE)
    (base if side == "baseline" else cur)["variants"][vid][field] = value
    result = gate.gate(base, cur, gate.Policy(), base_source="B.json", cur_source="C.json")
    assert result.exit_code == 2 and result.rows == []
    (problem,) = result.problems
    assert problem.startswith({"baseline": "B.json", "current": "C.json"}[side])
    assert f"{vid}'s {field} is" in problem


def test_a_bad_accuracy_of_one_seed_is_refused(tmp_path, capsys):
    cur = suite(2)
    cur["variants"]["v01"]["runs"] = [{"seed": 0, "accuracy": 0.8}, {"seed": 1, "accuracy": None}]
    cur["variants"]["v01"]["runs"][1]["accuracy"] = math.nan
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 2
    (line,) = error_lines(out)
    assert "v01" in line and "runs[1].accuracy" in line and "NaN" in line


@pytest.mark.parametrize("sample", ["0.0015", True], ids=["string", "boolean"])
def test_a_sample_that_is_not_a_number_is_refused(tmp_path, capsys, sample):
    # NumPy turns "0.0015" and True into numbers; both used to be timed as 1.5 ms and 1 s.
    cur = suite(2)
    cur["benchmarks"][0]["stats"]["data"][5] = sample
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 2, out
    (line,) = error_lines(out)
    assert "cur.json" in line and "test_latency[v01]" in line and "non-numeric samples" in line


# ----- 2. the same file twice counts once ---------------------------------------------------


def test_the_same_file_as_baseline_and_current_is_said_and_passes(tmp_path, capsys):
    path = write(tmp_path, "run.json", suite(1))
    summary_path = tmp_path / "summary.json"
    code = gate.main([path, path, "--json-summary", str(summary_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(summary_path.read_text())
    (note,) = [n for n in summary["notes"] if "same file" in n]
    assert "sha256" in note and "not a change" in note
    assert all(r["ratio"] == 1.0 for r in summary["rows"] if r["kind"] == "latency")


def test_the_same_benchmark_twice_in_a_file_counts_once(tmp_path, capsys):
    cur = suite(2)
    cur["benchmarks"].append(copy.deepcopy(cur["benchmarks"][0]))  # v01 latency, again
    code, out, summary = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 0, out  # refused as "two latency benchmarks for v01" before
    assert any("same latency benchmark of v01 twice" in n for n in summary["notes"])
    assert len([r for r in summary["rows"] if r["check"] == "latency"]) == 3

    # A second, different entry for the same benchmark is still no silent pick.
    data, ref = latency_samples(77, MEDIAN_S["v01"])
    cur["benchmarks"][-1] = benchmark_entry("v01", data, ref)
    code, out, _ = run_gate(tmp_path, suite(1), cur, capsys=capsys)
    assert code == 2 and "holds two latency benchmarks for v01" in out


# ----- 3. deployments: points of their own, model@deployment --------------------------------

N_IMAGES = 2000


def with_deployment(
    data: dict[str, Any], seed: int, *, slowdown: float = 1.0, wrong: float = 0.1
) -> dict[str, Any]:
    """Add v01@litert_int8_full: its latency benchmark and its row, with predictions of which a
    fraction `wrong` of the images (the same ones in every file of that fraction) are wrong."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, N_IMAGES)
    predictions = labels.copy()
    predictions[: int(wrong * N_IMAGES)] = (labels[: int(wrong * N_IMAGES)] + 1) % 10
    encoded = encode_classes(labels)
    d, r = latency_samples(seed * 100 + 9, 0.2e-3, slowdown=slowdown)
    entry = benchmark_entry("v01", d, r)
    entry["extra_info"]["deployment"] = "litert_int8_full"
    entry["name"] = "test_deployment_latency[v01@litert_int8_full]"
    data["benchmarks"].append(entry)
    data["test_labels"] = {encoded["sha256"]: encoded}
    data["run"]["deployments"] = ["keras", "litert_int8_full"]
    data["variants"]["v01"]["deployments"] = {
        "litert_int8_full": {
            "model": "v01",
            "deployment": "litert_int8_full",
            "predictions": encode_classes(predictions),
            "test_labels_sha256": encoded["sha256"],
            "latency_median_s": float(np.median(d)),
            "errors": [],
            "unavailable": {},
        }
    }
    return data


def test_the_committed_deployments_run_gated_against_itself_passes(capsys):
    code = gate.main([str(DEPLOYMENTS_RUN), str(DEPLOYMENTS_RUN)])
    out = capsys.readouterr().out
    assert code == 0, out  # exit 2 before: "holds two latency benchmarks for v01", 48 times
    lines = out.splitlines()
    assert any(line.startswith("v01@litert_int8_full") and "latency" in line for line in lines)
    assert any(line.startswith("v10@xla") and "accuracy" in line for line in lines)


def test_a_slower_deployment_fails_as_model_at_deployment(tmp_path, capsys):
    base = with_deployment(suite(1), 1)
    cur = with_deployment(suite(2), 2, slowdown=1.5)
    code, out, summary = run_gate(tmp_path, base, cur, "--floor-s", "0", capsys=capsys)
    assert code == 1, out
    assert rows_by(summary, "v01@litert_int8_full", "latency")["verdict"] == gate.REGRESSION
    assert rows_by(summary, "v01", "latency")["verdict"] == gate.OK
    assert "REGRESSION in v01@litert_int8_full latency" in out


def test_a_deployment_accuracy_drop_is_decided_on_the_shared_images(tmp_path, capsys):
    # 10 % of 2,000 images wrong in the baseline, 15 % in the current run (the baseline's wrong
    # ones and 100 more): McNemar, 100 against 0 discordant images, a 5 pp drop.
    base = with_deployment(suite(1), 1, wrong=0.10)
    cur = with_deployment(suite(2), 2, wrong=0.15)
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 1, out
    row = rows_by(summary, "v01@litert_int8_full", "accuracy")
    assert row["verdict"] == gate.REGRESSION and row["outcome"] == "worse"
    assert row["baseline"] == pytest.approx(0.90) and row["current"] == pytest.approx(0.85)
    assert re.search(r"McNemar exact test \(100 discordant of 2,000 images\)",
                     row["note"]), row["note"]  # fmt: skip


def test_a_deployment_lost_in_the_current_run_fails(tmp_path, capsys):
    base = with_deployment(suite(1), 1)
    cur = with_deployment(suite(2), 2)
    cur["benchmarks"].pop()
    cur["variants"]["v01"]["deployments"]["litert_int8_full"]["errors"] = [
        "the converter rejected the graph."
    ]
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 1, out
    assert rows_by(summary, "v01@litert_int8_full", "latency")["verdict"] == gate.LOST
    assert rows_by(summary, "v01@litert_int8_full", "errors")["verdict"] == gate.LOST
    assert any("converter rejected the graph" in f for f in summary["failures"])


def test_damaged_predictions_are_refused_in_one_sentence(tmp_path, capsys):
    base = with_deployment(suite(1), 1)
    cur = with_deployment(suite(2), 2)
    cur["variants"]["v01"]["deployments"]["litert_int8_full"]["predictions"]["length"] = 5
    code, out, _ = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2, out
    (line,) = error_lines(out)
    assert "cur.json: v01@litert_int8_full" in line and "damaged" in line


def test_with_allow_mixed_a_deployment_outside_one_set_is_missing_not_lost(tmp_path, capsys):
    base, cur = suite(1), with_deployment(suite(2), 2)
    base["run"]["deployments"] = ["keras"]
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2 and "--allow-mixed" in out
    code, out, summary = run_gate(tmp_path, base, cur, "--allow-mixed", capsys=capsys)
    assert code == 0, out
    row = rows_by(summary, "v01@litert_int8_full", "latency")
    assert row["verdict"] == gate.MISSING
    assert "not in the baseline run's deployment set" in row["note"]


# ----- 4. accuracy against its seed noise ---------------------------------------------------


def seeded(data: dict[str, Any], vid: str, accuracies: tuple[float, ...], n: int = 10_000):
    """Give `vid` one run per seed with these accuracies on `n` test images."""
    record = data["variants"][vid]
    record["runs"] = [
        {"seed": i, "accuracy": a, "test_examples": n} for i, a in enumerate(accuracies)
    ]
    record.update(accuracy=float(np.mean(accuracies)), test_examples=n, seeds=[0, 1, 2])
    return data


def test_a_drop_inside_the_seed_noise_passes_as_undetermined(tmp_path, capsys):
    # Means 80 % and 79 %: a 1 pp drop, twice the tolerance, but the seeds spread over 5 pp
    # (Welch 95 % interval of the difference about [-6.4, +4.4] pp): it failed before.
    base = seeded(suite(1), "v05", (0.78, 0.82, 0.80))
    cur = seeded(suite(2), "v05", (0.76, 0.81, 0.80))
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 0, out
    row = rows_by(summary, "v05", "accuracy")
    assert row["verdict"] == gate.OK and row["outcome"] == "undetermined"
    assert "cannot be told apart; more seeds would settle it" in row["note"]
    assert row["delta"] == pytest.approx(0.01)
    assert row["ci_low"] < -0.05 and row["ci_high"] > 0.04


def test_a_drop_beyond_the_seed_noise_and_the_tolerance_fails(tmp_path, capsys):
    base = seeded(suite(1), "v05", (0.800, 0.801, 0.799))
    cur = seeded(suite(2), "v05", (0.770, 0.771, 0.769))  # 3 pp lower, seeds within 0.1 pp
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 1, out
    row = rows_by(summary, "v05", "accuracy")
    assert row["verdict"] == gate.REGRESSION and row["outcome"] == "worse"
    assert "Welch" in row["note"]

    # The tolerance is the equivalence margin too: 3 pp +- 0.2 pp lies inside a 5 pp tolerance.
    code, _, summary = run_gate(tmp_path, base, cur, "--accuracy-tolerance", "0.05", capsys=capsys)
    assert code == 0
    row = rows_by(summary, "v05", "accuracy")
    assert row["outcome"] == "equivalent" and "within 5.00 pp" in row["note"]


def test_an_unchanged_accuracy_on_a_large_test_set_is_equivalent(tmp_path, capsys):
    base = seeded(suite(1), "v05", (0.800, 0.801, 0.799), n=1_000_000)
    cur = seeded(suite(2), "v05", (0.8005, 0.8, 0.7995), n=1_000_000)
    code, _, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 0
    row = rows_by(summary, "v05", "accuracy")
    assert row["outcome"] == "equivalent" and row["note"].startswith("equivalent: within 0.50 pp")


# ----- 5. seeds, dataset and deployment set are shared settings ------------------------------


@pytest.mark.parametrize(
    ("key", "base_value", "cur_value"),
    [
        ("seeds", [0], [0, 1, 2]),  # compared silently before
        ("dataset", "cifar10", "fashion_mnist"),
        ("deployments", ["keras", "xla"], ["keras", "xla", "bf16"]),  # compared silently before
    ],
)
def test_runs_must_share_seeds_dataset_and_deployments_unless_mixed(
    tmp_path, capsys, key, base_value, cur_value
):
    base, cur = suite(1), suite(2)
    base["run"][key], cur["run"][key] = base_value, cur_value
    code, out, summary = run_gate(tmp_path, base, cur, capsys=capsys)
    assert code == 2, out
    (problem,) = summary["problems"]
    assert key in problem and "--allow-mixed" in problem

    code, out, summary = run_gate(tmp_path, base, cur, "--allow-mixed", capsys=capsys)
    assert code == 0, out
    assert any(n.startswith("MIXED") and key in n for n in summary["notes"])
    assert "MIXED runs" in rows_by(summary, "v01", "accuracy")["note"]


# ----- 6. the paired gate decides on the core's paired-rounds test --------------------------


def test_paired_ratio_with_six_rounds_is_the_paired_t_on_the_log_ratios():
    # Per-round log ratios 0, 0, 0, 0.1, 0.2, 0.3 (both calls of a round alike). Six rounds cannot
    # give a 99 % rank interval: P(T+ = 0) = 1/64 > 0.005 (Wilcoxon's null distribution). So the
    # core uses the paired t: mean 0.1 (estimate exp(0.1); the old median of the ratios was
    # (1 + exp(0.1)) / 2), sd 0.12649, se 0.05164, t(0.995, 5) = 4.0321: half-width 0.20822.
    logs = np.array([0.0, 0.0, 0.0, 0.1, 0.2, 0.3])
    base = np.full((6, 2), 1e-3)
    cur = base * np.exp(logs)[:, None]
    row = paired.decide("v01", base, cur)
    assert row.ratio == pytest.approx(math.exp(0.1), rel=1e-12)
    assert row.ci_low == pytest.approx(math.exp(0.1 - 0.20822), rel=1e-4)
    assert row.ci_high == pytest.approx(math.exp(0.1 + 0.20822), rel=1e-4)
    assert row.verdict == "ok" and "not significant" in row.note
    assert row.outcome == "undetermined"


def test_paired_row_carries_the_cores_word():
    rng = np.random.default_rng(5)
    load = 1.0 + rng.exponential(0.3, (60, 1))
    base = 1e-3 * load * (1.0 + rng.exponential(0.02, (60, 2)))
    cur = 1.25e-3 * load * (1.0 + rng.exponential(0.02, (60, 2)))
    assert paired.decide("v05", base, cur).outcome == "worse"
    assert paired.decide("v05", cur, base).outcome == "better"
