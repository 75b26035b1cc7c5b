"""False positives and detections of `bench.gates.paired` (baseline and candidate in one process).

Claim checked: on this 2-core shared machine, timing the baseline and the candidate of v01, v05
and v10 interleaved in one process gives no failure when nothing changed (A/A) and catches a
~25 % slowdown of v05 (A/B: the gate experiment's zero-weight side branch) every time, with a
CPU-burning neighbour beside every other pair. Each pair runs in a fresh process, as separate CI
jobs would.

Run (CPU-heavy, a few minutes; nothing else should be running):
    python -m experiments.paired_experiment --pairs 10 --busy

Results on the 2-core dev box (AMD EPYC, 2 vCPUs, TF 2.21 CPU, 1/1 threads), 10 pairs each,
side-branch width 147 (x1.28 in the gate experiment's calibration), default rule (threshold 1.10):
  --busy (a CPU burner beside pairs 1, 3, ...): A/A 0/10 pairs with a false positive, ratios
    0.987-1.008; A/B 10/10 detected, ratios 1.281-1.307.
  --busy with the whole test suite running beside it (oversubscribed, the case that defeated every
    two-file rule in bench/gates/twofile.py): A/A 0/10, ratios 0.922-1.045; A/B 10/10, ratios
    1.275-1.309.
  Both were measured before odd rounds ran BAAB: every round then ran b c c b, the baseline first.
  Rerun the experiment before quoting these counts for the alternating order.
  Both were also measured with the earlier statistics (median of the per-round ratios, a
  bootstrap interval over rounds); since issue 19 the gate takes the decision core's
  Hodges-Lehmann estimate and Wilcoxon signed-rank interval of the same per-round ratios
  (`bench.compare`), so rerun before quoting the counts for the current rule too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.gates import paired
from experiments.gate_experiment import busy_machine, slow_model

VARIANTS = ("v01", "v05", "v10")
SLOW = "v05"


def run_pair(width: int, budget_s: float) -> dict:
    """One process: A/A for each variant, then A/B for the slowed one."""
    from bench.measure.environment import Settings, configure

    configure(Settings())
    import keras

    import architectures

    rows = {"aa": {}, "ab": {}}
    for vid in VARIANTS:
        keras.utils.set_random_seed(0)
        baseline = architectures.get(vid).build()
        candidate = keras.models.clone_model(baseline)
        candidate.set_weights(baseline.get_weights())
        base, cur = paired.compare_models(baseline, candidate, budget_s=budget_s)
        rows["aa"][vid] = paired.decide(vid, base, cur).__dict__
        if vid == SLOW:
            keras.utils.set_random_seed(0)
            slowed = slow_model(vid, width)
            base, cur = paired.compare_models(baseline, slowed, budget_s=budget_s)
            rows["ab"][vid] = paired.decide(vid, base, cur).__dict__
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.paired_experiment")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--width", type=int, default=147, help="side-branch width (slowdown)")
    parser.add_argument("--budget-s", type=float, default=paired.DEFAULT_BUDGET_S)
    parser.add_argument("--busy", action="store_true", help="CPU burner beside odd pairs")
    parser.add_argument("--out", type=Path, default=Path("results/paired-experiment.json"))
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        args.worker.write_text(json.dumps(run_pair(args.width, args.budget_s)), encoding="utf-8")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(1, args.pairs + 1):
        out = args.out.with_suffix(f".pair{i:02d}.json")
        command = [
            sys.executable,
            "-m",
            "experiments.paired_experiment",
            "--worker",
            str(out),
            "--width",
            str(args.width),
            "--budget-s",
            str(args.budget_s),
        ]
        with busy_machine(args.busy and i % 2 == 1):
            subprocess.run(command, check=True)
        pair = json.loads(out.read_text(encoding="utf-8"))
        results.append(pair)
        cells = [f"A/A {v} {r['ratio']:.3f} {r['verdict']}" for v, r in pair["aa"].items()]
        ab = pair["ab"][SLOW]
        print(f"pair {i:2d}{' (busy)' if args.busy and i % 2 else ''}: " + " | ".join(cells)
              + f" | A/B {SLOW} {ab['ratio']:.3f} [{ab['ci_low']:.3f}, {ab['ci_high']:.3f}] "
              f"{ab['verdict']}", flush=True)  # fmt: skip
    false_positives = sum(
        any(r["verdict"] == "REGRESSION" for r in pair["aa"].values()) for pair in results
    )
    detected = sum(pair["ab"][SLOW]["verdict"] == "REGRESSION" for pair in results)
    aa = [r["ratio"] for pair in results for r in pair["aa"].values()]
    ab = [pair["ab"][SLOW]["ratio"] for pair in results]
    print(f"\nA/A: {false_positives}/{len(results)} pairs with a false positive; "
          f"ratios {min(aa):.3f}-{max(aa):.3f}")  # fmt: skip
    print(f"A/B: {detected}/{len(results)} slowdowns of {SLOW} detected; "
          f"ratios {min(ab):.3f}-{max(ab):.3f}")  # fmt: skip
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
