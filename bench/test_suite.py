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

from bench import units
from bench.atomic import EXIT_UNWRITTEN
from bench.conftest import SUITE_KEY, Suite
from bench.measure import timing as latency
from bench.suite import deployments, scenarios, seeds
from bench.suite.progress import Phase
from bench.suite.scenarios import ROUNDS, Scenario


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = metafunc.config.stash[SUITE_KEY]
    if "variant" in metafunc.fixturenames:
        ids = [e.id for e in suite.entries]
        metafunc.parametrize("variant", ids, ids=ids)
    if "point" in metafunc.fixturenames:  # a model in a deployment other than keras
        ids = [deployments.point(e.id, d) for e in suite.entries for d in suite.deployments[1:]]
        metafunc.parametrize("point", ids, ids=ids)


def test_record(variant: str, suite: Suite) -> None:
    """Params, FLOPs, accuracy (reported / trained / loaded, one job per seed) and memory, each
    job in a fresh process; the seeds' records merged into the model's record."""
    results = suite.wait(suite.jobs(variant))
    dead = next((r for r in results if r.record is None), None)
    if dead is not None and (dead.returncode < 0 or dead.returncode == EXIT_UNWRITTEN):
        suite.record_error(variant, dead.tail[-1])  # killed, or no room for its record
        pytest.fail(dead.tail[-1], pytrace=False)
    if dead is not None:  # a bug of ours: its traceback
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


def _phase(suite: Suite, name: str, rounds: bool = True, points: bool = False) -> Phase:
    """The progress line of one phase: a model (and, with `points`, a model in another
    deployment) at a time, then the interleaved rounds."""
    ids = [e.id for e in suite.entries]
    if points:
        ids += [deployments.point(e.id, d) for e in suite.entries for d in suite.deployments[1:]]
    items = ids + ([ROUNDS] if rounds else [])
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
        return scenarios.load_models(
            [e.id for e in suite.entries], suite.records, phase, num_classes=suite.shape[1]
        )


@pytest.fixture(scope="session")
def converted(suite: Suite, models: dict) -> dict:
    """Every model in every other deployment asked for, converted before any timing starts,
    and evaluated on the test set when the weights were trained or loaded here."""
    if len(suite.deployments) == 1:
        return {}
    data = suite.deployment_data()
    calibration = None if data is None else data.x_train[: deployments.CALIBRATION_IMAGES]
    with _phase(suite, "convert", rounds=False) as phase:
        found = deployments.convert_all(models, suite.deployments, calibration, phase)
    suite.deployment_rows = deployments.records(found)
    if data is not None and suite.options.accuracy in {"train", "load"}:
        points = deployments.converted_points(found)
        with suite.display.phase("evaluate", points, suite.expected.get("evaluate")) as phase:
            deployments.evaluate_all(
                found, suite.deployment_rows, data.x_test, data.y_test, progress=phase
            )
    return found


@pytest.fixture(scope="session")
def latency_session(
    suite: Suite, models: dict, converted: dict, reference: latency.Timed
) -> Scenario:
    extra, dropped = deployments.timed_points(converted, batch_size=1)
    with _phase(suite, "latency", points=True) as phase:
        scenario = scenarios.latency_scenario(
            models,
            xla=suite.settings.xla,
            budget_s=suite.options.latency_budget,
            reference=reference,
            extra=extra,
            progress=phase,
        )
        scenario.dropped.update(dropped)
        phase.close(_summary(scenario, phase))
    return scenario


@pytest.fixture(scope="session")
def throughput_session(suite: Suite, models: dict, converted: dict) -> Scenario:
    batch = suite.options.throughput_batch
    extra, dropped = deployments.timed_points(converted, batch_size=batch)
    with _phase(suite, "throughput", points=True) as phase:
        scenario = scenarios.throughput_scenario(
            models, xla=suite.settings.xla, batch=batch, extra=extra, progress=phase
        )
        scenario.dropped.update(dropped)
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


