"""The run's plan (issue 20, items 2 and 5): built once from the options, checked in one sentence,
round-tripped through JSON exactly, handed to every job, and enough on its own to run the worker;
the options in one place (`OPTIONS`, `python -m bench run --help`, the README's table)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest

from bench.measure.environment import Settings
from bench.suite.executors.jobs import Job, JobResult
from bench.suite.orchestration import runner
from bench.suite.orchestration.session import Suite
from bench.suite.plan.options import OPTIONS, Accuracy
from bench.suite.plan.plan import PlanError, RunPlan, read_plan

ROOT = Path(__file__).resolve().parent.parent


def test_the_plans_fields_are_the_options_dests_in_order():
    assert [f.name for f in dataclasses.fields(RunPlan)] == [o.dest for o in OPTIONS]


def test_a_plan_of_no_options_has_the_tables_defaults():
    plan = RunPlan.from_options({})
    assert plan.accuracy is Accuracy.REPORTED and plan.accuracy == "reported"
    assert (plan.seeds, plan.plugin, plan.model_cache) == ((0,), (), Path("results/models"))
    assert (plan.latency_budget, plan.image_size) == (3.0, None)
    # the throughput batch is the device's: 32 on the CPU (this machine has no GPU), 256 on one
    assert RunPlan.from_options({"device": "cpu"}).throughput_batch == 32
    assert RunPlan.from_options({"device": "gpu"}).throughput_batch == 256
    assert RunPlan.from_options({"device": "gpu", "throughput_batch": "64"}).throughput_batch == 64
    assert plan.training is None and plan.data_name == "cifar10"


def test_a_plan_is_typed_and_round_trips_through_json_exactly(tmp_path):
    plan = RunPlan.from_options(
        {
            "accuracy": "train",
            "profile": "quick",
            "dataset": "synthetic",
            "seeds": "3",
            "threads": "2,1",
            "image_size": "64x48",
            "data_dir": str(tmp_path / "data"),
            "plugin": ["tests/plugins/nan_net.py", "my_models"],
            "gpus_per_job": 0.5,
            "xla": True,
        }
    )
    assert plan.accuracy is Accuracy.TRAIN and plan.training.name == "quick"
    assert plan.seeds == (0, 1, 2) and plan.job_seeds() == (0, 1, 2)
    assert (plan.threads, plan.image_size) == ((2, 1), (64, 48))
    assert plan.data_dir == tmp_path / "data" and isinstance(plan.data_dir, Path)
    assert plan.plugin == ("tests/plugins/nan_net.py", "my_models")
    text = plan.to_json()
    options = json.loads(text)["options"]
    assert options["seeds"] == [0, 1, 2] and options["accuracy"] == "train"
    assert options["image_size"] == [64, 48] and options["data_dir"] == str(tmp_path / "data")
    back = RunPlan.from_json(text)
    assert back == plan and back.accuracy is Accuracy.TRAIN and isinstance(back.seeds, tuple)
    assert back.to_json() == text


def test_a_single_listed_seed_stays_that_seed_through_json():
    plan = RunPlan.from_options({"accuracy": "train", "seeds": "7,"})
    assert plan.seeds == (7,) and RunPlan.from_json(plan.to_json()).seeds == (7,)


def test_only_training_runs_every_seed():
    assert RunPlan.from_options({"seeds": "0,4"}).job_seeds() == (0,)
    assert RunPlan.from_options({"seeds": "0,4", "accuracy": "train"}).job_seeds() == (0, 4)


BAD_PLANS = [
    ({"throughput_batch": 0}, "argument --throughput-batch: needs a whole number of at least 1"),
    ({"latency_budget": "nan"}, "argument --latency-budget: needs a finite number"),
    ({"accuracy": "guess"}, "argument --accuracy: 'guess' is not one of reported, train, load"),
    ({"seeds": "1,1"}, "seed 1 is given twice"),
    ({"accuracy": "load"}, "--accuracy load needs --weights-dir DIR"),
    ({"image_size": "64x64"}, "--image-size applies to the images of --accuracy train or load"),
    ({"accuracy": "train", "image_size": "64x"}, "--image-size '64x' is not a size"),
    ({"xla": "yes"}, "argument --xla: takes true or false"),
    ({"model_cache": " "}, "argument --model-cache: needs a path"),
    ({"dataset": 10}, "argument --dataset: takes text, got 10"),
]


@pytest.mark.parametrize(("values", "says"), BAD_PLANS)
def test_a_bad_plan_is_one_sentence(values, says):
    with pytest.raises(PlanError) as refused:
        RunPlan.from_options(values)
    message = str(refused.value)
    assert says in message and "\n" not in message and message.endswith(".")


def test_a_plan_json_that_is_not_this_versions_is_refused(tmp_path):
    good = json.loads(RunPlan.from_options({}).to_json())
    del good["options"]["seeds"]
    cases = [
        ("not json", "the run plan is not JSON"),
        (json.dumps({"plan_version": 99, "options": {}}), "not a plan of version 1"),
        (json.dumps(good), "the run plan lacks seeds"),
    ]
    for text, says in cases:
        with pytest.raises(PlanError, match=says):
            RunPlan.from_json(text)
    with pytest.raises(PlanError, match="could not read the run plan"):
        read_plan(str(tmp_path / "absent.json"))


def test_replace_checks_like_the_command_line():
    plan = RunPlan.from_options({})
    assert plan.replace(model_cache="/tmp/c").model_cache == Path("/tmp/c")
    with pytest.raises(PlanError, match="--jobs"):
        plan.replace(jobs=0)


class _Recorder:
    """An executor that keeps the jobs it is given."""

    parallel = 2

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def submit(self, job: Job) -> Future[JobResult]:
        self.jobs.append(job)
        future: Future[JobResult] = Future()
        future.set_result(JobResult(None, 0))
        return future

    def shutdown(self, *, cancel: bool = False) -> None:
        pass


def test_every_job_carries_the_plan_and_its_own_model_and_seed():
    import architectures

    plan = RunPlan.from_options({"accuracy": "train", "seeds": "0,4", "throughput_batch": "8"})
    suite = Suite(plan, Settings(), [architectures.get("v01"), architectures.get("v02")])
    suite._executor = recorder = _Recorder()
    suite.jobs("v01")
    suite.close()
    assert [(j.variant, j.seed) for j in recorder.jobs] == [
        ("v01", 0), ("v01", 4), ("v02", 0), ("v02", 4)
    ]  # fmt: skip
    assert all(RunPlan.from_json(j.plan) == plan for j in recorder.jobs)
    assert suite.options is plan and suite.options.throughput_batch == 8


@pytest.mark.slow
def test_the_worker_runs_from_a_plan_file_alone(tmp_path):
    """Nothing of the run on the worker's command line but the plan file: the figures that
    depend on the plan (batch, accuracy source, seed) come out as the plan says. v01's
    parameters and reported accuracy are the course report's (159,146; 72.32 %)."""
    plan = RunPlan.from_options({"throughput_batch": "2", "skip_profiler": True})
    (tmp_path / "plan.json").write_text(plan.to_json())
    out = tmp_path / "v01.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.suite.executors.worker",
         "--plan", str(tmp_path / "plan.json"),
         "--variant", "v01", "--seed", "3", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["errors"] == [] and record["seed"] == 3
    assert record["params_total"] == 159_146 and record["input_shape"] == [32, 32, 3]
    assert record["accuracy"] == 0.7232 and record["accuracy_source"] == "reported"
    assert record["memory_phase"].startswith("one inference at batch 2 ")
    assert "use --accuracy train" in record["unavailable"]["train_time_s"]


