"""`python -m bench run` as a person sees it: on a terminal (a pseudo-terminal 100 columns wide,
Python's `pty`), two small models, the suite's defaults otherwise (costs measured, accuracies
reported), and no `TF_CPP_MIN_LOG_LEVEL` of our own.

Checked on what the terminal received: no TensorFlow log line; the facts of the run first; a
progress line for every phase naming the phase, and the models in the phases that work a model
at a time; the final table with a row per model and the verdict's answer; nothing wider than
100 columns, redrawn lines included.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = 100
MODELS = ("v01", "v02")
# TensorFlow's C++ log lines, in absl's format ("E0000 00:00:1732870000.123456   12 file.cc:12]")
# and the older one ("2024-01-01 12:00:00.123456: I tensorflow/..."), and the lines the issue
# saw, whatever their format.
TF_LOG_LINE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
    r"|oneDNN custom operations|cuda drivers|cuInit|absl::InitializeLog|Unable to register cu"
    r"|rebuild TensorFlow with the appropriate compiler flags"
)
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def run_on_terminal(
    command: list[str], env: dict[str, str], timeout_s: float = 900
) -> tuple[int, str]:
    """Run `command` with a pseudo-terminal of `COLUMNS` columns as its stdin, stdout and
    stderr; everything the terminal received, and the exit status."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    proc = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not data:
                break
            received += data
        else:
            os.killpg(proc.pid, 9)
            pytest.fail(f"the run took more than {timeout_s} s:\n{received.decode()[-3000:]}")
    finally:
        os.close(master)
    return proc.wait(), received.decode("utf-8", errors="replace")


def screens(text: str) -> list[str]:
    """Every state a line of the terminal went through: lines split at each carriage return
    (a redraw), escape sequences removed."""
    clean = ESCAPES.sub("", text).replace("\r\n", "\n")
    return [part.rstrip() for line in clean.split("\n") for part in line.split("\r")]


@pytest.fixture(scope="module")
def terminal(tmp_path_factory) -> tuple[int, list[str]]:
    out = tmp_path_factory.mktemp("tty") / "results"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(TERM="xterm-256color", BENCH_OFFLINE="1")
    command = [
        sys.executable, "-m", "bench", "run", "--out", str(out), "--variants", ",".join(MODELS),
        "--latency-budget", "0.2", "--throughput-batch", "8",
    ]  # fmt: skip
    status, text = run_on_terminal(command, env)
    return status, screens(text)


pytestmark = pytest.mark.slow


def test_the_run_succeeds(terminal):
    status, lines = terminal
    assert status == 0, "\n".join(lines[-60:])


def test_no_tensorflow_log_line_reaches_the_terminal(terminal):
    _, lines = terminal
    logs = [line for line in lines if TF_LOG_LINE.search(line)]
    assert logs == []


def test_nothing_is_wider_than_the_terminal(terminal):
    _, lines = terminal
    wide = [line for line in lines if len(line) > COLUMNS]
    assert wide == []


def test_the_facts_come_first(terminal):
    _, lines = terminal
    text = [line for line in lines if line.strip()]
    assert text[0] == f"cnn-bench: 2 models: {', '.join(MODELS)}"
    assert any(line.strip().startswith("device:   CPU") for line in text[:8])
    assert any(line.strip().startswith("expected: about") for line in text[:8])


@pytest.mark.parametrize("phase", ["records", "load", "latency", "throughput", "train step"])
def test_each_phase_has_a_progress_line_naming_its_models(terminal, phase):
    _, lines = terminal
    mine = [line for line in lines if line.startswith(f"{phase} ")]
    assert mine, f"no progress line for {phase}"
    for model in MODELS:
        assert any(re.search(rf"\b{model}\b", line) for line in mine), (model, mine)
    # An estimate of the time left ("finishing" once it is under a second).
    assert any(re.search(r"~\d+:\d\d left|finishing", line) for line in mine), mine


def test_the_report_phase_has_a_progress_line(terminal):
    _, lines = terminal
    assert any(line.startswith("report ") and "plots" in line for line in lines)


def test_the_run_ends_with_the_table_the_answer_and_the_report(terminal):
    _, lines = terminal
    heading = next(i for i, line in enumerate(lines) if line.startswith("Model "))
    assert lines[heading].split()[-1] == "Frontier" and "Accuracy" in lines[heading]
    rows = {line.split()[0] for line in lines[heading + 2 : heading + 2 + len(MODELS)]}
    assert rows == set(MODELS)
    answer = next(i for i, line in enumerate(lines) if line.startswith("Answer: "))
    assert answer > heading
    assert re.match(r"Answer: (Yes|No|Partly|Cannot be told):", lines[answer])
    assert any(line.startswith("report: ") and line.endswith("report.html") for line in lines)
