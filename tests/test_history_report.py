"""The trend page (`python -m bench history report`): where steps are found, and that the page
renders in a real headless browser.

A store of five hand-made runs (tests/test_gate.py's seeded samples) of five commits, with the
changes put in by hand: v01 30 % slower from the fourth commit on (a step at c4), v05 30 %
slower at the second commit only (a lone outlier: no step), v10 with more parameters from the
third commit on (a step at c3). The expected steps are those changes, nothing else.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from bench.gates.policy import Policy
from bench.history.cli import main as history_main
from bench.history.series import build_series
from bench.history.store import Store, entry_of

try:  # tests/ is on sys.path under pytest's default import mode (no tests/__init__.py)
    from test_gate import suite
    from test_report_browser import _body_attributes, _run_chromium
except ImportError:  # tests/ became a package
    from tests.test_gate import suite
    from tests.test_report_browser import _body_attributes, _run_chromium

COMMITS = [f"c{i}" + "0" * 38 for i in range(1, 6)]  # 40 characters, as git's


def commit_run(i: int, **slowdowns: float) -> dict:
    """The suite run of commit i (0-based), with its own seed, commit and times."""
    data = suite(10 + i, **slowdowns)
    data["commit_info"] = {"id": COMMITS[i], "time": f"2025-01-0{i + 1}T00:00:00+00:00",
                           "dirty": False, "project": "p", "branch": "main"}  # fmt: skip
    data["datetime"] = f"2025-01-0{i + 1}T01:00:00+00:00"
    return data


def history_runs() -> list[dict]:
    runs = [
        commit_run(0),
        commit_run(1, v05=1.3),  # outlier: back to normal at the next commit
        commit_run(2),
        commit_run(3, v01=1.3),
        commit_run(4, v01=1.3),
    ]
    for data in runs[2:]:
        record = data["variants"]["v10"]
        record["params_total"] += 1000
        record["params_trainable"] += 1000
    return runs


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store"))
    for data in history_runs():
        store.save(copy.deepcopy(data))
    return store


def test_steps_are_found_at_the_commits_that_changed_and_nowhere_else(store):
    entries, _ = store.entries()
    series = build_series([(e, store.load(e)) for e in entries], Policy())
    found = {
        (s.model, s.cost.key, s.points[i].entry.commit, direction)
        for s in series
        for i, direction in s.steps
    }
    assert found == {("v01", "latency", COMMITS[3], "higher"),
                     ("v10", "params_total", COMMITS[2], "higher")}  # fmt: skip
    latency = next(s for s in series if (s.model, s.cost.key) == ("v01", "latency"))
    assert latency.unit == "reference"  # divided by the reference workload's minimum
    for point in latency.points:  # the band holds the figure
        assert point.low <= point.value <= point.high


def test_a_lasting_step_is_named_once_at_its_first_commit():
    # c3 and c4 are both slow: the step is at c3; c4 does not differ from c3, so it is no step.
    runs = [commit_run(0), commit_run(1), commit_run(2, v05=1.3), commit_run(3, v05=1.3)]
    pairs = [(entry_of(Path(f"run{i}.json"), d), d) for i, d in enumerate(runs)]
    series = build_series(pairs, Policy())
    v05 = next(s for s in series if (s.model, s.cost.key) == ("v05", "latency"))
    assert [(v05.points[i].entry.commit, d) for i, d in v05.steps] == [(COMMITS[2], "higher")]


@pytest.fixture(scope="module")
def page(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("trend")
    assert history_main(["report", "--storage", str(store.root), "--out", str(out)]) == 0
    return out / "trend.html"


def test_the_page_names_the_first_commit_of_each_step(page):
    text = page.read_text(encoding="utf-8")
    names = re.search(r'<p class="steps">Steps found: ([^<]*)</p>', text).group(1)
    assert "v01 batch-1 latency" in names and "at c400000" in names
    assert "v10 parameters at c300000" in names
    assert "v05" not in names
    assert text.count("<img ") == 3  # one figure per model


@pytest.mark.browser
def test_the_trend_page_renders_its_plots_in_chromium(page, tmp_path):
    run = _run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    attributes = _body_attributes(run.stdout)
    assert attributes.get("render") == "ok", attributes
    assert int(attributes["images"]) == 3
    assert "first commit of the step" in run.stdout and "c400000" in run.stdout


def test_the_report_takes_the_gates_threshold_and_a_bad_one_is_one_sentence(
    store, tmp_path, capsys
):
    # v01's 30 % slowdown at c4 is a step under the default threshold (1.15), none under 1.5,
    # and a per-scenario override reaches it too; the page states the threshold it used.
    def steps(*options: str) -> str:
        out = tmp_path / "_".join(options).replace(":", "-").replace("*", "all")
        argv = ["report", "--storage", str(store.root), "--out", str(out), *options]
        assert history_main(argv) == 0
        text = (out / "trend.html").read_text(encoding="utf-8")
        return re.search(r'<p class="steps">([^<]*)</p>', text).group(1) + text

    assert "v01 batch-1 latency" in steps("--threshold", "1.25")
    lenient = steps("--threshold", "1.5")
    assert "v01 batch-1 latency" not in lenient and "v10 parameters at c300000" in lenient
    assert "Settings: latency threshold 1.5," in lenient
    assert "v01 batch-1 latency" not in steps("--threshold", "*:latency=1.5")
    capsys.readouterr()
    bad = ["report", "--storage", str(store.root), "--out", str(tmp_path / "bad")]
    assert history_main([*bad, "--threshold", "0.9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("history: error: --threshold must be a ratio >= 1") and "\n" not in err
    assert not (tmp_path / "bad").exists()
