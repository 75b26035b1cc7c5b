"""The timed scenarios of the suite, each run once for all models, interleaved.

Each row of `bench.metrics.SCENARIOS` (batch-1 latency, throughput at a large batch, one
training step, ...) is one interleaved session (`bench.measure.interleave`), run by
`inference_scenario` or `train_step_scenario` with the row's warm-up, round bounds and fill:
every model is built or loaded once (`load_models`), its
timed function is warmed up (first call apart), and then every round calls every model once, in a
new random order. pytest-benchmark still gets one entry per model and scenario, holding that
model's raw per-round samples (`bench.suite.orchestration.replay`), so `pytest-benchmark compare`
and the gates read the file as before; round `i` of every entry of one session is the same round
(`extra_info.session`), which lets the report compare two models through per-round ratios.

Each scenario tells its `progress` (`bench.suite.presentation.progress`) which model it warms up
and, before the rounds start, how many rounds of how many models it will run and how long they
should take; nothing is reported while the rounds run.

Energy per 1,000 images (`energy_scenario`) comes last: for each model, the throughput session's
warmed-up batched call repeated for at least `ENERGY_WINDOW_S` after an idle baseline, the
counter of the timing device read at both ends (`bench.measure.energy`); one model at a time, so
the counter sees only that model. Without a counter nothing runs and the figure is null with the
reason.

Faults stay with their model: an out-of-memory at the throughput batch halves that model's batch
(recorded); at batch 1, or in a training step, it drops the model from that session with one
sentence; a function that retraced is dropped with its reason (`bench.measure.interleave`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import metrics
from bench.measure import interleave, sequential
from bench.measure import timing as latency
from bench.measure.interleave import Session
from bench.metrics import MOST_CALLS_PER_ROUND
from bench.suite.presentation.progress import UNSEEN, Progress

ROUNDS = "rounds"  # the progress item of a session's interleaved rounds
# Inference energy: >= 5 s of calls is 50 NVML updates (the counter's step ~2 % of the figure),
# after a 2 s idle baseline per model (20 NVML updates).
ENERGY_WINDOW_S = 5.0
ENERGY_IDLE_S = 2.0


@dataclass(frozen=True)
class Until(metrics.Sequential):
    """How a session samples until decided: the row's `bench.metrics.Sequential` (its `cap` at
    least the budget's rounds), and the models it must decide.

    Attributes:
        groups: sets of points every pair of which must be decided (`same_architecture`).
    """

    groups: tuple[frozenset[str], ...] = ()

    def rule(
        self, keep: Mapping[str, latency.Timed], calls: Mapping[str, int], count: int,
        budget_s: float,
    ) -> tuple[sequential.StopRule | None, int]:  # fmt: skip
        """The stopping rule for these models, and the session's round cap; no rule when the
        first look would come at the cap (nothing to stop early)."""
        counts = [calls[k] for k in keep]
        first, count = self.first_look(counts), self.rounds(count, counts)
        cap = max(count, self.cap)
        if first >= cap:
            return None, count
        rule = sequential.StopRule.geometric(
            metrics.get(self.metric), first=first, cap=cap, max_s=budget_s,
            groups=self.groups, per_image={k: t.batch_size for k, t in keep.items()},
        )  # fmt: skip
        return rule, cap


def same_architecture(models: Mapping[str, Any], points: Iterable[str]) -> tuple[frozenset, ...]:
    """Groups of points whose comparisons the report makes whatever their figures: models with
    the same parameter count (v04/v05/v08: one inference graph) and each model's deployments
    (`<model>@<deployment>`, compared with the model in the deployments table)."""
    by_params: dict[int, set[str]] = {}
    for vid, model in models.items():
        by_params.setdefault(int(model.count_params()), set()).add(vid)
    groups = [g for g in by_params.values() if len(g) > 1]
    deployed: dict[str, set[str]] = {}
    for point in points:
        if "@" in point:
            deployed.setdefault(point.split("@", 1)[0], {point.split("@", 1)[0]}).add(point)
    return tuple(frozenset(g) for g in [*groups, *deployed.values()])


@dataclass
class Timing:
    """One timed scenario's session, and what each model's benchmark entry needs.

    Attributes:
        name: the scenario (`bench.metrics.Scenario.name`).
        session: the interleaved samples (None when no model could be timed).
        timed: the `Timed` of each model that took part (batch size, first call, traces).
        dropped: model id -> one sentence saying why it has no samples.
        notes: model id -> extra entries for its `extra_info` (a reduced batch, say).
        id: names the session in every entry's `extra_info.session`.
    """

    name: str
    session: Session | None
    timed: dict[str, latency.Timed]
    dropped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def load_models(
    ids: list[str],
    records: Mapping[str, dict[str, Any]],
    progress: Progress = UNSEEN,
    *,
    num_classes: int = 10,
) -> dict[str, Any]:
    """Each model once: the worker's trained or loaded file when it used one, else a fresh build
    for the worker's input shape and the dataset's `num_classes`."""
    import keras

    import architectures

    models = {}
    for vid in ids:
        progress.start(vid)
        gc.collect()
        record = records.get(vid, {})
        path = record.get("model_path")
        if path and Path(path).exists():
            models[vid] = keras.saving.load_model(path, compile=False, safe_mode=True)
        else:
            shape = tuple(record.get("input_shape") or (32, 32, 3))
            # A model its worker could not build either is left out; its record says why.
            with contextlib.suppress(Exception):
                models[vid] = architectures.get(vid).build(
                    input_shape=shape, num_classes=num_classes
                )
        progress.done(vid)
    return models


def _run(
    row: metrics.Scenario,
    timed: dict[str, latency.Timed],
    *,
    budget_s: float,
    reference: latency.Timed | None = None,
    seed: int = 0,
    progress: Progress = UNSEEN,
    until: Until | None = None,
) -> Timing:
    """Warm up (`row.warm_up_calls`), size the rounds to `budget_s` within `row.rounds`, and run
    the session.

    With `until`, the session samples until decided (`bench.measure.sequential`): it looks at
    its data at planned round counts, lets the models whose comparisons are decided leave, and
    ends when none is left, at `until.cap` rounds, or once `budget_s` has passed.

    `row.fill_s`: models whose call is shorter are called several times per round (primed), up
    to `MOST_CALLS_PER_ROUND`; 0 keeps one call per round. `progress` hears of each model's warm-up
    and of the rounds (item "rounds", with their expected duration), before they run: nothing
    is reported while they run.
    """
    scenario = Timing(row.name, None, timed)
    rounds, fill_s = row.rounds, row.fill_s
    for vid, t in timed.items():  # one model at a time, as `warm_up` would, to say which
        progress.start(vid, "warm-up")
        scenario.dropped.update(interleave.warm_up({vid: t}, calls=row.warm_up_calls))
        progress.done(vid)
    keep = {k: t for k, t in timed.items() if k not in scenario.dropped}
    if not keep:
        return scenario
    per_call = {k: interleave.per_call_s(t) for k, t in keep.items()}
    calls = metrics.calls_per_round(per_call, target_s=fill_s, most=MOST_CALLS_PER_ROUND)
    if until is not None:
        calls = interleave.alike(calls, until.groups)
    per_round = metrics.round_s(per_call, calls, warm_each_round=row.warm_each_round)
    if reference is not None:
        per_round += interleave.per_call_s(reference)
    count = metrics.rounds_for(
        per_round, budget_s=budget_s, min_rounds=rounds[0], max_rounds=rounds[1]
    )
    rule = None
    if until is not None:
        rule, count = until.rule(keep, calls, count, budget_s)
    expected = count * per_round
    what = f"{count} rounds"
    if rule is not None:  # the time budget bounds the session whatever the cap
        expected, what = min(expected, budget_s + per_round), f"up to {count} rounds"
    progress.start(ROUNDS, f"{what} of {len(keep)} models", expected_s=expected)
    scenario.session = interleave.run_rounds(
        keep, rounds=count, reference=reference, seed=seed, calls=calls, until=rule,
        warm_each_round=row.warm_each_round,
    )  # fmt: skip
    progress.done(ROUNDS)
    scenario.dropped.update(scenario.session.dropped)
    return scenario


def inference_scenario(
    row: metrics.Scenario,
    models: Mapping[str, Any],
    *,
    xla: bool,
    batch: int,
    budget_s: float,
    reference: latency.Timed | None = None,
    extra: Mapping[str, latency.Timed] | None = None,
    progress: Progress = UNSEEN,
) -> Timing:
    """Forward passes at `batch` of every model (and of every `extra` point: a model in another
    deployment, `bench.suite.orchestration.deployments`), `budget_s` seconds of samples per point,
    sized by `row` (a `bench.metrics.Scenario` whose `call` is "inference"). With
    `row.halve_on_oom`, a model out of memory at `batch` is timed at half of it (recorded) and an
    `extra` point whose first call fails is dropped with its reason. With `row.cpu_clock`, every
    call is timed on `timing.call_clock`'s clock (its name in every point's note "clock")."""
    if row.halve_on_oom:
        timed, notes, dropped = _first_calls(models, xla=xla, batch=batch, extra=extra,
                                             progress=progress)  # fmt: skip
    else:
        timed = {v: latency.inference(m, batch_size=batch, xla=xla) for v, m in models.items()}
        timed.update(extra or {})
        notes, dropped = {}, {}
    if row.cpu_clock:
        _use_call_clock(timed, notes)
    until = None
    if row.sequential is not None:
        groups = same_architecture(models, timed)
        until = Until(**dataclasses.asdict(row.sequential), groups=groups)
    timing = _run(
        row,
        timed,
        budget_s=budget_s * max(len(timed), 1),
        reference=reference if row.reference else None,
        progress=progress,
        until=until,
    )
    timing.dropped.update(dropped)
    timing.notes.update(notes)
    return timing


def _use_call_clock(timed: Mapping[str, latency.Timed], notes: dict[str, dict[str, Any]]) -> None:
    """Time every point on `timing.call_clock`'s clock (on the CPU with one op thread: process
    CPU time) and name it in the point's note "clock"."""
    clock, clock_name = latency.call_clock()
    for key, point in timed.items():
        point.clock = clock
        notes.setdefault(key, {})["clock"] = clock_name


