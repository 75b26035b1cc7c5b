"""The run as one typed, immutable plan: built once from the options, read by every process.

`RunPlan` holds every `OPTIONS` value under its option's dest (`plan.throughput_batch`), typed:
paths as `Path`, lists as tuples, the accuracy mode as `Accuracy`. It is built once where the
command line is read (`RunPlan.from_options`, from pytest's `config.option`) and checked there: a
bad value, or two options that cannot go together, is one sentence (`PlanError`). Each worker
process and Ray task gets it as JSON (`to_json`, read back by `from_json` through the same
checks), with only the job's own fields (model, seed, record file) beside it on its command line.

`load_data` is the one place the run's dataset is read, for the workers (training, testing),
the suite's deployments (calibration, per-deployment accuracy) and the up-front check.

`tests/test_plan.py` round-trips a plan through JSON, refuses bad plans in one sentence and runs
the worker from a plan file alone. This module imports no TensorFlow: it is read when pytest
starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure.environment import default_throughput_batch
from bench.suite.plan.options import OPTIONS, Accuracy, path, thread_counts
from bench.training.profiles import PROFILES, Profile

PLAN_VERSION = 1  # the JSON's layout; a worker refuses a plan of another version
REPORTED_DATASET = "cifar10"  # the course report's accuracies are on 32x32 CIFAR-10


class PlanError(ValueError):
    """A plan that cannot run: a bad value or options that do not go together (one sentence)."""


def _pair(value: Any) -> tuple[int, int] | None:
    """`--threads`: "INTRA,INTER" (or the JSON's [intra, inter]) -> (intra, inter)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else ",".join(map(str, value))
    intra, inter = (int(part) for part in thread_counts(text).split(","))
    return intra, inter


def _image_size(value: Any) -> tuple[int, int] | None:
    from bench.training.images import ImageSizeError, parse_image_size

    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else "x".join(map(str, value))
    try:
        return parse_image_size(text)
    except ImageSizeError as exc:
        raise PlanError(str(exc)) from None


def _seeds(value: Any) -> tuple[int, ...]:
    from bench.suite.plan.seeds import SeedsError, parse_seeds

    # A list is written with a trailing comma: "0," is seed 0, where "0" would be a count.
    text = value if isinstance(value, str) else "".join(f"{seed}," for seed in value)
    try:
        return parse_seeds(text)
    except SeedsError as exc:
        raise PlanError(str(exc)) from None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"takes true or false, got {value!r}")
    return value


# Options whose plan value is not what argparse gives (or whose JSON is not their text).
_TYPED: dict[str, Callable[[Any], Any]] = {
    "accuracy": Accuracy,
    "threads": _pair,
    "image_size": _image_size,
    "seeds": _seeds,
    "plugin": lambda value: tuple(str(v) for v in value or ()),
}


def _typed(option: Any, value: Any) -> Any:
    """One option's plan value from argparse's value or the plan JSON's."""
    if option.choices is not None and value not in option.choices:
        raise PlanError(
            f"argument {option.flag}: {value!r} is not one of {', '.join(option.choices)}."
        )
    try:
        if option.action == "store_true":
            return _flag(value)
        if option.dest in _TYPED:
            value = _TYPED[option.dest](value)
        elif option.type is not None and value is not None:
            value = option.type(str(value))
        elif value is not None and not isinstance(value, str):  # a plan JSON written by hand
            raise argparse.ArgumentTypeError(f"takes text, got {value!r}")
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        if isinstance(exc, PlanError):
            raise
        raise PlanError(f"argument {option.flag}: {str(exc).rstrip('.')}.") from None
    return value


