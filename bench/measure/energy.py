"""Energy of a window of work, in joules, read from a hardware energy counter.

The claim: `joules` is the difference of a cumulative hardware energy counter read at the window's
two ends (docs/measurement.md §10), never sampled power times time and never a TDP estimate.
Sources:

- `nvml_counter`: NVML's total-energy counter (`nvmlDeviceGetTotalEnergyConsumption`, mJ since
  the driver loaded, Volta and newer), which updates about every 100 ms. It covers the whole GPU,
  not only this process.
- `rapl`: Linux powercap RAPL package zones (`intel-rapl:N/energy_uj`, µJ), which update about
  every 1 ms and wrap at `max_energy_range_uj`. They cover whole CPU sockets.

A window shorter than `MIN_UPDATE_PERIODS` counter update periods is refused: a counter read at
both ends is late by up to one update period at each end, so shorter windows read 0 J or a figure
dominated by that step. A counter that did not advance is refused too: a powered device never
draws 0 J. The idle baseline is measured over `idle_s` seconds BEFORE the window, and
`net_joules = joules - idle_watts * window_s`. Every figure that cannot be measured is `None`, with
one sentence in `unavailable[key]`, as in the rest of the suite (docs/contract.md).

Why not the `zeus` package (PyPI 0.16, `ZeusMonitor`) although it wraps both counters: installing
it adds 14 packages this project does not otherwise need (scikit-learn, joblib, threadpoolctl,
narwhals, amdsmi, httpx, httpcore, h11, anyio, tyro, typeguard, docstring_parser, cloudpickle,
typing_extensions); it has no TensorFlow synchronisation (`sync_execution_with` accepts only
torch, jax or cupy, so we would sync by hand anyway); its RAPL path is a module constant
(`zeus.device.cpu.rapl.RAPL_DIR`) behind a cached availability check, so it cannot be pointed at a
fake powercap tree; and it counts RAPL wraparounds in a spawned child process per zone, an extra
process competing with the model on a 2-core box. The two counters are a few lines each over
nvidia-ml-py (already a dependency) and sysfs, so this module reads them itself.

How it is checked: `tests/test_energy.py` drives every path with injected fakes (a fake clock, a
fake counter, a fake `pynvml` module, a fake powercap tree in `tmp_path`) against hand-computed
joules, and checks that this GPU-less, RAPL-less machine yields `None` with a reason. Nothing here
has been run against a real GPU or a real RAPL tree yet.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")

MIN_UPDATE_PERIODS = 10
"""A window (or idle period) must span at least this many counter updates: the counter lags by up
to one update period at each end, so the figure is then off by at most about a tenth."""

# docs/measurement.md §10: NVML's energy counter updates about every 100 ms
NVML_UPDATE_PERIOD_S = 0.1
# RAPL's energy status updates about every 1 ms (Hähnel et al. 2012, 'Measuring energy
# consumption for short code paths using RAPL'); not verified here, this box has no RAPL.
RAPL_UPDATE_PERIOD_S = 0.001

_ASSUMED_MAX_WATTS = 1000.0
"""Upper bound on one RAPL package's draw, used only to choose how often to poll for wraparounds
(zeus assumes the same 1 kW)."""

FIGURES = ("window_s", "joules", "idle_s", "idle_watts", "idle_joules", "net_joules")
"""The numeric fields of `EnergyMeasurement`; each is either a number or has an `unavailable`
entry."""


class Counter(Protocol):
    """One cumulative energy counter.

    Attributes:
        source: Where the figure comes from (`"nvml_counter"`, `"rapl"`, ...).
        device: The hardware the counter covers, in words.
        max_joules: The reading at which the counter wraps back to 0, or `None` when it never
            wraps in practice (then a decrease is refused as a reset, not unwrapped).
        update_period_s: How often the counter's value changes.
    """

    source: str
    device: str
    max_joules: float | None
    update_period_s: float

    def read_joules(self) -> float:
        """Return the counter's current reading in joules."""
        ...


