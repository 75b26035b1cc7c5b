"""The one table of metrics: every figure the suite records, declared once.

Each `Metric` row says what a figure is (its JSON key in `variants[id]`, its SI unit, which
direction is better, its labels), where it appears (a column of the report's main table, a
Pareto cost axis) and how the regression gate treats it. Everything else is derived from this
table, never retyped:

- `bench.contract`: the keys every variant record must carry (`record_keys`);
- `bench.suite.orchestration.assemble`: which benchmark statistic fills which key (`timed_metrics`);
- `reports.data`: the numeric columns it reads (`numeric_keys`) and the costs it aggregates;
- `reports.pareto`: the cost axes (`axes`);
- `reports.render`: the main table's columns (`columns`); `bench.units`: the formatting (`unit`);
- `bench.gates`: exact figures, tolerances and the latency rule (`gated`).

So a new metric with an existing unit is one row here plus the module that measures it
(`docs/architecture.md` has the recipe; `tests/test_metrics.py` adds a made-up metric and follows
it to the contract, the report's table and an axis).

Beside it, `SCENARIOS` declares every timed scenario once (`Scenario`): its one name (the
`extra_info.scenario` of its entries, `Metric.scenario`, the keys of the estimate), its phase
label, batch, time budget, how its rounds are sized, what the estimate costs a call by, and
(through `Metric.scenario`) which metrics it fills. The estimate
(`bench.suite.presentation.estimate`), the facts, the orchestrator
(`bench.suite.orchestration.stages`), the pytest front (`bench/test_suite.py`) and the assembly read
it; `tests/test_scenarios.py` adds a made-up scenario and follows it there.

This module imports nothing but the standard library (no TensorFlow): `reports/` and the gates
read it cheaply.

Conventions: a FLOP is half a multiply-accumulate (every MAC counts 2 FLOPs); seconds, bytes and
images per second are SI; accuracy is a fraction in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "macs", "flops", "s", "bytes", "images/s", "fraction", "J"]
Better = Literal["lower", "higher"]
# How the two-file gate treats a figure: equal or fail ("exact"); an absolute drop at most the
# policy's tolerance ("max_drop", accuracy); a relative growth at most the tolerance
# ("max_growth", memory); the latency rule on the raw samples of `scenario` ("latency"); or not.
GateRule = Literal["exact", "max_drop", "max_growth", "latency", "none"]
# Statistics of a benchmark's raw samples that fill a record key
# (`bench.suite.orchestration.assemble`): the median, a tail, or images per second (the batch
# over the `THROUGHPUT_QUANTILE` of the per-call time).
Statistic = Literal["median", "p90", "p99", "images_per_s"]
# Which evidence `bench.compare` decides two models' figures on: "exact" (counted: equal or
# not), "paired" (timed in the same interleaved rounds: per-round log ratios for a centre, a
# bootstrap over rounds for a tail), "tolerance" (measured apart: the ratio against
# `tolerance`), "seeds" (accuracy: Welch-Satterthwaite over seeds, McNemar on shared images).
Noise = Literal["exact", "paired", "tolerance", "seeds"]


@dataclass(frozen=True)
class Metric:
    """One recorded figure.

    Attributes:
        key: the JSON key in `variants[id]` (SI unit in the name).
        unit: how `bench.units` renders it.
        better: which direction is an improvement.
        label: for headings and axis titles ("Batch-1 latency, median").
        short: for prose ("5.4x the {short}").
        axis: a Pareto cost axis (accuracy against it) in the report.
        column: a column of the report's main table (its heading is `column_label`).
        gate: how the regression gate treats it (see `GateRule`).
        scenario: the benchmark scenario a timed figure comes from ("latency", ...).
        statistic: which statistic of that scenario's raw samples fills `key`.
        inverse_of: a derived figure, 1 / that key (not in the JSON; computed by the reader).
        min_samples: the fewest raw samples the statistic may be computed from; with fewer the
            figure is null and says why (a p99 of 50 samples is a maximum, not a percentile).
        heading: the main table's column heading (default: `label`).
        noise: which evidence two models' figures are compared on (see `Noise`).
        tolerance: the equivalence margin of `bench.compare`: two figures shown to be within it
            of each other are *equivalent* (a difference this small is not worth a model
            choice). Relative for costs (0.03: within 3 %), absolute for accuracy (0.005: within
            half a percentage point).
    """

    key: str
    unit: Unit
    better: Better
    label: str
    short: str
    axis: bool = False
    column: bool = False
    gate: GateRule = "none"
    scenario: str | None = None
    statistic: Statistic | None = None
    inverse_of: str | None = None
    min_samples: int = 1
    heading: str | None = None
    noise: Noise = "exact"
    tolerance: float = 0.0

    @property
    def slug(self) -> str:
        """File-name stem of this axis's plot."""
        return self.key.removesuffix("_s").removesuffix("_bytes")

    @property
    def column_label(self) -> str:
        return self.heading or self.label


