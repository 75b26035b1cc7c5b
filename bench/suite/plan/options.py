"""The suite's options, declared once: what `pytest bench` and `python -m bench run` accept.

`pytest bench` (through `bench/conftest.py`) declares every `OPTIONS` row, and `python -m bench
run --help` lists every row (`bench.suite.orchestration.runner`); the README's option table is
checked against the rows both ways (`tests/test_plan.py`). The values parsed become one typed
`RunPlan` (`bench.suite.plan.plan`), which every worker process and Ray task receives as JSON.

This module imports no TensorFlow: it is read when pytest starts.
"""

from __future__ import annotations

import argparse
import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.measure.environment import DEVICES, PRECISIONS
from bench.suite.plan.plugins import REFERENCE_SETS
from bench.training.datasets import DATASETS
from bench.training.profiles import PROFILE_NAMES


class Accuracy(enum.StrEnum):
    """Where the accuracies come from (`--accuracy`). A `StrEnum`: it equals its text."""

    REPORTED = "reported"  # the course report's and the papers' figures; nothing is trained
    TRAIN = "train"  # trained here with the recipe and the profile
    LOAD = "load"  # the user's own weights (`--weights-dir`), tested here

    @property
    def trains(self) -> bool:
        """Models are trained here (one job per seed; a training profile applies)."""
        return self is Accuracy.TRAIN

    @property
    def measures(self) -> bool:
        """Accuracies are measured here, on `--dataset` (train or load)."""
        return self is not Accuracy.REPORTED

    @property
    def untrained_because(self) -> str:
        """Why a record's training figures may stay null, in this mode."""
        return {
            Accuracy.REPORTED: "accuracy taken from the report; nothing was trained here (use "
            "--accuracy train)",
            Accuracy.LOAD: "no training run in this mode",
            Accuracy.TRAIN: "training did not complete",
        }[self]


ACCURACY_MODES = tuple(mode.value for mode in Accuracy)
DISPLAYS = ("pytest", "progress")
# bench/suite/executors/jobs.py: LocalExecutor; bench/suite/executors/ray_executor.py
EXECUTORS = ("local", "ray")
DEFAULT_MODEL_CACHE = Path("results/models")  # trained models, one folder per training run


# Value checks, run by argparse (pytest's parser) when the command line is read, and by `RunPlan`
# when a worker reads the plan's JSON, so a bad value stops the run in one sentence before
# anything starts ("argument --jobs: ...").
def positive_int(text: str) -> int:
    """A whole number of at least 1 (batch sizes, jobs, MiB)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number of at least 1, got {text!r}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"needs a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds, CPUs)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"needs a number above 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0 (GPUs per job)."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"needs a number of at least 0, got {text!r}")
    return value


def path(text: str) -> Path:
    """A file or folder name; an empty one (which would mean the working directory) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a path, got an empty one")
    return Path(text)


