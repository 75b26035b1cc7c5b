"""The history done end to end on real suite runs of three commits of a throwaway git repository.

A plugin model (three 3x3 convolutions at 32x32) is committed three times: the first as written,
the second with only its docstring changed, the third with its middle layer widened from 32 to 96
filters. The suite runs on each commit with `python -m bench run --save` (that model only, its
record and batch-1 latency only, 3 s of samples), and then:

- `history report --threshold 1.4` names the third commit as the first commit of the latency step
  (and of the parameter and MAC steps, which the widening makes too), and no step at the second;
- `gate --against-history --branch main` (default threshold 1.15) exits 1 on the third run
  (latency REGRESSION against both earlier runs) and 0 on a rerun of the second commit;
- the store of the three runs, with every sample, stays under 2 MB (its size is printed).

Why 96 filters and a threshold of 1.4 on the trend page. Separate runs of the suite share no
rounds, and on a 2-core box shared with other jobs their reference-normalised minima move more
than the gate's default 1.15 allows for: a CI run of this test (2026-12-07) found a latency
"step" at the second commit, whose change is a docstring. The default is for a quiet machine
(bench/gates/policy.py); this test states the tolerance its machine needs, as a user of a shared
runner would. Measured on the 2-core dev box (2026-12-07, runs of this test's suite, reference-
normalised minimum): 32 filters 1.99-2.09 over three runs (A/A within 5 %), 64 filters 2.78-2.98
(1.37-1.47x, too close to 1.4), 96 filters 4.06-4.12 (about 2.0x). 1.4 is near the geometric
middle of 1 and 2.0: an identical pair must drift 40 % to make a step, and the widening must lose
30 % of its effect to hide one. The gate keeps its default, since a rerun of the second commit
can only fail against a strict majority of the first and third, and the third is slower.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = '''"""A user model for the history test: three 3x3 convolutions at 32x32."""

import keras

import architectures

WIDTH = 32  # filters of block2_conv


def build(input_shape, num_classes):
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="block1_conv")(inputs)
    x = keras.layers.Conv2D(WIDTH, 3, padding="same", activation="relu", name="block2_conv")(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="block3_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="trendnet")


architectures.register("trendnet", build, architectures.Recipe(optimizer="adam", batch_size=32))
'''
SUITE = ["--variants", "trendnet", "--latency-budget", "3", "--throughput-batch", "8",
         "--skip-profiler", "-k", "latency or record", "--no-report"]  # fmt: skip

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2", "BENCH_OFFLINE": "1"}


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.email=test@example.com", "-c", "user.name=test", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def _bench(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=repo, env=_env(), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip


def _run_suite(repo: Path, tmp: Path, out: str, *save: str) -> Path:
    proc = _bench(repo, "run", "--out", str(tmp / out), "--model-cache", str(tmp / "models"),
                  "--plugin", str(repo / "trendnet.py"), *SUITE, *save)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp / out / "benchmark.json"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Three commits, each run with --save; returns (tmp, repo, store, commits, third's JSON)."""
    tmp = tmp_path_factory.mktemp("history")
    repo, store = tmp / "repo", tmp / "store"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    save = ("--save", "--benchmark-storage", str(store))
    source = PLUGIN
    edits = (
        lambda s: s,
        lambda s: s.replace("at 32x32.", "at 32x32 (a second commit: the docstring only)."),
        lambda s: s.replace("WIDTH = 32", "WIDTH = 96"),  # widen block2_conv: about 2x slower
    )
    commits, outputs = [], []
    for n, edit in enumerate(edits, start=1):
        source = edit(source)
        (repo / "trendnet.py").write_text(source)
        _git(repo, "add", "trendnet.py")
        _git(repo, "commit", "-q", "-m", f"commit {n}")
        commits.append(_git(repo, "rev-parse", "HEAD").strip())
        outputs.append(_run_suite(repo, tmp, f"out{n}", *save))
    return tmp, repo, store, commits, outputs[-1]


def test_the_store_holds_three_small_runs(history):
    _, repo, store, commits, _ = history
    files = sorted(store.rglob("*.json"))
    assert [re.match(r"\d{4}_([0-9a-f]{40})_", f.name).group(1) for f in files] == commits
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    print(f"\nstore of three runs with samples: {size} bytes")
    assert size < 2_000_000
    listing = _bench(repo, "history", "list", "--storage", str(store))
    assert listing.returncode == 0 and "3 runs" in listing.stdout


def test_the_trend_page_names_the_third_commit_as_the_step(history):
    tmp, repo, store, commits, _ = history
    report = ["history", "report", "--storage", str(store), "--out", str(tmp / "trend")]
    proc = _bench(repo, *report, "--threshold", "1.4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp / "trend" / "trend.html").read_text(encoding="utf-8")
    assert "Settings: latency threshold 1.4," in page
    names = re.search(r'<p class="steps">Steps found: ([^<]*)</p>', page).group(1)
    third, second = commits[2][:7], commits[1][:7]
    assert f"trendnet batch-1 latency, minimum / the reference&#x27;s at {third}" in names
    assert second not in names and commits[0][:7] not in names
    assert page.count("<img ") == 1


def test_the_gate_against_history_fails_the_third_run_and_passes_a_rerun_of_the_second(history):
    tmp, repo, store, commits, third = history
    gate = ["gate", "--against-history", "--branch", "main", "--storage", str(store)]
    proc = _bench(repo, *gate, str(third), "--json-summary", str(tmp / "third.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((tmp / "third.json").read_text())
    (latency,) = [r for r in summary["rows"] if r["check"] == "latency"]
    assert latency["verdict"] == "REGRESSION" and "2 of 2" in latency["note"]
    print(f"\nthird commit against the first two: latency ratio {latency['ratio']:.3f}")
    _git(repo, "checkout", "-q", commits[1])
    rerun = _run_suite(repo, tmp, "rerun2")
    proc = _bench(repo, *gate, str(rerun), "--json-summary", str(tmp / "rerun.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp / "rerun.json").read_text())
    assert [b["commit"] for b in summary["against_history"]] == [commits[0], commits[2]]
