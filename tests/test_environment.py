"""The run's provenance says whether oneDNN is on as TensorFlow decided it, not as the environment
variable suggests (`bench.measure.environment.onednn_enabled`): checked in child processes
against TensorFlow's own start-up line, "oneDNN custom operations are on", which it writes only
when they are. On a CPU without AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX the default is off, and
the field used to say on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAY = (
    "import tensorflow\n"
    "from bench.measure.environment import onednn_enabled\n"
    "print(onednn_enabled())\n"
)


def _child(variable: str | None) -> tuple[str, str]:
    """(what `onednn_enabled` printed, TensorFlow's stderr) with `TF_ENABLE_ONEDNN_OPTS` set to
    `variable` (None: unset) and every TensorFlow log line shown."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"}
    }
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    env["PYTHONPATH"] = str(ROOT)
    if variable is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = variable
    done = subprocess.run(
        [sys.executable, "-c", SAY],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1], done.stderr


@pytest.mark.parametrize("variable", [None, "0"], ids=["default", "off"])
def test_onednn_is_what_tensorflow_says(variable):
    said, stderr = _child(variable)
    assert said == str("oneDNN custom operations are on" in stderr), stderr[-2000:]
    if variable == "0":
        assert said == "False"
