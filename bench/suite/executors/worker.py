"""One model, one fresh process: parameters, FLOPs, accuracy, training, memory -> a JSON record.

The suite starts `python -m bench.suite.executors.worker --plan FILE --variant ID --seed N --out
FILE` once per model and seed (`FILE`: the run's `RunPlan` as JSON, `bench.suite.plan.plan`; nothing
else of the run is on the command line) so that memory peaks cannot leak from one model into the
next (TensorFlow never hands allocator memory back within a process), and so that a crash, an
out-of-memory or a NaN in one model costs only that model. The record has every key of the
contract (docs/contract.md, `bench.contract.variant_keys`) except the timing figures, which the
suite measures in its own process and adds.

`measure` is a few named steps, each filling its part of the record. The architecture-only part
(parameters to memory) comes from the records cache when it holds it, and is kept there when
measured (`bench/suite/executors/record_cache.py`; the record's `cached_from` says which). Faults a
user can cause become one sentence in `record["errors"]`; the worker still writes the record and
exits 0. Exit 1 means a bug in the harness (the traceback is printed for us). The record names the
machine that ran the worker (`node`, its host name), whichever executor started it.

One test-only fault is built in, inert unless its environment variable is set (`FAULT_ENV`,
`_fault_hook`): SIGKILL after a given epoch's checkpoint, once, to test retries and resumption
(`tests/test_ray.py`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from architectures.plugins import import_plugins
from bench import atomic
from bench.contract import empty_variant_record
from bench.measure.environment import Settings, configure
from bench.suite.executors.jobs import CONCURRENT_JOBS_ENV
from bench.suite.plan.options import path
from bench.suite.plan.plan import PlanError, RunPlan, load_data, read_plan
from bench.suite.plan.plugins import add_references, build_failure, head_mismatch
from bench.training.profiles import run_label

__all__ = [
    "WorkerJob",
    "import_plugins",
    "main",
    "measure",
    "parse_job",
]  # import_plugins: for callers of the old route

FAULT_ENV = "BENCH_TEST_FAULT"  # test-only: see _fault_hook
INTERRUPTED = 130  # the shell's status for a process ended by SIGINT
ORPHAN_GRACE_S = 30.0  # a "parent" fault: how long to wait for the parent-death signal


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _kill(fault: dict[str, Any]) -> None:
    if fault["kill"] == "parent":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(ORPHAN_GRACE_S)  # the parent-death signal ends this process first
    os.kill(os.getpid(), signal.SIGKILL)


def _fault_hook(variant: str, seed: int, profile: str) -> Callable[[str], None]:
    """The training's progress sink, with the test-only fault of `FAULT_ENV` when it is set.

    Inert by default. For tests of retries and resumption, `BENCH_TEST_FAULT` holds a JSON list
    of faults `{"variant", "seed", "after_epoch", "kill", "marker"}`: when this job's training
    reports epoch `after_epoch` saved (its progress line comes after the checkpoint) and the file
    `marker` does not exist yet, the marker is created and SIGKILL goes to this process (`kill`
    "worker") or to its parent ("parent": under Ray, the task's process, which takes this one
    with it). The marker makes each fault happen once, so the retried job trains on.
    """
    faults = [
        fault
        for fault in json.loads(os.environ.get(FAULT_ENV) or "[]")
        if fault["variant"] == variant and fault["seed"] == seed
    ]
    if not faults:
        return _progress

    label = f"{run_label(variant, profile, seed)} epoch"  # fit's epoch line

    def progress(line: str) -> None:
        _progress(line)
        for fault in faults:
            if not line.startswith(f"{label} {fault['after_epoch']}/"):
                continue
            try:
                Path(fault["marker"]).open("x").close()  # exclusive: only the first time
            except FileExistsError:
                continue
            _kill(fault)

    return progress


def _new_record(entry: Any, seed: int) -> dict[str, Any]:
    record = empty_variant_record(entry.id)
    record.update(
        kind=entry.kind,
        description=entry.description,
        node=platform.node(),
        seed=seed,
        recipe=json.loads(json.dumps(dataclasses.asdict(entry.recipe))),
        published=None if entry.published is None else dataclasses.asdict(entry.published),
    )
    return record


def _load_data(plan: RunPlan, entry: Any, record: dict[str, Any]) -> Any:
    """The dataset for `train`/`load` (`bench.suite.plan.plan.load_data`); None (and an error when
    it cannot be read) otherwise."""
    if not plan.accuracy.measures:
        return None
    from bench.training.datasets import DatasetError

    try:
        return load_data(plan, entry.recipe.validation_examples)
    except DatasetError as exc:
        record["errors"].append(str(exc))
        return None


def _accuracy(plan: RunPlan, job: WorkerJob, entry: Any, data: Any, record: dict[str, Any]) -> None:
    """Fill the accuracy fields (the trained or loaded model stays in the cache or the user's
    file; the suite loads it for the timed scenarios from `model_path`)."""
    from bench.suite.executors import accuracy
    from bench.training.fit import TrainingError
    from bench.training.weights import WeightsError

    if not plan.accuracy.measures:
        fields, unavailable = accuracy.reported(entry)
        record.update(fields)
        record["unavailable"].update(unavailable)
        return
    if data is None:
        return
    try:
        if plan.training is not None:
            fields = accuracy.trained(
                entry,
                data,
                profile=plan.training,
                cache_root=plan.model_cache,
                seed=job.seed,
                progress=_fault_hook(job.variant, job.seed, plan.profile),
                jit_compile=Settings.from_env().xla,
                concurrent_jobs=int(os.environ.get(CONCURRENT_JOBS_ENV) or 1),
                wait=not plan.no_wait,
            )
        else:
            fields = accuracy.loaded(entry, data, weights_dir=plan.weights_dir)
    except (TrainingError, WeightsError) as exc:
        record["errors"].append(str(exc))
        return
    record["unavailable"].update(fields.pop("unavailable", {}))
    record.update(fields)


def _explain_missing(plan: RunPlan, record: dict[str, Any]) -> None:
    """A reason for every accuracy or training figure that stayed null."""
    unavailable, errors = record["unavailable"], record["errors"]
    if record["accuracy"] is None and "accuracy" not in unavailable:
        unavailable["accuracy"] = errors[-1] if errors else "no accuracy was measured"
    for key in ("train_time_s", "epochs", "energy_train_j"):
        if record[key] is None:
            unavailable.setdefault(key, plan.accuracy.untrained_because)


def _memory(model: Any, entry: Any, plan: RunPlan, record: dict[str, Any]) -> None:
    """Peaks of a freshly built model, before any dataset is loaded or any model trained."""
    from bench.measure import memory

    figures, unavailable, error = memory.one_step_peaks(
        model,
        entry.recipe,
        inference_batch=plan.throughput_batch,
        num_classes=int(model.outputs[0].shape[-1]),  # the dataset's classes
    )
    record.update(figures)
    record["unavailable"].update(unavailable)
    if error:
        record["errors"].append(error)
    record["memory_phase"] = (
        f"one inference at batch {plan.throughput_batch} and one training step at batch "
        f"{entry.recipe.batch_size} of a freshly built model, in a fresh process per model, "
        "before any dataset is loaded or any model trained"
    )


def _architecture(model: Any, entry: Any, plan: RunPlan) -> dict[str, Any]:
    """Measure the architecture-only part (`bench.suite.executors.record_cache`): parameters, the
    saved file's size, FLOPs with the profiler cross-check and the fresh-process memory peaks."""
    from bench.measure import flops
    from bench.measure.deploy import keras_file_size_bytes
    from bench.measure.params import parameter_counts

    part: dict[str, Any] = {**parameter_counts(model), "unavailable": {}, "errors": []}
    try:
        part["model_file_bytes"] = keras_file_size_bytes(model)
    except Exception as exc:  # a model Keras cannot save; the other figures still stand
        part["unavailable"]["model_file_bytes"] = (
            f"the model could not be saved as a .keras file ({type(exc).__name__}: {exc})"
        )
    figures, unavailable = flops.flop_figures(model, profiler=not plan.skip_profiler)
    part.update(figures)
    part["unavailable"].update(unavailable)
    _memory(model, entry, plan, part)
    unavailable, errors = part.pop("unavailable"), part.pop("errors")
    return {"figures": part, "unavailable": unavailable, "errors": errors}


