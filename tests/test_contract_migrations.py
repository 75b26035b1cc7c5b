"""Old result files still read: a file of contract 1, 2 or 3 is upgraded on read
(`bench.contract`).

The files under tests/data/contract/ are real suite output, not written by hand:

* `contract1_07a9522_v01_v02.json`: no contract-1 file was ever committed, so it was made by
  running the suite as it was at 07a9522 (the last commit of contract 1) in a temporary worktree
  on this project's 2-core CPU dev box: `pytest bench/test_suite.py --benchmark-json ...
  --variants v01,v02 --latency-budget 0.5 --throughput-batch 32` (reported accuracy, CIFAR-10).
* `contract2_4dbcc61_v01_v02.json`: `git show 4dbcc61:docs/results/fashion-mnist/benchmark.json`
  (contract 2, three seeds, trained on Fashion-MNIST), trimmed to v01 and v02: their records,
  benchmarks and test labels, and `run.variants` naming the two; nothing else changed.
* `contract3_current_v01_v02.json`: the suite of contract 3 run with the same command as the
  contract-1 file, on the same machine, minutes later (the "current run" of the gate test until
  contract 4).
* `contract4_current_v01_v02.json`: the current suite (contract 4) run with the same command on
  the 2-core AMD EPYC dev VM (2026-12-07), the current file of these tests; the gate tests keep
  the contract-3 file as their later run, since it comes from the contract-1 file's machine.

The expectations (which keys each older contract lacked) come from the contracts' history in
git (`git show 07a9522:bench/contract.py`, `a94c915`), and the kept figures from the raw JSON.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import contract, metrics
from bench.contract import ContractError, load, upgrade, validate
from bench.gates import twofile
from bench.history.store import Store
from bench.metrics import Metric
from reports.build import build_report
from reports.data import load_suite

DATA = Path(__file__).parent / "data" / "contract"
C1 = DATA / "contract1_07a9522_v01_v02.json"
C2 = DATA / "contract2_4dbcc61_v01_v02.json"
C3 = DATA / "contract3_current_v01_v02.json"
C4 = DATA / "contract4_current_v01_v02.json"
RESULTS = Path(__file__).parents[1] / "docs" / "results"

# Metric keys contract 3 added (a94c915), absent from files of contracts 1 and 2.
METRICS_ADDED_IN_3 = ["model_file_bytes", "energy_train_j", "energy_per_1000_images_j"]


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def rate_from_samples(path: Path, variant: str) -> float:
    """Contract 4's throughput of `variant`, computed here from the raw file: its throughput
    batch over the 5 % quantile of its throughput calls."""
    (bench,) = [b for b in raw(path)["benchmarks"]
                if b["extra_info"]["scenario"] == "throughput"
                and b["extra_info"]["variant"] == variant
                and b["extra_info"].get("deployment", "keras") == "keras"]  # fmt: skip
    return bench["extra_info"]["batch_size"] / float(np.quantile(bench["stats"]["data"], 0.05))


# Record keys added after the current-contract file was written (`cached_from` of the records
# cache; metric rows such as batch-8 latency): every file here comes in with them filled.
NEWER_THAN_FILES = [k for k in contract.variant_keys() if k not in raw(C3)["variants"]["v01"]]


@pytest.mark.parametrize(("path", "version"), [(C1, 1), (C2, 2), (C3, 3), (C4, 4)])
def test_the_stored_files_are_of_the_version_they_claim(path, version):
    data = raw(path)
    assert data["contract_version"] == version
    assert sorted(data["variants"]) == ["v01", "v02"]
    if version < contract.CONTRACT_VERSION:
        with pytest.raises(ContractError, match=f"contract version {version}"):
            validate(copy.deepcopy(data), source=path.name)


def test_a_contract_1_file_reads_as_current_with_each_missing_figure_null_and_explained():
    before, data = raw(C1), load(C1)
    assert data["contract_version"] == contract.CONTRACT_VERSION
    migration = data["run"]["contract_migration"]
    assert migration["from_version"] == 1
    assert migration["applied"] == ["1->2", "2->3", "3->4"]
    assert set(migration["filled"]) == {*METRICS_ADDED_IN_3, *NEWER_THAN_FILES}
    assert "from a file of contract 1" in migration["note"]
    for vid, old in before["variants"].items():
        record = data["variants"][vid]
        for key in METRICS_ADDED_IN_3:
            assert record[key] is None
            assert "contract version 1" in record["unavailable"][key]
        assert record["inference_energy"] is None
        assert "contract versions before 3" in record["unavailable"]["inference_energy"]
        assert record["seeds"] == [0] and record["runs"] == [] and record["deployments"] == {}
        assert record["cached_from"] is None  # every figure measured in that run: no cache then
        # Every figure and reason the file had is kept as it was, but throughput (recomputed
        # from the file's samples: test_a_contract_3_files_throughput_is_recomputed_...).
        for key, value in old.items():
            if key not in ("unavailable", "throughput_images_per_s"):
                assert record[key] == value, key
        assert record["throughput_images_per_s"] == pytest.approx(rate_from_samples(C1, vid))
        assert old["unavailable"].items() <= record["unavailable"].items()
    assert data["published_references"] == []
    assert {b["extra_info"]["deployment"] for b in data["benchmarks"]} == {"keras"}
    assert data["run"]["latency_budget_s"] is None  # contract 1 did not record it
    assert data["run"]["seeds"] == [0]
    assert data["run"]["latency_reference"] == "bench.measure.timing.reference_workload"
    assert data["machine_info"]["gpu_memory_limit_mb"] is None


def test_a_contract_2_file_keeps_its_seeds_and_gains_only_what_3_added():
    before, data = raw(C2), load(C2)
    migration = data["run"]["contract_migration"]
    assert (migration["from_version"], migration["applied"]) == (2, ["2->3", "3->4"])
    assert set(migration["filled"]) == {*METRICS_ADDED_IN_3, *NEWER_THAN_FILES}
    for vid, old in before["variants"].items():
        record = data["variants"][vid]
        assert record["seeds"] == old["seeds"] == [0, 1, 2]
        assert len(record["runs"]) == len(old["runs"]) == 3
        assert record["accuracy"] == old["accuracy"]
        for key in METRICS_ADDED_IN_3:
            assert record[key] is None
            assert "contract version 2" in record["unavailable"][key]
    assert data["run"]["deployments"] == ["keras"] and data["run"]["executor"] is None


def test_an_early_contract_2_file_is_completed_too():
    # Version 2 gained `seeds`, `runs` (3ad7310) and `published_references` (cb71a66) while it
    # was current; a file written at 3c12699 has none of them.
    data = raw(C2)
    del data["published_references"], data["run"]["seeds"]
    for record in data["variants"].values():
        del record["seeds"], record["runs"]
    upgraded = validate(upgrade(data))
    assert upgraded["published_references"] == [] and upgraded["run"]["seeds"] == [0]
    assert [r["seeds"] for r in upgraded["variants"].values()] == [[0], [0]]


def test_upgrade_leaves_its_input_alone_and_returns_a_complete_current_file_as_it_is():
    old = raw(C1)
    snapshot = json.dumps(old, sort_keys=True)
    upgrade(old)
    assert json.dumps(old, sort_keys=True) == snapshot
    current = raw(C4)
    assert upgrade(current) is current
    assert "contract_migration" not in load(C4)["run"]


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*/benchmark.json")), ids=str)
def test_every_committed_result_file_still_reads(path):
    data = load(path)
    assert data["contract_version"] == contract.CONTRACT_VERSION
    assert list(data["variants"]) == list(raw(path)["variants"])


@pytest.mark.parametrize("version", [5, 17])
def test_a_file_of_a_newer_contract_asks_for_an_upgrade(tmp_path, version):
    data = raw(C4)
    data["contract_version"] = version
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ContractError, match=r"newer than the 4 .*: upgrade the project") as err:
        load(path)
    message = str(err.value).replace(str(path), "FILE")
    assert message.endswith(".") and message.count(".") == 1, message  # one sentence


@pytest.mark.parametrize("version", [0, -1, "3", None, True, 2.5, 3.0])
def test_a_version_no_release_wrote_is_refused(version):
    data = raw(C1)
    data["contract_version"] = version
    with pytest.raises(ContractError, match="no version of this project wrote"):
        upgrade(data, source="odd.json")


# ----- a metric row added after a file was written: null with a note, no migration ---------

WIDGETS = Metric("widget_bytes", "bytes", "lower", "Widget size", "widget size",
                 gate="max_growth", noise="tolerance", tolerance=0.05)  # fmt: skip


@pytest.fixture
def widgets(monkeypatch):
    """A gated metric row added today: the committed files all predate it."""
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, WIDGETS))
    monkeypatch.setattr(twofile, "GROWTH_FIGURES", (*twofile.GROWTH_FIGURES, WIDGETS.key))
    return WIDGETS


def test_a_metric_newer_than_the_file_comes_in_null_with_a_note(widgets):
    current = load(C4)
    migration = current["run"]["contract_migration"]
    assert (migration["from_version"], migration["applied"]) == (4, [])
    assert set(migration["filled"]) == {"widget_bytes"}
    for record in current["variants"].values():
        assert record["widget_bytes"] is None
        assert "before the suite recorded widget_bytes" in record["unavailable"]["widget_bytes"]
    filled = set(load(C1)["run"]["contract_migration"]["filled"])
    assert filled == {*METRICS_ADDED_IN_3, *NEWER_THAN_FILES, "widget_bytes"}
    with pytest.raises(ContractError, match="widget_bytes"):
        validate(raw(C4))  # the strict check still names it: only reading upgrades


# ----- the gate and the report accept upgraded files ---------------------------------------


def run_gate(tmp_path: Path, base: Path, cur: Path, *options: str) -> tuple[int, dict[str, Any]]:
    summary = tmp_path / "summary.json"
    code = twofile.main([str(base), str(cur), "--json-summary", str(summary), *options])
    return code, json.loads(summary.read_text()) if summary.exists() else {}


def rows(summary: dict[str, Any], check: str) -> dict[str, dict[str, Any]]:
    return {r["variant"]: r for r in summary["rows"] if r["check"] == check}


def test_the_gate_compares_a_contract_1_baseline_with_a_later_run(tmp_path, capsys):
    # Both read as contract 4; C3 was run on the same machine as C1 (C4 on another, which the
    # gate refuses to mix). Contract 1 did not record the latency budget: unknown is not "the
    # same setting".
    code, _ = run_gate(tmp_path, C1, C3)
    assert code == 2
    assert "latency_budget_s: baseline None, current 0.5" in capsys.readouterr().out
    code, summary = run_gate(tmp_path, C1, C3, "--allow-different-settings")
    assert code == 0, capsys.readouterr().out
    latency = rows(summary, "latency")
    assert sorted(latency) == ["v01", "v02"]
    samples = {
        b["extra_info"]["variant"]: b["stats"]["data"]
        for b in raw(C1)["benchmarks"]
        if b["extra_info"]["scenario"] == "latency"
    }
    for vid, row in latency.items():
        # The gate's figure is the run's fastest sample, here read from the raw contract-1 file.
        assert row["baseline"] == pytest.approx(min(samples[vid]))
        assert row["verdict"] == "ok"
    for key in ("params_total", "macs", "flops"):
        assert {r["verdict"] for r in rows(summary, key).values()} == {"ok"}


def test_a_migrated_null_never_passes_the_gate_silently(tmp_path, widgets, capsys):
    cur = raw(C3)  # the same machine as C1 (see above)
    for record in cur["variants"].values():
        record["widget_bytes"] = 1000
    cur_path = tmp_path / "current.json"
    cur_path.write_text(json.dumps(cur))
    code, summary = run_gate(tmp_path, C1, cur_path, "--allow-different-settings")
    assert code == 0
    for row in rows(summary, "widget_bytes").values():
        assert row["verdict"] == "not comparable"
        assert "contract version 1" in row["note"]
    # The other way round the current file lacks a figure the baseline has: a loss, exit 1.
    code, summary = run_gate(tmp_path, cur_path, C1, "--allow-different-settings")
    assert code == 1, capsys.readouterr().out
    assert {r["verdict"] for r in rows(summary, "widget_bytes").values()} == {"LOST"}


def test_the_report_builds_from_a_contract_1_file_and_a_later_one(tmp_path):
    suite = load_suite([C1, C3])  # one machine (the report refuses to pool two)
    assert sorted(set(suite.runs["variant"])) == ["v01", "v02"]
    assert len(suite.files) == 2
    (note,) = [n for n in suite.notes if "from a file of contract 1" in n]
    assert note.startswith(str(C1))
    html = build_report([C1, C3], tmp_path / "report").read_text(encoding="utf-8")
    assert "read as contract 4 from a file of contract 1" in html


def test_the_history_store_reads_an_older_run(tmp_path):
    store = Store(tmp_path / ".benchmarks")
    stored = tmp_path / ".benchmarks" / "Linux-CPython-3.11-64bit" / "0001_old.json"
    stored.parent.mkdir(parents=True)
    stored.write_text(C2.read_text(encoding="utf-8"))
    data = store.load(stored)
    assert data["contract_version"] == contract.CONTRACT_VERSION
    assert data["run"]["contract_migration"]["applied"] == ["2->3", "3->4"]


# ----- contract 4: throughput over the 5 % quantile of the calls, recomputed on read ----------


def _throughput(data: dict[str, Any], variant: str) -> dict[str, Any]:
    (bench,) = [b for b in data["benchmarks"] if b["extra_info"]["scenario"] == "throughput"
                and b["extra_info"]["variant"] == variant]  # fmt: skip
    return bench


def test_a_contract_3_files_throughput_is_recomputed_from_its_own_samples():
    before, data = raw(C3), load(C3)
    migration = data["run"]["contract_migration"]
    assert (migration["from_version"], migration["applied"]) == (3, ["3->4"])
    for vid, old in before["variants"].items():
        record = data["variants"][vid]
        assert record["throughput_images_per_s"] == pytest.approx(rate_from_samples(C3, vid))
        # contract 3's figure was the batch over the median call: a slower rate
        bench = _throughput(before, vid)
        median = bench["extra_info"]["batch_size"] / float(np.median(bench["stats"]["data"]))
        assert old["throughput_images_per_s"] == pytest.approx(median)
        assert record["throughput_images_per_s"] > old["throughput_images_per_s"]
        for key in ("latency_median_s", "latency_p99_s", "params_total", "macs"):
            assert record[key] == old[key]


def test_a_contract_3_throughput_without_its_samples_becomes_null_with_its_reason():
    data = raw(C3)
    for vid in data["variants"]:
        _throughput(data, vid)["stats"]["data"] = []
    upgraded = validate(upgrade(data))
    for record in upgraded["variants"].values():
        assert record["throughput_images_per_s"] is None
        reason = record["unavailable"]["throughput_images_per_s"]
        assert "lacks the calls to recompute it" in reason


def test_the_current_file_is_written_with_the_quantile():
    for vid, record in raw(C4)["variants"].items():
        assert record["throughput_images_per_s"] == pytest.approx(rate_from_samples(C4, vid))
