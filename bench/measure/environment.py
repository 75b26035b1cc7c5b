"""The process settings every timed figure depends on, applied once, and recorded with every result.

TensorFlow fixes its thread pools and visible devices at the first op, so `configure` must run
before anything touches TensorFlow (the suite's `pytest_configure` and the worker's `main` call it
first). `machine_info` reads back what is really in force, so the JSON records the settings that
produced the numbers, not the ones asked for.

Logs: `quiet_logs` decides, before TensorFlow loads, whether TensorFlow's C++ and Python logging
is silenced in this process and in the workers it starts (they inherit the environment), and
`configure` applies the Python half. Nothing measured depends on it. `tests/test_cli_tty.py`
checks on a terminal that a default run shows no TensorFlow log line.
"""

from __future__ import annotations

import logging
import os
import platform
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

Device = Literal["auto", "cpu", "gpu"]
Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DEVICES = ("auto", "cpu", "gpu")
# Images per throughput call when --throughput-batch is not given. On a GPU a large batch fills
# the card. On the CPU with one op thread a batch of 256 is no faster per image than 32 (on the
# 2-core EPYC VM, 2026-12-07, time per image at 32 was 0.87-1.07 of that at 256 for eight of
# the models; docs/measurement.md), and 32 is what Keras' `predict` uses by default; it costs an
# eighth of the time per call, so a session of the same length gets several times the rounds.
THROUGHPUT_BATCH = {"gpu": 256, "cpu": 32}


class EnvironmentError_(RuntimeError):
    """A setting that cannot be honoured on this machine (e.g. `--device gpu` without a GPU)."""


@dataclass(frozen=True)
class Settings:
    """What the user asked for; `configure` applies it.

    Threads default to 1/1 on the CPU: on a shared 2-core machine that gave a latency CV of 9-13 %
    against 25-57 % for TensorFlow's default (docs/measurement.md §1, §4). On a GPU the
    host threads matter little and TensorFlow's choice (0) is kept.
    """

    device: Device = "auto"
    xla: bool = False
    precision: Precision = "float32"
    intra_op_threads: int | None = None  # None: 1 on CPU, 0 (TF chooses) on GPU
    inter_op_threads: int | None = None
    # MiB of the first GPU TensorFlow may use (a logical device of that size): measures as if on
    # a smaller card, and lets the GPU check force an out-of-memory. None: the whole card.
    gpu_memory_limit_mb: int | None = None

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables, for worker subprocesses."""
        return {f"BENCH_{k.upper()}": "" if v is None else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_env(cls) -> Settings:
        """Inverse of `to_env`; missing variables keep the defaults."""
        kwargs: dict[str, Any] = {}
        for key, default in asdict(cls()).items():
            raw = os.environ.get(f"BENCH_{key.upper()}")
            if raw is None:
                continue
            if key == "xla":
                kwargs[key] = raw == "True"
            elif key.endswith("threads") or key == "gpu_memory_limit_mb":
                kwargs[key] = int(raw) if raw else None
            else:
                kwargs[key] = raw or default
        return cls(**kwargs)


_applied: Settings | None = None

# TensorFlow's C++ log threshold: 0 shows everything, 2 hides INFO and WARNING ("oneDNN custom
# operations are on", "Could not find cuda drivers"), 3 hides ERROR too ("failed call to cuInit",
# which a CPU-only machine logs at every start).
LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# "1" when this process and its workers keep TensorFlow's logs quiet (set by `quiet_logs`).
QUIET_VARIABLE = "BENCH_QUIET_LOGS"
# Loggers and warning sources that are TensorFlow's or its dependencies', not the user's run.
_LIBRARY_LOGGERS = ("tensorflow", "absl", "keras", "h5py")
LIBRARY_WARNING_MODULES = r"(tensorflow|keras|absl|h5py|ml_dtypes|google\.protobuf)(\.|$)"


def quiet_logs(*, verbose: bool) -> bool:
    """Decide whether TensorFlow's logs are silenced here and in every worker started from here.

    Must run before TensorFlow loads. Unless `verbose`, sets `TF_CPP_MIN_LOG_LEVEL=3` (a value
    the user set is kept: their own choice wins) and marks the process quiet, so that
    `configure` also sets TensorFlow's, absl's and Keras' Python loggers to ERROR and ignores
    warnings raised inside those libraries. What concerns the user's run (out of memory, a NaN
    loss, a retraced function, a batch reduced to fit) is reported by the suite itself, one
    sentence per model, and is not affected.

    Returns:
        True when the logs are silenced.
    """
    os.environ[QUIET_VARIABLE] = "0" if verbose else "1"
    if not verbose:
        os.environ.setdefault(LOG_LEVEL_VARIABLE, "3")
    return not verbose


def _quiet_python_logs() -> None:
    """TensorFlow's, absl's and Keras' Python loggers at ERROR; their own warnings ignored."""
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=LIBRARY_WARNING_MODULES)