# Tolerances (see docs/measurement.md §4): 3 % for timings taken in one interleaved session (the
# identical-graph pairs v01/v02, v04/v05/v08, v07/v09 stay within it:
# experiments/ties_experiment.py); 10 % for tails (p90, p99) and for training time, measured in
# separate runs; 5 % for host memory (allocator behaviour moves the high-water mark by a few per
# cent); 2 % for TF's GPU allocator peak, which is close to deterministic for a given model.
_TIMED = {"noise": "paired", "tolerance": 0.03}
_TAIL = {"noise": "paired", "tolerance": 0.10}
# Throughput is the batch over the 5 % quantile of the call's time, not its median. On a machine
# shared with other work the per-call time of a long call falls into a fast mode and slower ones
# set by what the neighbours do at that moment (on the 2-core EPYC VM, 2026-12-07: v01's rounds
# at batch 32 read 12.9 ms or 16.5-19.6 ms, all calls of a round in one mode); two models timed
# at different moments get different mixes, and a median lands on one mode or the other. Over
# ten main-job runs the identical graphs' throughput ratios of medians were within 3 % in 31 of
# 50 pairs, those of 5 % quantiles in 50 of 50 (docs/measurement.md, "The throughput figure").
# The claim is the rate of a call the machine did not slow down. Two models are still compared
# on the centre of their per-round ratios (`bench.compare`, Wilcoxon signed-rank): with the
# modes independent of the model, a round's log ratio of two identical models is symmetric
# about 0, so that test keeps its level, where a bootstrap of the 5 % quantile's ratio did not
# (11 % false decisions at a 5 % level: tests/test_sequential.py).
THROUGHPUT_QUANTILE = 0.05


def point_quantile(metric: Metric) -> float | None:
    """The quantile of the calls a timed metric's point figure reads: a tail's, throughput's
    (and time per image's, its inverse), or None for a median."""
    if metric.statistic == "images_per_s" or metric.inverse_of == "throughput_images_per_s":
        return THROUGHPUT_QUANTILE
    return {"p90": 0.90, "p99": 0.99}.get(str(metric.statistic))


def images_per_s(samples: Sequence[float], batch_size: int, quantile: float | None) -> float:
    """Images per second of calls of `batch_size` images: the batch over the `quantile` of the
    per-call seconds (`THROUGHPUT_QUANTILE` for throughput), or over their median when None.

    The quantile is numpy's default (linear interpolation between the two nearest order
    statistics, at position q * (n - 1)), written out so that this module needs no numpy.
    """
    data = sorted(float(x) for x in samples)
    if not data:
        raise ValueError("no samples to take a rate from")
    position = (len(data) - 1) * (0.5 if quantile is None else quantile)
    low = int(position)
    high = min(low + 1, len(data) - 1)
    call = data[low] + (position - low) * (data[high] - data[low])
    if not call > 0:
        raise ValueError(f"a call of {call} s is no timing: the samples are damaged")
    return batch_size / call


