"""The suite's options, process settings and JSON hooks (`pytest bench --benchmark-json out.json`).

Options are validated before any test runs, so an unknown variant or option value stops the run
with one sentence. TensorFlow is configured (threads, visible devices, precision) in
`pytest_configure`, before the first op, because it cannot be changed afterwards; before that,
its logs are silenced for this process and its workers unless `-v`/`--verbose` asks for them
(`bench.measure.environment.quiet_logs`). The terminal shows pytest's output or progress lines
(`--display`, `bench.suite.presentation.presenter`), and the facts of the run with its expected
duration (`bench.suite.presentation.facts`) either way.
"""

from __future__ import annotations

import sys
import warnings

import pytest

from bench.contract import CONTRACT_VERSION
from bench.measure.environment import (
    LIBRARY_WARNING_MODULES,
    EnvironmentError_,
    Settings,
    configure,
    quiet_logs,
)
from bench.measure.native_logs import drop_native_logs
from bench.suite.orchestration import assemble
from bench.suite.orchestration.replay import TimerOptionError, use_replay_clock
from bench.suite.orchestration.session import Suite
from bench.suite.plan.options import OPTIONS
from bench.suite.plan.plan import PlanError, RunPlan
from bench.suite.presentation import estimate, facts
from bench.suite.presentation.presenter import (
    CaptureLines,
    ProgressPlugin,
    fit_benchmark_table,
    terminal_stream,
)
from bench.suite.presentation.progress import Display


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


def _warnings(config: pytest.Config, quiet: bool) -> None:
    """The project's own tests turn warnings into errors (pyproject.toml); a benchmark run shows
    them and goes on (a user's plugin may well warn), except, when quiet, those raised inside
    TensorFlow, Keras and their libraries."""
    config.addinivalue_line("filterwarnings", "default")
    if quiet:  # later lines take precedence
        config.addinivalue_line("filterwarnings", f"ignore:::{LIBRARY_WARNING_MODULES}")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config.option, "variants"):
        return
    verbose = getattr(config.option, "verbose", 0) > 0  # pytest's -v/--verbose
    quiet = quiet_logs(verbose=verbose)
    _warnings(config, quiet)
    fit_benchmark_table(config.option)
    try:  # before pytest-benchmark's own pytest_configure (trylast) reads the option
        use_replay_clock(config.option)
    except TimerOptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.display == "progress":  # now, while pytest's capture is suspended
        display: Display = Display.for_stream(terminal_stream())
    else:
        display = CaptureLines(config.pluginmanager.getplugin("capturemanager"))
    if quiet:  # after the display took its own copy of the terminal
        drop_native_logs()
    intra, inter = _threads(config.option.threads)
    settings = Settings(
        device=config.option.device,
        xla=config.option.xla,
        precision=config.option.precision,
        intra_op_threads=intra,
        inter_op_threads=inter,
        gpu_memory_limit_mb=config.option.gpu_memory_limit,
    )
    try:
        configure(settings)
    except EnvironmentError_ as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        plan = RunPlan.from_options(config.option)  # once: every process reads this plan
    except PlanError as exc:
        raise pytest.UsageError(str(exc)) from None
    entries = _entries(plan)
    from bench.suite.orchestration.deployments import DeploymentsOptionError, parse_deployments

    try:
        wanted = parse_deployments(config.option.deployments)
    except DeploymentsOptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    suite = Suite(plan, settings, entries)
    suite.deployments = wanted
    suite.display, suite.show_worker_output = display, verbose
    config.stash[SUITE_KEY] = suite
    _present(config, suite)


def _entries(plan: RunPlan) -> list:
    """The selected registry entries, once the plugins are imported; a plugin that does not
    import, an unknown id or a user model whose output does not fit the dataset's classes stops
    the run in one sentence."""
    import architectures
    from architectures.plugins import PluginError, import_plugins
    from bench.suite.plan.plugins import add_references, check_heads

    try:
        import_plugins(list(plan.plugin))  # first: a plugin may register the dataset too
        add_references(plan.references)
        entries = architectures.select(plan.variants)
    except (PluginError, architectures.UnknownVariantError) as exc:
        raise pytest.UsageError(str(exc)) from None
    _check_dataset(plan, entries)  # before the heads are checked against the data's classes
    try:
        check_heads(entries, plan.data_name, plan.data_image_size)
    except PluginError as exc:
        raise pytest.UsageError(str(exc)) from None
    return entries


