"""The run's stages, in order, as plain code: records, load, convert and evaluate, each timed
scenario of `bench.metrics.SCENARIOS`, energy.

`run` is the whole timed part of a suite run: it waits for every worker job (no timing runs
beside a worker), loads every model once, converts and evaluates the other deployments, runs one
interleaved session per scenario row asked for (in table order), then measures inference energy
on the session of the row marked `energy`. It writes what the JSON assembly reads into the
`Suite` (`deployment_rows`, `energy_rows`, and each dropped point's sentence through
`record_error`) and returns `Results`: for every scenario and point, the samples and the
`extra_info` of its benchmark entry, or the one sentence saying why it has none.
`bench/test_suite.py` only hands those to pytest-benchmark. The order lives here, not in
fixture dependencies; `tests/test_suite_integration.py` runs it through pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from bench import metrics, units
from bench.suite.orchestration import deployments, scenarios
from bench.suite.orchestration.scenarios import ROUNDS, Timing
from bench.suite.presentation.progress import Phase


@dataclass(frozen=True)
class Entry:
    """One point's benchmark entry: its raw samples (seconds, one per round) and `extra_info`."""

    samples: list[float]
    extra_info: dict[str, Any]


@dataclass
class Results:
    """What the timed stages found.

    Attributes:
        models: the loaded models by id.
        timings: scenario name -> its interleaved session.
        entries: (scenario name, point) -> its `Entry`, or the sentence saying why it has none.
        energy_rows: model -> its inference-energy row (`scenarios.energy_scenario`).
    """

    models: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Timing] = field(default_factory=dict)
    entries: dict[tuple[str, str], Entry | str] = field(default_factory=dict)
    energy_rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def run(
    suite: Any,
    wanted: Collection[str],
    *,
    energy: bool = False,
    reference: Callable[[], Any] | None = None,
) -> Results:
    """The timed stages of `suite` (a `bench.suite.orchestration.session.Suite`), in order.

    Args:
        suite: the run's state; its worker jobs must have been submitted.
        wanted: the scenario names to time (the rows of the selected tests).
        energy: measure inference energy too (its scenario runs even when not wanted).
        reference: gives the warmed-up reference workload, for rows that time it.
    """
    suite.finish_jobs()
    results = Results(models=load(suite))
    converted = convert(suite, results.models)
    for row in metrics.SCENARIOS:
        if row.name in wanted or (energy and row.energy):
            ref = reference() if row.reference and reference is not None else None
            timing = time_scenario(suite, row, results.models, converted, ref)
            results.timings[row.name] = timing
            results.entries.update(entries(suite, row, timing))
    source = next((r for r in metrics.SCENARIOS if r.energy), None)
    if energy and source is not None:
        results.energy_rows = energy_stage(results.timings[source.name])
        suite.energy_rows = results.energy_rows
    return results


def phase(suite: Any, name: str, rounds: bool = True, points: bool = False) -> Phase:
    """The progress line of one phase: a model (and, with `points`, a model in another
    deployment) at a time, then the interleaved rounds."""
    ids = [e.id for e in suite.entries]
    if points:
        ids += [deployments.point(e.id, d) for e in suite.entries for d in suite.deployments[1:]]
    items = ids + ([ROUNDS] if rounds else [])
    return suite.display.phase(name, items, suite.expected.get(name))


def _summary(timing: Timing, progress: Phase) -> str:
    """The phase's last line: models, rounds, time, and the models dropped."""
    took = units.clock(progress.display.clock() - progress.started_at)
    session = timing.session
    timed = f"{len(session.samples)} models × {session.rounds} rounds" if session else "no model"
    dropped = f"; {len(timing.dropped)} dropped (see below)" if timing.dropped else ""
    return f"{timed} in {took}{dropped}"


def load(suite: Any) -> dict[str, Any]:
    """Every selected model, built or loaded once (after every worker job has finished)."""
    with phase(suite, "load", rounds=False) as progress:
        return scenarios.load_models(
            [e.id for e in suite.entries], suite.records, progress, num_classes=suite.shape[1]
        )


def convert(suite: Any, models: dict[str, Any]) -> dict[str, Any]:
    """Every model in every other deployment asked for, converted before any timing starts,
    and evaluated on the test set when the weights were trained or loaded here."""
    if len(suite.deployments) == 1:
        return {}
    data = suite.deployment_data()
    calibration = None if data is None else data.x_train[: deployments.CALIBRATION_IMAGES]
    with phase(suite, "convert", rounds=False) as progress:
        found = deployments.convert_all(models, suite.deployments, calibration, progress)
    suite.deployment_rows = deployments.records(found)
    if data is not None and suite.options.accuracy.measures:
        points = deployments.converted_points(found)
        with suite.display.phase("evaluate", points, suite.expected.get("evaluate")) as progress:
            deployments.evaluate_all(
                found, suite.deployment_rows, data.x_test, data.y_test, progress=progress
            )
    return found


