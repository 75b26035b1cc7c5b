"""`python -m bench count`: parameters, MACs and FLOPs per model without timing or training.

Expected figures come from outside the counter: the papers' multiply-adds for MobileNetV2 and
EfficientNet-B0 (tests/test_flops_applications.py cites them), and the hand count of
tests/plugins/depthwise_net.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.training.images import ImageSizeError, parse_image_size

ROOT = Path(__file__).resolve().parent.parent
APPLICATIONS = str(ROOT / "tests" / "plugins" / "keras_applications.py")


def _count(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bench", "count", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def test_count_prints_the_papers_macs_for_keras_applications_in_a_plugin():
    # Only the plugin's two models: "all" would also build the report's v10 at 224x224 (843 M
    # parameters at that size, 40 s on 2 cores).
    proc = _count(
        "--plugin",
        APPLICATIONS,
        "--variants",
        "mobilenetv2,efficientnetb0",
        "--image-size",
        "224",
        "--num-classes",
        "1000",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in json.loads(proc.stdout)}
    # Sandler et al. 2018, Table 4: 300 M MAdds, 3.4 M params; Tan & Le 2019, Table 2: 0.39 B
    # FLOPs (multiply-adds), 5.3 M params.
    for vid, macs, params in (("mobilenetv2", 300e6, 3.4e6), ("efficientnetb0", 390e6, 5.3e6)):
        record = records[vid]
        assert record["input_shape"] == [224, 224, 3]
        assert record["macs"] is not None and abs(record["macs"] / macs - 1) <= 0.03
        assert record["flops_analytic"] > 2 * record["macs"]
        assert abs(record["params"] / params - 1) <= 0.05


def test_count_table_and_a_model_that_cannot_be_built_at_that_size():
    proc = _count(
        "--plugin",
        str(ROOT / "tests" / "plugins" / "depthwise_net.py"),
        "--variants",
        "v10,depthwise_net",
        "--image-size",
        "4x4",
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["Model", "Input", "Params", "MACs", "FLOPs"]
    assert any(line.startswith("depthwise_net") and "4x4x3" in line for line in lines)
    # v10 pools five times: a 4x4 image runs out of pixels; said in one sentence, not a trace
    assert any(line.startswith("v10 cannot be built for 4x4x3 images:") for line in lines)
    assert "Traceback" not in proc.stdout + proc.stderr


def test_count_at_the_default_size_matches_the_hand_count():
    proc = _count(
        "--plugin",
        str(ROOT / "tests" / "plugins" / "depthwise_net.py"),
        "--variants",
        "depthwise_net",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["macs"] == 1_712_768  # tests/plugins/depthwise_net.py, by hand
    assert record["input_shape"] == [32, 32, 3] and record["num_classes"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variants", "nope"], "unknown variant 'nope'"),
        (["--image-size", "3y4"], "is not a size"),
        (["--plugin", "no_such_plugin_module"], "could not be imported"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, message):
    proc = _count(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "size"), [("224", (224, 224)), ("96x128", (96, 128)), (" 28 X 28 ", (28, 28))]
)
def test_image_sizes_are_read(text, size):
    assert parse_image_size(text) == size


@pytest.mark.parametrize("text", ["", "x", "0x4", "4x", "-3", "2.5", "4x4x3"])
def test_malformed_image_sizes_are_refused(text):
    with pytest.raises(ImageSizeError, match="--image-size"):
        parse_image_size(text)
