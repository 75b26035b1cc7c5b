"""The suite's options, process settings and JSON hooks (`pytest bench --benchmark-json out.json`).

Options are validated before any test runs, so an unknown variant or option value stops the run
with one sentence. TensorFlow is configured (threads, visible devices, precision) in
`pytest_configure`, before the first op, because it cannot be changed afterwards.
"""

from __future__ import annotations

import json

import pytest

from bench.contract import CONTRACT_VERSION
from bench.measure.environment import EnvironmentError_, Settings, configure
from bench.suite import assemble
from bench.suite.options import OPTIONS
from bench.suite.seeds import SeedsError, parse_seeds
from bench.suite.session import Suite


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-bench", "CNN efficiency suite")
    for option in OPTIONS:
        option.add_to(group.addoption)


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
    # The project's own tests turn warnings into errors (pyproject.toml); a benchmark run shows
    # them and goes on: a user's plugin may well warn.
    config.addinivalue_line("filterwarnings", "default")
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
    from bench.suite.plugins import PluginError, import_plugins

    try:
        import_plugins(config.option.plugin)
    except PluginError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        entries = architectures.select(config.option.variants)
    except architectures.UnknownVariantError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.accuracy == "load" and config.option.weights_dir is None:
        raise pytest.UsageError("--accuracy load needs --weights-dir DIR holding <id>.keras files.")
    if config.option.accuracy in {"train", "load"}:
        _check_dataset(config)
    try:
        seeds = parse_seeds(config.option.seeds)
    except SeedsError as exc:
        raise pytest.UsageError(str(exc)) from None
    suite = Suite(config.option, settings, entries, seeds)
    suite.capture = config.pluginmanager.getplugin("capturemanager")
    config.stash[SUITE_KEY] = suite
    if config.option.executor == "ray" and not (config.option.help or config.option.collectonly):
        _connect(suite)


def _connect(suite: Suite) -> None:
    """Join or start the Ray cluster now: a missing install or a wrong address stops the run in
    one sentence before any test."""
    from bench.suite.jobs import ExecutorError

    try:
        suite.connect()
    except ExecutorError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let the executor go: cancel what is still running (an interrupted run), leave Ray."""
    if SUITE_KEY in config.stash:
        config.stash[SUITE_KEY].close()


def _check_dataset(config: pytest.Config) -> None:
    """Fail fast, once, in one sentence, when the dataset cannot be read (not once per variant)."""
    from bench.suite.seeds import DATA_SPLIT_SEED
    from bench.training.datasets import DatasetError, load_dataset

    try:
        load_dataset(config.option.dataset, data_dir=config.option.data_dir, seed=DATA_SPLIT_SEED)
    except DatasetError as exc:
        raise pytest.UsageError(str(exc)) from None


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


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """Add the contract's `contract_version`, `run`, `variants` and `published_references`."""
    if SUITE_KEY not in config.stash:
        return
    import architectures

    suite = config.stash[SUITE_KEY]
    output_json["contract_version"] = CONTRACT_VERSION
    output_json["run"] = suite.run_options()
    output_json["variants"] = assemble.variants_section(
        suite.entries, suite.records, output_json["benchmarks"]
    )
    output_json["published_references"] = assemble.published_references(
        architectures.VARIANTS.values()
    )
    output_json["test_labels"] = suite.labels


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