def _fitting(build: Callable[[int], latency.Timed], batch: int) -> tuple[latency.Timed, int]:
    """A Timed at the largest batch, halving from `batch`, whose first call fits in memory.

    Raises:
        tf.errors.ResourceExhaustedError: not even batch 1 fits.
    """
    import tensorflow as tf

    while True:
        timed = build(batch)
        try:
            timed.warm_up(1)  # the first call, timed apart
            return timed, batch
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                raise
            batch //= 2


def _first_calls(
    models: Mapping[str, Any],
    *,
    xla: bool,
    batch: int,
    extra: Mapping[str, latency.Timed] | None = None,
    progress: Progress = UNSEEN,
) -> tuple[dict[str, latency.Timed], dict[str, dict[str, Any]], dict[str, str]]:
    """(timed, notes, dropped): each point's first call at `batch`, a model's halved on
    out-of-memory (noted), a point whose first call fails dropped with its reason."""
    import tensorflow as tf

    timed, notes, dropped = {}, {}, {}
    for key, point in (extra or {}).items():
        try:
            point.warm_up(1)
            timed[key] = point
        except Exception as exc:  # a runtime that cannot run this batch: one sentence, no more
            dropped[key] = f"{key} cannot run a batch of {batch} ({type(exc).__name__}: {exc})"
    for vid, model in models.items():
        progress.start(vid, "first call")
        try:
            timed[vid], used = _fitting(
                lambda b, m=model: latency.inference(m, batch_size=b, xla=xla), batch
            )
        except tf.errors.ResourceExhaustedError:
            dropped[vid] = f"{vid} runs out of memory even at batch 1."
            progress.done(vid)
            continue
        if used != batch:
            notes[vid] = {
                "requested_batch_size": batch,
                "batch_reduced_because": f"out of memory at batch {used * 2}",
            }
    return timed, notes, dropped


