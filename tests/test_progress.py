"""Progress lines (`bench.suite.presentation.progress`), the pytest-side presentation
(`bench.suite.presentation.presenter`) and the up-front facts (`bench.suite.presentation.facts`),
without TensorFlow and without running the suite.

A fake clock drives the elapsed time, so the expected time left is worked out by hand in each
test. `tests/test_cli_tty.py` checks the same things on a real run on a pseudo-terminal.
"""

from __future__ import annotations

import io
import re
import threading
from types import SimpleNamespace

import pytest
from pytest_benchmark.table import TableResults
from pytest_benchmark.utils import NAME_FORMATTERS

from bench.suite.presentation import estimate, facts
from bench.suite.presentation.presenter import (
    BENCHMARK_TABLE,
    PYTEST_BENCHMARK_COLUMNS,
    _name,
    fit_benchmark_table,
)
from bench.suite.presentation.progress import Display, epoch_detail


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain(width: int = 100) -> tuple[Display, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    return Display(stream, live=False, width=width, clock=clock), stream, clock


def test_plain_lines_name_the_phase_the_model_and_k_of_n():
    display, stream, clock = plain()
    phase = display.phase("latency", ["v01", "v02", "rounds"], {"v01": 1, "v02": 1, "rounds": 6})
    phase.start("v01", "warm-up")
    clock.now += 2  # twice as slow as expected
    phase.done("v01")
    phase.start("v02", "warm-up")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("latency") and "0/3 · v01 warm-up · 0:00 · ~0:08 left" in lines[0]
    # v01 took 2 s for an expected 1 s: the rest (1 + 6 s expected) is scaled by 2.
    assert "1/3 · v02 warm-up · 0:02 · ~0:14 left" in lines[1]
    phase.start("rounds", "30 rounds of 2 models", expected_s=3.0)  # known: not scaled
    assert "~0:05 left" in stream.getvalue().splitlines()[-1]  # v02 (1 s × 2) + rounds 3 s
    phase.close("2 models × 30 rounds in 0:07")
    assert stream.getvalue().splitlines()[-1] == "latency     2 models × 30 rounds in 0:07"
    assert "\r" not in stream.getvalue()


def test_time_left_is_unknown_without_expectations_until_an_item_is_done():
    display, _, clock = plain()
    phase = display.phase("load", ["a", "b", "c"])
    phase.start("a")
    assert phase.left_s() is None and "left" not in phase.status()
    clock.now += 3
    phase.done("a")
    assert phase.left_s() == pytest.approx(6.0)  # two more at 3 s each


def test_parallel_items_share_the_wall_clock():
    display, _, clock = plain()
    phase = display.phase("records", list("abcd"), dict.fromkeys("abcd", 10.0), parallel=2)
    phase.start("a")
    phase.start("b")
    assert phase.left_s() == pytest.approx(20.0)  # 40 s of jobs, two at a time
    clock.now += 10
    phase.done("a")
    phase.done("b")
    assert phase.left_s() == pytest.approx(10.0)


def test_long_lines_are_wrapped_to_the_width_and_nothing_starts_a_thread():
    threads = threading.active_count()
    display, stream, _ = plain(width=60)
    display.say("v05 [smoke, seed 1] training: " + "2048 training images, " * 8 + "done")
    assert all(len(line) <= 60 for line in stream.getvalue().splitlines())
    live_stream = io.StringIO()
    live = Display(live_stream, live=True, width=60, clock=Clock())
    phase = live.phase("throughput", ["v01", "a_model_with_a_very_long_name_indeed", "rounds"])
    phase.start("a_model_with_a_very_long_name_indeed", "first call at batch 256 " * 3)
    live.say("a line that stays")
    phase.done("a_model_with_a_very_long_name_indeed")
    phase.close()
    assert threading.active_count() == threads  # tqdm's monitor thread stays off
    drawn = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", live_stream.getvalue())
    screens = [part for line in drawn.split("\n") for part in line.split("\r")]
    assert screens and max(len(s) for s in screens) <= 60
    assert "a line that stays" in screens
    assert any(s.startswith("throughput") and "1/3" in s for s in screens)


def test_an_epoch_line_of_training_becomes_the_live_detail():
    line = (
        "v03 [smoke, seed 1] epoch 3/5  loss 0.693  acc 45.00 %  val_acc 41.20 %  "
        "12.3 s/epoch  ETA 24.6 s"
    )
    assert epoch_detail(line) == ("v03", 1, "epoch 3/5  val_acc 41.20 %  12.3 s/epoch")
    assert epoch_detail("v03 [smoke, seed 1] done: 2 epochs in 3.0 s") is None


def test_test_names_become_model_and_phase():
    assert _name("bench/test_suite.py::test_train_step[v03]") == "v03 train step"
    assert _name("bench/test_suite.py::test_record[resnet56]") == "resnet56 record"


def test_benchmark_table_defaults_apply_only_where_the_user_left_them():
    option = SimpleNamespace(
        benchmark_columns=list(PYTEST_BENCHMARK_COLUMNS),
        benchmark_group_by="param",
        benchmark_name="normal",
    )
    fit_benchmark_table(option)
    assert option.benchmark_columns == BENCHMARK_TABLE["benchmark_columns"]
    assert option.benchmark_group_by == "param"  # given on the command line: kept
    assert option.benchmark_name == "short"


class _Terminal:
    """What pytest-benchmark's table writes through (a TerminalReporter's writing methods)."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str, **_: object) -> None:
        self.text += text

    def write_line(self, text: str, **_: object) -> None:
        self.text += text + "\n"

    def rewrite(self, text: str, **_: object) -> None:
        pass

    def ensure_newline(self) -> None:
        pass


def _bench(test: str, vid: str, median: float, rounds: int) -> dict:
    stats = {"min": 0.8 * median, "max": 3.0 * median, "mean": median, "stddev": 0.1 * median}
    stats.update(median=median, iqr=0.05 * median, outliers="1;2", ops=1 / median)
    return {
        "name": f"{test}[{vid}]", "fullname": f"bench/test_suite.py::{test}[{vid}]",
        "group": None, "param": vid, "params": {"variant": vid}, "source": None,
        "rounds": rounds, "iterations": 1, "has_error": False, **stats,
    }  # fmt: skip


def test_the_benchmark_table_with_our_columns_fits_a_terminal():
    from pytest_benchmark.plugin import pytest_benchmark_group_stats, pytest_benchmark_scale_unit

    def benchmarks() -> list[dict]:  # fresh each time: the table renames them in place
        # The default run's widest figures on the 2-core box: v10's 36 ms latency beside v01's
        # 0.59 ms, 2000 latency rounds, a 6.7 s training step; the test plugin's long id.
        return [
            _bench("test_latency", "v01", 5.9e-4, 2000),
            _bench("test_latency", "v10", 3.6e-2, 436),
            _bench("test_throughput", "v10", 3.9, 5),
            _bench("test_train_step", "resnet56", 1.2, 4),
            _bench("test_train_step", "depthwise_net", 6.7, 4),
        ]

    def scale(**kwargs):
        return pytest_benchmark_scale_unit(config=None, **kwargs)

    def widest(columns: list[str], group_by: str, name: str) -> int:
        terminal = _Terminal()
        groups = pytest_benchmark_group_stats(None, benchmarks(), group_by)
        table = TableResults(columns, "min", None, NAME_FORMATTERS[name], None, scale)
        table.display(terminal, groups)
        assert "train_step[depthwise_net]" in terminal.text
        legend = terminal.text.index("Legend:")  # pytest-benchmark's fixed text, not the table
        return max(len(line) for line in terminal.text[:legend].splitlines())

    ours = [BENCHMARK_TABLE[f"benchmark_{k}"] for k in ("columns", "group_by", "name")]
    assert widest(*ours) <= 100
    assert widest(PYTEST_BENCHMARK_COLUMNS, "group", "normal") > 150  # what the issue saw


def _suite(accuracy: str = "reported") -> SimpleNamespace:
    options = SimpleNamespace(
        accuracy=accuracy, profile="smoke", dataset="cifar10", weights_dir=None,
        latency_budget=3.0, throughput_batch=256,
    )  # fmt: skip
    entries = [SimpleNamespace(id="v01"), SimpleNamespace(id="v10")]
    return SimpleNamespace(options=options, entries=entries, job_seeds=(0,), parallel_jobs=2)


INFO = {
    "device": "CPU", "cpu_model": "AMD EPYC", "cpu_count_logical": 2, "xla": False,
    "threads": {"intra_op": 1, "inter_op": 1}, "precision": "float32",
    "tensorflow_version": "2.21.0", "keras_version": "3.15.1",
}  # fmt: skip


def test_the_facts_say_what_runs_where_and_how_long():
    items = {"records": {"v01": 60.0, "v10": 60.0}, "latency": {"v01": 1.0, "rounds": 5.0}}
    est = estimate.Estimate(
        items, parallel=2, source="from the last run's timings in x.json", start_s=5.0,
        report_s=20.0,
    )  # fmt: skip
    lines = facts.facts(_suite(), INFO, est)
    text = "\n".join(lines)
    assert lines[0] == "cnn-bench: 2 models: v01, v10"
    assert "accuracy: reported" in text and "nothing is trained" in text
    assert "CPU (AMD EPYC, 2 logical cores), threads 1,1, float32, XLA off" in text
    assert "TensorFlow 2.21.0, Keras 3.15.1" in text
    # 5 s of start + 60 s of records (120 s of jobs, two at a time) + 6 s of latency + 20 s of
    # report = 91 s.
    assert "expected: about 91 s (start 5.0 s, records 60 s, latency 6.0 s, report 20 s)" in text
    assert text.endswith("from the last run's timings in x.json")
    trained = "\n".join(facts.facts(_suite("train"), INFO, est))
    assert "trained here on cifar10, profile smoke, seed 0" in trained


def test_the_expected_line_says_how_sure_it_is():
    items = {"records": {"v01": 60.0, "v10": 60.0}, "latency": {"v01": 1.0, "rounds": 5.0}}
    est = estimate.Estimate(
        items, parallel=2, source="rough, from MACs", ranges={"records": (45.0, 81.0)},
        why="allowing for rates that are off on this machine", start_s=5.0, report_s=20.0,
    )  # fmt: skip
    # 5 + 45 + 6 + 20 = 76 s to 5 + 81 + 6 + 20 = 112 s around the point of 91 s
    line = facts.expected_line(est)
    assert line.startswith(
        "about 91 s, between 76 s and 112 s allowing for rates that are off on this machine ("
    )
