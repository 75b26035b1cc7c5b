"""The verdict: yes, no and partly on hand-made data whose answer is worked out by hand.

Accuracies are on 10,000 test images (binomial variances p(1 - p) / n); every cost of a record
follows its MACs unless given (`test_reports.make_record`). "Efficient on an axis" is defined in
`reports/verdict.py`: on the frontier, and the last step's accuracy per doubling of cost not
resolvably below the frontier's average return before it.
"""

from __future__ import annotations

import pytest
from test_reports import build, make_record, make_suite

from bench.compare import Outcome

# A ladder whose last step costs 1.2x for +0.9 pp on every axis:
#   a 1 M params, 10 M MACs, 80.00 %; b 2 M, 20 M, 85.00 %; r 4 M, 40 M, 89.50 %;
#   w 4.8 M, 48 M, 90.40 %.
# Before the last step: (89.50 - 80.00) / log2(4) = 4.75 pp per doubling. The last step:
# 0.90 / log2(1.2) = 3.42 pp per doubling. Variance of (g_before - g_last), accuracies independent:
# (1/2)^2 .8*.2/1e4 + (1/2 + 1/0.263)^2 .895*.105/1e4 + (1/0.263)^2 .904*.096/1e4 = 3.0e-4,
# sd 1.74 pp: a 1.33 pp shortfall is z = 0.76, p = 0.22, not resolvable. And w vs r, +0.9 pp:
# z-test p = 0.034, told apart. So w is efficient on every axis: yes.
LADDER = {
    "a": (1_000_000, 10_000_000, 0.800, 1.00e-3),
    "b": (2_000_000, 20_000_000, 0.850, 2.00e-3),
    "r": (4_000_000, 40_000_000, 0.895, 4.00e-3),
    "w": (4_800_000, 48_000_000, 0.904, 4.80e-3),
}


def ladder(**changes: tuple) -> dict:
    figures = {**LADDER, **changes}
    records = [
        make_record(vid, params, macs, acc, latency_s=lat)
        for vid, (params, macs, acc, lat) in figures.items()
    ]
    return make_suite(records)


def test_yes_when_the_winner_costs_1_2x_the_runner_up_for_0_9_pp_on_every_axis():
    _, analysis, verdict = build(ladder(), references=False)
    assert verdict.winner == "w" and verdict.runner_up == "r"
    assert verdict.comparison.outcome is Outcome.BETTER
    assert verdict.comparison.p_value == pytest.approx(0.034, abs=0.002)
    assert verdict.answer == "yes"
    assert verdict.headline.startswith("Yes: w is the most accurate (90.40 %)")
    params = verdict.axis("params_total")
    assert params.answer == "yes" and params.last_step.from_id == "r"
    assert 100 * params.last_step.gain_per_doubling == pytest.approx(3.42, abs=0.01)
    assert 100 * params.gain_before == pytest.approx(4.75)
    assert params.p_value == pytest.approx(0.22, abs=0.01)
    assert {j.answer for j in verdict.axes} == {"yes"}
    assert analysis.axis("params_total").frontier == ["a", "b", "r", "w"]


def test_no_on_the_report_figures(reported):
    # v09 -> v10: 5.38x the parameters for +0.90 pp, 0.37 pp per doubling; before it, v02 -> v09
    # gives (90.45 - 77.43) / log2(6,797,898 / 159,146) = 13.02 / 5.42 = 2.40 pp per doubling.
    _, _, verdict = reported
    assert verdict.winner == "v10" and verdict.answer == "no"
    params = verdict.axis("params_total")
    assert params.answer == "no" and params.last_step.from_id == "v09"
    assert 100 * params.last_step.gain_per_doubling == pytest.approx(0.3706, abs=1e-3)
    assert 100 * params.gain_before == pytest.approx(2.40, abs=0.01)
    assert params.p_value < 1e-6
    assert verdict.headline.startswith("No: v10 is the most accurate (91.35 %) but not the most")
    assert (
        "+0.37 pp per doubling of parameters over v09 against +2.40 pp before" in verdict.headline
    )
    assert any("diminishing returns" in r for r in verdict.reasons)
    assert any("reported by the course report, not measured here" in r for r in verdict.reasons)
    assert any("resnet56" in r and "would dominate it" in r for r in verdict.reasons)


@pytest.fixture(scope="module")
def reported():
    return build(make_suite())


