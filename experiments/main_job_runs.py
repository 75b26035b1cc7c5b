"""Does the main job meet issue 22's targets run after run? Wall time, rounds, identical ratios.

Claim checked (issue 22, "done when"): `python -m bench run` takes at most 3 min (median) on a
quiet machine and at most 5 min with a CPU-burning neighbour, and every identical-graph pair
(v01 = v02, v04 = v05 = v08, v07 = v09: dropout is the identity at inference and L2 only changes
training) reads within [0.97, 1.03] on batch-1 latency and on throughput, in every run.

Method: `--runs` fresh runs of the main job (default 5), each writing its own results folder
(`<out-dir>/run-<n>`, its log in `run.log`); the odd runs (1st, 3rd, 5th) with a CPU-burning
process beside them (`experiments.gate_experiment.busy_machine`), the even runs without. Per run
it prints the wall time, the rounds each model took in each timed scenario (the suite JSON's
`extra_info.session.rounds`), and, for every identical-graph pair whose models both ran, the
RATIO OF THE TWO FIGURES per image the table prints (median latency, from the rounds every
model of its session shared; images/s = batch / the 5 % quantile of all the model's calls since
contract 4, batch / the median call before), flagged when outside [0.97, 1.03]; beside them, a
candidate figure (the ratio of 5 % quantiles of all calls, for latency too). Then per condition:
the median wall time and the count of pairs within the band. Compare ratios, not absolute
times, on a shared box.

Run (needs a quiet machine: each run is minutes; extra arguments after `--` go to the main job):
    python -m experiments.main_job_runs --runs 5
    python -m experiments.main_job_runs --runs 2 --variants v01,v02 -- --latency-budget 1
Re-analyse the runs already in `--out-dir` without running anything:
    python -m experiments.main_job_runs --analyze-only

Exit status: 0 when every ratio is in the band, 3 when one is not, 1 when a run fails or a saved
run cannot be read (one sentence on stderr), 2 for bad options.

Results, 5 runs over all 12 models (`--runs 5`), 2-vCPU Intel Xeon dev VM, 2026-12-05 (the
records cache emptied first, so run 1 measured every record; the later runs read them). Phases
as the progress display timed them:
  run 1 (busy, fresh cache): 345 s wall; records 1:31, load 0:03, latency 0:22, latency b8 0:22,
    throughput 1:20, train step 1:33, report 0:17
  run 2 (quiet): 251 s; records 0:01, latency 0:20, latency b8 0:19, throughput 1:21, train 1:35
  run 3 (busy): latency 0:23, latency b8 0:16, throughput 1:19, train step 1:35
  run 4 (quiet): latency 0:22, latency b8 0:19, throughput 1:19, train step 1:35
  run 5 (busy): its figures were lost with the machine before they were copied out.
  Rounds: latency 200-400 per model (the first look at 200, the identical groups to the cap of
  400), throughput 5-50, train step 3-9 (each model).
  Targets missed: quiet median about 250 s against 180 s, busy about 345 s against 300 s; the
  cost is throughput (v10 3.05 s a call at batch 256, five rounds at least) and the training
  step (about 95 s: v10 1.74 s a step, resnet56's first step 6.2 s).
  Ratios outside [0.97, 1.03]: run 2 throughput v01/v02 0.960; run 4 latency v04/v05 0.877 and
  v05/v08 1.144. Cause of run 4's: v05 was decided and left the sequential session after 200
  rounds, v04 and v08 went on to 400, and the later rounds (fewer models each) ran 20 % faster
  (3.15 ms against 3.9-4.0 ms), so the medians came from different rounds. Since then the point
  figures of a session use only the rounds every model shared (`shared_rounds` in
  bench/suite/orchestration/assemble.py); the later rounds serve the paired decisions only.
  Every run's estimate said "about 313 s", from MACs (no earlier run in its out folder).
A 2-run smoke run, `--runs 2 --variants v01,v02`, on the same box with other jobs on it:
  run 1 (busy neighbour): 70 s wall; rounds latency 660, throughput 5, train step 7 (each model);
    ratios of medians latency v01/v02 1.013, throughput 1.003
  run 2 (quiet): 45 s wall; rounds latency 400, throughput 9, train step 9;
    ratios latency 0.994, throughput 0.987
  Before the throughput clock (docs/measurement.md §1), a run like run 2 read throughput 1.308.
Results, 2 runs over all 12 models (`--runs 2`), 2-vCPU AMD EPYC VM, 2026-12-07, throughput at
the CPU's new default batch of 32 (was 256) and calls under 0.2 s repeated within a round, the
training step on CPU time; the records cache emptied by the change of batch (memory is measured
at the throughput batch), so run 1 measured every record:
  run 1 (busy, fresh cache): 446 s wall; records 2:01, load 0:05, latency 0:29, latency b8 0:35,
    throughput 1:10, train step 2:35, report 0:09
  run 2 (quiet): 332 s; records 0:00, load 0:05, latency 0:28, latency b8 0:35, throughput 1:11,
    train step 2:40, report 0:08
  Rounds: latency 200-358, throughput 15-16 (v03, v10 and resnet20 decided at the first look,
  5), train step 3. Same box, before: throughput 3 rounds for every model at batch 256.
  Ratios, as re-read after throughput figures took each model's own rounds (they had taken the
  5 rounds every model shared; `Scenario.shared_round_figures`), all 20 within [0.97, 1.03]:
    run 1 latency v01/v02 1.014, v04/v05 0.993, v04/v08 1.000, v05/v08 1.008, v07/v09 1.015;
          throughput 0.972, 1.011, 1.008, 0.997, 1.018
    run 2 latency 0.981, 0.993, 1.014, 1.021, 0.999; throughput 0.992, 0.981, 1.002, 1.021, 0.991
  From the 5 shared rounds, as the runs themselves printed them, throughput read v04/v05 1.054,
  v04/v08 1.045, v07/v09 1.042 (run 1) and v04/v08 1.037, v05/v08 1.031 (run 2).
  Targets missed: quiet 332 s against 180 s, busy 446 s against 300 s (this box is about 1.5x
  slower than the Xeon VM); the training step is half of it (2:35-2:40: 3 rounds and 2 warm-up
  steps of every model at its recipe batch, v10 9 s a step).
Then `--runs 5` on the same box, same day, the code of those figures (records cached): wall
  331, 328, 329, 345, 332 s (busy, quiet, busy, quiet, busy): the burner on the other core no
  longer lengthens the run. Throughput rounds 14-24 (v03, v10, resnet20: 5-10). Ratios within
  [0.97, 1.03]: 41 of 50 (latency 23/25, throughput 18/25). Outside:
    run 1 (busy) latency v05/v08 1.033
    run 2 (quiet) latency v04/v08 1.031; throughput v01/v02 0.865, v05/v08 1.037
    run 3 (busy) throughput v01/v02 1.045, v04/v08 1.032, v07/v09 1.060
    run 4 (quiet) throughput v01/v02 0.968, v04/v05 0.949
  Why: per-call CPU time on this VM was bimodal that day. In run 2, v01's per-round medians
  (8 calls at batch 32) ranged 12.9-19.6 ms and v02's 12.8-18.8 ms; a median over such a
  sample lands on one mode or the other, so v01 read 13.8 ms and v02 15.9 ms. Every one of
  those figures carried `?` in the table (cannot be told apart from its neighbour): no ranking
  was printed from them. A figure that ignores the slow mode (the per-round minimum, or a low
  quantile) would agree much better (an alternating probe of v07/v09, 100 calls each: median
  ratio 1.042, minimum ratio 0.989) but is a different claim than "the median call", so it is
  left for its own decision.
Then `--runs 5` again, same box and day (05:07-05:39 UTC), code 7a58e6b (the table's throughput
  still batch / median, with the candidate 5 % quantile printed beside it): wall 350, 346, 345,
  355, 344 s (busy, quiet, busy, quiet, busy). Throughput rounds 12-19 (v03, v10, resnet20: 5,
  once 10). Throughput pairs within [0.97, 1.03]: ratio of medians 13 of 25 (run 4 none of 5:
  v01/v02 0.908, v04/v05 1.101), ratio of 5 % quantiles 25 of 25 (worst v01/v02 0.971, run 5);
  latency medians 24 of 25 (run 2 v05/v08 1.032). On the first set of five the quantiles had
  read 25 of 25 too (worst 1.029), against 18 of 25 for the medians. So contract 4 made the
  5 % quantile the throughput figure (bench/metrics.py, THROUGHPUT_QUANTILE; docs/measurement.md,
  "The throughput figure"), and the table's ratios now read it: re-read with --analyze-only,
  the two sets give 48 of 50 and 49 of 50 pairs in the band, every miss a latency median
  (1.031-1.033).
On another kind of machine, 2026-12-07 afternoon: a 2-vCPU AMD EPYC VM with AVX2 and no AVX-512,
  where TensorFlow leaves oneDNN off (a v10 training step at batch 32: 10.5 s, against 1.9 s on
  the AVX-512 VMs above). A fresh clone's first run took 563 s (estimate "about 531 s, between
  382 s and 12 min"): records 2:20, load 0:08, latency 0:39, latency b8 0:41, throughput 1:13,
  train step 3:29 (first steps 94 s, warm-up 18 s, 3 rounds 97 s), report 0:16.
  `--runs 5` with the code of the morning: run 1 (busy) 448 s, all 10 ratios in the band; run 2
  (quiet) 454 s, latency v01/v02 0.807 and throughput v05/v08 0.960. Cause of the 0.807: v01's
  batch-1 call sized under the 2 ms fill target (two primed calls a round, 2.03 ms) and v02's
  over it (one cold call, 2.52 ms); at throughput v04 took one call a round beside v05 and v08 at
  two (v04/v08 0.972). Since then every batch-1 sample follows an untimed call of its model's
  own (`Scenario.warm_each_round`), the models of one inference graph make as many calls a round
  as each other in every session (`bench.measure.interleave.alike`), and the batch-1 session
  takes the 200 rounds a p99 needs even past its budget (`Sequential.rounds`). Runs stopped
  there; then `--runs 5` on that code (12:21-13:01 UTC): wall 431, 466, 459, 457, 466 s (busy,
  quiet, busy, quiet, busy; median 461 s quiet, 459 s busy); latency 0:51-1:08 (200 rounds,
  was 0:35-0:42 for 182-237 in six runs), throughput 13-20 rounds, train step 3:29-3:54.
  Twins always made equal calls. Ratios within [0.97, 1.03]: 44 of 50, latency 24 of 25 (run 5
  v01/v02 1.035), throughput 20 of 25 (run 2 v04/v05 1.032, v07/v09 0.964; run 4 v04/v05 1.052,
  v05/v08 0.962; run 5 v07/v09 1.043). On this VM the process CPU time of one model's calls ranged
  140-270 ms within one run (v04 at batch 32, 2 calls a round), so with 13-20 rounds a 5 % quantile
  rests on one or two calls; the quiet runs missed more than the busy ones.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

from bench import metrics
from bench.suite.orchestration import assemble
from experiments.gate_experiment import busy_machine

ROOT = Path(__file__).resolve().parents[1]
GROUPS = (("v01", "v02"), ("v04", "v05", "v08"), ("v07", "v09"))
SCENARIOS = ("latency", "throughput", "train_step")
RATIO_SCENARIOS = ("latency", "throughput")
BAND = (0.97, 1.03)
# A candidate figure, printed beside the table's and never counted in the exit status: the 5 %
# quantile of all of a model's per-call samples, which ignores a slow mode of the machine that
# the median may land on (the docstring's 2026-12-07 runs). Throughput's figure has been this
# quantile since contract 4, so there the two columns agree; latency's is still the median.
LOW_QUANTILE = metrics.THROUGHPUT_QUANTILE


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options before `--`; everything after it is passed to the main job (`extra`)."""
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the main job (default 5)")
    parser.add_argument("--variants", help="models, passed to the main job (default: its own)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "results" / "main-job-runs")
    parser.add_argument("--analyze-only", action="store_true", help="re-read the saved runs")
    args = parser.parse_args(argv[:cut])
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}.")
    args.extra = argv[cut + 1 :]
    return args


