"""Keep TensorFlow's native log lines off this process's stderr, and nothing else.

TensorFlow 2.21 writes its start-up lines ("oneDNN custom operations are on", "Could not find
cuda drivers", "failed call to cuInit") through absl before absl's logging is initialised, and
`TF_CPP_MIN_LOG_LEVEL` does not silence those (tensorflow/tensorflow#100442): on the 2-core dev
box each `import tensorflow` wrote two sets of them with the variable at 3.

`install` makes file descriptor 2 a pipe whose reader thread forwards what is written to the real
stderr a line at a time, and, once `drop_native_logs` has been called, drops the lines in absl's
log format; Python's own stderr (warnings, tracebacks) goes through unchanged. The thread sleeps
in `read` until something is written, so it does not wake beside a timed session that writes
nothing. A live display should write to `terminal_fd()`, the real stderr, so that its partial
lines (redraws) are not held back and the terminal is still seen as one.

pytest's output capture saves descriptor 2 when it starts and puts it back whenever it pauses, so
the pipe must be in place before it starts: `python -m bench run` loads
`bench.suite.presentation.early` with `-p`, which installs it at import. `pytest bench` alone
installs it when the suite is configured, which covers TensorFlow's import (most of the lines).
`tests/test_native_logs.py` checks it on a child process.
"""

from __future__ import annotations

import atexit
import os
import re
import threading

# absl's format ("I0000 00:00:1795956690.779679    1724 port.cc:153] ...": before absl's logging
# starts, the seconds field is the epoch), the older TensorFlow one ("2024-01-01
# 12:00:00.123456: I tensorflow/..."), absl's notice before its logging starts, and the second
# line of the CPU feature guard's message.
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate)"
)


class _Filter:
    """The installed pipe: where the real stderr is, and whether log lines are dropped."""

    original: int | None = None
    dropping = False


def _forward(source: int, target: int) -> None:
    """Copy `source` to `target` a line at a time, dropping native log lines while
    `_Filter.dropping`, until end of file."""
    pending = b""
    while chunk := os.read(source, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        kept = [
            line + b"\n" for line in lines if not (_Filter.dropping and NATIVE_LOG_LINE.match(line))
        ]
        if kept:
            os.write(target, b"".join(kept))
    if pending and not (_Filter.dropping and NATIVE_LOG_LINE.match(pending)):
        os.write(target, pending)
    os.close(source)


def install() -> None:
    """Put the pipe on descriptor 2, forwarding everything for now (once per process; at exit
    descriptor 2 is restored and what is still in the pipe forwarded)."""
    if _Filter.original is not None:
        return
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    _Filter.original = original
    pump = threading.Thread(
        target=_forward, args=(read_end, original), name="native-logs", daemon=True
    )
    pump.start()

    def restore() -> None:
        os.dup2(original, 2)  # the pipe's last writer is gone: the reader sees end of file
        pump.join(timeout=2.0)

    atexit.register(restore)


def drop_native_logs() -> None:
    """From now on, native log lines written to descriptor 2 by this process are dropped."""
    install()
    _Filter.dropping = True


def terminal_fd() -> int:
    """The descriptor of the real stderr (2 when no pipe is installed)."""
    return 2 if _Filter.original is None else _Filter.original
