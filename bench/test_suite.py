"""The benchmark suite: per model a worker record, then latency, throughput and a training step.

Run: `pytest bench --benchmark-json out.json [--variants v01,v10] [--accuracy train]`.
Every worker job (params, FLOPs, memory, accuracy, training) finishes before any timing starts.
Each timed scenario is then one interleaved session over all models (`bench.suite.scenarios`):
built or loaded once, every round visiting every model in a new order, so machine noise lands
on all of them alike; each model still gets its own pytest-benchmark entry with its samples.
Each phase reports its progress to `suite.display` (`bench.suite.progress`): records, load,
latency, throughput and train step.
"""

from __future__ import annotations

import pytest

from bench.conftest import SUITE_KEY, Suite
from bench.measure import timing as latency
from bench.suite import scenarios, seeds
from bench.suite.progress import Phase
from bench.suite.scenarios import ROUNDS, Scenario
from reports import units


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        suite = metafunc.config.stash[SUITE_KEY]
        ids = [e.id for e in suite.entries]
        metafunc.parametrize("variant", ids, ids=ids)


def test_record(variant: str, suite: Suite) -> None:
    """Params, FLOPs, accuracy (reported / trained / loaded, one job per seed) and memory, each
    job in a fresh process; the seeds' records merged into the model's record."""
    results = suite.wait(suite.jobs(variant))
    dead = next((r for r in results if r.record is None), None)
    if dead is not None:
        pytest.fail(
            f"a worker for {variant} died (exit {dead.returncode}):\n" + "\n".join(dead.tail)
        )
    for result in results:
        result.record["worker_wall_s"] = result.wall_s
    record, labels = seeds.merge([r.record for r in results])
    suite.records[variant] = record
    suite.labels.update(labels)
    broken = next((r for r in results if r.returncode != 0), None)
    if broken is not None:
        pytest.fail("\n".join(broken.tail + broken.record["errors"]))
    if record["errors"]:
        pytest.fail(" ".join(record["errors"]), pytrace=False)


# --- timed scenarios: one interleaved session each, shared by the per-model entries ---


def _phase(suite: Suite, name: str, rounds: bool = True) -> Phase:
    """The progress line of one phase: a model at a time, then the interleaved rounds."""
    items = [e.id for e in suite.entries] + ([ROUNDS] if rounds else [])
    return suite.display.phase(name, items, suite.expected.get(name))


def _summary(scenario: Scenario, phase: Phase) -> str:
    """The phase's last line: models, rounds, time, and the models dropped."""
    took = units.clock(phase.display.clock() - phase.started_at)
    session = scenario.session
    timed = f"{len(session.samples)} models × {session.rounds} rounds" if session else "no model"
    dropped = f"; {len(scenario.dropped)} dropped (see below)" if scenario.dropped else ""
    return f"{timed} in {took}{dropped}"


@pytest.fixture(scope="session")
def models(suite: Suite) -> dict:
    """Every selected model, built or loaded once, after every worker job has finished."""
    suite.finish_jobs()
    with _phase(suite, "load", rounds=False) as phase:
        return scenarios.load_models([e.id for e in suite.entries], suite.records, phase)


@pytest.fixture(scope="session")
def latency_session(suite: Suite, models: dict, reference: latency.Timed) -> Scenario:
    opt = suite.options
    with _phase(suite, "latency") as phase:
        scenario = scenarios.latency_scenario(
            models,
            xla=suite.settings.xla,
            budget_s=opt.latency_budget,
            reference=reference,
            progress=phase,
        )
        phase.close(_summary(scenario, phase))
    return scenario


@pytest.fixture(scope="session")
def throughput_session(suite: Suite, models: dict) -> Scenario:
    with _phase(suite, "throughput") as phase:
        scenario = scenarios.throughput_scenario(
            models, xla=suite.settings.xla, batch=suite.options.throughput_batch, progress=phase
        )
        phase.close(_summary(scenario, phase))
    for vid, note in scenario.notes.items():  # a fallback the user should hear of
        if "batch_reduced_because" in note:
            suite.display.say(
                f"{vid}: throughput measured at batch {scenario.timed[vid].batch_size}, not "
                f"{note['requested_batch_size']} ({note['batch_reduced_because']})."
            )
    return scenario


@pytest.fixture(scope="session")
def train_step_session(suite: Suite, models: dict) -> Scenario:
    recipes = {e.id: e.recipe for e in suite.entries}
    with _phase(suite, "train step") as phase:
        scenario = scenarios.train_step_scenario(
            models, recipes, xla=suite.settings.xla, progress=phase
        )
        phase.close(_summary(scenario, phase))
    return scenario


def _entry(benchmark, suite: Suite, variant: str, scenario: Scenario) -> None:
    """This model's samples of the session as its benchmark entry, or a one-sentence failure."""
    if variant in scenario.dropped:
        suite.record_error(variant, scenario.dropped[variant])
        pytest.fail(scenario.dropped[variant], pytrace=False)
    session, timed = scenario.session, scenario.timed[variant]
    samples = session.samples[variant]
    scenarios.replay(benchmark, samples)
    benchmark.extra_info.update(suite.extra(variant, scenario.name, timed))
    benchmark.extra_info.update(scenario.notes.get(variant, {}))
    benchmark.extra_info["session"] = {
        "id": scenario.id,
        "rounds": session.rounds,
        "models": len(session.samples),
        "order": f"shuffled every round (seed {session.order_seed})",
        # several calls per round: preceded by an untimed call of the same model (a primer)
        "calls_per_round": session.calls[variant],
    }
    if scenario.name != "latency":
        benchmark.extra_info["images_per_s"] = timed.batch_size / benchmark.stats.stats.median
    if session.reference is not None:  # the round's reference sample beside each of its samples
        k = session.calls[variant]
        benchmark.extra_info["reference_samples_s"] = [
            r for r in session.reference for _ in range(k)
        ]


def test_latency(benchmark, variant: str, suite: Suite, latency_session: Scenario) -> None:
    """Batch-1 latency, interleaved round by round with every other model and the reference."""
    _entry(benchmark, suite, variant, latency_session)


def test_throughput(benchmark, variant: str, suite: Suite, throughput_session: Scenario) -> None:
    """Images per second at a large batch (--throughput-batch, 256 by default)."""
    _entry(benchmark, suite, variant, throughput_session)


def test_train_step(benchmark, variant: str, suite: Suite, train_step_session: Scenario) -> None:
    """One optimizer step at the recipe's batch size, with the recipe's augmentation."""
    _entry(benchmark, suite, variant, train_step_session)
    benchmark.extra_info["augmentation"] = suite.entry(variant).recipe.augmentation