def test_partly_when_the_winner_is_cheap_in_parameters_but_slow():
    # w at 5x r's latency: 0.90 pp over log2(5) = 2.32 doublings = 0.39 pp per doubling against
    # 4.75 before (z = 11.8): not efficient on latency, p99 or time per image (all follow the
    # latency in `make_record`), still efficient on parameters, MACs and FLOPs.
    _, _, verdict = build(ladder(w=(4_800_000, 48_000_000, 0.904, 20.0e-3)), references=False)
    assert verdict.answer == "partly"
    answers = {j.axis_key: j.answer for j in verdict.axes}
    assert answers["params_total"] == answers["macs"] == answers["flops"] == "yes"
    assert answers["latency_median_s"] == answers["time_per_image_s"] == "no"
    assert verdict.headline.startswith("Partly: w is the most accurate (90.40 %) and efficient")


def test_cannot_be_told_apart_is_not_equal_the_pair_stays_unresolved_and_both_are_co_winners():
    # w at 89.70 % against r's 89.50 %: +0.20 pp, p = 0.64 on 10,000 images each, and the
    # interval (about +-0.85 pp) is far wider than the 0.5 pp margin: undetermined, not
    # equivalent. The old rule read that as "equal" and let the cheaper r dominate w. Now
    # neither dominates: both stay on the frontier, unresolved, and both share the top.
    _, analysis, verdict = build(ladder(w=(4_800_000, 48_000_000, 0.897, 4.8e-3)), references=False)
    assert verdict.comparison.outcome is Outcome.UNDETERMINED
    w = analysis.axis("params_total").point("w")
    assert w["on_frontier"] and w["dominated_by"] == () and w["unresolved"] == ("r",)
    assert "more seeds" in w["settle"]
    assert verdict.co_winners == ("w", "r")
    assert {j.answer for j in verdict.co_axes["w"]} == {"unclear"}
    assert {j.answer for j in verdict.co_axes["r"]} == {"yes"}
    assert "co-winners w and r" in verdict.headline


def test_the_verdict_changes_when_v09_is_more_accurate(reported):
    doc = make_suite()
    doc["variants"]["v09"]["accuracy"] = 0.95
    _, _, verdict = build(doc)
    assert verdict.winner == "v09" and verdict.runner_up == "v10"


def test_a_single_model_or_no_accuracy_cannot_be_told():
    _, _, single = build(make_suite([make_record("v01", 159_146, 10_387_776, 0.7232)]))
    assert single.answer == "cannot be told" and "only model" in single.headline
    _, _, none = build(make_suite([make_record("v04", 1_709_514, 153_324_032, None)]))
    assert none.winner is None and none.answer == "cannot be told"
    assert "not legible" in none.headline


def test_a_tie_group_at_the_cheap_end_of_the_frontier_does_not_crash():
    # a and a2 have the same parameter count (a counted tie) and accuracies 80.00 % and 80.02 %
    # that 10,000 images cannot tell apart: both stay on the frontier, one group. The old code
    # took a -> a2 as "the frontier before the last step", log2(1 M / 1 M) = 0 doublings, and
    # raised ZeroDivisionError. Now the only step is the group -> w, and nothing comes before it.
    doc = make_suite([
        make_record("a", 1_000_000, 10_000_000, 0.8000, latency_s=1e-3),
        make_record("a2", 1_000_000, 10_000_000, 0.8002, latency_s=1e-3),
        make_record("w", 2_000_000, 20_000_000, 0.8500, latency_s=2e-3),
    ])  # fmt: skip
    _, analysis, verdict = build(doc, references=False)
    params = analysis.axis("params_total")
    assert params.ties == (("a2", "a"),) or params.ties == (("a", "a2"),)
    assert [(s.from_id, s.to_id) for s in params.steps] == [("a", "w")]
    assert verdict.answer == "yes"
    assert "no earlier step to compare" in verdict.axis("params_total").reason


def test_two_models_of_identical_accuracy_get_the_same_answer_in_either_order():
    # The old verdict sorted on accuracy (stable) and crowned whichever came first in the file:
    # "yes" one way, "partly" the other. Equal accuracies on one run each are undetermined (the
    # interval is +-0.8 pp, wider than the 0.5 pp margin): both are co-winners, either order.
    cheap = make_record("cheap", 1_000_000, 10_000_000, 0.90, latency_s=1e-3)
    dear = make_record("dear", 2_000_000, 20_000_000, 0.90, latency_s=0.5e-3)
    first = build(make_suite([cheap, dear]), references=False)[2]
    second = build(make_suite([dear, cheap]), references=False)[2]
    assert first.co_winners == second.co_winners == ("cheap", "dear")
    assert (first.answer, first.headline) == (second.answer, second.headline)