def time_scenario(
    suite: Any, row: metrics.Scenario, models: dict[str, Any], converted: dict, reference: Any
) -> Timing:
    """One interleaved session of `row` over every model (and, when the row takes them, every
    model in another deployment); a reduced batch is said to the user."""
    options, xla = suite.options, suite.settings.xla
    batch = row.batch_of(options)
    extra, dropped = {}, {}
    if row.deployments:
        extra, dropped = deployments.timed_points(converted, batch_size=batch)
    with phase(suite, row.label, points=row.deployments) as progress:
        if row.call == "train_step":
            recipes = {e.id: e.recipe for e in suite.entries}
            timing = scenarios.train_step_scenario(
                row, models, recipes, xla=xla, budget_s=row.budget_of(options), progress=progress
            )
        else:
            timing = scenarios.inference_scenario(
                row, models, xla=xla, batch=batch, budget_s=row.budget_of(options),
                reference=reference, extra=extra, progress=progress,
            )  # fmt: skip
        timing.dropped.update(dropped)
        progress.close(_summary(timing, progress))
    for vid, note in timing.notes.items():  # a fallback the user should hear of
        if "batch_reduced_because" in note:
            suite.display.say(
                f"{vid}: {row.label} measured at batch {timing.timed[vid].batch_size}, not "
                f"{note['requested_batch_size']} ({note['batch_reduced_because']})."
            )
    return timing


def energy_stage(timing: Timing) -> dict[str, dict[str, Any]]:
    """Energy per 1,000 images of each model (not the other deployments) at its batch in
    `timing`, after every timing."""
    from bench.measure.environment import device_name

    models = {v: t for v, t in timing.timed.items() if deployments.SEPARATOR not in v}
    models = {v: t for v, t in models.items() if v not in timing.dropped}
    return scenarios.energy_scenario(models, on_gpu=device_name() != "CPU")


def entries(suite: Any, row: metrics.Scenario, timing: Timing) -> dict[tuple[str, str], Any]:
    """Each point's `Entry` of one session, or the sentence saying why it has none (a dropped
    point's sentence also goes to its model's record, or to its deployment's row)."""
    points = [e.id for e in suite.entries]
    if row.deployments:
        points += [deployments.point(e.id, d) for e in suite.entries for d in suite.deployments[1:]]
    found: dict[tuple[str, str], Entry | str] = {}
    for point in points:
        model, deployment = deployments.split_point(point)
        if point in timing.dropped:
            suite.record_error(model, timing.dropped[point], deployment=deployment)
            found[row.name, point] = timing.dropped[point]
        elif point not in timing.timed or timing.session is None:  # never built
            errors = suite.records.get(model, {}).get("errors") or [f"{model} was not built"]
            found[row.name, point] = errors[0]
        else:
            found[row.name, point] = _entry(suite, row, timing, point)
    return found


def _entry(suite: Any, row: metrics.Scenario, timing: Timing, point: str) -> Entry:
    """The contract's `extra_info` of one point of a session, with its samples."""
    model, deployment = deployments.split_point(point)
    session, timed = timing.session, timing.timed[point]
    samples = list(session.samples[point])
    info = suite.extra(model, row.name, timed)
    info["deployment"] = deployment
    info.update(timing.notes.get(point, {}))
    taken = session.taken.get(point, session.rounds)
    info["session"] = {
        "id": timing.id,
        "rounds": taken,  # this point's rounds: the session's first `taken` rounds
        "session_rounds": session.rounds,
        "models": len(session.samples),
        "order": f"shuffled every round (seed {session.order_seed})",
        # several calls per round: preceded by an untimed call of the same model (a primer)
        "calls_per_round": session.calls[point],
        "stopped": session.stops.get(point, ""),
    }
    if row.batch != 1:  # a batched call: its rate over the rounds its figures use (assemble)
        rounds = session.shared_rounds if row.shared_round_figures else taken
        shared = samples[: rounds * session.calls[point]]
        rate = next((m for m in row.metrics if m.statistic == "images_per_s"), None)
        quantile = metrics.point_quantile(rate) if rate else None  # else the median call
        info["images_per_s"] = metrics.images_per_s(shared, timed.batch_size, quantile)
    if session.reference is not None:  # the round's reference sample beside each of its samples
        k = session.calls[point]
        info["reference_samples_s"] = [r for r in session.reference[:taken] for _ in range(k)]
    if row.call == "train_step":
        info["augmentation"] = suite.entry(model).recipe.augmentation
    return Entry(samples, info)