def run_main_job(out: Path, *, variants: str | None, extra: list[str], busy: bool) -> float:
    """One `python -m bench run` writing to `out`; its wall time in seconds.

    Raises:
        RuntimeError: the main job failed (its exit status and the log's path).
    """
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "bench", "run", "--out", str(out)]
    if variants:
        command += ["--variants", variants]
    command += extra
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    log = out / "run.log"
    start = time.perf_counter()
    with busy_machine(busy), log.open("w") as sink:
        code = subprocess.run(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if code.returncode != 0:
        raise RuntimeError(f"the main job exited with {code.returncode}; its output is in {log}.")
    (out / "wall_s.json").write_text(json.dumps({"wall_s": wall, "busy": busy}))
    return wall


def _entries(doc: Any, source: str) -> list[dict[str, Any]]:
    """The timed entries of a suite JSON: scenario, variant, rounds, seconds per image."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ValueError(f"{source} is not a suite JSON: it has no 'benchmarks' list.")
    rows = []
    shared = assemble.shared_rounds(doc["benchmarks"])
    for bench in doc["benchmarks"]:
        info = bench.get("extra_info") or {}
        if info.get("scenario") not in SCENARIOS or info.get("deployment", "keras") != "keras":
            continue
        try:  # the figure the table prints: from the rounds every model of the session shared
            samples = assemble.figure_samples(bench, shared)
            batch = int(info["batch_size"])
            # throughput: the batch over a quantile (contract 4); the others: the median call
            quantile = metrics.THROUGHPUT_QUANTILE if info["scenario"] == "throughput" else None
            per_image = 1.0 / metrics.images_per_s(samples, batch, quantile)
            every = bench["stats"]["data"]
            low = 1.0 / metrics.images_per_s(every, batch, LOW_QUANTILE)
            rounds = int(info["session"]["rounds"])
        except (KeyError, TypeError, ValueError) as exc:
            name = bench.get("name", "?")
            raise ValueError(
                f"{source}: entry {name} lacks {exc} (samples, batch or rounds)."
            ) from None
        rows.append({"scenario": info["scenario"], "variant": info["variant"],
                     "rounds": rounds, "per_image_s": per_image,
                     "low_per_image_s": low})  # fmt: skip
    return rows


def analyze(doc: Any, source: str = "the suite JSON") -> dict[str, Any]:
    """Rounds per scenario and model, and the identical-graph ratios of medians of one run.

    Returns:
        {"rounds": {scenario: {variant: rounds}}, "ratios": {scenario: {"a/b": ratio}},
        "low_ratios": {scenario: {"a/b": ratio}}}, where a ratio is a's median seconds per image
        over b's, and a low ratio the same of the `LOW_QUANTILE` of every sample.

    Raises:
        ValueError: `doc` is not a suite JSON, or an entry lacks its median, batch or rounds.
    """
    rounds: dict[str, dict[str, int]] = {}
    figures: dict[str, dict[str, dict[str, float]]] = {"ratios": {}, "low_ratios": {}}
    for row in _entries(doc, source):
        rounds.setdefault(row["scenario"], {})[row["variant"]] = row["rounds"]
        for kind, key in (("ratios", "per_image_s"), ("low_ratios", "low_per_image_s")):
            figures[kind].setdefault(row["scenario"], {})[row["variant"]] = row[key]
    out: dict[str, Any] = {"rounds": rounds}
    for kind, by_scenario in figures.items():
        out[kind] = {}
        for scenario in RATIO_SCENARIOS:
            got = by_scenario.get(scenario, {})
            out[kind][scenario] = {
                f"{a}/{b}": got[a] / got[b]
                for group in GROUPS
                for a, b in combinations(group, 2)
                if a in got and b in got
            }
    return out


def outside(ratio: float) -> bool:
    """The ratio is outside the [0.97, 1.03] band of issue 22."""
    return not BAND[0] <= ratio <= BAND[1]


def format_run(number: int, busy: bool, wall_s: float, analysis: dict[str, Any]) -> list[str]:
    """The lines printed for one run."""
    lines = [f"run {number} ({'busy neighbour' if busy else 'quiet'}): {wall_s:.0f} s wall"]
    for scenario, by_model in analysis["rounds"].items():
        counts = ", ".join(f"{v} {n}" for v, n in by_model.items())
        lines.append(f"  rounds {scenario}: {counts}")
    for scenario, pairs in analysis["ratios"].items():
        shown = [f"{p} {r:.3f}" + (" OUTSIDE [0.97, 1.03]" if outside(r) else "")
                 for p, r in pairs.items()]  # fmt: skip
        lines.append(f"  ratio of figures {scenario}: {', '.join(shown) or 'no pair ran'}")
    for scenario, pairs in analysis.get("low_ratios", {}).items():
        shown = [f"{p} {r:.3f}" + (" outside" if outside(r) else "") for p, r in pairs.items()]
        lines.append(
            f"  candidate, ratio of {LOW_QUANTILE:.0%} quantiles {scenario}: "
            f"{', '.join(shown) or 'no pair ran'}"
        )
    return lines


def summarise(runs: list[dict[str, Any]]) -> list[str]:
    """Per condition: median wall time, and how many identical-graph ratios are in the band."""
    lines = []
    for busy in (False, True):
        chosen = [r for r in runs if r["busy"] == busy]
        if not chosen:
            continue
        ratios = [x for r in chosen for s in r["analysis"]["ratios"].values() for x in s.values()]
        within = sum(not outside(x) for x in ratios)
        low = [x for r in chosen for s in r["analysis"].get("low_ratios", {}).values()
               for x in s.values()]  # fmt: skip
        wall = statistics.median(r["wall_s"] for r in chosen)
        lines.append(
            f"{'busy' if busy else 'quiet'}: {len(chosen)} runs, median wall {wall:.0f} s, "
            f"{within}/{len(ratios)} identical-graph ratios within [0.97, 1.03] (candidate "
            f"{LOW_QUANTILE:.0%} quantiles: {sum(not outside(x) for x in low)}/{len(low)})"
        )
    return lines


def _one(args: argparse.Namespace, number: int) -> dict[str, Any]:
    """Run (unless --analyze-only) and read run `number`."""
    out = args.out_dir / f"run-{number}"
    busy = number % 2 == 1
    if args.analyze_only:
        saved = json.loads((out / "wall_s.json").read_text())
        wall, busy = saved["wall_s"], saved["busy"]
    else:
        wall = run_main_job(out, variants=args.variants, extra=args.extra, busy=busy)
    path = out / "benchmark.json"
    analysis = analyze(json.loads(path.read_text()), str(path))
    return {"busy": busy, "wall_s": wall, "analysis": analysis}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    runs = []
    for number in range(1, args.runs + 1):
        try:
            runs.append(_one(args, number))
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"run {number}: {exc}", file=sys.stderr)
            return 1
        print("\n".join(format_run(number, runs[-1]["busy"], runs[-1]["wall_s"],
                                   runs[-1]["analysis"])), flush=True)  # fmt: skip
    print("\n".join(summarise(runs)))
    flagged = any(outside(x) for r in runs for s in r["analysis"]["ratios"].values()
                  for x in s.values())  # fmt: skip
    return 3 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
