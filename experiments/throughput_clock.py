"""Why identical graphs drifted apart on throughput, and which clock keeps them together.

Claim checked: on the CPU with one intra-op and one inter-op thread, the suite's throughput
session (`bench.suite.orchestration.scenarios.throughput_scenario`: interleaved rounds, calls per
round, sampling until decided) gives identical inference graphs (v01 = v02, v04 = v05 = v08) medians
within 3 % of each other with a CPU-burning neighbour, when each call is timed in the process's
CPU time (`bench.measure.timing.call_clock`); timed on the wall clock they drift apart.

Method: one process, the variants built fresh at 32x32x3 (weights do not change an inference
graph's cost), batch 256, 1/1 threads; the throughput scenario run once per clock, alternately
and in the same process, beside a CPU-burning process (`--quiet`: none). Per clock: each model's
median seconds per call, its rounds, the spread (IQR / median) of its samples, and the ratio of
medians of every pair of an identical-graph group. Compare ratios within one run: other work on
a shared box changes the absolute figures from one minute to the next.

Run (about a minute per repeat with v01,v02; several with v04,v05,v08):
    python -m experiments.throughput_clock --variants v01,v02 --repeats 2

Results on the 2-core dev box (Intel Xeon, 2 vCPUs, TF 2.21 CPU, 1/1 threads, load average
4-5 from other jobs plus the burner), 2026-12-05: see docs/measurement.md §1 (throughput clock).
"""

from __future__ import annotations

import argparse
import os
import time
from itertools import combinations

import numpy as np

from experiments.gate_experiment import busy_machine

GROUPS = (("v01", "v02"), ("v04", "v05", "v08"), ("v07", "v09"))
CLOCKS = {"wall": (time.perf_counter, "wall clock"), "cpu": (time.process_time, "CPU time")}


def one_session(models: dict, clock: str, batch: int) -> dict[str, dict[str, float]]:
    """The throughput scenario over `models` with every call timed on `clock`."""
    from bench.measure import timing
    from bench.suite.orchestration import scenarios

    saved = timing.call_clock
    timing.call_clock = lambda **_: CLOCKS[clock]  # the clock under test, for this session only
    try:
        scenario = scenarios.throughput_scenario(models, xla=False, batch=batch)
    finally:
        timing.call_clock = saved
    out = {}
    for vid, samples in scenario.session.samples.items():
        q1, median, q3 = np.percentile(samples, [25, 50, 75])
        out[vid] = {"median_s": median, "spread": (q3 - q1) / median,
                    "rounds": scenario.session.taken[vid], "samples": len(samples)}  # fmt: skip
    return out


def pair_ratios(result: dict[str, dict[str, float]]) -> dict[str, float]:
    """Ratio of medians of every identical-graph pair present in `result`."""
    return {
        f"{a}/{b}": result[a]["median_s"] / result[b]["median_s"]
        for group in GROUPS
        for a, b in combinations(group, 2)
        if a in result and b in result
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="v01,v02")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="no CPU-burning neighbour")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    import architectures

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    ids = args.variants.split(",")
    models = {v: architectures.get(v).build(input_shape=(32, 32, 3), num_classes=10) for v in ids}
    with busy_machine(not args.quiet):
        for repeat in range(args.repeats):
            for clock in CLOCKS:
                result = one_session(models, clock, args.batch)
                ratios = " ".join(f"{k} {v:.3f}" for k, v in pair_ratios(result).items())
                figures = " ".join(
                    f"{v} {r['median_s'] * 1e3:.1f} ms ({r['rounds']} rounds, {r['samples']} "
                    f"samples, spread {r['spread']:.2f})"
                    for v, r in result.items()
                )
                print(f"repeat {repeat + 1} {clock:4s}: {ratios} | {figures}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