@pytest.fixture(scope="session")
def energy_rows(suite: Suite, throughput_session: Scenario) -> dict:
    """Energy per 1,000 images of each model at its throughput batch, after every timing."""
    from bench.measure.environment import device_name

    models = {v: t for v, t in throughput_session.timed.items() if "@" not in v}
    models = {v: t for v, t in models.items() if v not in throughput_session.dropped}
    suite.energy_rows = scenarios.energy_scenario(models, on_gpu=device_name() != "CPU")
    return suite.energy_rows


def _entry(benchmark, suite: Suite, variant: str, scenario: Scenario) -> None:
    """This point's samples of the session as its benchmark entry, or a one-sentence failure.

    A point is a model (keras, the default deployment) or `<model>@<deployment>`; a failed
    deployment's sentence goes to that deployment's row, not to the model's errors.
    """
    model, deployment = deployments.split_point(variant)
    if variant in scenario.dropped:
        suite.record_error(model, scenario.dropped[variant], deployment=deployment)
        pytest.fail(scenario.dropped[variant], pytrace=False)
    if variant not in scenario.timed:  # never built: its worker's record says why
        errors = suite.records.get(model, {}).get("errors") or [f"{model} was not built"]
        pytest.fail(errors[0], pytrace=False)
    session, timed = scenario.session, scenario.timed[variant]
    samples = session.samples[variant]
    scenarios.replay(benchmark, samples)
    benchmark.extra_info.update(suite.extra(model, scenario.name, timed))
    benchmark.extra_info["deployment"] = deployment
    benchmark.extra_info.update(scenario.notes.get(variant, {}))
    taken = session.taken.get(variant, session.rounds)
    benchmark.extra_info["session"] = {
        "id": scenario.id,
        "rounds": taken,  # this point's rounds: the session's first `taken` rounds
        "session_rounds": session.rounds,
        "models": len(session.samples),
        "order": f"shuffled every round (seed {session.order_seed})",
        # several calls per round: preceded by an untimed call of the same model (a primer)
        "calls_per_round": session.calls[variant],
        "stopped": session.stops.get(variant, ""),
    }
    if scenario.name != "latency":
        benchmark.extra_info["images_per_s"] = timed.batch_size / benchmark.stats.stats.median
    if session.reference is not None:  # the round's reference sample beside each of its samples
        k = session.calls[variant]
        benchmark.extra_info["reference_samples_s"] = [
            r for r in session.reference[:taken] for _ in range(k)
        ]


def test_latency(benchmark, variant: str, suite: Suite, latency_session: Scenario) -> None:
    """Batch-1 latency, interleaved round by round with every other model and the reference."""
    _entry(benchmark, suite, variant, latency_session)


def test_throughput(benchmark, variant: str, suite: Suite, throughput_session: Scenario) -> None:
    """Images per second at a large batch (--throughput-batch, 256 by default)."""
    _entry(benchmark, suite, variant, throughput_session)


def test_deployment_latency(benchmark, point: str, suite: Suite, latency_session: Scenario):
    """Batch-1 latency of a model in another deployment, in the same session as the models."""
    _entry(benchmark, suite, point, latency_session)


def test_deployment_throughput(benchmark, point: str, suite: Suite, throughput_session: Scenario):
    """Images per second of a model in another deployment, where the runtime runs batches."""
    _entry(benchmark, suite, point, throughput_session)


def test_train_step(benchmark, variant: str, suite: Suite, train_step_session: Scenario) -> None:
    """One optimizer step at the recipe's batch size, with the recipe's augmentation."""
    _entry(benchmark, suite, variant, train_step_session)
    benchmark.extra_info["augmentation"] = suite.entry(variant).recipe.augmentation


def test_inference_energy(variant: str, suite: Suite, energy_rows: dict) -> None:
    """Energy per 1,000 images at the throughput batch, from a hardware counter (skipped, with
    the reason in the record, where the machine has none)."""
    row = energy_rows.get(variant)
    if row is None:
        pytest.skip(f"{variant} has no throughput function to measure (see its throughput test)")
    if row["reason"] is not None:
        pytest.skip(row["reason"])
