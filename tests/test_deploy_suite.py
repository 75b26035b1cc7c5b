"""Deployments through the suite, as a user runs them: `pytest bench --deployments ...`.

A smoke training on synthetic data of v01 and v03, measured as built (keras) and in two LiteRT
formats: every point has its own latency and throughput entries in the models' sessions, its file
size (dynamic-range int8 about a quarter of float32, since nearly all weights are in tensors of
1,024+ elements), its predictions on the test set, and its row in the report. A model no LiteRT
converter takes gives one sentence per rejecting deployment and is still measured in keras.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_suite_integration import run_suite

from bench.contract import decode_classes, load

PLUGIN = Path(__file__).resolve().parent / "plugins" / "unconvertible_net.py"
DEPLOYMENTS = "keras,litert_fp32,litert_int8_dynamic"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deployed")
    proc, out = run_suite(
        tmp, "--variants", "v01,v03", "--accuracy", "train", "--profile", "smoke",
        "--dataset", "synthetic", "--deployments", DEPLOYMENTS,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return load(out)


@pytest.mark.slow
def test_every_model_in_every_deployment_has_its_own_figures(deployed):
    for vid in ("v01", "v03"):
        rows = deployed["variants"][vid]["deployments"]
        assert set(rows) == {"litert_fp32", "litert_int8_dynamic"}
        for name, row in rows.items():
            assert row["errors"] == [], row["errors"]
            assert row["latency_median_s"] > 0 and row["throughput_images_per_s"] > 0
            examples = deployed["variants"][vid]["test_examples"]
            assert len(decode_classes(row["predictions"])) == examples, name
        sizes = {name: row["file_size_bytes"] for name, row in rows.items()}
        ratio = sizes["litert_int8_dynamic"] / sizes["litert_fp32"]
        assert 0.2 < ratio < 0.4, ratio  # int8 weights: a quarter of float32, plus the graph
    names = {b["name"] for b in deployed["benchmarks"]}
    assert "test_deployment_latency[v01@litert_int8_dynamic]" in names
    assert "test_deployment_throughput[v03@litert_fp32]" in names
    # one latency session for the models and their deployments: the same rounds for all
    sessions = {
        b["extra_info"]["session"]["id"]
        for b in deployed["benchmarks"]
        if b["extra_info"]["scenario"] == "latency"
    }
    assert len(sessions) == 1


@pytest.mark.slow
def test_the_report_places_the_deployments_and_asks_the_question_again(deployed, tmp_path):
    import json

    from reports import build_report

    path = tmp_path / "run.json"
    path.write_text(json.dumps(deployed))
    build_report([path], tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "v01@litert_int8_dynamic" in text and "v03@litert_fp32" in text


@pytest.mark.slow
def test_an_unconvertible_model_is_one_sentence_per_deployment_and_measured_in_keras(tmp_path):
    proc, out = run_suite(
        tmp_path, "--plugin", str(PLUGIN), "--variants", "unconvertible_net",
        "--deployments", "keras,litert_fp32",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = load(out)["variants"]["unconvertible_net"]
    assert record["latency_median_s"] > 0  # keras still runs it
    error = record["deployments"]["litert_fp32"]["errors"][0]
    assert "unconvertible_net" in error and "litert_fp32" in error
    assert error.count(". ") == 0 and "\n" not in error  # one sentence
    assert error in proc.stdout
