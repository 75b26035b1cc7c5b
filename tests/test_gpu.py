"""The GPU check (`experiments/gpu_check.py`) as a test: `pytest -m gpu tests/test_gpu.py`.

On a machine with an NVIDIA GPU it runs every check (memory figures, a forced out-of-memory, XLA
and mixed precision, a synchronised training step, energy) in a subprocess, within 8 minutes,
and fails with the check's own lines when one fails. Without a GPU it skips with one sentence
(NVML is asked, not TensorFlow, so the skip costs nothing). `test_the_check_refuses_without_a_gpu`
runs here: the command itself says why it cannot run and exits 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.gpu_check import gpu_absent

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 8 * 60


def _run(out: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.gpu_check", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.gpu
def test_gpu_check(tmp_path):
    reason = gpu_absent()
    if reason is not None:
        pytest.skip(reason)
    out = Path(os.environ.get("GPU_CHECK_OUT") or tmp_path)
    proc = _run(out, LIMIT_S)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert (out / "gpu-check.json").exists()


def test_the_check_refuses_without_a_gpu(tmp_path):
    if gpu_absent() is None:
        pytest.skip("this machine has a GPU; test_gpu_check runs the check instead")
    proc = _run(tmp_path, 120)
    assert proc.returncode == 2
    assert proc.stdout.strip().endswith("the GPU check needs one.")
    assert not (tmp_path / "gpu-check.json").exists()
