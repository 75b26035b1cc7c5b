"""`--references keras`: MobileNetV2, EfficientNet-B0 and ResNet50 from keras.applications as
reference points, built for the run's images.

The MACs at 224x224x3 with 1,000 classes are the papers' (Sandler et al. 2018, Table 4: 300 M;
Tan & Le 2019, Table 2: 0.39 B; He et al. 2016, Table 1: 3.8 G; tests/test_flops_applications.py
cites them); the build-size limit is Keras' own (32x32).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import architectures
from architectures.keras_references import KERAS_REFERENCE_RECIPE, KERAS_REFERENCES
from bench.suite.plan.plugins import add_references
from bench.suite.presentation.count import count_one

ROOT = Path(__file__).resolve().parent.parent
PAPERS = {"keras_mobilenetv2": 300e6, "keras_efficientnetb0": 390e6, "keras_resnet50": 3.8e9}


@pytest.fixture
def references():
    add_references("keras")
    add_references("keras")  # a second call (the suite, then a worker) changes nothing
    yield [architectures.get(ref_id) for ref_id in KERAS_REFERENCES]
    for ref_id in KERAS_REFERENCES:
        architectures.VARIANTS._remove(ref_id)


def test_references_are_registered_with_a_stated_recipe(references):
    assert [e.id for e in references] == list(PAPERS)
    for entry in references:
        assert entry.kind == "reference" and entry.published is None
        assert entry.recipe == KERAS_REFERENCE_RECIPE
    assert "our choice" in KERAS_REFERENCE_RECIPE.notes["recipe"]
    assert set(KERAS_REFERENCE_RECIPE.origin.values()) == {"assumed"}


def test_references_at_224_cost_what_their_papers_say(references):
    for entry in references:
        record = count_one(entry, (224, 224, 3), 1000, profiler=False)
        assert abs(record["macs"] / PAPERS[entry.id] - 1) <= 0.03, record


def test_references_build_for_grey_images_and_refuse_small_ones(references):
    mobilenet = references[0]
    record = count_one(mobilenet, (48, 48, 1), 3, profiler=False)
    assert record["macs"] is not None and "error" not in record
    small = count_one(mobilenet, (28, 28, 1), 3, profiler=False)
    assert small["error"] == (
        "keras_mobilenetv2 cannot be built for 28x28x1 images: Input size must be at least "
        "32x32; Received: input_shape=(28, 28, 1)."
    )


@pytest.mark.slow
def test_a_worker_measures_a_keras_reference(tmp_path):
    from bench.suite.plan.plan import RunPlan

    out = tmp_path / "record.json"
    plan = RunPlan.from_options(
        {"references": "keras", "skip_profiler": True, "throughput_batch": 8}
    )
    (tmp_path / "plan.json").write_text(plan.to_json())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.suite.executors.worker",
            "--plan",
            str(tmp_path / "plan.json"),
            "--variant",
            "keras_mobilenetv2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["errors"] == [] and record["kind"] == "reference"
    assert record["input_shape"] == [32, 32, 3] and record["macs"] > 0