def test_the_worker_refuses_a_plan_it_cannot_read_in_one_sentence(tmp_path):
    from bench.suite.executors.worker import parse_job

    (tmp_path / "plan.json").write_text('{"plan_version": 1}')
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stopped:
        parse_job(["--plan", str(tmp_path / "plan.json"), "--variant", "v01", "--out", "r"])
    assert stopped.value.code == 2
    assert "error: the run plan lacks variants, accuracy" in err.getvalue()


# --- options in one place ------------------------------------------------------------------------


def _runner_help() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stopped:
        runner.parse_args(["--help"])
    assert stopped.value.code == 0
    return out.getvalue()


def test_run_help_lists_every_option():
    shown = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", _runner_help(), flags=re.M))
    assert {o.flag for o in OPTIONS} <= shown
    assert {"--out", "--no-report", "--save", "--verbose"} <= shown


def test_suite_options_given_to_run_reach_pytest_unchanged():
    args, passed = runner.parse_args(
        ["--out", "r", "--variants", "v01", "--xla", "-k", "x", "--plugin", "a.py",
         "--plugin=b", "--benchmark-json=j", "--accuracy", "train"]
    )  # fmt: skip
    assert args.out == Path("r") and not hasattr(args, "variants")
    assert passed == ["--variants=v01", "--xla", "--plugin=a.py", "--plugin=b",
                      "--accuracy=train", "-k", "x", "--benchmark-json=j"]  # fmt: skip


def _readme_flags() -> set[str]:
    """The flags in the first column of the README's option table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| option | meaning |", 1)[1].split("\n\n", 1)[0]
    flags: set[str] = set()
    for line in table.splitlines()[2:]:
        first = re.split(r"(?<!\\)\|", line)[1]
        flags |= set(re.findall(r"`(--[a-z-]+)", first))
    return flags


def test_the_readme_documents_every_option_and_no_other():
    documented = _readme_flags()
    accepted = {o.flag for o in OPTIONS} | set(runner.own_flags())
    assert {"--out", "--no-report", "--save", "--verbose"} <= set(runner.own_flags())
    assert sorted(accepted - documented) == []  # every option is in the table
    assert sorted(documented - accepted) == []  # nothing in it that does not exist
