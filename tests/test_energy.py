"""Energy from hardware counters (bench/measure/energy.py), driven by fakes.

Every expected joule figure below is computed by hand in the test from the fake's watts and
seconds, or from the counter values written into a fake powercap tree; none comes from the code
under test. One test checks this real machine (no GPU, no /sys/class/powercap): `None` with a
reason, never 0.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from bench.measure import energy
from bench.measure.energy import CounterSet, EnergyWindow, detect_counters, measure_energy

# A RAPL package's wrap range as real Intel server parts report it (max_energy_range_uj).
MAX_RANGE_UJ = 262_143_328_850


class FakeDevice:
    """A fake clock and a fake cumulative energy counter that move together.

    `sleep(s)` is the idle baseline (the device draws `idle_watts`); `work(s)` is the device
    busy at `busy_watts`. Times and watts are chosen so that every sum is exact in binary.
    It satisfies the `Counter` protocol itself.
    """

    def __init__(
        self,
        *,
        idle_watts: float,
        busy_watts: float,
        start_joules: float = 0.0,
        update_period_s: float = 0.1,
        source: str = "nvml_counter",
    ) -> None:
        self.now = 1000.0
        self.joules = start_joules
        self.idle_watts = idle_watts
        self.busy_watts = busy_watts
        self.update_period_s = update_period_s
        self.source = source
        self.device = "fake GPU"
        self.max_joules: float | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.joules += self.idle_watts * seconds

    def work(self, seconds: float) -> None:
        self.now += seconds
        self.joules += self.busy_watts * seconds

    def read_joules(self) -> float:
        return self.joules


def fake_pynvml(device: FakeDevice, *, energy_error: str | None = None) -> types.ModuleType:
    """A stand-in for nvidia-ml-py's `pynvml`: one Volta+ GPU whose counter is `device`'s, in mJ."""
    module = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):  # pynvml's own class name
        pass

    errors = {"not_supported": NVMLError_NotSupported("Not Supported"), "other": NVMLError("Gone")}
    module.NVMLError = NVMLError
    module.NVMLError_NotSupported = NVMLError_NotSupported
    module.events = []

    def total_energy_mj(handle: object) -> int:
        if energy_error is not None:
            raise errors[energy_error]
        return round(device.read_joules() * 1000)

    module.nvmlInit = lambda: module.events.append("init")
    module.nvmlShutdown = lambda: module.events.append("shutdown")
    module.nvmlDeviceGetHandleByIndex = lambda index: ("handle", index)
    module.nvmlDeviceGetName = lambda handle: "NVIDIA H100 80GB HBM3"
    module.nvmlDeviceGetTotalEnergyConsumption = total_energy_mj
    return module


def write_zone(root: Path, zone: str, *, name: str, energy_uj: int | None = None) -> Path:
    path = root / zone
    path.mkdir(parents=True)
    (path / "name").write_text(f"{name}\n")
    (path / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    if energy_uj is not None:
        (path / "energy_uj").write_text(f"{energy_uj}\n")
    return path


def test_inference_energy_is_the_counter_difference_with_idle_subtracted():
    device = FakeDevice(idle_watts=50.0, busy_watts=300.0, start_joules=123_456.0)
    result = measure_energy(
        lambda: device.work(0.25),
        min_window_s=5.0,
        idle_s=2.0,
        counters=device,
        clock=device.clock,
        sleep=device.sleep,
    )
    # 5.0 s / 0.25 s per call = 20 calls; 300 W x 5 s = 1500 J; idle 50 W x 2 s / 2 s = 50 W,
    # over the 5 s window 250 J; net 1500 - 250 = 1250 J.
    assert result.calls == 20
    assert result.window_s == 5.0
    assert result.joules == 1500.0
    assert result.idle_s == 2.0
    assert result.idle_watts == 50.0
    assert result.idle_joules == 250.0
    assert result.net_joules == 1250.0
    assert result.unavailable == {}
    assert result.source == "nvml_counter"
    assert result.device == "fake GPU"
    assert result.update_period_s == 0.1
    # Per 1,000 inferences: 1500 J / 20 calls x 1000 = 75,000 J; with 32 images a call,
    # 1500 / 640 x 1000 = 2343.75 J gross and 1250 / 640 x 1000 = 1953.125 J net.
    assert result.joules_per_1000() == 75_000.0
    assert result.joules_per_1000(items_per_call=32) == 2343.75
    assert result.joules_per_1000(items_per_call=32, net=True) == 1953.125


def test_nvml_counter_is_detected_through_a_fake_pynvml(monkeypatch: pytest.MonkeyPatch):
    device = FakeDevice(idle_watts=60.0, busy_watts=400.0, start_joules=5_000.0)
    module = fake_pynvml(device)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    found = detect_counters(kind="gpu")
    assert found.unavailable is None
    (counter,) = found.counters
    assert counter.source == "nvml_counter"
    assert counter.device == "GPU 0: NVIDIA H100 80GB HBM3"
    assert counter.max_joules is None
    assert counter.update_period_s == 0.1
    # The fake NVML reports 5,000 J as 5,000,000 mJ; the counter must give joules back.
    assert counter.read_joules() == 5_000.0
    assert module.events == ["init"]  # NVML stays initialised while the counter is in use


def test_nvml_window_from_millijoule_readings(monkeypatch: pytest.MonkeyPatch):
    device = FakeDevice(idle_watts=60.0, busy_watts=400.0, start_joules=5_000.0)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(device))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    counters = detect_counters(kind="gpu")

    result = measure_energy(
        lambda: device.work(0.5),
        min_window_s=3.0,
        idle_s=1.5,
        counters=counters,
        clock=device.clock,
        sleep=device.sleep,
    )
    # The fake NVML says 5,000,000 mJ at the start. Idle: 60 W x 1.5 s = 90 J (90,000 mJ),
    # 60 W. Window: 6 calls x 0.5 s = 3 s at 400 W = 1200 J; idle over it 60 x 3 = 180 J.
    assert result.calls == 6
    assert result.joules == 1200.0
    assert result.idle_watts == 60.0
    assert result.idle_joules == 180.0
    assert result.net_joules == 1020.0
    assert result.device == "GPU 0: NVIDIA H100 80GB HBM3"


def test_nvml_without_energy_api_gives_the_reason(monkeypatch: pytest.MonkeyPatch):
    module = fake_pynvml(FakeDevice(idle_watts=1, busy_watts=1), energy_error="not_supported")
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    found = detect_counters(kind="gpu")
    assert found.counters == ()
    assert "Volta" in found.unavailable
    assert module.events == ["init", "shutdown"]


def test_missing_pynvml_gives_the_reason(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    found = detect_counters(kind="gpu")
    assert found.counters == ()
    assert "pynvml" in found.unavailable and "not installed" in found.unavailable


def test_nvml_counter_going_down_is_refused_not_unwrapped():
    device = FakeDevice(idle_watts=50.0, busy_watts=300.0, start_joules=9_000.0)
    window = EnergyWindow(device, idle_s=0, clock=device.clock, sleep=device.sleep)
    with window:
        device.work(10.0)
        device.joules = 20.0  # the driver reloaded: NVML counts from 0 again
    result = window.result
    assert result.joules is None
    assert result.net_joules is None
    # NVML does not wrap, so nothing polls it: the readings are the two ends, 9000 J and 20 J.
    assert "went down from 9000.0 J to 20.0 J" in result.unavailable["joules"]
    assert result.unavailable["net_joules"] == result.unavailable["joules"]
    assert result.window_s == 10.0


def test_training_window_as_a_context_manager():
    device = FakeDevice(idle_watts=40.0, busy_watts=250.0, start_joules=777.0)
    syncs = []
    window = EnergyWindow(
        device,
        idle_s=1.0,
        sync=lambda: syncs.append(device.now),
        clock=device.clock,
        sleep=device.sleep,
    )
    with pytest.raises(RuntimeError, match="before the window ended"):
        _ = window.result
    with window as opened:
        assert opened is window
        device.work(60.0)
    result = window.result
    # Idle 40 W for 1 s; training 250 W x 60 s = 15,000 J; idle over 60 s = 2,400 J.
    assert result.idle_watts == 40.0
    assert result.window_s == 60.0
    assert result.joules == 15_000.0
    assert result.idle_joules == 2_400.0
    assert result.net_joules == 12_600.0
    assert result.calls is None
    # Synced before the idle baseline (t = 1000) and before the last reading (t = 1061).
    assert syncs == [1000.0, 1061.0]


def test_window_shorter_than_ten_counter_updates_is_refused():
    # NVML updates every 0.1 s, so a window needs 1 s; this one is 0.0625 s (exact in binary),
    # shorter than a single update, where a real counter would often read 0 J.
    device = FakeDevice(idle_watts=50.0, busy_watts=300.0)
    result = measure_energy(
        lambda: device.work(0.0625),
        min_window_s=0.0625,
        idle_s=0,
        counters=device,
        clock=device.clock,
        sleep=device.sleep,
    )
    assert result.calls == 1
    assert result.window_s == 0.0625
    assert result.joules is None
    assert "shorter than 10 updates" in result.unavailable["joules"]
    assert result.joules_per_1000() is None


def test_window_of_exactly_ten_updates_is_accepted():
    device = FakeDevice(idle_watts=50.0, busy_watts=300.0)
    result = measure_energy(
        lambda: device.work(0.25),
        min_window_s=1.0,
        idle_s=0,
        counters=device,
        clock=device.clock,
        sleep=device.sleep,
    )
    assert result.joules == 300.0  # 4 calls x 0.25 s x 300 W


def test_short_idle_baseline_is_refused_but_the_window_is_kept():
    device = FakeDevice(idle_watts=50.0, busy_watts=300.0)
    result = measure_energy(
        lambda: device.work(0.5),
        min_window_s=2.0,
        idle_s=0.5,  # < 1 s = 10 NVML updates
        counters=device,
        clock=device.clock,
        sleep=device.sleep,
    )
    assert result.joules == 600.0  # 300 W x 2 s
    assert result.idle_s == 0.5
    assert result.idle_watts is None and result.idle_joules is None and result.net_joules is None
    assert "idle baseline lasted 0.5 s" in result.unavailable["idle_watts"]
    assert result.unavailable["net_joules"] == result.unavailable["idle_joules"]


def test_stuck_counter_is_refused_not_reported_as_zero():
    device = FakeDevice(idle_watts=0.0, busy_watts=0.0, start_joules=42.0)
    result = measure_energy(
        lambda: device.work(1.0),
        min_window_s=5.0,
        idle_s=2.0,
        counters=device,
        clock=device.clock,
        sleep=device.sleep,
    )
    assert result.joules is None and result.idle_watts is None
    assert "did not advance" in result.unavailable["joules"]
    assert "did not advance" in result.unavailable["idle_watts"]


def test_rapl_tree_detects_packages_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    write_zone(tmp_path, "intel-rapl:1", name="package-1", energy_uj=1_000_000)
    write_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=262_143_000_000)
    write_zone(tmp_path, "intel-rapl:0:0", name="core", energy_uj=5)  # inside package-0
    write_zone(tmp_path, "intel-rapl:2", name="psys", energy_uj=7)  # spans the platform
    write_zone(tmp_path, "intel-rapl-mmio:0", name="package-0", energy_uj=9)  # same package

    found = detect_counters(powercap_root=tmp_path)
    assert found.unavailable is None
    assert [c.device for c in found.counters] == [
        "CPU package-0 (RAPL intel-rapl:0)",
        "CPU package-1 (RAPL intel-rapl:1)",
    ]
    assert all(c.source == "rapl" for c in found.counters)
    assert found.counters[0].max_joules == 262_143.32885


def test_rapl_wraparound_and_packages_summed(tmp_path: Path):
    zone0 = write_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=262_143_000_000)
    zone1 = write_zone(tmp_path, "intel-rapl:1", name="package-1", energy_uj=1_000_000)
    found = detect_counters(kind="cpu", powercap_root=tmp_path)
    clock = FakeDevice(idle_watts=0, busy_watts=0)

    window = EnergyWindow(found, idle_s=0, clock=clock.clock, sleep=clock.sleep)
    with window:
        clock.now += 1.0
        (zone0 / "energy_uj").write_text("500000\n")  # wrapped past 262,143,328,850 µJ
        (zone1 / "energy_uj").write_text("3500000\n")
    result = window.result
    # package-0: (262,143,328,850 - 262,143,000,000) + 500,000 = 828,850 µJ = 0.82885 J.
    # package-1: 3,500,000 - 1,000,000 = 2,500,000 µJ = 2.5 J. Sum 3.32885 J.
    # abs 1 nJ: float joules near 262,143 J keep ~1e-11 J, far below RAPL's ~15 µJ step.
    assert result.joules == pytest.approx(3.32885, abs=1e-9)
    assert result.source == "rapl"
    assert result.device == "CPU package-0 (RAPL intel-rapl:0); CPU package-1 (RAPL intel-rapl:1)"
    assert result.update_period_s == 0.001
    reason = "no idle baseline was requested (idle_s=0)"
    assert result.unavailable == {
        "idle_s": reason,
        "idle_watts": reason,
        "idle_joules": reason,
        "net_joules": reason,
    }


def test_rapl_missing_or_unreadable_gives_the_reason(tmp_path: Path):
    missing = detect_counters(kind="cpu", powercap_root=tmp_path / "powercap")
    assert missing.counters == ()
    assert "does not exist" in missing.unavailable

    zone = write_zone(tmp_path, "intel-rapl:0", name="package-0")
    (zone / "energy_uj").mkdir()  # unreadable as a file, as a root-only file is for non-root
    unreadable = detect_counters(kind="cpu", powercap_root=tmp_path)
    assert unreadable.counters == ()
    assert "not readable" in unreadable.unavailable


class ScriptedCounter:
    """Returns `script` one value per read, then the last value forever."""

    source = "rapl"
    device = "scripted package"
    update_period_s = 0.001

    def __init__(self, script: list[float], max_joules: float) -> None:
        self.script = script
        self.max_joules = max_joules
        self.reads = 0
        self.lock = threading.Lock()

    def read_joules(self) -> float:
        with self.lock:
            value = self.script[min(self.reads, len(self.script) - 1)]
            self.reads += 1
            return value


def test_poller_catches_several_wraps_in_one_window():
    # A counter wrapping at 2 J, so the poller reads it every 2 / 2000 = 1 ms.
    counter = ScriptedCounter([1.5, 0.5, 1.9, 0.2, 1.0, 0.1], max_joules=2.0)
    with EnergyWindow(counter, idle_s=0) as window:
        deadline = time.monotonic() + 10.0
        while counter.reads < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    # 1.5->0.5 wraps: 0.5 + 0.5 = 1.0; 0.5->1.9: 1.4; 1.9->0.2 wraps: 0.1 + 0.2 = 0.3;
    # 0.2->1.0: 0.8; 1.0->0.1 wraps: 1.0 + 0.1 = 1.1. Total 4.6 J (the ends alone: 0.6 J).
    assert window.result.joules == pytest.approx(4.6, rel=1e-12)


def test_wrap_poll_interval():
    big = ScriptedCounter([0.0], max_joules=262_143.32885)
    small = ScriptedCounter([0.0], max_joules=4_294.967295)  # a 32-bit µJ counter
    assert energy.wrap_poll_interval_s([big]) == 10.0  # 262,143 J / 2 kJ = 131 s, capped at 10
    assert energy.wrap_poll_interval_s([big, small]) == pytest.approx(2.1474836475, rel=1e-12)
    assert energy.wrap_poll_interval_s([FakeDevice(idle_watts=0, busy_watts=0)]) is None


@pytest.mark.parametrize(
    ("index", "env", "expected"),
    [(0, None, 0), (1, None, 1), (0, "2,3", 2), (1, "GPU-abc, 3", 3), (0, "GPU-abc", "GPU-abc")],
)
def test_visible_gpu_maps_tensorflow_numbers_to_nvml(index, env, expected):
    assert energy.visible_gpu(index, env) == expected


@pytest.mark.parametrize(("index", "env"), [(0, ""), (2, "0,1"), (0, "MIG-1234")])
def test_visible_gpu_refuses_what_nvml_cannot_read(index, env):
    with pytest.raises(ValueError):
        energy.visible_gpu(index, env)


def test_counter_set_has_counters_or_a_reason():
    with pytest.raises(ValueError):
        CounterSet()
    with pytest.raises(ValueError):
        CounterSet(counters=(FakeDevice(idle_watts=0, busy_watts=0),), unavailable="why")


@pytest.mark.skipif(
    Path("/sys/class/powercap").exists() or shutil.which("nvidia-smi") is not None,
    reason="this machine has an energy counter",
)
def test_this_machine_has_no_counter_so_every_figure_is_null_with_a_reason():
    found = detect_counters()
    assert found.counters == ()
    assert "NVML" in found.unavailable and "/sys/class/powercap does not exist" in found.unavailable

    called = []
    result = measure_energy(lambda: called.append(1), min_window_s=5.0, idle_s=5.0)
    assert called == []  # no counter: the inference is not run for nothing
    assert result.calls is None and result.source is None and result.device is None
    for key in energy.FIGURES:
        assert getattr(result, key) is None
        assert result.unavailable[key] == found.unavailable
    assert result.joules_per_1000() is None


def test_import_needs_neither_tensorflow_nor_pynvml_nor_zeus():
    code = (
        "import sys; sys.modules['pynvml'] = None; sys.modules['zeus'] = None\n"
        "import bench.measure.energy as e\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
        "print(e.detect_counters(kind='gpu').unavailable)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert "not installed" in out[1]
