"""TensorFlow's native log lines are dropped from stderr, and nothing else is
(`bench.measure.native_logs`), checked on child processes' real stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lines as TensorFlow 2.21 wrote them on the dev box at `import tensorflow`.
LOGS = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795956690.779679    1724 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1795951891.441334   12205 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    "2024-01-01 12:00:00.123456: I tensorflow/core/platform/cpu_feature_guard.cc:182] AVX2",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with "
    "the appropriate compiler flags.",
)


def _stderr(body: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=True,
    )  # fmt: skip
    return done.stderr


WRITE_ALL = textwrap.dedent(f"""
    import os, sys, warnings
    for line in {LOGS!r}:
        os.write(2, (line + "\\n").encode())
    os.write(2, b"a line of the user's\\n")
    warnings.warn("a warning of the user's")
    os.write(2, b"no newline at exit")
""")


def test_log_lines_are_dropped_and_everything_else_kept():
    code = "from bench.measure import native_logs\nnative_logs.drop_native_logs()\n"
    err = _stderr(code + WRITE_ALL)
    for line in LOGS:
        assert line not in err
    assert "a line of the user's\n" in err
    assert "UserWarning: a warning of the user's" in err
    assert err.endswith("no newline at exit")  # forwarded at exit, not lost


def test_installed_but_not_dropping_forwards_everything():
    err = _stderr("from bench.measure import native_logs\nnative_logs.install()\n" + WRITE_ALL)
    for line in LOGS:
        assert line in err


def test_importing_tensorflow_writes_no_log_line():
    code = """
        from bench.measure import native_logs
        native_logs.drop_native_logs()
        import tensorflow as tf
        tf.config.list_physical_devices()
        print("imported", flush=True)
    """
    err = _stderr(code)
    assert "oneDNN" not in err and "cuda" not in err.lower() and "absl" not in err, err
