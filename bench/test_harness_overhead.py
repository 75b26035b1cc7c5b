"""Harness overhead and latency noise, as benchmarks that print their figures.

Claim 1: the batch-1 median the suite reports (the interleaved rounds of
`bench.measure.interleave`, here with the reference workload as the only other member, replayed
into pytest-benchmark) is within 10 % of a minimal hand-written loop over the same compiled
function in the same process. Claim 2: with the suite's thread settings, the batch-1 IQR stays
under 10 % of the median. Both figures are printed and stored in `extra_info`
(`overhead_ratio`, `iqr_over_median`); they are observations, not pass/fail timings, because
wall-clock thresholds flake on a shared machine.
"""

from __future__ import annotations

import statistics
import time

import pytest

from bench import metrics
from bench.measure import interleave
from bench.measure import timing as latency
from bench.suite.orchestration import replay
from bench.suite.orchestration.session import Suite

OVERHEAD_VARIANTS = ("v01", "v10")


@pytest.mark.parametrize("overhead_variant", OVERHEAD_VARIANTS)
def test_harness_overhead(
    benchmark, overhead_variant: str, suite: Suite, reference: latency.Timed
) -> None:
    import architectures

    model = architectures.get(overhead_variant).build()
    timed = latency.inference(model, batch_size=1, xla=suite.settings.xla)
    interleave.warm_up({overhead_variant: timed}, calls=metrics.scenario("latency").warm_up_calls)
    per_round = interleave.per_call_s(timed) + interleave.per_call_s(reference)
    rounds = metrics.rounds_for(
        per_round, budget_s=suite.options.latency_budget, min_rounds=30, max_rounds=2000
    )
    session = interleave.run_rounds({overhead_variant: timed}, rounds=rounds, reference=reference)
    replay.replay(benchmark, session.samples[overhead_variant])
    suite_median = benchmark.stats.stats.median
    rounds = benchmark.stats.stats.rounds

    hand: list[float] = []  # the minimal loop: no fixture, no setup, nothing between calls
    for _ in range(rounds):
        start = time.perf_counter()
        timed.call()
        hand.append(time.perf_counter() - start)
    hand_median = statistics.median(hand)
    q = statistics.quantiles(benchmark.stats.stats.data, n=4)
    figures = {
        "hand_loop_median_s": hand_median,
        "overhead_ratio": suite_median / hand_median,
        "iqr_over_median": (q[2] - q[0]) / suite_median,
    }
    benchmark.extra_info.update(suite.extra(overhead_variant, "harness_overhead", timed))
    benchmark.extra_info.update(figures)
    print(
        f"\n{overhead_variant}: suite median {suite_median * 1e3:.3f} ms, hand loop "
        f"{hand_median * 1e3:.3f} ms, ratio {figures['overhead_ratio']:.3f}, "
        f"IQR/median {figures['iqr_over_median']:.3f} ({rounds} rounds)"
    )
