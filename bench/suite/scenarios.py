"""The timed scenarios of the suite, each run once for all models, interleaved.

Batch-1 latency, throughput at a large batch and one training step are each one interleaved
session (`bench.measure.interleave`): every model is built or loaded once (`load_models`), its
timed function is warmed up (first call apart), and then every round calls every model once, in a
new random order. pytest-benchmark still gets one entry per model and scenario, holding that
model's raw per-round samples (`replay`), so `pytest-benchmark compare` and the gates read the
file as before; round `i` of every entry of one session is the same round
(`extra_info.session`), which lets the report compare two models through per-round ratios.

Each scenario tells its `progress` (`bench.suite.progress`) which model it warms up and, before
the rounds start, how many rounds of how many models it will run and how long they should take;
nothing is reported while the rounds run.

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
import gc
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import metrics
from bench.measure import interleave, sequential
from bench.measure import timing as latency
from bench.measure.interleave import Session
from bench.suite.budgets import (
    LATENCY_FILL_S,
    LATENCY_ROUNDS,
    LATENCY_WARM_UP_CALLS,
    MOST_CALLS_PER_ROUND,
    STEP_BUDGET_S,
    STEP_FILL_S,
    STEP_WARM_UP_CALLS,
    THROUGHPUT_ROUNDS,
    TRAIN_STEP_ROUNDS,
)
from bench.suite.progress import UNSEEN, Progress

ROUNDS = "rounds"  # the progress item of a session's interleaved rounds
# Inference energy: >= 5 s of calls is 50 NVML updates (the counter's step ~2 % of the figure),
# after a 2 s idle baseline per model (20 NVML updates).
ENERGY_WINDOW_S = 5.0
ENERGY_IDLE_S = 2.0


@dataclass(frozen=True)
class Until:
    """How a session samples until decided.

    Attributes:
        metric: the figure whose comparisons decide (`bench.metrics` key).
        first: the first look, in rounds.
        cap: the most rounds (at least the budget's).
        min_samples: no model leaves before it has this many samples (a p99 needs 200).
        groups: sets of points every pair of which must be decided (`same_architecture`).
    """

    metric: str
    first: int
    cap: int
    min_samples: int = 0
    groups: tuple[frozenset[str], ...] = ()

    def rule(
        self, keep: Mapping[str, latency.Timed], calls: Mapping[str, int], count: int,
        budget_s: float,
    ) -> tuple[sequential.StopRule | None, int]:  # fmt: skip
        """The stopping rule for these models, and the session's round cap; no rule when the
        first look would come at the cap (nothing to stop early)."""
        first = max(self.first, *(math.ceil(self.min_samples / calls[k]) for k in keep))
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
class Scenario:
    """One timed scenario's session, and what each model's benchmark entry needs.

    Attributes:
        name: "latency", "throughput" or "train_step".
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
    name: str,
    timed: dict[str, latency.Timed],
    *,
    warm_up_calls: int,
    budget_s: float,
    rounds: tuple[int, int],
    reference: latency.Timed | None = None,
    seed: int = 0,
    fill_s: float = 0.0,
    progress: Progress = UNSEEN,
    until: Until | None = None,
) -> Scenario:
    """Warm up, size the rounds to `budget_s`, and run the session.

    With `until`, the session samples until decided (`bench.measure.sequential`): it looks at
    its data at planned round counts, lets the models whose comparisons are decided leave, and
    ends when none is left, at `until.cap` rounds, or once `budget_s` has passed.

    `fill_s`: models whose call is shorter are called several times per round (primed), up to
    `MOST_CALLS_PER_ROUND`; 0 keeps one call per round. `progress` hears of each model's warm-up
    and of the rounds (item "rounds", with their expected duration), before they run: nothing
    is reported while they run.
    """
    scenario = Scenario(name, None, timed)
    for vid, t in timed.items():  # one model at a time, as `warm_up` would, to say which
        progress.start(vid, "warm-up")
        scenario.dropped.update(interleave.warm_up({vid: t}, calls=warm_up_calls))
        progress.done(vid)
    keep = {k: t for k, t in timed.items() if k not in scenario.dropped}
    if not keep:
        return scenario
    per_call = {k: interleave.per_call_s(t) for k, t in keep.items()}
    calls = interleave.calls_per_round(per_call, target_s=fill_s, most=MOST_CALLS_PER_ROUND)
    per_round = sum(s * (calls[k] + (calls[k] > 1)) for k, s in per_call.items())
    if reference is not None:
        per_round += interleave.per_call_s(reference)
    count = interleave.rounds_for(
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
        keep, rounds=count, reference=reference, seed=seed, calls=calls, until=rule
    )
    progress.done(ROUNDS)
    scenario.dropped.update(scenario.session.dropped)
    return scenario


