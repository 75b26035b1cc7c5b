"""Progress a person can read: one line per phase, the model being worked on, k of n, time left.

Claims, checked by `tests/test_progress.py` (and on a real terminal by `tests/test_cli_tty.py`):

- On a terminal (`live`), each phase (records, load, latency, throughput, train step, report) is
  one line redrawn in place by tqdm, at most `WIDTH` columns; lines that must stay (a training
  run's start and end, a cache hit, a failure, a warning) are printed above it, wrapped to the
  same width.
- Elsewhere (CI logs, a pipe, a file) the same text comes as plain lines, one per event (an item
  starts, a training epoch ends, the phase ends), never redrawn.
- The time left is an estimate and says so ("~"): the expected seconds of the items not done,
  scaled by how the items done so far compared with their own expectation, less the time spent
  on the items running now. An item whose duration is known when it starts (the rounds of a
  timed session, sized from their warm-up calls) is not scaled. With no expectation at all the
  time left is unknown until the first item is done.
- Nothing redraws on its own: no thread, no timer (tqdm's monitor thread is off). A line changes
  only when the caller reports an event or calls `tick`, so nothing runs beside the rounds of a
  timed session; while they run the line says how long they should take and stays still.

Numbers are rendered by `bench.units`; this module imports no TensorFlow.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TextIO

from tqdm import tqdm

from bench import units

WIDTH = 100  # columns: the widest line the suite prints
LABEL_WIDTH = 12  # "train step" and a space or two
BAR_WIDTH = 12
# A training epoch's progress line (`bench.training.fit._EpochRecorder._line`): the run's label
# "<id> [<profile>, seed <s>]", then "epoch k/n", then two-space separated fields.
EPOCH_LINE = re.compile(
    r"^(?P<variant>\S+) \[(?P<profile>[^,\]]+), seed (?P<seed>\d+)\] "
    r"(?P<epoch>epoch \d+/\d+)\s+(?P<rest>.*)$"
)
# The fields of an epoch line kept on the live line: validation accuracy and time per epoch.
_EPOCH_FIELDS = (re.compile(r"^val_acc "), re.compile(r"/epoch$"))


class Progress(Protocol):
    """What a piece of work reports: which item it starts, and when that item is done."""

    def start(self, item: str, detail: str = "", *, expected_s: float | None = None) -> None:
        """`item` is being worked on now (`expected_s`: its duration, when known)."""

    def done(self, item: str) -> None:
        """`item` is finished."""


class _Unseen:
    """A `Progress` that shows nothing."""

    def start(self, item: str, detail: str = "", *, expected_s: float | None = None) -> None:
        """Nothing to show."""

    def done(self, item: str) -> None:
        """Nothing to show."""


UNSEEN: Progress = _Unseen()


def epoch_detail(line: str) -> tuple[str, int, str] | None:
    """(model id, seed, short detail) of a training epoch line, or None for any other line.

    The detail keeps the epoch, the validation accuracy and the time per epoch:
    "epoch 3/5  val_acc 41.20 %  12.3 s/epoch".
    """
    match = EPOCH_LINE.match(line)
    if match is None:
        return None
    fields = [f.strip() for f in match["rest"].split("  ") if f.strip()]
    kept = [f for f in fields if any(p.search(f) for p in _EPOCH_FIELDS)]
    return match["variant"], int(match["seed"]), "  ".join([match["epoch"], *kept])


class _Bar(tqdm):
    """tqdm without its monitor thread, with the status text as a field of the bar format."""

    monitor_interval = 0  # no thread: nothing may wake up beside a timed session
    status = ""

    @property
    def format_dict(self) -> dict:
        return {**super().format_dict, "status": self.status}


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines() or [""]:
        lines += textwrap.wrap(
            raw,
            width=width,
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
            drop_whitespace=True,
        ) or [""]
    return lines


class Display:
    """Where progress goes: a terminal (`live`: redrawn lines) or plain lines; or nowhere.

    Args:
        stream: where to write (None: nowhere).
        live: redraw each phase's line in place (a terminal); else plain lines.
        width: the widest line written.
        clock: seconds, for elapsed time and the time left (tests substitute their own).
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        live: bool = False,
        width: int = WIDTH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = live and stream is not None
        self.width = width
        self.clock = clock
        self._phase: Phase | None = None

    @classmethod
    def for_stream(cls, stream: TextIO) -> Display:
        """Live on a terminal (not TERM=dumb), plain lines otherwise; as wide as the terminal up
        to `WIDTH`."""
        live = stream.isatty() and os.environ.get("TERM") != "dumb"
        width = WIDTH
        if live:
            try:
                width = min(os.get_terminal_size(stream.fileno()).columns, WIDTH)
            except (OSError, ValueError):
                width = min(shutil.get_terminal_size((WIDTH, 24)).columns, WIDTH)
        return cls(stream, live=live, width=max(width, 40))

    @classmethod
    def silent(cls) -> Display:
        """A display that writes nothing."""
        return cls(None)

    def say(self, text: str) -> None:
        """Lines that stay (above the live line, if one is open), wrapped to the width."""
        if self.stream is None:
            return
        lines = _wrap(text, self.width)
        bar = self._phase.bar if self._phase is not None else None
        if bar is not None:
            bar.clear()
        self.stream.write("".join(line + "\n" for line in lines))
        if bar is not None:
            bar.refresh()
        self.stream.flush()

    def phase(
        self,
        name: str,
        items: Sequence[str],
        expected: Mapping[str, float] | None = None,
        *,
        parallel: int = 1,
    ) -> Phase:
        """Open the line of one phase over `items` (closing any phase still open)."""
        if self._phase is not None:
            self._phase.close()
        self._phase = Phase(self, name, items, expected, parallel=parallel)
        return self._phase

    def _closed(self, phase: Phase) -> None:
        if self._phase is phase:
            self._phase = None

    def _line(self, name: str, status: str) -> None:
        """A plain line: the phase name, then its status."""
        if self.stream is not None:
            line = f"{name:<{LABEL_WIDTH}}{status}"
            self.stream.write(line[: self.width].rstrip() + "\n")
            self.stream.flush()


