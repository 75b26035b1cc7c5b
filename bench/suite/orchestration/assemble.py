"""The suite's JSON additions: `variants` (one record per model), `run` and the reference points.

pytest-benchmark writes its own file; `bench/conftest.py`'s `pytest_benchmark_update_json` hook
adds what `docs/contract.md` defines, built here from the workers' records and the benchmarks'
raw samples. Which statistic of which scenario fills which key is read from `bench.metrics`
(`Metric.scenario`, `Metric.statistic`), so a new timed metric needs no code here. A figure that
could not be measured is null with its reason in `unavailable`, never 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from bench import metrics
from bench.contract import empty_variant_record, variant_keys

NOT_RUN = "this scenario was not run (deselected, disabled or failed)"


def statistic(metric: metrics.Metric, samples: Sequence[float], batch_size: int) -> float:
    """The figure `metric` takes from one benchmark's raw per-call samples (seconds)."""
    data = np.asarray(samples, dtype=float)
    if metric.statistic == "median":
        return float(np.median(data))
    if metric.statistic == "p90":
        return float(np.percentile(data, 90))
    if metric.statistic == "p99":
        return float(np.percentile(data, 99))
    if metric.statistic == "images_per_s":
        return metrics.images_per_s(data, batch_size, metrics.point_quantile(metric))
    raise ValueError(f"metric {metric.key} has no statistic to take from samples")


