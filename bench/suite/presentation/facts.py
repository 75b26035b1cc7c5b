"""The facts said before any work starts: what will run, on which device, and for how long.

`plan_of` turns the suite's options into an `bench.suite.presentation.estimate.Plan`;
`macs_of` finds each
model's MACs (an earlier run's record, else the analytic count of a freshly built model: a few
seconds for the registry, spent only when no earlier run knows the model); `facts` words it all
in a few lines. `tests/test_progress.py` checks the words on a made-up suite; the numbers are
rendered by `bench.units`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import metrics, units
from bench.suite.plan.options import Accuracy
from bench.suite.presentation import estimate


def phase_names() -> tuple[str, ...]:
    """The estimated phases, in run order: the workers, loading, then each timed scenario."""
    return ("records", "load", *(s.label for s in metrics.SCENARIOS))


def busy_cores(seconds: float = 0.5) -> float:
    """Cores' worth of CPU the machine's other processes use: the whole machine's use over
    `seconds`, while this process waits (so it is not counted)."""
    import psutil

    return psutil.cpu_percent(interval=seconds) / 100.0 * (psutil.cpu_count() or 1)


def speed() -> float | None:
    """How much slower this machine is than the one the estimate's rates were fitted on
    (`bench.measure.probe`, a quarter of a second); None when the probe cannot run."""
    try:
        from bench.measure.probe import probe_s  # TensorFlow: only when the estimate needs it

        return probe_s() / estimate.PROBE_FIT_S
    except Exception:  # an estimate is not worth failing a run for: the fitted rates stand
        return None


def read_previous(path: Path | None) -> dict[str, Any] | None:
    """An earlier run's suite JSON, or None when there is none or it cannot be read (an
    estimate is not worth failing a run for; the facts then say it comes from MACs)."""
    if path is None:
        return None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def macs_of(
    entries: list,
    previous: Mapping[str, Any] | None,
    shape: tuple[tuple[int, int, int], int] = ((32, 32, 3), 10),
) -> dict[str, float | None]:
    """Each model's MACs per image: from the earlier run when it has them (and the same input
    shape), else counted for `shape` ((input_shape, num_classes))."""
    known = {
        vid: record.get("macs") or record.get("macs_partial")
        for vid, record in ((previous or {}).get("variants") or {}).items()
        if isinstance(record, dict) and tuple(record.get("input_shape") or ()) == shape[0]
    }
    found: dict[str, float | None] = {}
    for entry in entries:
        if known.get(entry.id):
            found[entry.id] = float(known[entry.id])
            continue
        found[entry.id] = _counted(entry, shape)
    return found


def _counted(entry: Any, shape: tuple[tuple[int, int, int], int]) -> float | None:
    """The analytic MAC count of a freshly built model; None when it cannot be had."""
    from bench.measure.flops import analytic_counts  # TensorFlow: only when needed

    try:
        model = entry.build(input_shape=shape[0], num_classes=shape[1])
        return float(analytic_counts(model).macs) or None
    except Exception:  # the model's worker reports the fault in one sentence; here it only
        return None  # means the estimate costs the model as a mid-sized one


def plan_of(
    suite: Any,
    device: str,
    macs: Mapping[str, float | None],
    *,
    cached: frozenset[str] = frozenset(),
    busy_cores: float = 0.0,
    cores: int | None = None,
    speed: float | None = 1.0,
) -> estimate.Plan:
    """What `suite` (a `bench.suite.orchestration.session.Suite`) will run on `device`;
    `cached`, `busy_cores`, `cores` and `speed` as `estimate.Plan` has them (`speed` None: the
    probe could not run, so the fitted rates stand unscaled and the facts say so)."""
    opt = suite.options
    models = tuple(
        estimate.Model(
            id=e.id,
            macs=macs.get(e.id),
            batch_size=e.recipe.batch_size,
            max_epochs=e.recipe.max_epochs,
            validation_examples=e.recipe.validation_examples,
        )
        for e in suite.entries
    )
    jobs = tuple((suite.job_label(e.id, s), e.id) for e in suite.entries for s in suite.job_seeds)
    return estimate.Plan(
        models=models,
        jobs=jobs,
        parallel=suite.parallel_jobs,
        accuracy=opt.accuracy,
        profile=opt.training,
        dataset=opt.dataset,
        options=opt,
        device=device,
        xla=suite.settings.xla,
        precision=suite.settings.precision,
        cached=cached,
        busy_cores=busy_cores,
        cores=cores,
        speed=1.0 if speed is None else speed,
        probed=speed is not None,
    )


def _accuracy(opt: Any, seeds: tuple[int, ...]) -> str:
    if not Accuracy(opt.accuracy).measures:
        return "reported (the course report's and the papers' figures; nothing is trained)"
    if not Accuracy(opt.accuracy).trains:
        return f"of the weights in {opt.weights_dir}, tested on {opt.dataset}"
    runs = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
    return f"trained here on {opt.dataset}, profile {opt.profile}, {runs}"


def _device(info: Mapping[str, Any]) -> str:
    threads = info.get("threads") or {}
    where = info["device"]
    if where == "CPU":
        where = f"CPU ({info.get('cpu_model')}, {info.get('cpu_count_logical')} logical cores)"
    return (
        f"{where}, threads {threads.get('intra_op')},{threads.get('inter_op')}, "
        f"{info.get('precision')}, XLA {'on' if info.get('xla') else 'off'}; TensorFlow "
        f"{info.get('tensorflow_version')}, Keras {info.get('keras_version')}"
    )


def expected_line(est: estimate.Estimate) -> str:
    """ "about 4.6 min, between 3.8 and 6.1 min allowing for ... (records 49 s, ...); from ..."."""
    phases = [p for p in phase_names() if p in est.items]
    parts = [f"start {units.seconds(est.start_s, digits=2)}"]
    parts += [f"{p} {units.seconds(est.phase_s(p), digits=2)}" for p in phases]
    parts.append(f"report {units.seconds(est.report_s, digits=2)}")
    most = "at most about" if est.upper_bound else "about"
    low, high = est.total_range
    sure = ""
    if high > low:
        sure = (
            f", between {units.seconds(low, digits=2)} and {units.seconds(high, digits=2)} "
            f"{est.why}"
        )
    total = units.seconds(est.total_s, digits=2)
    return f"{most} {total}{sure} ({', '.join(parts)}); {est.source}"


def _convert(suite: Any) -> str:
    """The conversion phase, when models are also measured in other deployments."""
    others = [d for d in getattr(suite, "deployments", ("keras",)) if d != "keras"]
    if not others:
        return ""
    evaluate = (
        "evaluate (each on the test set) · " if Accuracy(suite.options.accuracy).measures else ""
    )
    return f"convert (to {', '.join(others)}) · {evaluate}"


def _timed(opt: Any) -> str:
    """Each timed scenario's phase: "latency (batch 1, 3 s of samples per model) · ..."."""
    parts = []
    for row in metrics.SCENARIOS:
        batch = "each recipe's batch" if row.batch == "recipe" else f"batch {row.batch_of(opt)}"
        budget = f", {units.seconds(row.budget_of(opt))} of samples per model"
        parts.append(f"{row.label} ({batch}{budget if isinstance(row.budget_s, str) else ''})")
    return " · ".join(parts)


def facts(suite: Any, info: Mapping[str, Any], est: estimate.Estimate) -> list[str]:
    """The up-front facts, one line per subject (the display wraps them)."""
    opt = suite.options
    ids = [e.id for e in suite.entries]
    count = f"{len(ids)} model{'s' if len(ids) != 1 else ''}"
    return [
        f"cnn-bench: {count}: {', '.join(ids)}",
        f"  accuracy: {_accuracy(opt, suite.job_seeds)}",
        f"  phases:   records (params, MACs, memory, accuracy; {suite.parallel_jobs} worker"
        f"{'s' if suite.parallel_jobs != 1 else ''} at once) · {_convert(suite)}{_timed(opt)} · "
        "report",
        f"  device:   {_device(info)}",
        f"  expected: {expected_line(est)}",
    ]
