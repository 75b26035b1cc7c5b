"""The one table of metrics: everything downstream is derived from it, nothing is retyped.

The central check adds a made-up metric (one row, an existing unit) and follows it from the
contract through the report's aggregation and main table to a Pareto axis, with no other change.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reports import make_record, make_suite

from bench import contract, metrics
from bench.contract import ContractError, empty_variant_record, validate
from bench.metrics import Metric
from reports import render
from reports.data import aggregate, numeric_keys, suite_from_documents
from reports.pareto import analyse, cost_axes
from reports.verdict import make_verdict

WIDGETS = Metric(
    "widgets_per_image", "count", "lower", "Widgets per image", "widgets", axis=True, column=True
)


@pytest.fixture
def widgets(monkeypatch):
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, WIDGETS))
    return WIDGETS


def _doc_with_widgets(values: dict[str, float]) -> dict:
    records = []
    for vid, (params, macs, acc, widgets) in {
        "a": (1_000, 2_000_000, 0.70, values["a"]),
        "b": (4_000, 9_000_000, 0.80, values["b"]),
        "c": (9_000, 20_000_000, 0.75, values["c"]),
    }.items():
        record = make_record(vid, params, macs, acc)
        record["widgets_per_image"] = widgets
        records.append(record)
    return make_suite(records)


def test_a_made_up_metric_reaches_the_contract(widgets):
    assert "widgets_per_image" in contract.variant_keys()
    assert "widgets_per_image" in empty_variant_record("v01")
    doc = _doc_with_widgets({"a": 1.0, "b": 2.0, "c": 3.0})
    del doc["variants"]["b"]["widgets_per_image"]
    with pytest.raises(ContractError, match="widgets_per_image"):
        validate(doc)


def test_a_made_up_metric_reaches_the_report_table_and_an_axis(widgets):
    # Widgets: a 1,500 (cheapest, 70 %), b 2,500 (80 %), c 4,000 (75 %): c is dominated by b.
    doc = _doc_with_widgets({"a": 1_500.0, "b": 2_500.0, "c": 4_000.0})
    suite = suite_from_documents([("run.json", doc)])
    table = aggregate(suite, references=False)
    assert "widgets_per_image" in numeric_keys()
    assert list(table["widgets_per_image"]) == [1_500.0, 2_500.0, 4_000.0]

    assert widgets in cost_axes()
    analysis = analyse(table)
    result = next(r for r in analysis.axes if r.axis.key == "widgets_per_image")
    assert result.frontier == ["a", "b"]
    assert result.point("c")["dominated_by"] == ("b",)

    verdict = make_verdict(table, analysis, device="CPU", dataset="cifar10")
    content = render.Content(suite, table, analysis, verdict, {}, None, None)
    rendered, _ = render.variants_table(content)
    column = rendered.headings.index("Widgets per image")
    assert [row[column] for row in rendered.rows] == ["1.50 k", "2.50 k", "4.00 k"]


def test_derived_lists_follow_the_table():
    keys = {m.key for m in metrics.METRICS}
    assert set(metrics.record_keys()) == keys - {"time_per_image_s"}  # derived: 1 / throughput
    assert {m.key for m in metrics.axes()} == {
        "params_total",
        "macs",
        "flops",
        "latency_median_s",
        "latency_p99_s",
        "time_per_image_s",
        "peak_gpu_memory_bytes",
        "train_time_s",
        "model_file_bytes",
        "energy_train_j",
        "energy_per_1000_images_j",
    }
    assert {m.key for m in metrics.gated("exact")} == {
        "params_total",
        "params_trainable",
        "params_non_trainable",
        "macs",
        "flops",
        "flops_analytic",
    }
    assert [m.key for m in metrics.gated("latency")] == ["latency_median_s"]
    assert metrics.scenarios() == ("latency", "latency_b8", "throughput", "train_step")


def test_every_metric_is_declared_once_with_a_known_unit():
    keys = [m.key for m in metrics.METRICS]
    assert len(keys) == len(set(keys))
    for metric in metrics.METRICS:
        assert metric.unit in metrics.Unit.__args__, metric.key
        assert metric.better in ("lower", "higher"), metric.key
        if metric.inverse_of is not None:
            assert metric.inverse_of in keys, metric.key
        if metric.scenario is not None:
            assert metric.statistic is not None, metric.key
    with pytest.raises(KeyError, match="known: params_total"):
        metrics.get("no_such_metric")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(1e-6, 10.0, allow_nan=False), min_size=1, max_size=60),
    st.integers(1, 512),
    st.sampled_from([None, 0.0, 0.05, 0.25, 0.5, 0.9, 1.0]),
)
def test_images_per_s_is_the_batch_over_numpys_quantile(samples, batch, quantile):
    # The figure's quantile is written out without numpy; numpy's default rule is the reference.
    expected = batch / (np.median(samples) if quantile is None else np.quantile(samples, quantile))
    assert metrics.images_per_s(samples, batch, quantile) == pytest.approx(expected, rel=1e-12)


def test_a_p99_session_takes_its_200_samples_even_past_the_budget():
    # batch-1 latency: a p99 needs 200 samples, so a model of one call a round needs 200 rounds
    # and one of two calls 100, whatever fewer rounds the time budget would fit
    row = metrics.scenario("latency").sequential
    assert row.min_samples == 200
    assert row.first_look([1, 2]) == 200 and row.first_look([2, 4]) == 100
    assert row.rounds(118, [1, 2]) == 200  # the budget's 118 rounds would leave p99 unfilled
    assert row.rounds(236, [1, 2]) == 236  # more rounds than needed: the budget's
    throughput = metrics.scenario("throughput").sequential
    assert throughput.min_samples == 0 and throughput.rounds(3, [1]) == 3


def test_batch_1_latency_primes_every_model_and_the_estimate_counts_the_primers():
    # one round of a 1 ms model with 2 timed calls and a 10 ms model with 1: primed, 1 + 2 calls
    # and 1 + 1 calls, 23 ms; unprimed (throughput's rule), the single call goes cold: 13 ms
    per_call, calls = {"small": 1e-3, "big": 10e-3}, {"small": 2, "big": 1}
    assert metrics.scenario("latency").warm_each_round
    assert metrics.round_s(per_call, calls, warm_each_round=True) == pytest.approx(23e-3)
    assert metrics.round_s(per_call, calls, warm_each_round=False) == pytest.approx(13e-3)