METRICS: tuple[Metric, ...] = (
    Metric("params_total", "count", "lower", "Parameters", "parameters", axis=True, column=True,
           gate="exact", heading="Params"),
    Metric("params_trainable", "count", "lower", "Trainable parameters", "trainable parameters",
           gate="exact"),
    Metric("params_non_trainable", "count", "lower", "Non-trainable parameters",
           "non-trainable parameters", gate="exact"),
    Metric("macs", "macs", "lower", "MACs per image", "MACs", axis=True, column=True,
           gate="exact", heading="MACs"),
    Metric("flops", "flops", "lower", "FLOPs per image (TF profiler)", "FLOPs", axis=True,
           column=True, gate="exact", heading="FLOPs"),
    Metric("flops_analytic", "flops", "lower", "FLOPs per image (analytic)", "analytic FLOPs",
           gate="exact"),
    # Accuracy: equivalent within half a point. One run on 10,000 images has a 95 % interval
    # of about +-0.6 pp, so single runs are rarely shown equivalent: seeds settle it.
    Metric("accuracy", "fraction", "higher", "Test accuracy", "accuracy", gate="max_drop",
           noise="seeds", tolerance=0.005),
    Metric("latency_median_s", "s", "lower", "Batch-1 latency, median", "median latency",
           axis=True, column=True, gate="latency", scenario="latency", statistic="median",
           heading="Latency p50", **_TIMED),
    Metric("latency_p90_s", "s", "lower", "Batch-1 latency, p90", "p90 latency",
           scenario="latency", statistic="p90", min_samples=20, **_TAIL),
    # p99 needs >= 200 samples to be a percentile at all (with fewer it is about the maximum).
    Metric("latency_p99_s", "s", "lower", "Batch-1 latency, p99", "p99 latency", axis=True,
           column=True, scenario="latency", statistic="p99", min_samples=200,
           heading="Latency p99", **_TAIL),
    # Recorded, not a column or an axis: it lies between two figures the report shows (batch-1
    # latency, time per image at the throughput batch); the CSV and the trend page show it.
    Metric("latency_b8_median_s", "s", "lower", "Batch-8 latency, median", "batch-8 latency",
           scenario="latency_b8", statistic="median", **_TIMED),
    Metric("throughput_images_per_s", "images/s", "higher", "Throughput", "throughput",
           column=True, scenario="throughput", statistic="images_per_s", **_TIMED),
    Metric("time_per_image_s", "s", "lower",
           "Time per image at the throughput batch (1 / throughput)", "time per image",
           axis=True, inverse_of="throughput_images_per_s", **_TIMED),
    Metric("train_step_s", "s", "lower", "Training step at the recipe's batch", "training step",
           scenario="train_step", statistic="median", **_TIMED),
    Metric("peak_gpu_memory_bytes", "bytes", "lower", "Peak GPU memory", "peak GPU memory",
           axis=True, column=True, gate="max_growth", noise="tolerance", tolerance=0.02),
    # NVML's figure is the CUDA context plus TensorFlow's pool, about the whole card without
    # memory growth: it does not move with the model, so it is not gated.
    Metric("gpu_process_memory_bytes", "bytes", "lower", "GPU process memory (NVML)",
           "GPU process memory", noise="tolerance", tolerance=0.05),
    Metric("peak_host_memory_bytes", "bytes", "lower", "Peak host memory", "peak host memory",
           gate="max_growth", noise="tolerance", tolerance=0.05),
    Metric("train_time_s", "s", "lower", "Training time", "training time", axis=True,
           column=True, noise="tolerance", tolerance=0.10),
    # The float32 .keras file (weights once, no optimizer state); identical architectures differ
    # by a few bytes of layer configuration, hence a tolerance rather than exact equality.
    Metric("model_file_bytes", "bytes", "lower", "Model file size (float32 .keras)",
           "model file size", axis=True, noise="tolerance", tolerance=0.005),
    # Energy from a hardware counter (NVML, RAPL), gross joules of the whole device over the
    # window (docs/energy.md); null where the machine has no counter. Measured apart for each
    # model, so a tolerance: the counter's step is ~2 % of a 5 s NVML window, and run-to-run
    # variation of GPU power is several per cent.
    Metric("energy_train_j", "J", "lower", "Training energy", "training energy", axis=True,
           noise="tolerance", tolerance=0.10),
    Metric("energy_per_1000_images_j", "J", "lower",
           "Energy per 1,000 images at the throughput batch", "energy per 1,000 images",
           axis=True, column=True, heading="J / 1k images", noise="tolerance", tolerance=0.10),
)  # fmt: skip