def train_step_scenario(
    row: metrics.Scenario,
    models: Mapping[str, Any],
    recipes: Mapping[str, Any],
    *,
    xla: bool,
    budget_s: float,
    progress: Progress = UNSEEN,
) -> Timing:
    """One optimizer step at each recipe's batch size, its augmentation included, `budget_s`
    seconds of samples per model, sized by `row` (its `call` is "train_step"). With
    `row.cpu_clock`, the steps after the first are timed as `inference_scenario` says."""
    import tensorflow as tf

    timed, dropped = {}, {}
    for vid, model in models.items():
        progress.start(vid, "first step")
        recipe = recipes[vid]
        classes = int(model.outputs[0].shape[-1])  # the labels the dataset's head takes
        step = latency.train_step(model, recipe, num_classes=classes, xla=xla)
        try:
            step.warm_up(1)
        except tf.errors.ResourceExhaustedError:
            dropped[vid] = (
                f"{vid} runs out of memory for one training step at its recipe's batch "
                f"{recipe.batch_size}; measure it on a larger GPU or with --precision "
                "mixed_float16."
            )
            progress.done(vid)
            continue
        timed[vid] = step
    notes: dict[str, dict[str, Any]] = {}
    if row.cpu_clock:  # the first step stays on the wall clock (`Timed.warm_up`)
        _use_call_clock(timed, notes)
    # warm-up: the first call (run above) and the rest of the row's (the second builds slots)
    timing = _run(row, timed, budget_s=budget_s * max(len(timed), 1), progress=progress)
    timing.dropped.update(dropped)
    timing.notes.update(notes)
    return timing