def thread_counts(text: str) -> str:
    """INTRA,INTER: two whole numbers of at least 0 (0: TensorFlow's choice); kept as text."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(
            f"takes INTRA,INTER, two whole numbers of at least 0 such as 1,1; got {text!r}"
        )
    return text


def model_ids(text: str) -> str:
    """A comma-separated list naming at least one model, or 'all'; kept as text (the registry,
    which plugins fill later, checks the names)."""
    if not [n for n in text.split(",") if n.strip()]:
        raise argparse.ArgumentTypeError(
            f"names no model ({text!r}); give ids such as v01,v10, or all"
        )
    return text


def seed_list(text: str) -> str:
    """A count or a list of distinct seeds (`bench.suite.plan.seeds.parse_seeds`); kept as text."""
    from bench.suite.plan.seeds import SeedsError, parse_seeds

    try:
        parse_seeds(text)
    except SeedsError as exc:
        raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None
    return text


@dataclass(frozen=True)
class Option:
    """One command-line option of the suite.

    Attributes:
        flag: the long flag, e.g. "--variants".
        help: one line for `--help`.
        default: the value when the flag is absent.
        type: converts the text given on the command line.
        choices: the values allowed, when there is a closed list.
        action: argparse's action ("store", "store_true" or "append").
        metavar: how `--help` names the value.
    """

    flag: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    action: Literal["store", "store_true", "append"] = "store"
    metavar: str | None = None

    @property
    def dest(self) -> str:
        """The attribute name argparse and pytest give the value."""
        return self.flag.removeprefix("--").replace("-", "_")

    def add_to(self, add: Callable[..., Any]) -> None:
        """Declare this option through `add` (argparse's `add_argument` or pytest's `addoption`)."""
        kwargs: dict[str, Any] = {"help": self.help, "dest": self.dest}
        if self.action == "store_true":
            kwargs.update(action="store_true", default=False)
        else:
            kwargs["default"] = [] if self.action == "append" else self.default
            if self.action == "append":
                kwargs["action"] = "append"
            for name in ("type", "choices", "metavar"):
                if getattr(self, name) is not None:
                    kwargs[name] = getattr(self, name)
        add(self.flag, **kwargs)


OPTIONS: tuple[Option, ...] = (
    Option("--variants", "comma-separated model ids, or 'all' (default)", default="all",
           type=model_ids),
    Option("--accuracy", "where accuracy comes from", default="reported",
           choices=ACCURACY_MODES),
    Option("--profile", "training profile for --accuracy train", default="smoke",
           choices=PROFILE_NAMES),
    Option("--dataset", f"dataset for --accuracy train/load: {', '.join(DATASETS)}, a name a "
           "plugin registered, or a folder of images (train/<class>/*.png, optional val/, "
           "test/)", default="cifar10", metavar="NAME|FOLDER"),
    Option("--image-size", "resize the dataset's images to HxW (default: their own size)",
           metavar="HxW"),
    Option("--data-dir", "folder or tarball holding the dataset", type=path),
    Option("--weights-dir", "folder of <id>.keras files for --accuracy load", type=path),
    Option("--model-cache", "trained-model cache (resumable)", default=DEFAULT_MODEL_CACHE,
           type=path),
    Option("--no-wait", "when another run is training the same model into the same "
           "--model-cache, fail that model at once instead of waiting for it", action="store_true"),
    Option("--device", "where to run", default="auto", choices=DEVICES),
    Option("--xla", "jit_compile every timed function", action="store_true"),
    Option("--precision", "Keras dtype policy", default="float32", choices=PRECISIONS),
    Option("--threads", "INTRA,INTER (default 1,1 on CPU, 0,0 on GPU)", type=thread_counts,
           metavar="INTRA,INTER"),
    Option("--gpu-memory-limit", "MiB of the GPU TensorFlow may use (as if on a smaller card)",
           type=positive_int, metavar="MIB"),
    Option("--seeds", "training seeds: a count (3 = seeds 0, 1, 2) or a list (0,4,7); each "
           "is one training run", default="1", type=seed_list, metavar="N|S1,S2,..."),
    Option("--throughput-batch", "images per call for throughput (default 256 on a GPU, 32 "
           "on the CPU)", type=positive_int),
    Option("--latency-budget", "seconds of batch-1 samples per model", default=3.0,
           type=positive_float),
    Option("--deployments", "comma-separated: keras (default), xla, bf16, litert_fp32, "
           "litert_fp16, litert_int8_dynamic, litert_int8_full, or all", default="keras",
           metavar="D1,D2,..."),
    Option("--jobs", "worker processes at once (default 2 when nothing is trained, else 1); with "
           "--executor ray and no address, the started local cluster's size in jobs",
           type=positive_int),
    Option("--executor", "where the worker jobs run: subprocesses of this machine, or tasks on a "
           "Ray cluster (pip install -e '.[cluster]')", default="local", choices=EXECUTORS),
    Option("--ray-address", "the Ray cluster to join with --executor ray (default: $RAY_ADDRESS, "
           "else a local cluster started for this run)", metavar="HOST:PORT"),
    Option("--cpus-per-job", "CPUs each Ray job asks for", default=1.0, type=positive_float),
    Option("--gpus-per-job", "GPUs each Ray job asks for (default: 1 on a cluster with GPUs "
           "unless --device cpu, else 0)", type=non_negative_float),
    Option("--shared-cache", "with --executor ray: a folder every node mounts at the same path; "
           "jobs on nodes that cannot see --model-cache checkpoint there", type=path),
    Option("--plugin", "module or .py file that registers models (repeatable)",
           action="append"),
    Option("--references", "reference models beside yours: 'keras' adds MobileNetV2, "
           "EfficientNetB0 and ResNet50 (keras.applications, weights=None, built for the "
           "dataset's images)", default="none", choices=REFERENCE_SETS),
    Option("--skip-profiler", "analytic FLOPs only (faster)", action="store_true"),
    Option("--display", "what the terminal shows: 'pytest' (its dots and pytest-benchmark's "
           "table) or 'progress' (the run's facts and one line per phase, as `python -m bench "
           "run` shows them); TensorFlow's logs are silenced in both unless -v/--verbose",
           default="pytest", choices=DISPLAYS),
    Option("--estimate-from", "suite JSON of an earlier run on this machine whose timings size "
           "the expected duration (default: from MACs)", type=path, metavar="JSON"),
    Option("--records-cache", "architecture-only figures kept between runs (params, MACs, "
           "FLOPs, memory; bench/suite/executors/record_cache.py); default: 'records' beside "
           "--model-cache (results/records); 'off' measures every record afresh", type=path,
           metavar="DIR|off"),
)  # fmt: skip