@dataclass(frozen=True)
class RunPlan:
    """Every option of the run, typed (attribute = the option's dest; `OPTIONS` says what each
    means, and holds the defaults). Build it with `from_options` or `from_json`, which check it;
    `tests/test_plan.py` checks that the fields are exactly the dests of `OPTIONS`."""

    variants: str
    accuracy: Accuracy
    profile: str
    dataset: str
    image_size: tuple[int, int] | None
    data_dir: Path | None
    weights_dir: Path | None
    model_cache: Path
    no_wait: bool
    device: str
    xla: bool
    precision: str
    threads: tuple[int, int] | None
    gpu_memory_limit: int | None
    seeds: tuple[int, ...]
    throughput_batch: int
    latency_budget: float
    deployments: str
    jobs: int | None
    executor: str
    ray_address: str | None
    cpus_per_job: float
    gpus_per_job: float | None
    shared_cache: Path | None
    plugin: tuple[str, ...]
    references: str
    skip_profiler: bool
    display: str
    estimate_from: Path | None
    records_cache: Path | None

    @classmethod
    def from_options(cls, values: Mapping[str, Any] | Any) -> RunPlan:
        """The plan of parsed options (pytest's `config.option`, an argparse namespace or a
        mapping by dest); an option not given takes its `OPTIONS` default.

        Raises:
            PlanError: a bad value, or options that do not go together (one sentence).
        """
        if not isinstance(values, Mapping):
            values = vars(values)
        typed = {}
        for option in OPTIONS:
            default = [] if option.action == "append" else option.default
            if option.action == "store_true":
                default = False
            typed[option.dest] = _typed(option, values.get(option.dest, default))
        if typed["throughput_batch"] is None:  # the device's (environment.THROUGHPUT_BATCH)
            typed["throughput_batch"] = default_throughput_batch(typed["device"])
        plan = cls(**typed)
        plan._check()
        return plan

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        """The plan `to_json` wrote, checked as on the command line.

        Raises:
            PlanError: not a plan of this version, or a bad plan (one sentence).
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f"the run plan is not JSON ({exc}).") from None
        if not isinstance(document, dict) or document.get("plan_version") != PLAN_VERSION:
            raise PlanError(f"the run plan is not a plan of version {PLAN_VERSION}.")
        options = document.get("options")
        missing = [
            o.dest for o in OPTIONS if not isinstance(options, dict) or o.dest not in options
        ]
        if missing:
            raise PlanError(f"the run plan lacks {', '.join(missing)}.")
        return cls.from_options(options)

    def to_json(self) -> str:
        """The plan as JSON: paths as text, tuples as lists, the accuracy mode as its name."""
        options = {o.dest: _plain(getattr(self, o.dest)) for o in OPTIONS}
        return json.dumps({"plan_version": PLAN_VERSION, "options": options}, indent=1)

    def replace(self, **changes: Any) -> RunPlan:
        """A copy with `changes` (same checks as `from_options`)."""
        return RunPlan.from_options({**self._values(), **changes})

    def _values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def _check(self) -> None:
        """Options that do not go together."""
        if self.accuracy is Accuracy.LOAD and self.weights_dir is None:
            raise PlanError("--accuracy load needs --weights-dir DIR holding <id>.keras files.")
        if self.image_size is not None and not self.accuracy.measures:
            raise PlanError(
                "--image-size applies to the images of --accuracy train or load; the reported "
                "accuracies are the course report's, on 32x32 CIFAR-10."
            )

    @functools.cached_property
    def training(self) -> Profile | None:
        """The training profile, for `--accuracy train`; None otherwise."""
        return PROFILES[self.profile] if self.accuracy.trains else None

    @property
    def data_name(self) -> str:
        """The dataset the accuracies are on: `--dataset`, or CIFAR-10 for reported ones."""
        return self.dataset if self.accuracy.measures else REPORTED_DATASET

    @property
    def data_image_size(self) -> tuple[int, int] | None:
        """The size the dataset's images are resized to (None: their own size)."""
        return self.image_size if self.accuracy.measures else None

    def job_seeds(self) -> tuple[int, ...]:
        """The seeds a model's jobs run: every seed when training, else the first only (a
        reported or loaded accuracy does not depend on a training seed)."""
        return self.seeds if self.accuracy.trains else self.seeds[:1]


def _plain(value: Any) -> Any:
    """A plan value as JSON holds it."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def read_plan(file: str) -> RunPlan:
    """The plan in `file` (the worker's `--plan`); an unreadable file is a `PlanError`."""
    try:
        text = path(file).read_text(encoding="utf-8")
    except (OSError, argparse.ArgumentTypeError) as exc:
        raise PlanError(f"could not read the run plan {file!r} ({exc}).") from None
    return RunPlan.from_json(text)


def load_data(plan: RunPlan, validation_examples: int | None) -> Any:
    """The run's dataset (`plan.data_name`), split and sized as every process of the run reads
    it: the same split for every seed (`DATA_SPLIT_SEED`: the same test images), the training
    profile's sizes, and `validation_examples` (the first model's recipe) unless the profile
    sets them or the data is synthetic (which keeps its own default).

    Raises:
        DatasetError: the dataset cannot be read (one sentence).
    """
    from bench.suite.plan.seeds import DATA_SPLIT_SEED
    from bench.training import datasets

    profile = plan.training
    validation = profile.validation_examples if profile else None
    if not validation and plan.data_name != "synthetic":
        validation = validation_examples
    return datasets.load_dataset(
        plan.data_name,
        data_dir=plan.data_dir,
        seed=DATA_SPLIT_SEED,
        validation_examples=validation,
        train_examples=profile.train_examples if profile else None,
        test_examples=profile.test_examples if profile else None,
        image_size=plan.data_image_size,
    )
