"""The suite's options, process settings and JSON hooks (`pytest bench --benchmark-json out.json`).

Options are validated before any test runs, so an unknown variant or option value stops the run
with one sentence. TensorFlow is configured (threads, visible devices, precision) in
`pytest_configure`, before the first op, because it cannot be changed afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.contract import CONTRACT_VERSION, empty_variant_record, variant_keys
from bench.measure.environment import DEVICES, PRECISIONS, EnvironmentError_, Settings, configure

DATASETS = ("cifar10", "fashion_mnist", "synthetic")
PROFILES = ("paper", "quick", "smoke")
ACCURACY = ("reported", "train", "load")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-bench", "CNN efficiency suite")
    group.addoption("--variants", default="all", help="comma-separated ids, or 'all' (default)")
    group.addoption(
        "--accuracy", default="reported", choices=ACCURACY, help="where accuracy comes from"
    )
    group.addoption("--profile", default="smoke", choices=PROFILES, help="training profile")
    group.addoption("--dataset", default="cifar10", choices=DATASETS)
    group.addoption("--data-dir", type=Path, default=None, help="folder or tarball of the dataset")
    group.addoption("--weights-dir", type=Path, default=None, help="<id>.keras files for 'load'")
    group.addoption(
        "--model-cache", type=Path, default=Path("results/models"), help="trained-model cache"
    )
    group.addoption("--device", default="auto", choices=DEVICES)
    group.addoption("--xla", action="store_true", help="jit_compile every timed function")
    group.addoption("--precision", default="float32", choices=PRECISIONS)
    group.addoption("--threads", default=None, help="INTRA,INTER (default 1,1 on CPU, 0,0 on GPU)")
    group.addoption("--seed", type=int, default=0)
    group.addoption("--throughput-batch", type=int, default=256)
    group.addoption(
        "--latency-budget", type=float, default=3.0, help="seconds of batch-1 samples per variant"
    )
    group.addoption(
        "--plugin", action="append", default=[], help="module or .py file that registers models"
    )
    group.addoption("--skip-profiler", action="store_true", help="analytic FLOPs only (faster)")


def _threads(raw: str | None) -> tuple[int | None, int | None]:
    if raw is None:
        return None, None
    try:
        intra, inter = (int(part) for part in raw.split(","))
    except ValueError:
        raise pytest.UsageError(f"--threads takes INTRA,INTER such as 1,1; got {raw!r}.") from None
    return intra, inter


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config.option, "variants"):
        return
    intra, inter = _threads(config.option.threads)
    settings = Settings(
        device=config.option.device,
        xla=config.option.xla,
        precision=config.option.precision,
        intra_op_threads=intra,
        inter_op_threads=inter,
    )
    try:
        configure(settings)
    except EnvironmentError_ as exc:
        raise pytest.UsageError(str(exc)) from None
    import architectures
    from bench.suite.worker import import_plugins

    try:
        import_plugins(config.option.plugin)
    except Exception as exc:
        raise pytest.UsageError(f"the plugin could not be imported: {exc}") from None
    try:
        entries = architectures.select(config.option.variants)
    except architectures.UnknownVariantError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.accuracy == "load" and config.option.weights_dir is None:
        raise pytest.UsageError("--accuracy load needs --weights-dir DIR holding <id>.keras files.")
    if config.option.accuracy in {"train", "load"}:
        _check_dataset(config)
    config.stash[SUITE_KEY] = Suite(config=config, settings=settings, entries=entries)


def _check_dataset(config: pytest.Config) -> None:
    """Fail fast, once, in one sentence, when the dataset cannot be read (not once per variant)."""
    from bench.training.datasets import DatasetError, load_dataset

    try:
        load_dataset(
            config.option.dataset, data_dir=config.option.data_dir, seed=config.option.seed
        )
    except DatasetError as exc:
        raise pytest.UsageError(str(exc)) from None


class Suite:
    """Per-session state: the selected entries, worker records, and what the JSON hook adds."""

    def __init__(self, config: pytest.Config, settings: Settings, entries: list) -> None:
        self.config = config
        self.settings = settings
        self.entries = entries
        self.records: dict[str, dict[str, Any]] = {}

    def run_options(self) -> dict[str, Any]:
        opt = self.config.option
        return {
            "variants": [e.id for e in self.entries],
            "accuracy_source": opt.accuracy,
            "profile": opt.profile if opt.accuracy == "train" else None,
            "dataset": opt.dataset,
            "seed": opt.seed,
            "latency_batch_size": 1,
            "throughput_batch_size": opt.throughput_batch,
            "latency_reference": "bench.measure.timing.reference_workload",
            "plugins": list(opt.plugin),
        }


SUITE_KEY = pytest.StashKey[Suite]()


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> Suite:
    return pytestconfig.stash[SUITE_KEY]


@pytest.fixture(scope="session")
def reference():
    """The fixed reference workload, warmed up once per session."""
    from bench.measure import timing as latency

    timed = latency.reference_workload()
    timed.warm_up(10)
    return timed


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    if SUITE_KEY not in config.stash:
        return
    from bench.measure.environment import machine_info as read

    machine_info.update(read())


def _percentile(data: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(data), q))


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """Add the contract's `contract_version`, `run` and `variants` to pytest-benchmark's JSON."""
    if SUITE_KEY not in config.stash:
        return
    suite = config.stash[SUITE_KEY]
    variants: dict[str, dict[str, Any]] = {}
    for entry in suite.entries:
        record = empty_variant_record(entry.id)
        record.update(kind=entry.kind, description=entry.description)
        if entry.id in suite.records:
            record.update(suite.records[entry.id])
        else:
            record["unavailable"]["all"] = "the worker for this variant did not run (deselected?)"
        variants[entry.id] = record
    for bench in output_json["benchmarks"]:
        extra = bench.get("extra_info", {})
        record = variants.get(extra.get("variant"))
        if record is None:
            continue
        stats = bench["stats"]
        scenario = extra.get("scenario")
        if scenario == "latency" and stats.get("data"):
            record["latency_median_s"] = stats["median"]
            record["latency_p90_s"] = _percentile(stats["data"], 90)
            record["latency_p99_s"] = _percentile(stats["data"], 99)
        elif scenario == "throughput":
            record["throughput_images_per_s"] = extra["batch_size"] / stats["median"]
        elif scenario == "train_step":
            record["train_step_s"] = stats["median"]
    for record in variants.values():
        timing_reason = "this scenario was not run (deselected, disabled or failed)"
        for key in ("latency_median_s", "latency_p90_s", "latency_p99_s"):
            if record[key] is None:
                record["unavailable"].setdefault(key, timing_reason)
        for key in ("throughput_images_per_s", "train_step_s"):
            if record[key] is None:
                record["unavailable"].setdefault(key, timing_reason)
        for key in variant_keys():
            record.setdefault(key, None)
    output_json["contract_version"] = CONTRACT_VERSION
    output_json["run"] = suite.run_options()
    output_json["variants"] = variants


def pytest_report_header(config: pytest.Config) -> str | None:
    if SUITE_KEY not in config.stash:
        return None
    suite = config.stash[SUITE_KEY]
    from bench.measure.environment import machine_info

    info = machine_info()
    return (
        f"cnn-bench: {len(suite.entries)} models, accuracy={config.option.accuracy}, "
        f"device={info['device']}, threads={json.dumps(info['threads'])}, xla={info['xla']}, "
        f"precision={info['precision']}, TF {info['tensorflow_version']}"
    )