def latency_scenario(
    models: Mapping[str, Any],
    *,
    xla: bool,
    budget_s: float,
    reference: latency.Timed,
    extra: Mapping[str, latency.Timed] | None = None,
    progress: Progress = UNSEEN,
) -> Scenario:
    """Batch-1 latency of every model (and of every `extra` point: a model in another
    deployment, `bench.suite.deployments`), `budget_s` seconds of samples per point."""
    timed = {vid: latency.inference(m, batch_size=1, xla=xla) for vid, m in models.items()}
    timed.update(extra or {})
    # Sample until decided, from the round where every point has the 200 samples a p99 needs;
    # the cap is the budget's round count (never longer than a fixed budget).
    until = Until("latency_median_s", first=LATENCY_ROUNDS[0], cap=0, min_samples=200,
                  groups=same_architecture(models, timed))  # fmt: skip
    return _run(
        "latency",
        timed,
        warm_up_calls=LATENCY_WARM_UP_CALLS,
        budget_s=budget_s * len(timed),
        rounds=LATENCY_ROUNDS,
        reference=reference,
        fill_s=LATENCY_FILL_S,
        progress=progress,
        until=until,
    )


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


def throughput_scenario(
    models: Mapping[str, Any],
    *,
    xla: bool,
    batch: int,
    extra: Mapping[str, latency.Timed] | None = None,
    progress: Progress = UNSEEN,
) -> Scenario:
    """Images per second at `batch` (halved per model on out-of-memory, recorded), and of the
    `extra` points at `batch` (a failing first call drops the point with its reason), each
    call timed on `timing.call_clock`'s clock (its name in every point's note "clock")."""
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
    # A batched call spans many scheduler slices: on the CPU with one op thread, time it in CPU
    # time, which other processes on the core do not lengthen (`timing.call_clock`).
    clock, clock_name = latency.call_clock()
    for key, point in timed.items():
        point.clock = clock
        notes.setdefault(key, {})["clock"] = clock_name
    # Sample until decided: settled models leave, so the close ones get the rounds within the
    # same time budget, up to THROUGHPUT_ROUNDS' cap.
    until = Until("time_per_image_s", first=THROUGHPUT_ROUNDS[0] + 2, cap=THROUGHPUT_ROUNDS[1],
                  groups=same_architecture(models, timed))  # fmt: skip
    scenario = _run(
        "throughput",
        timed,
        warm_up_calls=STEP_WARM_UP_CALLS,  # the first call, run by `_fitting`, and one more
        budget_s=STEP_BUDGET_S * max(len(timed), 1),
        rounds=THROUGHPUT_ROUNDS,
        fill_s=STEP_FILL_S,
        progress=progress,
        until=until,
    )
    scenario.dropped.update(dropped)
    scenario.notes.update(notes)
    return scenario


def train_step_scenario(
    models: Mapping[str, Any],
    recipes: Mapping[str, Any],
    *,
    xla: bool,
    progress: Progress = UNSEEN,
) -> Scenario:
    """One optimizer step at each recipe's batch size, its augmentation included."""
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
    scenario = _run(
        "train_step",
        timed,
        warm_up_calls=STEP_WARM_UP_CALLS,  # the first (run above) and one more: it builds slots
        budget_s=STEP_BUDGET_S * max(len(timed), 1),
        rounds=TRAIN_STEP_ROUNDS,
        fill_s=STEP_FILL_S,
        progress=progress,
    )
    scenario.dropped.update(dropped)
    return scenario


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


class ReplayTimer:
    """pytest-benchmark's timer for samples already measured in the interleaved rounds.

    `benchmark.pedantic` reads the timer before and after each call; this one advances by the
    next stored sample between the two reads, so each round's duration is exactly the sample
    measured (with `time.perf_counter`) in that round of the session.
    """

    __name__ = "perf_counter (interleaved rounds)"

    def __init__(self, samples: list[float]) -> None:
        self._samples = samples
        self._reads = 0
        self._clock = 0.0

    def __call__(self) -> float:
        if self._reads % 2:
            self._clock += self._samples[self._reads // 2]
        self._reads += 1
        return self._clock

    def __repr__(self) -> str:
        return self.__name__


def replay(benchmark: Any, samples: list[float]) -> None:
    """Give the benchmark fixture one model's samples, one round each."""
    benchmark._timer = ReplayTimer(samples)  # pytest-benchmark reads it for every round
    benchmark.pedantic(lambda: None, rounds=len(samples), iterations=1, warmup_rounds=0)
