"""Peak memory of one phase: TF allocator peak on the GPU, NVML process memory, host RSS high-water.

Each model is measured in its own worker process (bench/suite/executors/worker.py), because
TensorFlow never returns BFC memory within a process (docs/measurement.md §3), so one model's peak
cannot leak into the next. Without a GPU the GPU figures are `None` with the reason, never 0: TF's
`get_memory_info` silently returns zeros for 'CPU:0'.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MemoryPeaks:
    """Peaks in bytes; `None` plus an entry in `unavailable` when a figure cannot be read."""

    peak_gpu_memory_bytes: int | None = None
    gpu_process_memory_bytes: int | None = None
    peak_host_memory_bytes: int | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


def host_rss_high_water_bytes() -> int | None:
    """VmHWM of this process (Linux); `None` where /proc is absent."""
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_host_high_water() -> bool:
    """Reset VmHWM to the current RSS (writing 5 to clear_refs); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


class _NvmlPoller:
    """Polls NVML every 10 ms for this process's GPU memory and keeps the maximum.

    NVML reports host PIDs, so inside a container PID namespace our pid may not be listed
    (NVIDIA/nvidia-docker#1483); then the figure is unavailable, with that reason.
    """

    def __init__(self) -> None:
        self.peak: int | None = None
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _NvmlPoller:
        try:
            import pynvml

            from bench.measure.energy import visible_gpu

            pynvml.nvmlInit()
            # TensorFlow's GPU:0 is NVML's GPU named by CUDA_VISIBLE_DEVICES, not NVML's index 0
            which = visible_gpu(0, os.environ.get("CUDA_VISIBLE_DEVICES"))
            if isinstance(which, str):
                self._handle = pynvml.nvmlDeviceGetHandleByUUID(which)
            else:
                self._handle = pynvml.nvmlDeviceGetHandleByIndex(which)
            self._pynvml = pynvml
        except Exception as exc:  # no driver: the caller records the reason
            self.reason = f"NVML is not available ({type(exc).__name__})"
            return self
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        pid = os.getpid()
        for proc in self._pynvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
            if proc.pid == pid and proc.usedGpuMemory is not None:
                self.peak = max(self.peak or 0, int(proc.usedGpuMemory))

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._sample()
        self._pynvml.nvmlShutdown()
        if self.peak is None:
            self.reason = (
                "NVML lists no memory for this process id (a container PID namespace hides it)"
            )


class MeasurePeaks:
    """Context manager: resets the peaks on entry, reads them on exit into `self.result`."""

    def __init__(self) -> None:
        self.result = MemoryPeaks()

    def __enter__(self) -> MeasurePeaks:
        import tensorflow as tf

        self._gpus = tf.config.list_logical_devices("GPU")
        if self._gpus:
            tf.config.experimental.reset_memory_stats("GPU:0")
        self._poller = _NvmlPoller().__enter__() if self._gpus else None
        reset_host_high_water()
        return self

    def __exit__(self, *exc: object) -> None:
        import tensorflow as tf

        result = self.result
        if self._gpus:
            result.peak_gpu_memory_bytes = int(
                tf.config.experimental.get_memory_info("GPU:0")["peak"]
            )
            self._poller.__exit__(None, None, None)
            result.gpu_process_memory_bytes = self._poller.peak
            if self._poller.peak is None:
                result.unavailable["gpu_process_memory_bytes"] = self._poller.reason or "unknown"
        else:
            reason = "no GPU is visible to TensorFlow on this machine"
            result.unavailable["peak_gpu_memory_bytes"] = reason
            result.unavailable["gpu_process_memory_bytes"] = reason
        result.peak_host_memory_bytes = host_rss_high_water_bytes()
        if result.peak_host_memory_bytes is None:
            result.unavailable["peak_host_memory_bytes"] = "/proc/self/status is not readable here"


MEMORY_KEYS = ("peak_gpu_memory_bytes", "gpu_process_memory_bytes", "peak_host_memory_bytes")


def one_step_peaks(
    model: Any, recipe: Any, *, inference_batch: int, num_classes: int
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """Peaks over one inference at `inference_batch` and one training step at the recipe's batch.

    Returns:
        (figures, unavailable, error): the three memory figures (None where unreadable), the
        reasons for the None ones, and one sentence when the step ran out of memory (then every
        figure is None with that sentence as its reason).
    """
    import tensorflow as tf

    from bench.measure import timing

    try:
        with MeasurePeaks() as peaks:
            timing.inference(model, batch_size=inference_batch, xla=False).call()
            timing.train_step(model, recipe, num_classes=num_classes, xla=False).call()
    except tf.errors.ResourceExhaustedError:
        message = (
            f"{model.name} ran out of memory at inference batch {inference_batch} or training "
            f"batch {recipe.batch_size}; rerun with a smaller --throughput-batch."
        )
        return dict.fromkeys(MEMORY_KEYS), dict.fromkeys(MEMORY_KEYS, message), message
    result = peaks.result
    figures = {key: getattr(result, key) for key in MEMORY_KEYS}
    return figures, dict(result.unavailable), None