def configure(settings: Settings) -> Settings:
    """Apply `settings` to this process (once; a second call must ask for the same thing).

    Raises:
        EnvironmentError_: `device="gpu"` on a machine where TensorFlow sees no GPU.
    """
    global _applied
    if _applied is not None:
        if _applied != settings:
            raise EnvironmentError_(
                f"TensorFlow is already configured with {_applied}; "
                "start a new process to change it."
            )
        return _applied
    if settings.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # before TF loads CUDA: no GPU context at all
    os.environ.setdefault(LOG_LEVEL_VARIABLE, "2")
    import keras
    import tensorflow as tf

    if os.environ.get(QUIET_VARIABLE) == "1":
        _quiet_python_logs()

    gpus = tf.config.list_physical_devices("GPU")
    if settings.device == "gpu" and not gpus:
        raise EnvironmentError_(
            "--device gpu was asked for but TensorFlow sees no GPU here; install a CUDA build "
            "(pip install 'tensorflow[and-cuda]') or use --device cpu."
        )
    on_gpu = bool(gpus) and settings.device != "cpu"
    limit = settings.gpu_memory_limit_mb
    for index, gpu in enumerate(gpus):
        if index == 0 and limit is not None:
            # A logical device of `limit` MiB; TensorFlow allows no memory growth beside it.
            tf.config.set_logical_device_configuration(
                gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=limit)]
            )
            continue
        # Growth on: peak figures then reflect what the model needs, not TF's up-front grab of the
        # whole card (docs/measurement.md §3). Must precede GPU initialisation.
        tf.config.experimental.set_memory_growth(gpu, True)
    intra = settings.intra_op_threads
    inter = settings.inter_op_threads
    tf.config.threading.set_intra_op_parallelism_threads(
        intra if intra is not None else (0 if on_gpu else 1)
    )
    tf.config.threading.set_inter_op_parallelism_threads(
        inter if inter is not None else (0 if on_gpu else 1)
    )
    keras.mixed_precision.set_global_policy(settings.precision)
    _applied = settings
    return settings


def default_throughput_batch(device: str) -> int:
    """The throughput batch for `--device` (`THROUGHPUT_BATCH`): "auto" takes the GPU's when
    TensorFlow sees one (a physical device: no runtime is started here)."""
    if device == "auto":
        import tensorflow as tf

        device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    return THROUGHPUT_BATCH[device]


def device_name() -> str:
    """What the timed code runs on: "CPU" or "GPU:0 <name>"."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    return f"GPU:0 {details.get('device_name', 'unknown GPU')}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_info() -> dict[str, Any] | None:
    """Name, driver, memory of GPU 0 through NVML; `None` when there is no NVIDIA driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound and friends: no driver, hence no GPU to describe
        return None
    try:
        if pynvml.nvmlDeviceGetCount() == 0:
            return None
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        name = pynvml.nvmlDeviceGetName(handle)
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
            "memory_total_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
            "cuda_version": pynvml.nvmlSystemGetCudaDriverVersion_v2(),
        }
    finally:
        pynvml.nvmlShutdown()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def machine_info() -> dict[str, Any]:
    """The contract's `machine_info` additions (docs/contract.md), read from the live process."""
    import keras
    import numpy as np
    import tensorflow as tf

    settings = _applied or Settings()
    on_gpu = device_name() != "CPU"
    return {
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "numpy_version": np.__version__,
        "cpu_model": _cpu_model(),
        "cpu_count_logical": os.cpu_count(),
        "gpu": gpu_info() if on_gpu else None,
        "device": device_name(),
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "xla": settings.xla,
        "gpu_memory_limit_mb": settings.gpu_memory_limit_mb if on_gpu else None,
        "precision": keras.mixed_precision.global_policy().name,
        "tf32": tf.config.experimental.tensor_float_32_execution_enabled() if on_gpu else None,
        "onednn": onednn_enabled(),
    }


def onednn_enabled() -> bool | None:
    """Whether TensorFlow's oneDNN custom operations are on in this process; None when
    TensorFlow cannot say.

    Not the environment variable: TensorFlow (2.9 and later) turns them on by default only on x86
    CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, and `TF_ENABLE_ONEDNN_OPTS` overrides
    that either way. On a 2-core EPYC VM with AVX2 only they were off (a v10 training step at
    batch 32 took 10.5 s there, 1.9 s on an AVX-512 VNNI VM of the same family), where this
    field used to say true. TensorFlow's own answer is `IsMklEnabled` (a private module, hence
    the None when it is missing).
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())