def _cached_or_measured(
    model: Any,
    entry: Any,
    plan: RunPlan,
    shape: tuple[tuple[int, ...], int],
    settings: Settings,
    cached_only: bool,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The architecture part and its `cached_from` (`record_cache.figures`); `shape` is the
    input shape and class count the model was built for."""
    from bench.suite.executors import record_cache

    def inputs() -> dict[str, Any] | None:
        return record_cache.key_inputs(
            model,
            entry.recipe,
            input_shape=shape[0],
            num_classes=shape[1],
            settings=settings,
            throughput_batch=plan.throughput_batch,
            profiler=not plan.skip_profiler,
        )

    return record_cache.figures(
        record_cache.folder_of(plan),
        inputs,
        None if cached_only else lambda: _architecture(model, entry, plan),
        variant=entry.id,
        note=lambda line: _progress(f"{entry.id} {line}"),
    )


def measure(
    plan: RunPlan,
    job: WorkerJob,
    settings: Settings | None = None,
    *,
    cached_only: bool = False,
) -> dict[str, Any] | None:
    """Fill one model's record; user-caused faults go into `errors`, never raise.

    Args:
        plan: the run's plan.
        job: which model and seed.
        settings: the process settings (default: this worker's, from the environment).
        cached_only: take the architecture figures from the records cache only, and return
            None when it has none (the suite's process, `cached_record.record_without_worker`).
    """
    import architectures
    from bench.measure.params import parameter_counts
    from bench.training.datasets import dataset_shape

    entry = architectures.get(job.variant)
    record = _new_record(entry, job.seed)
    input_shape, num_classes = dataset_shape(plan.data_name, image_size=plan.data_image_size)
    record["input_shape"] = list(input_shape)
    try:
        model = entry.build(input_shape=input_shape, num_classes=num_classes)
    except Exception as exc:  # a builder that cannot take this size: the user's to fix
        record["errors"].append(build_failure(entry.id, input_shape, exc))
        return record
    wrong_head = head_mismatch(entry.id, model, num_classes, plan.data_name)
    if wrong_head is not None:  # nothing to measure that would mean anything: refuse it now
        record.update(parameter_counts(model))
        record["errors"].append(wrong_head)
        record["unavailable"]["all"] = wrong_head
        _explain_missing(plan, record)
        return record
    settings = settings or Settings.from_env()
    part, record["cached_from"] = _cached_or_measured(
        model, entry, plan, (input_shape, num_classes), settings, cached_only
    )
    if part is None:
        return None
    record.update(part["figures"])
    record["unavailable"].update(part["unavailable"])
    record["errors"].extend(part["errors"])
    data = _load_data(plan, entry, record)
    _accuracy(plan, job, entry, data, record)
    _explain_missing(plan, record)
    return record


@dataclass(frozen=True)
class WorkerJob:
    """This process's job, from its command line: the model, its seed, where its record goes.

    Attributes:
        plan: the run's plan (`--plan FILE`, written by the executor).
        variant: the registry id to measure.
        seed: this job's training seed.
        out: where the record is written.
    """

    plan: RunPlan
    variant: str
    seed: int
    out: Path


def parse_job(argv: list[str]) -> WorkerJob:
    """The worker's command line: `--plan FILE --variant ID --seed N --out FILE`; a plan that
    cannot be read or does not check is argparse's refusal (one sentence, exit 2)."""
    parser = argparse.ArgumentParser(prog="python -m bench.suite.executors.worker")
    parser.add_argument("--plan", required=True, help="the run plan's JSON (RunPlan.to_json)")
    parser.add_argument("--variant", required=True, help="the registry id to measure")
    parser.add_argument("--seed", type=int, default=0, help="this job's training seed")
    parser.add_argument("--out", required=True, type=path, help="where to write the record")
    args = parser.parse_args(argv)
    try:
        plan = read_plan(args.plan)
    except PlanError as exc:
        parser.error(str(exc))
    return WorkerJob(plan, args.variant, args.seed, args.out)


def main(argv: list[str] | None = None) -> int:
    job = parse_job(sys.argv[1:] if argv is None else argv)
    plan = job.plan
    configure(Settings.from_env())
    try:
        import_plugins(list(plan.plugin))
        add_references(plan.references)
        record = measure(plan, job)
        status = 0
    except KeyboardInterrupt:  # Ctrl-C reached the whole group: the suite says what was kept
        return INTERRUPTED
    except Exception as exc:  # a bug of ours: keep the traceback, and still write a record
        traceback.print_exc()
        record = empty_variant_record(job.variant)
        record["errors"].append(f"internal error while measuring {job.variant}: {exc!r}")
        status = 1
    job.out.parent.mkdir(parents=True, exist_ok=True)
    try:  # whole or not at all: the suite reads it as soon as this process ends
        atomic.write_atomic(
            job.out, json.dumps(record, indent=1, default=str).encode(), check=json.loads
        )
    except atomic.PublishError as exc:
        print(exc, file=sys.stderr, flush=True)
        return atomic.EXIT_UNWRITTEN
    return status


if __name__ == "__main__":
    sys.exit(main())