def shared_rounds(benchmarks: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Session id -> the rounds every model of that session took part in (the fewest).

    A sequential session lets a decided model leave while the undecided ones go on; the later
    rounds visit fewer models and run faster (fewer weights to evict from the caches: 20 % on
    the 2-core box), so a figure from all of one model's rounds and a figure from only the first
    rounds of another would differ by the rounds, not by the models. The point figures (median,
    tails, images/s) therefore use only the rounds every model shared; the later rounds serve
    the paired comparisons, which pair round by round. Not for a scenario whose row says
    otherwise (`Scenario.shared_round_figures`: long primed calls, throughput), whose sessions
    are left out here, so that each model's figures take all its rounds; an unknown scenario
    keeps the rule.
    """
    shared: dict[str, int] = {}
    for bench in benchmarks:
        if not _shared_round_figures((bench.get("extra_info") or {}).get("scenario")):
            continue
        session = _session(bench)
        sid, rounds = session.get("id"), session.get("rounds")
        if isinstance(sid, str) and isinstance(rounds, int) and not isinstance(rounds, bool):
            shared[sid] = min(shared.get(sid, rounds), rounds)
    return shared


def _shared_round_figures(name: object) -> bool:
    try:
        return metrics.scenario(str(name)).shared_round_figures
    except KeyError:  # an unknown scenario keeps the rule
        return True


def figure_samples(bench: Mapping[str, Any], shared: Mapping[str, int]) -> list[float]:
    """The samples a point figure is taken from: those of the session's shared rounds
    (`shared_rounds`); all of them for a benchmark outside any session."""
    samples = list((bench.get("stats") or {}).get("data") or [])
    session = _session(bench)
    sid, calls = session.get("id"), session.get("calls_per_round", 1)
    rounds = shared.get(sid) if isinstance(sid, str) else None
    if rounds is None or not isinstance(calls, int) or calls < 1:
        return samples
    return samples[: rounds * calls]


def _session(bench: Mapping[str, Any]) -> Mapping[str, Any]:
    """A benchmark's `extra_info.session`, or {} where there is none or it is not a mapping."""
    session = (bench.get("extra_info") or {}).get("session")
    return session if isinstance(session, Mapping) else {}


def _timed_figures(record: dict[str, Any], bench: Mapping[str, Any], samples: list[float]) -> None:
    extra = bench.get("extra_info", {})
    batch_size = extra.get("batch_size")
    for metric in metrics.timed_metrics(extra.get("scenario")):
        if metric.statistic == "images_per_s" and not (
            isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size >= 1
        ):  # never a made-up batch: a rate of empty calls is no throughput
            record["unavailable"][metric.key] = (
                f"the benchmark records batch size {batch_size!r}, not a number of images"
            )
            continue
        if len(samples) < metric.min_samples:
            record["unavailable"][metric.key] = (
                f"{len(samples)} samples, fewer than the {metric.min_samples} a "
                f"{metric.statistic} needs"
            )
            continue
        record[metric.key] = statistic(metric, samples, batch_size)


def _energy_figures(record: dict[str, Any], row: Mapping[str, Any] | None) -> None:
    """The inference-energy figure and its window, or the reason there is none."""
    key = "energy_per_1000_images_j"
    if row is None:
        record["unavailable"].setdefault(key, NOT_RUN)
        return
    record[key] = row["energy_per_1000_images_j"]
    record["inference_energy"] = row["inference_energy"]
    if row["reason"] is not None:
        record["unavailable"][key] = row["reason"]


def variants_section(
    entries: Iterable[Any],
    records: Mapping[str, dict[str, Any]],
    benchmarks: Iterable[Mapping],
    deployments: Mapping[str, dict[str, dict[str, Any]]] | None = None,
    *,
    energy: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """One record per selected model: the worker's record plus the timed figures, and its rows
    in the other deployments (`deployments`, with their own timed figures).

    Args:
        entries: the selected registry entries, in registry order.
        records: the workers' records by model id.
        benchmarks: pytest-benchmark's entries (`extra_info` names model, scenario and, for
            another deployment than keras, `deployment`).
        deployments: model -> deployment -> row (`bench.suite.orchestration.deployments.records`).
        energy: model -> its inference-energy row
            (`bench.suite.orchestration.scenarios.energy_scenario`).
    """
    variants: dict[str, dict[str, Any]] = {}
    for entry in entries:
        record = empty_variant_record(entry.id)
        record.update(kind=entry.kind, description=entry.description)
        if entry.id in records:
            record.update(records[entry.id])
        else:
            record["unavailable"]["all"] = "the worker for this model did not run (deselected?)"
        record["deployments"] = dict((deployments or {}).get(entry.id, {}))
        _energy_figures(record, (energy or {}).get(entry.id))
        variants[entry.id] = record
    benchmarks = list(benchmarks)
    shared = shared_rounds(benchmarks)
    for bench in benchmarks:
        extra = bench.get("extra_info", {})
        record = variants.get(extra.get("variant"))
        if record is None:
            continue
        deployment = extra.get("deployment", "keras")
        samples = figure_samples(bench, shared)
        if deployment == "keras":
            _timed_figures(record, bench, samples)
        elif deployment in record["deployments"]:
            _timed_figures(record["deployments"][deployment], bench, samples)
    for record in variants.values():
        for scenario in metrics.scenarios():
            for metric in metrics.timed_metrics(scenario):
                if record.get(metric.key) is None:
                    record["unavailable"].setdefault(metric.key, NOT_RUN)
        for key in variant_keys():
            record.setdefault(key, None)
    return variants


def published_references(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """The published figures of every registered reference model (kind "reference").

    They travel in the JSON so that the report can place the published points beside the
    measured models even when the run did not measure them (`reports/` reads only the JSON).
    Costs hold only what was published: the paper's parameter count and MACs.
    """
    points = []
    for entry in entries:
        published = entry.published
        if entry.kind != "reference" or published is None or published.test_accuracy is None:
            continue
        params = published.params_total or published.params_trainable
        costs = {"params_total": params, "macs": published.macs}
        points.append(
            {
                "variant": entry.id,
                "description": entry.description,
                "accuracy": published.test_accuracy,
                "test_examples": published.test_examples,
                "dataset": published.dataset,
                "citation": f"{published.citation}: {published.accuracy_note}",
                "costs": {k: v for k, v in costs.items() if v is not None},
                "published": dataclasses.asdict(published),
            }
        )
    return points