# A call shorter than its scenario's `fill_s` is repeated within a round (primed, up to this
# many timed calls), so small models get as many samples as their noise needs.
MOST_CALLS_PER_ROUND = 8


def rounds_for(per_round_s: float, *, budget_s: float, min_rounds: int, max_rounds: int) -> int:
    """Rounds that fit `budget_s` at `per_round_s` each, within [min_rounds, max_rounds]."""
    return int(min(max(budget_s / max(per_round_s, 1e-9), min_rounds), max_rounds))


def calls_per_round(per_call: Mapping[str, float], *, target_s: float, most: int) -> dict[str, int]:
    """Timed calls per round for each model: enough to fill `target_s`, at most `most`.

    A batch-1 call of a small model (0.6 ms) is within a factor of two of the noise a round
    adds to it (the model before it in the round evicts its weights from the caches), so one
    sample per round leaves its median uncertain by a few per cent after a few hundred rounds;
    several warm samples per round bring it under one (experiments/ties_experiment.py).
    """
    return {
        name: max(1, min(most, math.ceil(target_s / max(seconds, 1e-9))))
        for name, seconds in per_call.items()
    }


def primed(calls: int, warm_each_round: bool) -> bool:
    """Whether a model's timed calls in a round follow an untimed call of its own: always with
    `warm_each_round`, else when it makes several (`bench.measure.interleave.run_rounds`)."""
    return warm_each_round or calls > 1


def round_s(
    per_call: Mapping[str, float], calls: Mapping[str, int], *, warm_each_round: bool = False
) -> float:
    """Seconds of one round: every model's timed calls and its untimed primer (`primed`)."""
    return sum(s * (calls[k] + primed(calls[k], warm_each_round)) for k, s in per_call.items())


# How the estimate costs one call from MACs (`bench.suite.presentation.estimate`): at batch 1
# ("latency"), at a large batch ("inference"), or one optimizer step with augmentation ("train").
Rate = Literal["latency", "inference", "train"]


@dataclass(frozen=True)
class Sequential:
    """How a session samples until decided (`bench.measure.sequential`).

    Attributes:
        metric: the figure whose comparisons decide (a `METRICS` key).
        first: the first look, in rounds.
        cap: the most rounds (0: the round count the budget gives).
        min_samples: no model leaves before it has this many samples (a p99 needs 200), and
            the session takes them even past its time budget (`rounds`).
    """

    metric: str
    first: int
    cap: int
    min_samples: int = 0

    def first_look(self, calls: Iterable[int]) -> int:
        """The round of the first look: `first`, or later where the model with the fewest calls
        a round reaches `min_samples`."""
        return max(self.first, *(math.ceil(self.min_samples / c) for c in calls))

    def rounds(self, budget_rounds: int, calls: Iterable[int]) -> int:
        """The rounds a session plans: the budget's, raised to the first look when the figure
        needs `min_samples` (a budget that fits fewer rounds would leave a p99 unfilled)."""
        if not self.min_samples:
            return budget_rounds
        return max(budget_rounds, self.first_look(calls))