@dataclass(frozen=True)
class CounterSet:
    """The counters that together cover one device (one per CPU socket for RAPL), or why none.

    Attributes:
        counters: Counters of one source; their energies are summed.
        unavailable: One sentence saying why there is no counter; `None` when `counters` is set.
    """

    counters: tuple[Counter, ...] = ()
    unavailable: str | None = None

    def __post_init__(self) -> None:
        if bool(self.counters) == (self.unavailable is not None):
            raise ValueError("a CounterSet has either counters or a reason, not both or neither")
        if len({counter.source for counter in self.counters}) > 1:
            raise ValueError("a CounterSet sums counters of one source only")


@dataclass
class EnergyMeasurement:
    """Energy over one window, in SI units, unrounded.

    Attributes:
        source: The counter's source (`"nvml_counter"`, `"rapl"`); `None` when there is none.
        device: The hardware the figures describe; `None` when there is no counter.
        window_s: Duration of the window, by `time.perf_counter`.
        joules: Gross energy of the device over the window (all its consumers, not only us).
        idle_s: Duration of the idle baseline measured just before the window.
        idle_watts: Mean power over that idle baseline.
        idle_joules: `idle_watts * window_s`: what the device would have drawn idle over the window.
        net_joules: `joules - idle_joules`; can be slightly negative when the work barely shows.
        update_period_s: The slowest counter's update period; the counter's granularity alone
            makes `joules` uncertain by about `update_period_s / window_s` of itself.
        calls: How many times `measure_energy` called the function; `None` for `EnergyWindow`.
        unavailable: `{figure: reason}` for every figure in `FIGURES` that is `None`.
    """

    source: str | None = None
    device: str | None = None
    window_s: float | None = None
    joules: float | None = None
    idle_s: float | None = None
    idle_watts: float | None = None
    idle_joules: float | None = None
    net_joules: float | None = None
    update_period_s: float | None = None
    calls: int | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (the record's `energy` entries, docs/energy.md)."""
        return asdict(self)

    def joules_per_1000(self, *, items_per_call: int = 1, net: bool = False) -> float | None:
        """Energy per 1,000 items (inferences), from a `measure_energy` result.

        Args:
            items_per_call: Items one call processes (the batch size).
            net: Use `net_joules` instead of gross `joules`.

        Returns:
            `joules / (calls * items_per_call) * 1000`, or `None` when either is unknown.
        """
        joules = self.net_joules if net else self.joules
        if joules is None or not self.calls:
            return None
        return joules / (self.calls * items_per_call) * 1000.0


class _Integrator:
    """Sums the increments of several counters, unwrapping each at its `max_joules`.

    `sample()` may be called from a polling thread and from the caller; a lock keeps the
    last readings consistent. A decrease on a counter without a wrap range records an error
    instead of a figure.
    """

    def __init__(self, counters: Sequence[Counter]) -> None:
        self._counters = tuple(counters)
        self._lock = threading.Lock()
        self._last = [counter.read_joules() for counter in self._counters]
        self._totals = [0.0] * len(self._counters)
        self.error: str | None = None

    def sample(self) -> None:
        """Read every counter once and add its increment since the previous reading."""
        with self._lock:
            for i, counter in enumerate(self._counters):
                reading = counter.read_joules()
                self._totals[i] += _increment(
                    previous=self._last[i], current=reading, max_joules=counter.max_joules
                )
                self._last[i] = reading

    def totals(self) -> list[float]:
        """Joules accumulated per counter so far."""
        with self._lock:
            return list(self._totals)


def _increment(*, previous: float, current: float, max_joules: float | None) -> float:
    """Energy between two readings of one counter, allowing one wrap between them.

    Raises:
        _CounterReset: The reading went down on a counter that does not wrap.
    """
    if current >= previous:
        return current - previous
    if max_joules is None:
        raise _CounterReset(
            f"the counter went down from {previous} J to {current} J and does not wrap "
            "(driver reload or GPU reset during the window?)"
        )
    return max_joules - previous + current


class _CounterReset(Exception):
    """A non-wrapping counter went down; the message is the reason recorded."""


class _Poller:
    """Samples an integrator every `interval_s` on a daemon thread, so no wrap is missed."""

    def __init__(self, integrator: _Integrator, interval_s: float) -> None:
        self._integrator = integrator
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="energy-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._integrator.sample()
            except _CounterReset as exc:
                self._integrator.error = str(exc)
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wrap_poll_interval_s(counters: Sequence[Counter], *, poll_s: float = 10.0) -> float | None:
    """How often to read wrapping counters so that no counter wraps twice between readings.

    Args:
        counters: The counters of one window.
        poll_s: The longest interval wanted.

    Returns:
        `min(poll_s, max_joules / (2 * 1 kW))` over wrapping counters, or `None` when no counter
        wraps (then only the window's ends are read).
    """
    ranges = [c.max_joules for c in counters if c.max_joules is not None]
    if not ranges:
        return None
    return min(poll_s, min(ranges) / (2.0 * _ASSUMED_MAX_WATTS))


class EnergyWindow:
    """Energy of whatever runs between `begin()` and `end()`, e.g. one training run.

    `begin()` first measures the idle baseline (the process sleeps for `idle_s`), then opens the
    window. As a context manager: `with EnergyWindow() as window: fit(...)`, then
    `window.result`. The body runs whether or not a counter exists; without one, every figure
    is `None` with the reason.

    Args:
        counters: The counters to read; `None` detects them (`detect_counters()`).
        idle_s: Seconds of idle baseline before the window; 0 skips it.
        sync: Called before every reading so that queued device work has finished (for
            TensorFlow on a GPU: `tf.test.experimental.sync_devices`).
        poll_s: Longest interval between readings of a wrapping counter (RAPL).
        clock: Seconds, monotonic; injectable for tests.
        sleep: Sleeps for the idle baseline; injectable for tests.
    """

    def __init__(
        self,
        counters: CounterSet | Counter | None = None,
        *,
        idle_s: float = 5.0,
        sync: Callable[[], object] | None = None,
        poll_s: float = 10.0,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if idle_s < 0:
            raise ValueError(f"idle_s must be >= 0, got {idle_s}")
        self._counter_set = _as_counter_set(counters)
        self._idle_s = idle_s
        self._sync = sync
        self._poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._result: EnergyMeasurement | None = None
        self._begun = False

    def begin(self) -> None:
        """Measure the idle baseline, then start the window."""
        if self._begun:
            raise RuntimeError("this EnergyWindow has already begun; make a new one per window")
        self._begun = True
        counters = self._counter_set.counters
        self._draft = EnergyMeasurement()
        if not counters:
            reason = self._counter_set.unavailable or "no energy counter"
            self._draft.unavailable = dict.fromkeys(FIGURES, reason)
            return
        self._draft.source = counters[0].source
        self._draft.device = "; ".join(counter.device for counter in counters)
        self._draft.update_period_s = max(counter.update_period_s for counter in counters)
        self._sync_device()
        self._measure_idle(counters)
        self._integrator = _Integrator(counters)
        self._start = self._clock()
        interval = wrap_poll_interval_s(counters, poll_s=self._poll_s)
        self._poller = _Poller(self._integrator, interval) if interval is not None else None

    def end(self) -> EnergyMeasurement:
        """Close the window and return its measurement (also kept in `result`)."""
        if not self._begun:
            raise RuntimeError("EnergyWindow.end() called before begin()")
        if self._result is not None:
            return self._result
        result = self._draft
        if not self._counter_set.counters:
            self._result = result
            return result
        self._sync_device()
        if self._poller is not None:
            self._poller.stop()
        try:
            self._integrator.sample()
        except _CounterReset as exc:
            self._integrator.error = self._integrator.error or str(exc)
        result.window_s = self._clock() - self._start
        reason = self._integrator.error or _refusal(
            totals=self._integrator.totals(),
            seconds=result.window_s,
            update_period_s=result.update_period_s or 0.0,
            what="window",
        )
        if reason is None:
            result.joules = sum(self._integrator.totals())
        else:
            result.unavailable["joules"] = reason
        if result.idle_watts is not None:
            result.idle_joules = result.idle_watts * result.window_s
        if result.joules is None:
            result.unavailable["net_joules"] = result.unavailable["joules"]
        elif result.idle_joules is None:
            result.unavailable["net_joules"] = result.unavailable["idle_joules"]
        else:
            result.net_joules = result.joules - result.idle_joules
        self._result = result
        return result

    @property
    def has_counter(self) -> bool:
        """Whether there is a counter to read (otherwise every figure will be `None`)."""
        return bool(self._counter_set.counters)

    @property
    def result(self) -> EnergyMeasurement:
        """The measurement, once `end()` has run."""
        if self._result is None:
            raise RuntimeError("EnergyWindow.result is read before the window ended")
        return self._result

    def __enter__(self) -> EnergyWindow:
        self.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def _sync_device(self) -> None:
        if self._sync is not None:
            self._sync()

    def _measure_idle(self, counters: Sequence[Counter]) -> None:
        draft = self._draft
        if self._idle_s == 0:
            reason = "no idle baseline was requested (idle_s=0)"
            for key in ("idle_s", "idle_watts", "idle_joules"):
                draft.unavailable[key] = reason
            return
        integrator = _Integrator(counters)
        start = self._clock()
        interval = wrap_poll_interval_s(counters, poll_s=self._poll_s)
        poller = _Poller(integrator, interval) if interval is not None else None
        self._sleep(self._idle_s)
        if poller is not None:
            poller.stop()
        try:
            integrator.sample()
        except _CounterReset as exc:
            integrator.error = integrator.error or str(exc)
        draft.idle_s = self._clock() - start
        reason = integrator.error or _refusal(
            totals=integrator.totals(),
            seconds=draft.idle_s,
            update_period_s=draft.update_period_s or 0.0,
            what="idle baseline",
        )
        if reason is None:
            draft.idle_watts = sum(integrator.totals()) / draft.idle_s
        else:
            draft.unavailable["idle_watts"] = reason
            draft.unavailable["idle_joules"] = reason


def _refusal(
    *, totals: Sequence[float], seconds: float, update_period_s: float, what: str
) -> str | None:
    """Why a counter difference is not a measurement, or `None` when it is one."""
    needed = MIN_UPDATE_PERIODS * update_period_s
    if seconds < needed:
        return (
            f"the {what} lasted {seconds:.4g} s, shorter than {MIN_UPDATE_PERIODS} updates of the "
            f"energy counter ({needed:.4g} s); lengthen it"
        )
    if any(total <= 0.0 for total in totals):
        return (
            f"the energy counter did not advance during the {seconds:.4g} s {what} "
            "(a stale or stuck counter; a powered device never draws 0 J)"
        )
    return None


def _as_counter_set(counters: CounterSet | Counter | None) -> CounterSet:
    if counters is None:
        return detect_counters()
    if isinstance(counters, CounterSet):
        return counters
    return CounterSet(counters=(counters,))


def repeat_for(fn: Callable[[], object], *, min_s: float, clock: Callable[[], float]) -> int:
    """Call `fn` until at least `min_s` seconds have passed (at least once).

    Args:
        fn: One inference; it must return only after the device has finished (read the
            result back to the host).
        min_s: The shortest window wanted.
        clock: Seconds, monotonic.

    Returns:
        How many times `fn` was called.
    """
    start = clock()
    calls = 0
    while True:
        fn()
        calls += 1
        if clock() - start >= min_s:
            return calls


def measure_energy(
    fn: Callable[[], object],
    *,
    min_window_s: float = 5.0,
    idle_s: float = 5.0,
    counters: CounterSet | Counter | None = None,
    sync: Callable[[], object] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> EnergyMeasurement:
    """Energy of repeated inference: idle baseline, then `fn` repeated for `min_window_s`.

    Energy per 1,000 inferences is `result.joules_per_1000(items_per_call=batch_size)`.
    Without a counter, `fn` is not called at all and every figure is `None` with the reason.

    Args:
        fn: One inference, warmed up already (tracing and compilation are not energy per
            inference); it must read its result back to the host.
        min_window_s: The shortest window; 5 s is 50 NVML updates, so the counter's step is
            about 2 % of the figure.
        idle_s: Seconds of idle baseline before the window; 0 skips it.
        counters: The counters to read; `None` detects them.
        sync: Called before every reading (see `EnergyWindow`).
        clock: Seconds, monotonic; injectable for tests.
        sleep: Sleeps for the idle baseline; injectable for tests.

    Returns:
        The measurement, with `calls` set when a counter exists.
    """
    if min_window_s <= 0:
        raise ValueError(f"min_window_s must be > 0, got {min_window_s}")
    window = EnergyWindow(counters, idle_s=idle_s, sync=sync, clock=clock, sleep=sleep)
    window.begin()
    calls = None
    if window.has_counter:
        calls = repeat_for(fn, min_s=min_window_s, clock=clock)
    result = window.end()
    result.calls = calls
    return result


class NvmlCounter:
    """NVML's total-energy counter of one GPU (mJ since the driver loaded; never wraps in
    practice: 2^64 mJ is 585,000 years at 1 kW)."""

    source = "nvml_counter"
    max_joules = None
    update_period_s = NVML_UPDATE_PERIOD_S

    def __init__(self, nvml: Any, handle: Any, device: str) -> None:
        self._nvml = nvml
        self._handle = handle
        self.device = device

    def read_joules(self) -> float:
        """The counter in joules."""
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1000.0


class RaplCounter:
    """One RAPL package zone of the Linux powercap tree (`energy_uj`, wrapping at
    `max_energy_range_uj`)."""

    source = "rapl"
    update_period_s = RAPL_UPDATE_PERIOD_S

    def __init__(self, zone: Path) -> None:
        """Read the zone's name and wrap range; raises OSError where they are not readable."""
        self._energy_path = zone / "energy_uj"
        name = (zone / "name").read_text(encoding="utf-8").strip()
        self.device = f"CPU {name} (RAPL {zone.name})"
        self.max_joules: float | None = _read_uj(zone / "max_energy_range_uj") / 1e6
        self.read_joules()  # energy_uj is root-only on Linux >= 5.10; fail here, not mid-run

    def read_joules(self) -> float:
        """The counter in joules."""
        return _read_uj(self._energy_path) / 1e6


def _read_uj(path: Path) -> int:
    return int(path.read_text(encoding="ascii").strip())


def visible_gpu(gpu_index: int, cuda_visible_devices: str | None) -> int | str:
    """NVML's name for TensorFlow's `GPU:gpu_index`: an NVML index or a `GPU-` UUID.

    NVML ignores `CUDA_VISIBLE_DEVICES`, so TensorFlow's first visible GPU need not be NVML's
    GPU 0. Integer entries are taken as NVML indices, which holds under
    `CUDA_DEVICE_ORDER=PCI_BUS_ID` or on a machine of one GPU model.

    Args:
        gpu_index: TensorFlow's GPU number.
        cuda_visible_devices: The environment variable's value, `None` when unset.

    Returns:
        The NVML index (int) or UUID (str).

    Raises:
        ValueError: No such visible GPU, or a MIG instance (which has no energy counter).
    """
    if cuda_visible_devices is None:
        return gpu_index
    entries = [entry.strip() for entry in cuda_visible_devices.split(",") if entry.strip()]
    if gpu_index >= len(entries):
        raise ValueError(
            f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} shows no GPU number {gpu_index}"
        )
    entry = entries[gpu_index]
    if entry.startswith("MIG-"):
        raise ValueError(f"{entry} is a MIG instance; NVML has no energy counter for MIG slices")
    return entry if entry.startswith("GPU-") else int(entry)


def _nvml_counter(gpu_index: int) -> tuple[NvmlCounter | None, str | None]:
    try:
        import pynvml
    except ImportError:
        return None, "NVML: the pynvml module (nvidia-ml-py) is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return None, f"NVML did not start ({exc}): no NVIDIA driver here"
    try:
        which = visible_gpu(gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES"))
    except ValueError as exc:
        pynvml.nvmlShutdown()
        return None, f"NVML: {exc}"
    try:
        if isinstance(which, str):
            handle = pynvml.nvmlDeviceGetHandleByUUID(which)
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(which)
        name = pynvml.nvmlDeviceGetName(handle)
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except pynvml.NVMLError as exc:
        pynvml.nvmlShutdown()
        if isinstance(exc, getattr(pynvml, "NVMLError_NotSupported", ())):
            return None, f"NVML: GPU {which} has no total-energy counter (it needs Volta or newer)"
        return None, f"NVML: GPU {which} could not be read ({exc})"
    if isinstance(name, bytes):  # nvidia-ml-py < 11.515 returns bytes
        name = name.decode()
    return NvmlCounter(pynvml, handle, device=f"GPU {which}: {name}"), None


def _rapl_counters(root: Path) -> tuple[tuple[RaplCounter, ...], str | None]:
    if not root.is_dir():
        return (), f"RAPL: {root} does not exist (no powercap driver, or a container hides it)"
    zones = []
    for zone in root.glob("intel-rapl:*"):
        # intel-rapl:N is a package or psys zone; intel-rapl:N:M are its core/uncore/dram parts,
        # which the package already counts.
        index = zone.name.removeprefix("intel-rapl:")
        if not index.isdigit():
            continue
        try:
            name = (zone / "name").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if name.startswith("package"):  # psys spans the platform and would double-count
            zones.append((int(index), zone))
    if not zones:
        return (), f"RAPL: no readable package zone (intel-rapl:N named package-N) under {root}"
    try:
        return tuple(RaplCounter(zone) for _, zone in sorted(zones)), None
    except (OSError, ValueError) as exc:
        return (), (
            f"RAPL: a package zone under {root} is not readable ({exc}); energy_uj is root-only "
            "since Linux 5.10"
        )


def detect_counters(
    *,
    kind: Literal["auto", "gpu", "cpu"] = "auto",
    gpu_index: int = 0,
    powercap_root: Path | str = DEFAULT_POWERCAP_ROOT,
) -> CounterSet:
    """The energy counters of this machine: NVML for an NVIDIA GPU, else RAPL, else the reason.

    Args:
        kind: `"gpu"` looks only for NVML, `"cpu"` only for RAPL, `"auto"` for NVML then RAPL.
        gpu_index: TensorFlow's GPU number (mapped through `CUDA_VISIBLE_DEVICES`).
        powercap_root: Where the powercap tree lives.

    Returns:
        One NVML counter, one RAPL counter per CPU package, or no counter with the reasons.
    """
    reasons = []
    if kind in ("auto", "gpu"):
        gpu, reason = _nvml_counter(gpu_index)
        if gpu is not None:
            return CounterSet(counters=(gpu,))
        reasons.append(reason)
    if kind in ("auto", "cpu"):
        rapl, reason = _rapl_counters(Path(powercap_root))
        if rapl:
            return CounterSet(counters=rapl)
        reasons.append(reason)
    return CounterSet(unavailable="no energy counter on this machine: " + "; ".join(reasons))