def energy_scenario(
    timed: Mapping[str, latency.Timed], *, on_gpu: bool, counters: Any = None
) -> dict[str, dict[str, Any]]:
    """Energy per 1,000 images of each model's batched call (`timed`, warmed up already).

    Args:
        timed: the throughput session's `Timed` per model (its batch size is the one recorded).
        on_gpu: the timed functions run on the GPU (NVML counter, synchronised reads); else the
            CPU's RAPL counters.
        counters: the counters to read (`bench.measure.energy.CounterSet`); None detects them.

    Returns:
        model -> {"energy_per_1000_images_j": joules or None, "inference_energy": the window's
        figures and `batch_size`, "reason": why the figure is None (else None)}.
    """
    from bench.measure import energy

    if counters is None:
        counters = energy.detect_counters(kind="gpu" if on_gpu else "cpu")
    sync = None
    if on_gpu:
        import tensorflow as tf

        sync = tf.test.experimental.sync_devices
    rows = {}
    for vid, point in timed.items():
        result = energy.measure_energy(
            point.call, min_window_s=ENERGY_WINDOW_S, idle_s=ENERGY_IDLE_S, counters=counters,
            sync=sync,
        )  # fmt: skip
        per_1000 = result.joules_per_1000(items_per_call=point.batch_size)
        reason = None
        if per_1000 is None:
            reason = result.unavailable.get("joules", "the energy window gave no figure")
        details = {**result.to_json(), "batch_size": point.batch_size}
        rows[vid] = {
            "energy_per_1000_images_j": per_1000,
            "inference_energy": details,
            "reason": reason,
        }
    return rows