@dataclass(frozen=True)
class Scenario:
    """One timed scenario: one interleaved session over every model.

    Attributes:
        name: the one spelling: `extra_info.scenario`, `Metric.scenario`, the estimate's key
            and the name of its pytest test (`test_<name>`).
        label: the progress phase's name ("train step").
        title: what one sample is, for titles ("Batch-1 latency"; the trend page's series).
        call: what is timed: a forward pass ("inference") or one optimizer step ("train_step").
        batch: images per call: a number, "recipe" (each model's recipe batch), or the option
            (`--dest`'s dest) that gives it.
        budget_s: seconds of samples per model, or the option that gives them.
        rounds: (fewest, most) rounds.
        fill_s: calls shorter than this are repeated within a round (0: one call per round).
        warm_up_calls: calls before the rounds (the first, timed apart, included).
        rate: how the estimate costs a call from MACs (see `Rate`).
        warm_each_round: every model's timed calls in a round follow an untimed call of its
            own, whatever their number (`bench.measure.interleave.run_rounds`); otherwise only
            repeated calls get that primer.
        sequential: sample until decided (None: the budget's rounds).
        reference: the reference workload runs in every round (machine drift beside each
            sample).
        deployments: the models in other deployments join the session.
        halve_on_oom: a model out of memory at `batch` is timed at half of it (recorded).
        energy: inference energy is measured on this scenario's warmed-up calls.
        cpu_clock: each call spans many scheduler slices; on the CPU with one op thread it is
            timed in process CPU time, which other processes on the core do not lengthen
            (`bench.measure.timing.call_clock`; docs/measurement.md, "The throughput clock").
        shared_round_figures: a model's point figures (median, tails, images/s) come only from
            the rounds every model of the session shared (`assemble.shared_rounds`): a short
            call runs faster in rounds that visit fewer models (fewer weights evicted before
            it). False where a call is long and primed, so that a model that stays gets the
            figure of all its rounds.
    """

    name: str
    label: str
    title: str
    call: Literal["inference", "train_step"]
    batch: int | str
    budget_s: float | str
    rounds: tuple[int, int]
    fill_s: float
    warm_up_calls: int
    rate: Rate
    warm_each_round: bool = False
    sequential: Sequential | None = None
    reference: bool = False
    deployments: bool = False
    halve_on_oom: bool = False
    energy: bool = False
    cpu_clock: bool = False
    shared_round_figures: bool = True

    def batch_of(self, options: object, recipe_batch: int | None = None) -> int | None:
        """Images per call: the row's number, the option's value, or the recipe's batch."""
        if isinstance(self.batch, int):
            return self.batch
        if self.batch == "recipe":
            return recipe_batch
        return int(getattr(options, self.batch))

    def budget_of(self, options: object) -> float:
        """Seconds of samples per model."""
        if isinstance(self.budget_s, str):
            return float(getattr(options, self.budget_s))
        return float(self.budget_s)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics filled from this scenario's raw samples."""
        return timed_metrics(self.name)


