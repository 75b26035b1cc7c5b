"""`python -m bench gate --against-history`: the current run against the last N comparable stored
runs, a row failing only against a strict majority of them.

Hand-made runs (tests/test_gate.py's seeded samples) with slowdowns put in by hand: an unchanged
current run against three stored runs of which one was measured unusually fast (the two-file
gate against that one alone fails; against history it passes), a 30 % slower current run (fails),
and the inputs that must be refused (exit 2).
"""

from __future__ import annotations

import copy
import json

from bench.__main__ import main as bench_main
from bench.history.store import Store

try:  # tests/ is on sys.path under pytest's default import mode (no tests/__init__.py)
    from test_gate import suite
    from test_history_report import COMMITS, commit_run
except ImportError:  # tests/ became a package
    from tests.test_gate import suite
    from tests.test_history_report import COMMITS, commit_run


def stored(tmp_path, *runs: dict) -> Store:
    store = Store(tmp_path / "store")
    for data in runs:
        store.save(copy.deepcopy(data))
    return store


def gate(tmp_path, store: Store, current: dict, *options: str) -> tuple[int, dict | None]:
    cur = tmp_path / "current.json"
    cur.write_text(json.dumps(current))
    summary = tmp_path / "summary.json"
    argv = ["gate", "--against-history", "--storage", str(store.root), str(cur),
            "--json-summary", str(summary), *options]  # fmt: skip
    code = bench_main(argv)
    return code, json.loads(summary.read_text()) if summary.exists() else None


def latency_row(summary: dict, variant: str) -> dict:
    (row,) = [r for r in summary["rows"] if (r["variant"], r["check"]) == (variant, "latency")]
    return row


def test_one_fast_stored_run_cannot_fail_an_unchanged_run(tmp_path, capsys):
    # c2 was measured 25 % faster than the code is (a quiet moment, another runner): the
    # two-file gate against c2 alone fails the unchanged run, the history's majority does not.
    store = stored(tmp_path, commit_run(0), commit_run(1, v01=0.75), commit_run(2))
    current = commit_run(3)
    code, summary = gate(tmp_path, store, current)
    assert code == 0
    row = latency_row(summary, "v01")
    assert "fails against 1 of 3 stored runs" in row["note"] and "not a majority" in row["note"]
    assert [b["commit"] for b in summary["against_history"]] == COMMITS[:3]
    (c2,) = [e for e in store.entries()[0] if e.commit == COMMITS[1]]
    base = tmp_path / "c2.json"
    base.write_text(json.dumps(store.load(c2)))
    assert bench_main(["gate", str(base), str(tmp_path / "current.json")]) == 1
    capsys.readouterr()


def test_a_slower_run_fails_against_the_majority(tmp_path, capsys):
    store = stored(tmp_path, commit_run(0), commit_run(1, v01=0.75), commit_run(2))
    code, summary = gate(tmp_path, store, commit_run(3, v01=1.3))
    assert code == 1
    row = latency_row(summary, "v01")
    assert row["verdict"] == "REGRESSION" and "fails against 3 of 3 stored runs" in row["note"]
    assert "against history: 3 comparable stored run(s)" in capsys.readouterr().out


def test_runs_of_the_current_commit_and_of_other_branches_are_not_baselines(tmp_path, capsys):
    feature = commit_run(1, v01=0.75)
    feature["commit_info"]["branch"] = "feature"
    current = commit_run(2, v01=1.3)
    store = stored(tmp_path, commit_run(0), feature, current)
    code, summary = gate(tmp_path, store, current, "--branch", "main")
    assert code == 1
    assert [b["commit"] for b in summary["against_history"]] == [COMMITS[0]]
    code, summary = gate(tmp_path, store, current, "--last", "1")
    assert [b["commit"] for b in summary["against_history"]] == [COMMITS[1]]
    capsys.readouterr()


def test_no_comparable_stored_run_is_unusable_in_one_sentence(tmp_path, capsys):
    other = commit_run(0)
    other["machine_info"]["cpu_count_logical"] = 64
    other_settings = commit_run(1)
    other_settings["run"]["throughput_batch_size"] = 8
    store = stored(tmp_path, other, other_settings)
    code, summary = gate(tmp_path, store, commit_run(2))
    assert (code, summary) == (2, None)
    err = capsys.readouterr().err
    assert "holds no run comparable with" in err and "Traceback" not in err


def test_bad_input_exits_2(tmp_path, capsys):
    store = stored(tmp_path, commit_run(0))
    code, _ = gate(tmp_path, store, {"not": "a suite"})
    assert code == 2
    code, _ = gate(tmp_path, store, suite(1), "--last", "0")
    assert code == 2
    err = capsys.readouterr().err
    assert "not a pytest-benchmark JSON" in err and "--last must be at least 1" in err