def _present(config: pytest.Config, suite: Suite) -> None:
    """Work out the expected duration and, with `--display progress`, show the facts first."""
    from bench.measure.environment import machine_info

    info = machine_info()
    previous = facts.read_previous(config.option.estimate_from)
    macs = facts.macs_of(suite.entries, previous, suite.shape)
    plan = facts.plan_of(
        suite, info["device"], macs, cached=suite.cached_labels(), busy_cores=facts.busy_cores(),
        cores=info.get("cpu_count_logical"), speed=facts.speed(),
    )  # fmt: skip
    known = estimate.Previous.from_document(previous, plan) if previous else None
    where = str(config.option.estimate_from) if previous else None
    expected = estimate.estimate(plan, known, where)
    suite.expected = expected.items
    config.stash[FACTS_KEY] = facts.facts(suite, info, expected)
    if config.option.display == "progress":
        plugin = ProgressPlugin(suite.display, config.stash[FACTS_KEY])
        config.pluginmanager.register(plugin, "bench-progress")
    if config.option.executor == "ray" and not (config.option.help or config.option.collectonly):
        _connect(suite)


def _connect(suite: Suite) -> None:
    """Join or start the Ray cluster now: a missing install or a wrong address stops the run in
    one sentence before any test."""
    from bench.suite.executors.jobs import ExecutorError

    try:
        suite.connect()
    except ExecutorError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_sessionstart(session: pytest.Session) -> None:
    """--benchmark-save/--benchmark-autosave keep the run in the history's store (bench.history)."""
    if SUITE_KEY in session.config.stash:
        from bench.history.autosave import install

        install(session)


def _quiet_interrupt(config: pytest.Config) -> None:
    """Under `python -m bench run` (`--display progress`), which says in one line what an
    interrupted run kept, pytest's KeyboardInterrupt banner and pytest-benchmark's "nothing
    saved" warning are noise: both are dropped."""
    if getattr(config.option, "display", None) != "progress":
        return
    warnings.filterwarnings("ignore", message="Not saving anything")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # pytest has no option for it; tests/test_faults.py would notice
        reporter._report_keyboardinterrupt = lambda: None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> object:
    """pytest-benchmark writes the JSON here: a write that fails (a full disk) is one sentence
    with its cause and the exit status `EXIT_UNWRITTEN`, so that `python -m bench run` keeps
    the previous file instead of taking the run for one where a model failed."""
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        _quiet_interrupt(session.config)
    try:
        return (yield)
    except OSError as exc:
        from bench import atomic

        target = getattr(session.config.option, "benchmark_json", None)
        name = getattr(target, "name", "the suite JSON")
        print(
            f"could not write {name} ({atomic.cause(exc)}); the measurements of this run are lost.",
            file=sys.stderr,
            flush=True,
        )
        session.exitstatus = atomic.EXIT_UNWRITTEN
        return None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let the executor go: cancel what is still running (an interrupted run), leave Ray."""
    if SUITE_KEY in config.stash:
        config.stash[SUITE_KEY].close()


def _check_dataset(plan: RunPlan, entries: list) -> None:
    """Fail fast, once, in one sentence, when the dataset cannot be read (not once per variant):
    read as the workers will read it (`bench.suite.plan.plan.load_data`). `--image-size` where there
    is no dataset to resize was refused with the plan."""
    if not plan.accuracy.measures:
        return
    from bench.suite.plan.plan import load_data
    from bench.training.datasets import DatasetError
    from bench.training.images import ImageSizeError

    try:
        load_data(plan, entries[0].recipe.validation_examples if entries else None)
    except (DatasetError, ImageSizeError) as exc:
        raise pytest.UsageError(str(exc)) from None


SUITE_KEY = pytest.StashKey[Suite]()
FACTS_KEY = pytest.StashKey[list[str]]()


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
        suite.entries,
        suite.records,
        output_json["benchmarks"],
        suite.deployment_rows,
        energy=suite.energy_rows,
    )
    output_json["published_references"] = assemble.published_references(
        architectures.VARIANTS.values()
    )
    output_json["test_labels"] = suite.labels


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """The facts of the run (what, where, how long), under pytest's own header."""
    return config.stash.get(FACTS_KEY, None)
