"""The Ray executor's pieces that need no Ray: cache entries on the move, the test-only fault
hook, the options, and the sentence for a missing install (`tests/test_ray.py` needs Ray)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import bench.suite.executors
from bench.measure.environment import Settings
from bench.suite.executors import transfer, worker
from bench.suite.executors.jobs import ExecutorError
from bench.suite.orchestration.session import Suite
from bench.suite.plan.options import OPTIONS
from bench.suite.plan.plan import RunPlan


def _entry(folder: Path, *, variant: str, seed: int, profile: str = "smoke") -> transfer.Files:
    result = {"variant": variant, "key_inputs": {"seed": seed, "profile": {"name": profile}}}
    files = {
        "result.json": json.dumps(result).encode(),
        "final.keras": f"weights {variant} {seed}".encode(),
        "predictions.npy": b"\x93NUMPY",
    }
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


def test_the_file_names_are_the_caches():
    from bench.training import cache

    assert transfer.RESULT_FILE == cache.RESULT_FILE
    assert transfer.STATE_FILE == cache.STATE_FILE
    assert transfer.FINAL_FILE == cache.FINAL_FILE
    assert transfer.CHECKPOINT_PATTERN == cache._CHECKPOINT_PATTERN
    assert cache.checkpoint_name(3) == "checkpoint-epoch0003.keras"  # matched by the pattern


def test_an_entry_comes_home_result_last_then_the_interrupted_run_is_cleared(tmp_path, monkeypatch):
    files = _entry(tmp_path / "node" / "v01-abc", variant="v01", seed=0)
    home = tmp_path / "home" / "v01-abc"
    home.mkdir(parents=True)  # an interrupted local run of the same key
    (home / "state.json").write_text("{}")
    (home / "checkpoint-epoch0001.keras").write_bytes(b"old")
    events: list[str] = []
    replace, unlink = os.replace, Path.unlink
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(Path(b).name), replace(a, b)))
    monkeypatch.setattr(
        Path, "unlink", lambda p, **k: (events.append(f"rm {p.name}"), unlink(p, **k))
    )
    transfer.bring_home(files, home)
    assert events[:3] == ["final.keras", "predictions.npy", "result.json"]
    assert sorted(events[3:]) == ["rm checkpoint-epoch0001.keras", "rm state.json"]
    assert {p.name: p.read_bytes() for p in home.iterdir()} == files


def test_a_finished_entry_on_the_node_is_kept_and_one_at_home_is_replaced(tmp_path):
    node_files = _entry(tmp_path / "node" / "v01-abc", variant="v01", seed=0)
    other = {**node_files, "final.keras": b"another run of the same key"}
    assert transfer.unpack({"v01-abc": other}, tmp_path / "node") == []
    assert (tmp_path / "node" / "v01-abc" / "final.keras").read_bytes() == node_files["final.keras"]
    assert transfer.unpack({"v01-new": other}, tmp_path / "node") == ["v01-new"]
    transfer.bring_home(other, tmp_path / "node" / "v01-abc")
    assert (tmp_path / "node" / "v01-abc" / "final.keras").read_bytes() == other["final.keras"]


def test_an_unfinished_entry_or_a_stray_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="has not finished"):
        transfer.publish({"final.keras": b"x"}, tmp_path / "e", replace_finished=True)
    with pytest.raises(ValueError, match="not a file or folder name"):
        transfer.unpack({"../escape": {"result.json": b"{}"}}, tmp_path / "cache")
    (tmp_path / "half").mkdir()
    with pytest.raises(ValueError, match="no finished training run"):
        transfer.entry_files(tmp_path / "half")


def test_the_entries_that_go_out_are_this_models_seeds_and_profiles(tmp_path):
    mine = _entry(tmp_path / "v01-aaa", variant="v01", seed=1)
    _entry(tmp_path / "v01-bbb", variant="v01", seed=0)
    _entry(tmp_path / "v01-ccc", variant="v01", seed=1, profile="quick")
    _entry(tmp_path / "v01-b-ddd", variant="v01-b", seed=1)  # another model whose id extends it
    (tmp_path / "v01-eee").mkdir()  # unfinished: no result.json
    found = transfer.finished_entries(tmp_path, variant="v01", seed=1, profile="smoke")
    assert found == {"v01-aaa": mine}
    assert transfer.finished_entries(tmp_path / "absent", variant="v01", seed=1, profile=None) == {}


def test_a_node_sees_the_drivers_cache_through_its_token(tmp_path):
    token = transfer.write_token(tmp_path / "cache")
    assert transfer.visible(token) and token.parent == tmp_path / "cache"
    token.unlink()
    assert not transfer.visible(token)


def _args(variant: str = "v01", seed: int = 1) -> tuple[str, int, str]:
    return variant, seed, "smoke"


def test_the_fault_hook_is_inert_unless_set_for_this_job(monkeypatch, tmp_path):
    monkeypatch.delenv(worker.FAULT_ENV, raising=False)
    assert worker._fault_hook(*_args()) is worker._progress
    fault = {"variant": "v01", "seed": 0, "after_epoch": 1, "kill": "worker", "marker": "m"}
    monkeypatch.setenv(worker.FAULT_ENV, json.dumps([fault]))
    assert worker._fault_hook(*_args(seed=1)) is worker._progress
    assert worker._fault_hook(*_args(variant="v02", seed=0)) is worker._progress


def test_the_fault_hook_kills_once_after_the_epochs_line(monkeypatch, tmp_path, capsys):
    marker = tmp_path / "killed"
    fault = {"variant": "v01", "seed": 1, "after_epoch": 1, "kill": "worker", "marker": str(marker)}
    monkeypatch.setenv(worker.FAULT_ENV, json.dumps([fault]))
    kills: list[dict] = []
    monkeypatch.setattr(worker, "_kill", kills.append)
    progress = worker._fault_hook(*_args())
    progress("v01 [smoke] training: 256 training images")
    progress("v01 [smoke, seed 1] epoch 2/2  loss 2.3")
    assert kills == [] and not marker.exists()
    progress("v01 [smoke, seed 1] epoch 1/2  loss 2.3")
    assert kills == [fault] and marker.exists()
    progress("v01 [smoke, seed 1] epoch 1/2  loss 2.3")  # the retried job: the marker is there
    assert kills == [fault]
    assert "v01 [smoke, seed 1] epoch 1/2" in capsys.readouterr().err  # the line still goes out


def test_the_executor_options_stay_with_the_suite():
    flags = {o.flag for o in OPTIONS}
    new = {"--executor", "--ray-address", "--cpus-per-job", "--gpus-per-job", "--shared-cache"}
    assert new <= flags
    plan = RunPlan.from_options({"executor": "ray", "ray_address": "h:1"})
    assert RunPlan.from_json(plan.to_json()) == plan  # the worker reads them back as given
    assert (plan.executor, plan.ray_address) == ("ray", "h:1")


def test_without_ray_the_executor_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    monkeypatch.delitem(sys.modules, "bench.suite.executors.ray_executor", raising=False)
    # as if never imported
    monkeypatch.delattr(bench.suite.executors, "ray_executor", raising=False)
    suite = Suite(RunPlan.from_options({"executor": "ray", "accuracy": "train"}), Settings(), [])
    with pytest.raises(ExecutorError) as caught:
        suite.connect()
    message = str(caught.value)
    assert "pip install -e '.[cluster]'" in message and "\n" not in message
