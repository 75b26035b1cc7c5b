"""The report's evidence for the decision core: counts, paired rounds for timings, apart else.

Samples are hand-made: a per-round machine load (exponential, shared by every model of a round,
as a busy neighbour would add) times each model's own cost, plus a little independent jitter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import metrics
from bench.compare import Outcome
from reports.noise import Evidence, judges
from reports.pareto import analyse_axis

LATENCY = metrics.get("latency_median_s")
PARAMS = metrics.get("params_total")
HOST_MEMORY = metrics.get("peak_host_memory_bytes")
TIME_PER_IMAGE = metrics.get("time_per_image_s")


COLUMNS = ["run", "scenario", "session", "variant", "round", "seconds", "batch_size"]


def session(costs: dict[str, float], *, rounds: int = 300, seed: int = 0, scenario="latency",
            session_id="s1", batches: dict[str, int] | None = None) -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    load = 1.0 + rng.exponential(0.4, rounds)  # the same for every model within a round
    rows = []
    for vid, cost in costs.items():
        jitter = 1.0 + rng.exponential(0.02, rounds)
        for i in range(rounds):
            rows.append(
                {"run": 0, "scenario": scenario, "session": session_id, "variant": vid,
                 "round": i, "seconds": cost * load[i] * jitter[i],
                 "batch_size": (batches or {}).get(vid, 1)}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def _noise(samples: pd.DataFrame) -> Evidence:
    return Evidence(pd.DataFrame({"variant": [], "accuracy": []}), samples)


def test_identical_costs_in_one_session_are_equivalent():
    noise = _noise(session({"v04": 4e-3, "v05": 4e-3, "v08": 4e-3}))
    for a, b in (("v04", "v05"), ("v05", "v08"), ("v04", "v08")):
        c = noise.cost(LATENCY, a, 4.02e-3, b, 3.98e-3)
        assert c.outcome is Outcome.EQUIVALENT, (a, b, c)
        assert c.n == 300


def test_a_real_ten_percent_difference_is_a_difference():
    noise = _noise(session({"fast": 1.0e-3, "slow": 1.1e-3}))
    c = noise.cost(LATENCY, "slow", 1.1e-3, "fast", 1.0e-3)
    assert c.outcome is Outcome.WORSE and c.p_value < 1e-6  # slow is dearer, resolvably
    assert noise.cost(LATENCY, "fast", 1.0e-3, "slow", 1.1e-3).outcome is Outcome.BETTER


def test_a_resolvable_but_small_difference_is_equivalent():
    # 2 % slower in every round: the test resolves it, but the interval is inside the 3 % margin.
    noise = _noise(session({"a": 1.00e-3, "b": 1.02e-3}, rounds=1000))
    c = noise.cost(LATENCY, "b", 1.02e-3, "a", 1.00e-3)
    assert c.p_value < 0.01 and c.outcome is Outcome.EQUIVALENT


def test_a_large_but_unresolved_difference_is_undetermined_not_a_tie():
    # Three rounds whose ratios swing both ways: the figures differ by 10 %, the rounds do not
    # say. The old rule called this a tie ("cannot be told apart" read as "equal").
    rows = [
        (0, "latency", "s", v, i, s, 1)
        for v, samples in (("a", [1.0, 1.0, 1.0]), ("b", [1.5, 0.8, 1.0]))
        for i, s in enumerate(samples)
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    c = _noise(frame).cost(LATENCY, "b", 1.1, "a", 1.0)
    assert c.outcome is Outcome.UNDETERMINED and c.settle == "more rounds"


def test_counted_costs_are_equivalent_only_when_equal():
    noise = _noise(session({}))
    assert noise.cost(PARAMS, "v04", 1_709_514, "v05", 1_709_514).outcome is Outcome.EQUIVALENT
    assert noise.cost(PARAMS, "v04", 1_709_514, "v06", 2_267_210).outcome is Outcome.BETTER


def test_costs_measured_apart_are_equivalent_within_their_margin_both_ways():
    noise = _noise(session({}))
    assert noise.cost(HOST_MEMORY, "a", 1.04e9, "b", 1.00e9).outcome is Outcome.EQUIVALENT
    assert noise.cost(HOST_MEMORY, "a", 1.10e9, "b", 1.00e9).outcome is Outcome.WORSE
    # The committed Fashion-MNIST run: training times 0.905 apart were "tied" one way only.
    train = metrics.get("train_time_s")
    there, back = (
        noise.cost(train, "v01", 0.905, "v02", 1.0),
        noise.cost(train, "v02", 1.0, "v01", 0.905),
    )
    assert back.outcome is there.outcome.mirror()


def test_without_shared_rounds_the_margin_decides_and_says_so():
    frame = pd.concat(
        [session({"a": 1e-3}, session_id="first"), session({"b": 1.02e-3}, session_id="second")]
    )
    c = _noise(frame).cost(LATENCY, "b", 1.02e-3, "a", 1e-3)
    assert c.outcome is Outcome.EQUIVALENT and c.n == 1 and "no shared rounds" in c.test


def test_time_per_image_pairs_the_throughput_rounds_per_image():
    # b runs half the batch in 55 % of a's time per call: 10 % more time per image.
    frame = session(
        {"a": 0.100, "b": 0.055}, scenario="throughput", batches={"a": 256, "b": 128}, seed=3
    )
    c = _noise(frame).cost(TIME_PER_IMAGE, "b", 0.055 / 128, "a", 0.1 / 256)
    assert c.outcome is Outcome.WORSE and c.estimate == pytest.approx(1.1, abs=0.02)


def test_tied_models_neither_dominates_on_cost_and_the_table_says_tied_with():
    samples = session({"v04": 4e-3, "v05": 4e-3, "v08": 4e-3, "v10": 36e-3})
    table = pd.DataFrame(
        {
            "variant": ["v04", "v05", "v08", "v10"],
            "kind": "variant",
            "accuracy": [0.8600, 0.8577, 0.8843, 0.9135],
            "test_examples": 10_000,
            "accuracy_runs": [(0.86,), (0.8577,), (0.8843,), (0.9135,)],
            # Point figures as a noisy run might give: 3 % apart, but tied on the rounds.
            "latency_median_s": [3.95e-3, 4.10e-3, 4.05e-3, 36e-3],
        }
    )
    result = analyse_axis(table, LATENCY, judges(table, samples))
    points = result.points.set_index("variant")
    assert points.loc["v05", "cost_ties"] == ("v04", "v08")
    # v04 at 86.00 % and v05 at 85.77 %, one run each: their accuracies cannot be told apart.
    assert points.loc["v04", "unresolved"] == ()  # both are dominated by v08 anyway
    # v08 is as cheap (tied) and resolvably more accurate than v05 and v04: it dominates both,
    # whatever their point figures say; v04 at 86.00 % vs v05 at 85.77 % cannot be told apart.
    assert set(points.loc["v05", "dominated_by"]) == {"v08"}
    assert set(points.loc["v04", "dominated_by"]) == {"v08"}
    assert result.frontier == ["v08", "v10"]
    assert [(s.from_id, s.to_id) for s in result.steps] == [("v08", "v10")]


def test_no_step_and_no_gain_per_doubling_across_a_cost_the_rounds_show_equivalent():
    # b is 1.006x a's latency in every round, and 5 pp more accurate. The old walk could print
    # "+21.5 pp per doubling" for such a ratio; now the two costs are equivalent, so b dominates
    # a (as cheap, more accurate) and no step of ratio 1.006 exists.
    samples = session({"a": 1.000e-3, "b": 1.006e-3}, rounds=400)
    table = pd.DataFrame({"variant": ["a", "b"], "kind": "variant", "accuracy": [0.80, 0.85],
                          "test_examples": 10_000, "accuracy_runs": [(0.80,), (0.85,)],
                          "latency_median_s": [1.000e-3, 1.006e-3]})  # fmt: skip
    result = analyse_axis(table, LATENCY, judges(table, samples))
    assert result.steps == ()
    assert result.frontier == ["b"]
    assert result.point("a")["dominated_by"] == ("b",)
