"""The Ray executor on a local Ray cluster of this machine: first on a stub worker (records,
progress, a finished entry brought home through the object store, a killed worker retried,
cancellation), then end to end (issue 12): 2 models x 2 seeds with the smoke profile on synthetic
data give the figures the local executor gives wherever they are deterministic; a killed worker
and a killed task are retried by Ray and resume after their saved epoch; a job whose loss is NaN
is one sentence in its model's record while the others finish; a rerun takes every model from
the cache. Skipped, in one sentence, where Ray is not installed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed; pip install -e '.[cluster]' runs these tests"
)

from bench.contract import load  # noqa: E402 (after the skip: these tests need Ray)
from bench.suite.executors.jobs import ExecutorError, Job  # noqa: E402
from bench.suite.executors.ray_executor import CANCELLED, ClusterOptions, RayExecutor  # noqa: E402
from bench.suite.plan.plan import RunPlan  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"

STUB = textwrap.dedent(
    """
    import json, os, pathlib, sys, time
    args = sys.argv[1:]
    value = lambda flag: args[args.index(flag) + 1]
    variant, seed = value("--variant"), int(value("--seed"))
    plan = json.loads(pathlib.Path(value("--plan")).read_text())["options"]
    cache, stub = pathlib.Path(plan["model_cache"]), pathlib.Path(os.environ["STUB_DIR"])
    print(f"{variant} started", file=sys.stderr, flush=True)
    if variant == "dead":
        print("the stub died", file=sys.stderr)
        sys.exit(3)
    if variant == "sleepy":
        (stub / "sleepy.pid").write_text(str(os.getpid()))
        time.sleep(600)
    if variant == "killed" and not (stub / "killed.marker").exists():
        (stub / "killed.marker").touch()
        os.kill(os.getpid(), 9)
    entry = cache / f"{variant}-{seed:016d}"
    entry.mkdir(parents=True, exist_ok=True)
    (entry / "final.keras").write_bytes(f"weights of {variant}".encode())
    result = {"variant": variant, "key_inputs": {"seed": seed, "profile": {"name": "smoke"}}}
    (entry / "result.json").write_text(json.dumps(result))
    with open(value("--out"), "w") as handle:
        json.dump({"variant": variant, "model_path": str(entry / "final.keras"),
                   "from_cache": False, "cache": str(cache)}, handle)
    """
)


def _stub_executor(tmp_path: Path, lines: list[str], **options) -> RayExecutor:
    stub = tmp_path / "stub_worker.py"
    stub.write_text(STUB, encoding="utf-8")
    return RayExecutor(
        ClusterOptions(jobs=2, **options),
        env={"STUB_DIR": str(tmp_path)},
        progress=lines.append,
        model_cache=tmp_path / "home",
        command=(sys.executable, str(stub)),
        ship_models=True,  # as on a node that cannot see the driver's cache
    )


def _job(tmp_path: Path, variant: str) -> Job:
    plan = RunPlan.from_options({"accuracy": "train"}).to_json()
    return Job(variant, 0, tmp_path / "records" / f"{variant}.json", plan)


def test_stub_jobs_come_back_with_their_models_and_a_killed_worker_is_retried(tmp_path):
    lines: list[str] = []
    executor = _stub_executor(tmp_path, lines, shared_cache=tmp_path / "node")
    futures = [executor.submit(_job(tmp_path, v)) for v in ("a", "killed", "dead")]
    results = [f.result(timeout=300) for f in futures]
    executor.shutdown()
    a, killed, dead = results
    assert a.returncode == 0 and a.record["cache"] == str(tmp_path / "node")
    home = tmp_path / "home" / f"a-{0:016d}"
    assert a.record["model_path"] == str(home / "final.keras")
    assert (home / "final.keras").read_bytes() == b"weights of a"
    assert json.loads((tmp_path / "records" / "a.json").read_text()) == a.record
    assert killed.returncode == 0 and (tmp_path / "killed.marker").exists()
    assert dead.record is None and dead.returncode == 3 and "the stub died" in dead.tail
    assert sorted(lines) == ["a started", "dead started", "killed started", "killed started"]
    assert executor.describe()["kind"] == "ray" and executor.describe()["parallel_jobs"] == 2
    assert not ray.is_initialized()  # the local cluster is gone before anything is timed


def test_cancelling_ends_a_running_job_and_its_worker(tmp_path):
    import psutil

    executor = _stub_executor(tmp_path, [])
    future = executor.submit(_job(tmp_path, "sleepy"))
    pid_file = tmp_path / "sleepy.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    started = time.monotonic()
    executor.shutdown(cancel=True)
    result = future.result(timeout=60)
    assert result.record is None and result.returncode == CANCELLED
    assert time.monotonic() - started < 60
    gone = not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert gone, "the worker outlived its cancelled task"


def test_a_job_no_node_can_hold_is_one_sentence():
    with pytest.raises(ExecutorError, match="no node of the Ray cluster has 64 CPUs") as caught:
        RayExecutor(ClusterOptions(cpus_per_job=64), env={}, model_cache=Path("unused"))
    assert "\n" not in str(caught.value)
    assert not ray.is_initialized()


def test_jobs_is_refused_on_a_cluster_that_is_not_ours():
    with pytest.raises(ExecutorError, match="--jobs sizes a local Ray cluster"):
        ClusterOptions(address="127.0.0.1:1", jobs=2).check()


# --- end to end: `python -m bench run`, local executor against Ray --------------------------------

MODELS = ("v01", "depthwise_net")
FAULTS = (  # (model, seed, what is killed) after epoch 1 of 2: each must be retried and resume
    ("v01", 0, "worker"),  # the training process: the task raises WorkerKilled, Ray retries
    ("depthwise_net", 1, "parent"),  # the Ray worker process running the task: a system failure
)


def _run(tmp: Path, name: str, *extra: str, env: dict[str, str] | None = None):
    command = [
        sys.executable, "-m", "bench", "run", "--no-report", "--out", str(tmp / name),
        "--accuracy", "train", "--dataset", "synthetic", "--profile", "smoke", "--seeds", "2",
        "--plugin", str(PLUGINS / "depthwise_net.py"), "--latency-budget", "0.2",
        "--throughput-batch", "8", "--skip-profiler", "--jobs", "2", *extra,
    ]  # fmt: skip
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "BENCH_OFFLINE": "1"}
    done = subprocess.run(
        command, cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=900
    )
    return done, tmp / name / "benchmark.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The local executor's run, the Ray run (with two kills and a NaN model), a Ray rerun."""
    tmp = tmp_path_factory.mktemp("ray")
    local, local_json = _run(
        tmp, "local", "--variants", ",".join(MODELS), "--model-cache", str(tmp / "local-cache"),
        "-k", "test_record or test_latency",  # a run without a benchmark writes no JSON
    )  # fmt: skip
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    faults = [
        {"variant": v, "seed": s, "after_epoch": 1, "kill": k, "marker": str(tmp / f"{v}-{s}")}
        for v, s, k in FAULTS
    ]
    ray_run, ray_json = _run(
        tmp, "ray", "--executor", "ray", "--variants", ",".join((*MODELS, "nan_net")),
        "--plugin", str(PLUGINS / "nan_net.py"), "--model-cache", str(tmp / "ray-cache"),
        "-k", "test_record or test_latency",
        env={"BENCH_TEST_FAULT": json.dumps(faults)},
    )  # fmt: skip
    assert ray_run.returncode == 1, ray_run.stdout[-3000:] + ray_run.stderr[-3000:]  # nan_net
    rerun, rerun_json = _run(
        tmp, "rerun", "--executor", "ray", "--variants", ",".join(MODELS),
        "--model-cache", str(tmp / "ray-cache"), "-k", "test_record or test_latency",
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    return {
        "tmp": tmp,
        "local": load(local_json),
        "ray": load(ray_json),  # `load` validates the contract
        "ray_output": ray_run.stdout + ray_run.stderr,
        "rerun": load(rerun_json),
    }


DETERMINISTIC = ("params_total", "params_trainable", "params_non_trainable", "macs", "flops",
                 "flops_analytic", "layers", "seeds", "input_shape", "dataset", "profile",
                 "test_examples")  # fmt: skip


# Known from outside the code: the report's parameter table (tests/test_variants.py) and the
# hand count of the plugin's MACs (tests/plugins/depthwise_net.py).
KNOWN = {"v01": ("params_total", 159_146), "depthwise_net": ("macs", 1_712_768)}


@pytest.mark.parametrize("model", MODELS)
def test_ray_gives_the_local_executors_deterministic_figures(runs, model):
    local, remote = runs["local"]["variants"][model], runs["ray"]["variants"][model]
    key, known = KNOWN[model]
    assert remote[key] == known
    for key in DETERMINISTIC:
        assert remote[key] == local[key], key
    for ours, theirs in zip(remote["runs"], local["runs"], strict=True):
        assert ours["seed"] == theirs["seed"] and ours["epochs"] == theirs["epochs"] == 2
        assert ours["accuracy"] is not None and ours["test_examples"] == theirs["test_examples"]
    assert remote["errors"] == [] and remote["accuracy"] is not None


def test_every_job_says_where_it_trained_and_the_run_says_how(runs):
    executor = runs["ray"]["run"]["executor"]
    assert executor["kind"] == "ray" and executor["nodes"] == [platform.node()]
    assert executor["parallel_jobs"] == 2 and executor["startup_s"] > 0
    assert runs["local"]["run"]["executor"]["kind"] == "local"
    for model in MODELS:
        for run in runs["ray"]["variants"][model]["runs"]:
            assert run["node"] == platform.node() and run["train_device"] == "CPU"


def test_the_timed_scenario_loads_the_models_trained_by_ray(runs):
    latency = {b["extra_info"]["variant"] for b in runs["ray"]["benchmarks"]}
    assert set(MODELS) <= latency
    for model in MODELS:
        for run in runs["ray"]["variants"][model]["runs"]:
            path = Path(run["model_path"])
            assert path.is_file() and path.parent.parent == runs["tmp"] / "ray-cache"


@pytest.mark.parametrize(("model", "seed", "kill"), FAULTS)
def test_a_killed_job_is_retried_and_resumes_after_its_saved_epoch(runs, model, seed, kill):
    assert (runs["tmp"] / f"{model}-{seed}").exists(), f"the {kill} of {model} was never killed"
    run = runs["ray"]["variants"][model]["runs"][seed]
    result = json.loads((Path(run["model_path"]).parent / "result.json").read_text())
    assert [(s["from_epoch"], s["to_epoch"]) for s in result["segments"]] == [(0, 1), (1, 2)]
    assert f"{model} [smoke, seed {seed}] resuming after epoch 1" in runs["ray_output"]
    assert run["epochs"] == 2 and run["from_cache"] is False


def test_a_failing_job_is_one_sentence_and_the_others_finish(runs):
    errors = runs["ray"]["variants"]["nan_net"]["errors"]
    assert len(errors) == 2 and errors[1].startswith("seed 1: ")
    for error in errors:
        assert "loss became NaN at epoch 1 for nan_net" in error and "\n" not in error
    assert all(runs["ray"]["variants"][m]["accuracy"] is not None for m in MODELS)


def test_a_rerun_takes_every_model_from_the_cache(runs):
    for model in MODELS:
        rerun = runs["rerun"]["variants"][model]["runs"]
        first = runs["ray"]["variants"][model]["runs"]
        assert [r["from_cache"] for r in rerun] == [True, True]
        assert [r["accuracy"] for r in rerun] == [r["accuracy"] for r in first]
