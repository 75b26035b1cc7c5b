"""What the suite shows on the terminal: pytest's own output, or progress lines (`--display`).

- `--display pytest` (the default of `pytest bench`): pytest's output as the ecosystem expects it,
  the workers' progress lines printed past pytest's capture, and pytest-benchmark's table with
  columns chosen to fit a terminal (`fit_benchmark_table`; `tests/test_progress.py` renders the
  table for the registry's longest model id and checks its width).
- `--display progress` (what `python -m bench run` asks for): the up-front facts, then one live
  line per phase (`bench.suite.presentation.progress`) on the terminal pytest started on; pytest's
  per-test letters are silenced (`ProgressPlugin.pytest_report_teststatus`) and every failure,
  collection error or warning becomes lines of its own: a user-caused fault is its one sentence, a
  bug in the harness keeps its traceback. `tests/test_cli_tty.py` checks it on a pseudo-terminal.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Generator
from typing import Any, TextIO

import pytest

from bench.measure import native_logs
from bench.suite.presentation.progress import Display

# pytest-benchmark's defaults (pytest_benchmark.plugin.add_display_options): ten figure columns
# including "Outliers" and "OPS", each number padded for a baseline ratio, one time unit for all
# tests: about 230 columns. Ours: the median of all the model's rounds (the report's figure
# takes the rounds every model of the session shared: bench.suite.orchestration.assemble),
# its IQR and the rounds, one time unit per test function (latency in µs or ms, a training
# step in ms or s) and the name without "test_": about 80 columns for ids of 13 characters.
# (pytest-benchmark's two-line legend under the table is its own fixed text, 110 columns wide.)
PYTEST_BENCHMARK_COLUMNS = [
    "min", "max", "mean", "stddev", "median", "iqr", "outliers", "ops", "rounds", "iterations",
]  # fmt: skip
BENCHMARK_TABLE = {
    "benchmark_columns": ["median", "iqr", "rounds"],
    "benchmark_group_by": "func",
    "benchmark_name": "short",
}
_DEFAULTS = {
    "benchmark_columns": PYTEST_BENCHMARK_COLUMNS,
    "benchmark_group_by": "group",
    "benchmark_name": "normal",
}
_TEST_NAME = re.compile(r"test_(?P<phase>\w+?)\[(?P<variant>[^\]]+)\]$")


def fit_benchmark_table(option: Any) -> None:
    """Our table settings for every pytest-benchmark display option the user left at its
    default (an option given on the command line is kept). The JSON is not affected."""
    for name, value in BENCHMARK_TABLE.items():
        if getattr(option, name, None) == _DEFAULTS[name]:
            setattr(option, name, value)


def terminal_stream() -> TextIO:
    """A stream on the terminal pytest started on, unaffected by pytest's output capture.

    Call it from `pytest_configure`: capture is suspended then, so file descriptor 2 is still the
    real stderr; the duplicate keeps pointing there while capture redirects descriptor 2.
    """
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    fd = os.dup(native_logs.terminal_fd())  # not through the log filter's pipe
    return os.fdopen(fd, "w", buffering=1, encoding=encoding, errors="replace")


class CaptureLines(Display):
    """`--display pytest`: the workers' lines printed past pytest's capture; no phase lines.

    Args:
        capture: pytest's capture manager (None: print directly).
    """

    def __init__(self, capture: Any) -> None:
        super().__init__(None)
        self.capture = capture

    def say(self, text: str) -> None:
        if self.capture is None:
            print(f"    {text}", flush=True)
            return
        with self.capture.global_and_fixture_disabled():
            print(f"\n    {text}", end="", flush=True)


def _name(nodeid: str) -> str:
    """ "bench/test_suite.py::test_train_step[v03]" -> "v03 train step"."""
    test = nodeid.rsplit("::", 1)[-1]
    match = _TEST_NAME.match(test)
    if match is None:
        return test
    return f"{match['variant']} {match['phase'].replace('_', ' ')}"


class ProgressPlugin:
    """`--display progress`: facts first, progress lines, and each problem in a line of its own.

    Args:
        display: where everything goes.
        facts: the up-front facts, shown when the session starts.
    """

    def __init__(self, display: Display, facts: list[str]) -> None:
        self.display = display
        self.facts = facts
        self._sentences: dict[tuple[str, str], str] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        for line in self.facts:
            self.display.say(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str]:
        """The same categories as pytest's, without the letters and words it would print."""
        if report.when == "call":
            return report.outcome, "", ""
        if report.failed:
            return "error", "", ""
        return ("skipped" if report.skipped else ""), "", ""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Keep the sentence of a failure the suite raised on purpose (`pytest.fail(...,
        pytrace=False)`): it is the whole message, and no traceback belongs with it."""
        report = yield
        excinfo = call.excinfo
        on_purpose = excinfo is not None and excinfo.errisinstance(pytest.fail.Exception)
        if on_purpose and not excinfo.value.pytrace:
            self._sentences[(report.nodeid, report.when)] = str(excinfo.value)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        sentence = self._sentences.get((report.nodeid, report.when))
        what = "failed" if report.when == "call" else f"error at {report.when}"
        self.display.say(f"{_name(report.nodeid)} {what}: {sentence or report.longreprtext}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.display.say(f"could not collect {report.nodeid}: {report.longreprtext}")

    def pytest_warning_recorded(self, warning_message: Any, nodeid: str) -> None:
        message = str(warning_message.message).strip().splitlines()
        where = f" ({_name(nodeid)})" if nodeid else ""
        category = warning_message.category.__name__
        self.display.say(f"warning{where}: {category}: {message[0] if message else ''}")
