"""The store of runs (`bench.history.store`): lossless, small, and runs of different machines or
settings kept apart.

Hand-made suite files (tests/test_gate.py's builder, seeded samples) are saved and read back;
the expected values are the original documents themselves, and the folder and group counts follow
from which settings the test changed.
"""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.contract import encode_classes
from bench.history import autosave
from bench.history.cli import main as history_main
from bench.history.store import BLOBS, Store, StoreError, decode_samples, encode_samples

try:  # tests/ is on sys.path under pytest's default import mode (no tests/__init__.py)
    from test_gate import suite
except ImportError:  # tests/ became a package
    from tests.test_gate import suite


def run_with_predictions(seed: int, **changes) -> dict:
    """A suite document whose v01 has one measured run with predictions on 1,000 images."""
    data = suite(seed)
    rng = np.random.default_rng(0)  # the same predictions in every run: a cached model's
    labels = encode_classes(rng.integers(0, 10, 1000))
    predictions = encode_classes(rng.integers(0, 10, 1000))
    data["test_labels"] = {labels["sha256"]: labels}
    data["variants"]["v01"]["runs"] = [
        {"seed": 0, "accuracy": 0.8, "predictions": predictions,
         "test_labels_sha256": labels["sha256"]}
    ]  # fmt: skip
    data["datetime"] = f"2025-01-0{seed + 1}T00:00:00"
    for key, value in changes.items():
        section, _, name = key.partition("__")
        data[section][name] = value
    return data


def test_samples_encoding_is_lossless():
    values = list(np.random.default_rng(1).exponential(1e-3, 777))
    assert decode_samples(encode_samples(values), "x") == values


def test_a_saved_run_reads_back_equal_and_stores_samples_and_predictions_compactly(tmp_path):
    original = run_with_predictions(0)
    store = Store(tmp_path / "store")
    path = store.save(copy.deepcopy(original))
    assert path.parent.parent == tmp_path / "store"
    assert path.name.startswith("0001_abc_20250101_000000")  # NNNN_<commit>_<time>
    stored = json.loads(path.read_text())
    assert all("data" not in b["stats"] for b in stored["benchmarks"])
    assert all("reference_samples_s" not in b["extra_info"] for b in stored["benchmarks"])
    prediction = stored["variants"]["v01"]["runs"][0]["predictions"]
    assert "data" not in prediction and prediction["ref"].startswith(f"{BLOBS}/")
    (entry,), ignored = store.entries()
    assert ignored == []
    assert store.load(entry) == json.loads(json.dumps(original))
    # A second run with the same predictions adds no blob; the run file is much smaller than
    # the JSON it came from.
    store.save(run_with_predictions(1))
    assert len(list((tmp_path / "store" / BLOBS).iterdir())) == 2  # predictions and labels
    assert path.stat().st_size < 0.7 * len(json.dumps(original))


def test_a_damaged_blob_is_one_sentence(tmp_path):
    store = Store(tmp_path)
    store.save(run_with_predictions(0))
    blob = next((tmp_path / BLOBS).iterdir())
    blob.write_bytes(gzip.compress(b"not the predictions"))
    (entry,), _ = store.entries()
    with pytest.raises(StoreError, match="is damaged"):
        store.load(entry)


def test_runs_of_other_machines_or_settings_are_kept_apart(tmp_path, capsys):
    store = Store(tmp_path)
    base = run_with_predictions(0)
    xla = copy.deepcopy(base)
    xla["machine_info"]["xla"] = True
    other_dataset = copy.deepcopy(base)
    other_dataset["run"]["dataset"] = "fashion_mnist"
    for data in (base, run_with_predictions(1), xla, other_dataset):
        store.save(data)
    entries, _ = store.entries()
    assert len({e.machine for e in entries}) == 2  # XLA on is another folder
    assert len({e.group for e in entries}) == 3
    assert len(list(tmp_path.glob("*/0*.json"))) == 4
    assert history_main(["list", "--storage", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 runs" in out and "3 groups: runs of different groups are never compared" in out


def test_a_damaged_run_file_stops_the_listing_in_one_sentence(tmp_path, capsys):
    store = Store(tmp_path)
    path = store.save(run_with_predictions(0))
    path.write_text(path.read_text()[:100])
    assert history_main(["list", "--storage", f"file://{tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and "Traceback" not in err


def test_an_unfinished_pytest_run_is_not_saved(tmp_path, capsys):
    storage = autosave.HistoryStorage(tmp_path, logger=None)

    class Interrupted:
        exitstatus = pytest.ExitCode.INTERRUPTED

    storage.session = Interrupted()
    storage.save(run_with_predictions(0), "abc_20250101_000000")
    assert Store(tmp_path).files() == []
    assert "not saved" in capsys.readouterr().err


def test_pytest_benchmark_compare_reads_a_stored_run(tmp_path):
    path = Store(tmp_path).save(run_with_predictions(0))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test_latency[v01]" in proc.stdout


def test_the_store_path_accepts_only_folders(tmp_path, capsys):
    assert history_main(["list", "--storage", "elasticsearch+http://host/index"]) == 2
    assert "reads a folder" in capsys.readouterr().err
    assert Store(Path(tmp_path) / "absent").entries() == ([], [])
