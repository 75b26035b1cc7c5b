"""Seeds on real data, end to end: a SIGKILL in the middle of a Fashion-MNIST run, then the same
command: the finished seed is untouched, the interrupted one resumes from its last epoch.

Uses Debian's `dataset-fashion-mnist` (installed by `.ci/run`), the smoke profile (two epochs of
256 images) and v05, whose epochs last long enough on a 2-core CPU for the test to stop the run
between the interrupted seed's first checkpoint and its end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.contract import load
from bench.training.datasets import DEBIAN_FASHION_MNIST_DIR

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not DEBIAN_FASHION_MNIST_DIR.is_dir(),
        reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)",
    ),
]


def command(tmp: Path) -> list[str]:
    return [
        sys.executable, "-m", "bench", "run", "--no-report", "--out", str(tmp / "out"),
        "--accuracy", "train", "--dataset", "fashion_mnist", "--profile", "smoke",
        "--seeds", "0,1", "--variants", "v05", "--model-cache", str(tmp / "cache"),
        "--latency-budget", "0.2", "--throughput-batch", "8", "--skip-profiler",
    ]  # fmt: skip


def entries(cache: Path) -> dict[int, Path]:
    """Cache folders by the seed their state or result names."""
    found = {}
    for folder in cache.glob("v05-*"):
        for name in ("result.json", "state.json"):
            path = folder / name
            try:
                found[json.loads(path.read_text())["key_inputs"]["seed"]] = folder
            except (OSError, ValueError, KeyError):
                continue
    return found


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seeds")
    # A SIGKILL leaves the run's temporary records folder behind (nothing can clean up after
    # it): give the runs a temporary folder inside the test's own, not the machine's /tmp.
    (tmp / "tmp").mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "BENCH_OFFLINE": "1",
           "TMPDIR": str(tmp / "tmp")}  # fmt: skip
    proc = subprocess.Popen(command(tmp), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 600
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = entries(tmp / "cache")
        seed0_done = 0 in found and (found[0] / "result.json").exists()
        seed1_saved = 1 in found and (found[1] / "state.json").exists()
        if seed0_done and seed1_saved and not (found[1] / "result.json").exists():
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = json.loads((found[1] / "state.json").read_text())["epochs_done"]
            break
        time.sleep(0.02)
    proc.wait()
    assert killed_at == 1, "the run ended before seed 1's first checkpoint could be interrupted"
    first = (entries(tmp / "cache")[0] / "result.json").read_bytes()
    done = subprocess.run(command(tmp), cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tmp, first, done


def test_the_finished_seed_is_untouched(killed_then_resumed):
    tmp, first, _ = killed_then_resumed
    assert (entries(tmp / "cache")[0] / "result.json").read_bytes() == first


def test_the_interrupted_seed_resumes_from_its_last_epoch(killed_then_resumed):
    tmp, _, done = killed_then_resumed
    result = json.loads((entries(tmp / "cache")[1] / "result.json").read_text())
    assert result["epochs"] == 2
    sessions = [(s["from_epoch"], s["to_epoch"]) for s in result["segments"]]
    assert sessions == [(0, 1), (1, 2)]  # killed after epoch 1, resumed for epoch 2
    assert "v05 [smoke, seed 1] resuming after epoch 1" in done.stderr + done.stdout


def test_the_json_keeps_both_seeds(killed_then_resumed):
    tmp, _, _ = killed_then_resumed
    data = load(tmp / "out" / "benchmark.json")
    record = data["variants"]["v05"]
    assert record["seeds"] == [0, 1] and [r["seed"] for r in record["runs"]] == [0, 1]
    assert data["run"]["seeds"] == [0, 1]
    for run in record["runs"]:
        assert run["test_examples"] == 256 and run["predictions"]["length"] == 256
        assert run["test_labels_sha256"] in data["test_labels"]
    assert record["runs"][0]["from_cache"] is True  # seed 0 finished before the kill