class Phase:
    """One phase's line: k of n items, the items running, elapsed time and time left.

    Args:
        display: where the line goes.
        name: the phase ("records", "latency", ...).
        items: what the phase works through (model ids, "rounds", ...), in order.
        expected: expected seconds per item (an estimate; missing items count as unknown).
        parallel: how many items run at once.
    """

    def __init__(
        self,
        display: Display,
        name: str,
        items: Sequence[str],
        expected: Mapping[str, float] | None = None,
        *,
        parallel: int = 1,
    ) -> None:
        self.display = display
        self.name = name
        self.items = list(items)
        self.expected = {k: float(v) for k, v in (expected or {}).items() if k in self.items}
        self.exact: set[str] = set()
        self.parallel = max(parallel, 1)
        self.finished: list[str] = []
        self.running: dict[str, str] = {}  # item -> what it is doing
        self.began: dict[str, float] = {}  # item -> when it started
        self.took: dict[str, float] = {}  # item -> seconds it took
        self.started_at = display.clock()
        self.closed = False
        self._drawn: tuple[int, str] | None = None
        self.bar: _Bar | None = None
        if display.live:
            self.bar = _Bar(
                total=len(self.items),
                file=display.stream,
                ncols=display.width,
                bar_format=f"{name:<{LABEL_WIDTH}}{{bar:{BAR_WIDTH}}} {{status}}",
                leave=True,
                mininterval=0,
                smoothing=0,
                dynamic_ncols=False,
            )
            self._draw()

    # --- what the work reports ---------------------------------------------------------------

    def start(self, item: str, detail: str = "", *, expected_s: float | None = None) -> None:
        """`item` is being worked on (`detail`: what it is doing; `expected_s`: its duration
        when known exactly, e.g. rounds sized from their warm-up)."""
        if expected_s is not None:
            self.expected[item] = expected_s
            self.exact.add(item)
        self.running[item] = detail
        self.began.setdefault(item, self.display.clock())
        self._event()

    def update(self, item: str, detail: str) -> None:
        """What a running item is doing now (a training epoch, say)."""
        self.running[item] = detail
        self._event()

    def done(self, item: str) -> None:
        """`item` is finished."""
        self.running.pop(item, None)
        if item not in self.finished:
            now = self.display.clock()
            self.finished.append(item)
            self.took[item] = now - self.began.get(item, self.started_at)
        if self.bar is not None:
            self.bar.n = len(self.finished)
            self._draw()

    def tick(self) -> None:
        """Redraw the live line (elapsed time and time left); plain lines are not repeated."""
        if self.bar is not None and not self.closed:
            self._draw()

    def close(self, summary: str | None = None) -> None:
        """End the phase with one line that stays: `summary`, or k/n and the time taken."""
        if self.closed:
            return
        self.closed = True
        elapsed = units.clock(self.display.clock() - self.started_at)
        text = summary or f"{len(self.finished)}/{len(self.items)} in {elapsed}"
        if self.bar is not None:
            self.bar.n = len(self.finished)
            self.bar.status = text
            self.bar.refresh()
            self.bar.close()
        else:
            self.display._line(self.name, text)
        self.display._closed(self)

    def __enter__(self) -> Phase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the text ------------------------------------------------------------------------------

    def left_s(self) -> float | None:
        """Estimated seconds left (module docstring), or None when nothing supports a guess."""
        now = self.display.clock()
        todo = [i for i in self.items if i not in self.finished]
        scaled = [i for i in self.finished if i not in self.exact and i in self.took]
        took = sum(self.took[i] for i in scaled)
        expected_done = sum(self.expected.get(i, 0.0) for i in scaled)
        ratio = took / expected_done if expected_done > 0 and took > 0 else 1.0
        ratio = min(max(ratio, 0.25), 4.0)  # one odd item must not throw the guess far off
        mean = took / len(scaled) if scaled else None
        left = 0.0
        for item in todo:
            if item in self.exact:
                guess = self.expected[item]
            elif item in self.expected:
                guess = self.expected[item] * ratio
            elif mean is not None:
                guess = mean
            else:
                return None
            if item in self.began:
                guess = max(guess - (now - self.began[item]), 0.0)
            left += guess
        return left / self.parallel

    def status(self) -> str:
        """k/n, the items running and what they do, the elapsed time and the time left:
        "5/12 · v06 warm-up · 1:02 · ~1:20 left"."""
        parts = [f"{len(self.finished)}/{len(self.items)}"]
        working = ", ".join(f"{item} {what}".strip() for item, what in self.running.items())
        if working:
            parts.append(working)
        parts.append(units.clock(self.display.clock() - self.started_at))
        left = self.left_s()
        if left is not None:
            parts.append(f"~{units.clock(left)} left" if left >= 1 else "finishing")
        return " · ".join(parts)

    def _event(self) -> None:
        if self.closed:
            return
        if self.bar is not None:
            self._draw()
        else:
            self.display._line(self.name, self.status())

    def _draw(self) -> None:
        assert self.bar is not None
        status = self.status()
        if (self.bar.n, status) == self._drawn:
            return  # nothing new to show: no write
        self._drawn = (self.bar.n, status)
        self.bar.status = status
        self.bar.refresh()
