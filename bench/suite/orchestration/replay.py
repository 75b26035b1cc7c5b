"""pytest-benchmark's timer for samples already measured in interleaved rounds.

Every timed scenario is measured by `bench.suite.orchestration.stages` before pytest-benchmark sees
it: one interleaved session over all models. Each model still gets its own pytest-benchmark entry
(`bench/test_suite.py`), so `--benchmark-json`, the terminal table and `pytest-benchmark compare`
read the samples as any benchmark's. This module hands them over through pytest-benchmark's
public surface only:

- `--benchmark-timer` (a documented option: "a dotted name of a function returning a time")
  names `CLOCK` for the run (`use_replay_clock`, from `pytest_configure`). Outside `replay`, the
  clock is `time.perf_counter`, so any other benchmark is timed as usual.
- `replay` runs `benchmark.pedantic` (the documented way to fix rounds and iterations) with one
  round per sample, one iteration, no warm-up; pytest-benchmark reads the timer once before and
  once after each round, and `CLOCK` advances by the next sample between the two reads, so each
  round's duration is exactly that sample, and `stats.data` holds the samples in order.

Why not the alternatives: assigning the fixture's private `_timer` (what this replaced) breaks
silently when pytest-benchmark renames it; rewriting `stats` in `pytest_benchmark_update_json`
would leave the terminal table and `compare --histogram` with the no-op's timings; sleeping for
each sample would take the session's time again. The remaining assumption, two reads per round,
is checked: `replay` raises when the clock was read any other number of times (a
pytest-benchmark that changed how it reads timers, or a run whose timer is not `CLOCK`), rather
than store samples that are not the measured ones. `tests/test_interleave.py` checks it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

# What `--benchmark-timer` is set to (the JSON's `options.timer` says the clock's `__name__`).
TIMER = "bench.suite.orchestration.replay.interleaved_rounds"
_DEFAULT_TIMER = "time.perf_counter"  # pytest-benchmark's default (pytest_benchmark.timers)


class ReplayClock:
    """`time.perf_counter`, except inside `replaying`: then each second read advances the clock
    by the next stored sample."""

    __name__ = "perf_counter (interleaved rounds)"  # `options.timer` in the JSON

    def __init__(self) -> None:
        self._samples: Sequence[float] | None = None
        self._reads = 0
        self._clock = 0.0

    def __call__(self) -> float:
        if self._samples is None:
            return time.perf_counter()
        if self._reads % 2:
            self._clock += self._samples[self._reads // 2]
        self._reads += 1
        return self._clock

    @contextlib.contextmanager
    def replaying(self, samples: Sequence[float]) -> Iterator[None]:
        """Give back `samples`, one per pair of reads, until the block ends.

        Raises:
            RuntimeError: the clock was not read exactly twice per sample (the samples were not
                stored as measured).
        """
        self._samples, self._reads, self._clock = list(samples), 0, 0.0
        try:
            yield
        finally:
            reads, self._samples = self._reads, None
        if reads != 2 * len(samples):
            raise RuntimeError(
                f"pytest-benchmark read the timer {reads} times for {len(samples)} samples "
                f"(expected {2 * len(samples)}); is --benchmark-timer {TIMER}?"
            )

    def __repr__(self) -> str:
        return TIMER


CLOCK = ReplayClock()
interleaved_rounds = CLOCK  # the name `TIMER` imports


class TimerOptionError(ValueError):
    """A `--benchmark-timer` the suite cannot honour."""


def use_replay_clock(option: Any) -> None:
    """Make `CLOCK` pytest-benchmark's timer (`option.benchmark_timer`); call it before
    pytest-benchmark's own `pytest_configure` reads the option (it runs last).

    Raises:
        TimerOptionError: the user named another timer (the suite's samples are timed in its
            own rounds, so another timer would change nothing but the label).
    """
    given = getattr(option, "benchmark_timer", None)
    # pytest-benchmark stores a given timer as its name: ours ends with the clock's `__name__`
    if given in (None, _DEFAULT_TIMER, TIMER) or str(given).endswith(CLOCK.__name__):
        option.benchmark_timer = TIMER
        return
    raise TimerOptionError(
        f"--benchmark-timer {given} cannot apply: the suite times its samples itself, in "
        "interleaved rounds (bench.suite.orchestration.replay); leave the option out."
    )


def replay(benchmark: Any, samples: Sequence[float]) -> None:
    """Give the benchmark fixture one point's samples, one round each (module docstring)."""
    if not benchmark.enabled:  # --benchmark-disable: nothing is recorded
        return
    with CLOCK.replaying(samples):
        benchmark.pedantic(lambda: None, rounds=len(samples), iterations=1, warmup_rounds=0)