# Round bounds, budgets and warm-up (docs/measurement.md §1, §4). Batch 1: >= 5-10 warm-up calls
# (cuDNN autotuning runs on first calls on GPU); calls under 2 ms are repeated within a round.
# Batched calls and training steps: 5 s of samples per model, calls under 0.5 s repeated, so
# small models still get dozens of samples when the rounds are few; two warm-up calls (the
# first, timed apart, and one more, timed to size the rounds; a training step's second call
# builds the optimizer's slots).
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("latency", "latency", "Batch-1 latency", "inference", batch=1,
             budget_s="latency_budget", rounds=(30, 2000), fill_s=2e-3, warm_up_calls=10,
             rate="latency",
             # sample until decided, from the round where every point has the 200 samples a
             # p99 needs (taken even past the budget: Sequential.rounds); the cap is the
             # budget's round count
             sequential=Sequential("latency_median_s", first=30, cap=0, min_samples=200),
             reference=True, deployments=True,
             # calls of 1-60 ms, each after the other models evicted its caches: every sample
             # after a primer of its own, so a fast model's repeated calls and a slower one's
             # single call are taken alike (interleave.run_rounds). Batch 8 below does without:
             # its calls were all over the fill target (one cold call each) on the AVX2 VM,
             # a primer would double its session, and twins make equal calls in any case.
             warm_each_round=True),
    # A small serving batch: between batch 1 (the call's fixed cost) and the throughput batch
    # (the compute), sized like batch 1 from the same per-model budget, with the reference.
    Scenario("latency_b8", "latency b8", "Batch-8 latency", "inference", batch=8,
             budget_s="latency_budget", rounds=(30, 2000), fill_s=2e-3, warm_up_calls=10,
             rate="latency", sequential=Sequential("latency_b8_median_s", first=30, cap=0),
             reference=True),
    Scenario("throughput", "throughput", "Call at the throughput batch", "inference",
             batch="throughput_batch", budget_s=5.0, rounds=(3, 50), fill_s=0.2,
             warm_up_calls=2, rate="inference",
             # settled models leave, so the close ones get the rounds within the same budget
             sequential=Sequential("time_per_image_s", first=5, cap=50), deployments=True,
             halve_on_oom=True, energy=True, cpu_clock=True,
             # Calls of 10 ms to 1 s, each model primed in its round: the rounds after v03, v10
             # and resnet20 left (at 5 of 16) read 0.94-1.11 of the first 5, centred near 1
             # (2-core EPYC VM, 2026-12-07, two runs); the figures of all 16 rounds put the
             # identical graphs within 3 %, those of the 5 shared rounds 4-5 % apart.
             shared_round_figures=False),
    # A step of v04 at batch 128 spans hundreds of scheduler slices, as a throughput call does:
    # on the wall clock its rounds read 2.3, 3.1 and 2.5 s on the quiet 2-core VM (2026-12-07).
    Scenario("train_step", "train step", "Training step", "train_step", batch="recipe",
             budget_s=5.0, rounds=(3, 50), fill_s=0.5, warm_up_calls=2, rate="train",
             cpu_clock=True),
)  # fmt: skip


def scenario(name: str) -> Scenario:
    """The scenario called `name`; an unknown name raises KeyError naming the known ones."""
    for row in SCENARIOS:
        if row.name == name:
            return row
    raise KeyError(f"unknown scenario {name!r}; known: {', '.join(s.name for s in SCENARIOS)}")


def get(key: str) -> Metric:
    """The metric called `key`; an unknown key raises KeyError naming the known ones."""
    for metric in METRICS:
        if metric.key == key:
            return metric
    raise KeyError(f"unknown metric {key!r}; known: {', '.join(m.key for m in METRICS)}")


def record_keys() -> tuple[str, ...]:
    """Metric keys a variant record carries (derived figures are computed by readers)."""
    return tuple(m.key for m in METRICS if m.inverse_of is None)


def numeric_keys() -> tuple[str, ...]:
    """Every metric key, derived ones included: the report's numeric columns."""
    return tuple(m.key for m in METRICS)


def axes() -> tuple[Metric, ...]:
    """The Pareto cost axes, in table order."""
    return tuple(m for m in METRICS if m.axis)


def columns() -> tuple[Metric, ...]:
    """The report's main-table columns, in table order."""
    return tuple(m for m in METRICS if m.column)


def gated(rule: GateRule) -> tuple[Metric, ...]:
    """The metrics the gate treats with `rule`."""
    return tuple(m for m in METRICS if m.gate == rule)


def timed_metrics(scenario: str) -> tuple[Metric, ...]:
    """The metrics filled from the raw samples of one benchmark scenario."""
    return tuple(m for m in METRICS if m.scenario == scenario)


def sample_scenario(metric: Metric) -> str | None:
    """The benchmark scenario whose raw samples a figure comes from (derived figures: their
    source's), or None for figures that are not timed."""
    if metric.inverse_of is not None:
        return get(metric.inverse_of).scenario
    return metric.scenario


def scenarios() -> tuple[str, ...]:
    """Benchmark scenarios that fill metrics, in table order."""
    return tuple(dict.fromkeys(m.scenario for m in METRICS if m.scenario))
