"""How long a run will take on this machine, said before it starts, and per item for progress.

Claims, checked by `tests/test_estimate.py`:

- Two sources, per model and per phase: the timings of an earlier run in a suite JSON made on the
  same device with the same precision and XLA setting (a worker's `worker_wall_s`; each timed
  benchmark's median call, first call and batch), else the model's MACs at per-MAC rates fitted
  to a default run on the 2-core CPU box (rough anywhere else, and said to be). A worker's time is
  reused only from a run with the same accuracy source, profile and dataset; a throughput call
  only at the same batch. The estimate says which source it used.
- The timed phases are the rows of `bench.metrics.SCENARIOS`, sized by their own rules: warm-up
  calls, calls per round, rounds from the budget within their bounds; `tests/test_estimate.py`
  compares the sizing with `bench.measure.interleave`'s, and follows a made-up row through.
- Worker jobs run `parallel` at a time: the records phase takes the sum of its jobs' times
  divided by `parallel`, lengthened when the workers and the machine's other work want more
  cores than it has (`Plan.busy_cores`: the other processes' use, read just before). The timed
  phases run one op thread and were seen unaffected by a CPU-burning neighbour (the 5-run
  experiment, experiments/main_job_runs.py); they are not scaled.
- A job whose whole record is in the records cache (`Plan.cached`) costs a read, not a worker.
- A sequential scenario (`Scenario.sequential`) ends between its first look and its cap or
  budget: its point is the first look plus a quarter of the rest (the models still undecided
  after the first look are few, so the later rounds are cheap), and its range spans both ends.
- How sure: every phase has a range, the point scaled by how far the source's rates may be off
  (`SPREAD`), widened by a sequential session's span; the whole run's range is their sum (the
  phases err together when a machine is faster or slower than the rates say).

Nothing here imports TensorFlow; numbers are seconds, unrounded (`bench.units` renders them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench import metrics
from bench.metrics import Scenario, round_s
from bench.suite.plan.options import Accuracy
from bench.training.datasets import DEFAULT_VALIDATION_EXAMPLES, SYNTHETIC_DEFAULT_SIZES
from bench.training.profiles import Profile

# Per-call rates fitted to a default run of the 12 registry models on a fresh clone on the 2-core
# CPU box (AMD EPYC VM, threads 1/1, float32, quiet; 2026-12-06, 495 s in all): batch-1 latency
# 1.2 ms (v01, 10 M MACs) to 41 ms (v10, 852 M); 3.0-3.4e-11 s per MAC per image at batch 256
# (resnets 4-5e-11); 1.2-1.9e-10 in a training step (v10 3.3e-10: its 36 M parameters' updates);
# workers 7.3 s (v01) to 36 s (v10); the run's start (pytest, TensorFlow, the facts' model
# builds) 25 s and the report 30 s. On another machine every figure is scaled by
# `Plan.speed` (`bench.measure.probe`: the probe's time there over `PROBE_FIT_S`).
PROBE_FIT_S = 0.0169  # bench.measure.probe on that box: 16.6-17.1 ms in three processes
LATENCY_BASE_S = 7e-4
LATENCY_PER_MAC_S = 4.8e-11
INFERENCE_PER_MAC_S = 3.2e-11  # per image, at a large batch
TRAIN_PER_MAC_S = 1.6e-10  # per image, one optimizer step with augmentation
STEP_BASE_S = 2e-3  # a call's fixed cost beside its MACs
FIRST_CALL_S = 0.3  # tracing and the first call, beside the call itself
# A training step's first call traces the gradients and builds the optimizer: 0.6-12.5 s on the
# box above (v10 12.5 s, resnet56 10.5 s, most 2-4 s), a throughput call's about 0.5 s more.
FIRST_CALL_BY_RATE = {"latency": FIRST_CALL_S, "inference": 0.5, "train": 2.5}
CACHED_RECORD_S = 0.2  # a record read from the records cache in the suite's own process
WORKER_BASE_S = 7.0  # a worker's start (TensorFlow import), counts and memory peaks
WORKER_PER_MAC_S = 3.4e-8
DATA_LOAD_S = 5.0  # reading and splitting a dataset in a training worker
REFERENCE_CALL_S = 1e-3  # the latency reference workload (bench.measure.timing)
LOAD_MODEL_S = 0.4  # building or loading one model in the suite's process (12: 5 s)
START_S = 25.0  # pytest's start, TensorFlow's import, the facts' model builds
REPORT_S = 10.0  # plots and pages of the report (python -m bench run; 8-9 s on the EPYC VM)
# The share of a sequential session's rounds after its first look that the estimate expects to
# run. The identical graphs (v01/v02, v04/v05/v08, v07/v09) are seldom shown equivalent before
# the time limit, and the rounds they keep running cost most of a full round: in two main-job
# runs on the EPYC VM (2026-12-07) the latency sessions took 28-29 s of their 36 s, batch-8
# latency 35 s of 36 s, throughput the whole 60 s (16 rounds; 3 of 12 models left at 5).
LATE_ROUNDS_SHARE = 0.8
# How far a phase may land from its point, as factors (low, high), by where the rates came from:
# per-MAC rates, even scaled by the probe, miss a machine's own mix of compute, memory and
# start-up costs (two 2-core boxes differed 2.3x on a batch-256 call but 1.3x on a training
# step); an earlier run on this device is off by its noise and by the load beside it (busy
# against quiet runs of the 5-run experiment: 0.9-1.1x on the timed phases). A judgement, held
# against fresh-clone runs (docs/measurement.md, "The expected duration").
SPREAD = {"macs": (0.75, 1.35), "previous": (0.85, 1.2)}
MISSING_MACS = 1e8  # a model whose MACs are unknown is costed like a mid-sized one
# Training images of each dataset before the validation split (public sizes of the datasets;
# synthetic: bench.training.datasets' default).
TRAIN_IMAGES = {"cifar10": 50_000, "fashion_mnist": 60_000, "synthetic": SYNTHETIC_DEFAULT_SIZES[0]}
TEST_IMAGES = 10_000
# Seconds of one call per MAC and image, and its fixed cost, by the scenario's `rate`.
RATES = {
    "latency": (LATENCY_BASE_S, LATENCY_PER_MAC_S),
    "inference": (STEP_BASE_S, INFERENCE_PER_MAC_S),
    "train": (STEP_BASE_S, TRAIN_PER_MAC_S),
}


@dataclass(frozen=True)
class Model:
    """What the estimate needs of one model.

    Attributes:
        id: the registry id.
        macs: multiply-accumulates per image (None: unknown).
        batch_size: the recipe's batch size (the training step's batch).
        max_epochs: the recipe's epoch cap.
        validation_examples: the recipe's validation images.
    """

    id: str
    macs: float | None
    batch_size: int
    max_epochs: int
    validation_examples: int = DEFAULT_VALIDATION_EXAMPLES


@dataclass(frozen=True)
class Plan:
    """What will run.

    Attributes:
        models: the selected models, in order.
        jobs: (progress label, model id) of every worker job.
        parallel: worker jobs at once.
        accuracy: where the accuracies come from (`Accuracy`, or its text).
        profile: the training profile (train only).
        dataset: the dataset id.
        options: the option values a scenario's batch or budget may name (`Scenario.batch`,
            `Scenario.budget_s`: `latency_budget`, `throughput_batch`), as attributes.
        device: where it runs (`machine_info.device`).
        xla: XLA on.
        precision: the Keras dtype policy.
        cached: labels of the jobs whose whole record the records cache holds (no worker).
        busy_cores: cores' worth of CPU the machine's other processes were using just before.
        cores: logical cores of this machine (None: unknown, no contention is assumed).
        speed: how much slower than the fitted box this machine is (`bench.measure.probe`'s time
            here over `PROBE_FIT_S`; 1: the same); scales every figure made from MACs.
        probed: the probe ran (False: it failed, `speed` is 1 and the facts say the rates are
            not scaled).
    """

    models: tuple[Model, ...]
    jobs: tuple[tuple[str, str], ...]
    parallel: int
    accuracy: Accuracy | str
    profile: Profile | None
    dataset: str
    options: Any
    device: str
    xla: bool = False
    precision: str = "float32"
    cached: frozenset[str] = frozenset()
    busy_cores: float = 0.0
    cores: int | None = None
    speed: float = 1.0
    probed: bool = True

    @property
    def contention(self) -> float:
        """How much longer each worker job takes because the workers and the other processes
        want more cores than there are (1: none); each worker runs one op thread."""
        if not self.cores:
            return 1.0
        return max(1.0, (min(self.parallel, len(self.jobs)) + self.busy_cores) / self.cores)


def _same_jobs(run: Mapping[str, Any], plan: Plan) -> bool:
    """Whether an earlier run's workers did the same work: same accuracy source, and for
    training or loading the same profile and dataset."""
    if run.get("accuracy_source") != plan.accuracy:
        return False
    if not Accuracy(plan.accuracy).measures:
        return True
    profile = plan.profile.name if Accuracy(plan.accuracy).trains and plan.profile else None
    return (run.get("profile"), run.get("dataset")) == (profile, plan.dataset)


@dataclass
class Previous:
    """An earlier run's timings that this run can reuse (`from_document`)."""

    worker_s: dict[str, float] = field(default_factory=dict)
    calls: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    reference_s: float | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], plan: Plan) -> Previous:
        """The timings of `doc` (a suite JSON) that apply to `plan`; empty when none do."""
        found = cls()
        machine, run = doc.get("machine_info") or {}, doc.get("run") or {}
        same = (machine.get("device"), machine.get("xla"), machine.get("precision"))
        if same != (plan.device, plan.xla, plan.precision):
            return found
        if _same_jobs(run, plan):
            for vid, record in (doc.get("variants") or {}).items():
                if isinstance(record.get("worker_wall_s"), int | float):
                    found.worker_s[vid] = float(record["worker_wall_s"])
        for bench in doc.get("benchmarks") or []:
            found._add_call(bench, plan)
        return found

    def _add_call(self, bench: Mapping[str, Any], plan: Plan) -> None:
        extra, stats = bench.get("extra_info") or {}, bench.get("stats") or {}
        name, vid = extra.get("scenario"), extra.get("variant")
        median, first = stats.get("median"), extra.get("first_call_s")
        if not isinstance(median, int | float) or not isinstance(first, int | float):
            return
        row = next((s for s in metrics.SCENARIOS if s.name == name), None)
        if row is None or extra.get("deployment", "keras") != "keras":
            return
        # a fixed or optioned batch must be this run's (a recipe's batch is the model's own)
        if row.batch != "recipe" and extra.get("batch_size") != row.batch_of(plan.options):
            return
        self.calls.setdefault(name, {})[vid] = (float(median), float(first))
        references = extra.get("reference_samples_s")
        if references and self.reference_s is None:
            self.reference_s = sorted(references)[len(references) // 2]


@dataclass(frozen=True)
class Estimate:
    """Expected seconds per phase and item, and where they come from.

    Attributes:
        items: phase -> item -> expected seconds ("records": one item per job, run `parallel`
            at a time; timed phases: one per model and "rounds").
        parallel: worker jobs at once.
        source: one phrase for the user ("from the last run's timings (results/benchmark.json)").
        upper_bound: True when training may stop early (the figure is then a most).
        ranges: phase -> (low, high) seconds (`phase_range`; a phase without one: its point).
        why: what the range covers, for the user.
        start_s: the run's start before the first phase (pytest, TensorFlow, the facts).
        report_s: the report after the last phase.
    """

    items: dict[str, dict[str, float]]
    parallel: int
    source: str
    upper_bound: bool = False
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    why: str = ""
    start_s: float = START_S
    report_s: float = REPORT_S

    def phase_s(self, phase: str) -> float:
        """Expected seconds of one phase."""
        total = sum(self.items.get(phase, {}).values())
        return total / self.parallel if phase == "records" else total

    @property
    def total_s(self) -> float:
        """Expected seconds of the whole run, its start and the report included."""
        return sum(self.phase_s(p) for p in self.items) + self.start_s + self.report_s

    def phase_range(self, phase: str) -> tuple[float, float]:
        """(low, high) seconds of one phase."""
        point = self.phase_s(phase)
        return self.ranges.get(phase, (point, point))

    @property
    def total_range(self) -> tuple[float, float]:
        """(low, high) seconds of the whole run, its start and the report included."""
        spans = [self.phase_range(p) for p in self.items]
        fixed = self.start_s + self.report_s
        return sum(s[0] for s in spans) + fixed, sum(s[1] for s in spans) + fixed


def _macs(model: Model) -> float:
    return float(model.macs) if model.macs else MISSING_MACS


def session_span(
    per_call: Mapping[str, float],
    first_call: Mapping[str, float],
    *,
    budget_s: float,
    rounds: tuple[int, int],
    fill_s: float,
    warm_up_calls: int,
    reference_s: float = 0.0,
    sequential: metrics.Sequential | None = None,
    warm_each_round: bool = False,
) -> tuple[dict[str, float], float, float]:
    """Seconds per model (first call and warm-up) and for "rounds" of one timed session, sized
    as `bench.suite.orchestration.scenarios._run` sizes it, and the (low, high) seconds of its
    rounds.

    Without `sequential` the rounds are the budget's count (low = high). With it, the rule is
    sized as `bench.suite.orchestration.scenarios.Until.rule` sizes it: the first look where
    every model has `min_samples`, the cap the larger of the budget's count and the row's; the
    session ends between the first look (low) and the cap or the time budget (high).
    """
    calls = metrics.calls_per_round(per_call, target_s=fill_s, most=metrics.MOST_CALLS_PER_ROUND)
    per_round = round_s(per_call, calls, warm_each_round=warm_each_round) + reference_s
    count = metrics.rounds_for(
        per_round, budget_s=budget_s, min_rounds=rounds[0], max_rounds=rounds[1]
    )
    items = {
        k: first_call[k] + s * (warm_up_calls - 1) + (3 * s if s < 0.05 else 0.0)
        for k, s in per_call.items()
    }
    if sequential is not None and per_call:
        count = sequential.rounds(count, calls.values())
    items["rounds"] = low = high = count * per_round
    if sequential is not None and per_call:
        first = sequential.first_look(calls.values())
        cap = max(count, sequential.cap)
        if first < cap:
            low = first * per_round
            high = min(cap * per_round, budget_s + per_round)
            items["rounds"] = low + LATE_ROUNDS_SHARE * max(high - low, 0.0)
    return items, low, high


def _training_s(model: Model, plan: Plan) -> float:
    """A training run from MACs: optimizer steps, validation passes and the test pass."""
    profile = plan.profile
    assert profile is not None
    epochs = min(model.max_epochs, profile.max_epochs or model.max_epochs)
    validation = profile.validation_examples or model.validation_examples
    train = profile.train_examples or TRAIN_IMAGES.get(plan.dataset, 50_000) - validation
    steps = profile.steps or epochs * math.ceil(train / model.batch_size)
    test = profile.test_examples or TEST_IMAGES
    images_trained = steps * model.batch_size
    images_inferred = epochs * validation + test
    macs = _macs(model)
    return plan.speed * (
        DATA_LOAD_S
        + macs * (images_trained * TRAIN_PER_MAC_S + images_inferred * INFERENCE_PER_MAC_S)
    )


def _worker_s(label: str, model: Model, plan: Plan, previous: Previous) -> tuple[float, bool]:
    """(seconds of one worker job, whether it came from the earlier run or the cache)."""
    if label in plan.cached:
        return CACHED_RECORD_S, True
    if model.id in previous.worker_s:
        return previous.worker_s[model.id] * plan.contention, True
    seconds = (WORKER_BASE_S + _macs(model) * WORKER_PER_MAC_S) * plan.speed
    if Accuracy(plan.accuracy).trains:
        seconds += _training_s(model, plan)
    elif Accuracy(plan.accuracy).measures:
        seconds += (DATA_LOAD_S + _macs(model) * TEST_IMAGES * INFERENCE_PER_MAC_S) * plan.speed
    return seconds * plan.contention, False


def _call_from_macs(scenario: Scenario, model: Model, plan: Plan) -> float:
    """One call of `scenario` from the model's MACs, at the scenario's rate and batch."""
    base, per_mac = RATES[scenario.rate]
    batch = scenario.batch_of(plan.options, model.batch_size) or 1
    return (base + _macs(model) * batch * per_mac) * plan.speed


def _timed_phase(
    scenario: Scenario, plan: Plan, previous: Previous
) -> tuple[dict[str, float], int, tuple[float, float]]:
    """The items of one timed phase, how many models' calls came from the earlier run, and
    the (low, high) seconds of its rounds."""
    known = previous.calls.get(scenario.name, {})
    per_call, first, reused = {}, {}, 0
    for model in plan.models:
        if model.id in known:
            per_call[model.id], first[model.id] = known[model.id]
            reused += 1
        else:
            per_call[model.id] = _call_from_macs(scenario, model, plan)
            first[model.id] = FIRST_CALL_BY_RATE[scenario.rate] * plan.speed + per_call[model.id]
    reference = previous.reference_s or REFERENCE_CALL_S * plan.speed
    reference = reference if scenario.reference else 0.0
    items, low, high = session_span(
        per_call,
        first,
        budget_s=scenario.budget_of(plan.options) * len(plan.models),
        rounds=scenario.rounds,
        fill_s=scenario.fill_s,
        warm_up_calls=scenario.warm_up_calls,
        reference_s=reference,
        sequential=scenario.sequential,
        warm_each_round=scenario.warm_each_round,
    )
    return items, reused, (low, high)


def _source(
    reused: int, total: int, path: str | None, speed: float = 1.0, probed: bool = True
) -> str:
    if path is None or reused == 0:
        why = "no earlier run to learn from" if path is None else f"{path} is not comparable"
        scaled = (
            f"scaled by this machine's speed (its probe took {speed:.2g}x the time it took there)"
            if probed
            else "not scaled to this machine (its speed probe could not run)"
        )
        return f"from MACs at rates measured on a 2-core CPU, {scaled} ({why})"
    if reused == total:
        return f"from the last run's timings in {path}"
    return f"from the last run's timings in {path} where it has them, else from MACs"


def estimate(plan: Plan, previous: Previous | None = None, path: str | None = None) -> Estimate:
    """Expected seconds per phase and item of `plan` (module docstring).

    Args:
        plan: what will run.
        previous: an earlier run's timings (`Previous.from_document`), if any.
        path: where they were read from, for the message.
    """
    previous = previous or Previous()
    by_id = {m.id: m for m in plan.models}
    parallel = max(plan.parallel, 1)
    records, reused, total = {}, 0, 0
    for label, vid in plan.jobs:
        records[label], known = _worker_s(label, by_id[vid], plan, previous)
        reused, total = reused + known, total + 1
    items: dict[str, dict[str, float]] = {"records": records}
    items["load"] = {m.id: LOAD_MODEL_S * plan.speed for m in plan.models}
    spans = {}
    for scenario in metrics.SCENARIOS:  # keyed by phase label: the progress lines' names
        items[scenario.label], known, spans[scenario.label] = _timed_phase(scenario, plan, previous)
        reused, total = reused + known, total + len(plan.models)
    upper = (
        Accuracy(plan.accuracy).trains and plan.profile is not None and plan.profile.steps is None
    )
    low_f, high_f = SPREAD["previous" if reused == total else "macs"]
    points = Estimate(items, parallel, "")
    ranges = {}
    for phase in items:
        low = high = points.phase_s(phase)
        if phase in spans:  # a session's rounds: from its first look to its end
            rounds = items[phase]["rounds"]
            low, high = low - rounds + spans[phase][0], high - rounds + spans[phase][1]
        ranges[phase] = (low * low_f, high * high_f)
    why = "allowing for rates that are off on this machine"
    if any(s.sequential for s in metrics.SCENARIOS):
        why += ", sessions that decide early or late"
    if upper:
        why += ", training that stops early"
    return Estimate(
        items, parallel, _source(reused, total, path, plan.speed, plan.probed), upper, ranges, why,
        START_S * plan.speed, REPORT_S * plan.speed,
    )  # fmt: skip
