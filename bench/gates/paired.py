"""`python -m bench paired --baseline-models DIR`: baseline and candidate timed in one process.

Claim: for a change to a model, timing the baseline's saved network and the candidate's network
interleaved in the same process (ABBA order, round by round) and comparing the per-round ratio
cancels what a busy shared machine does to both, far better than comparing two separate runs
(`bench.gates.twofile`, whose held-out experiment missed 3 of 10 slowdowns of 25 %; see its
docstring).
This is measurement.md §4's first recommendation ("the best reference is the baseline version of
the same model").

Use: save the baseline's models once (e.g. on the main branch, `python -m bench paired
--save-models DIR`), then on the candidate run `python -m bench paired --baseline-models DIR`.
It covers changes to models and to the harness's timed function; a change of TensorFlow itself
cannot be put in one process with the old one, and stays with `bench.gates.twofile`.

Rule, per variant: r_i = (c_1 + c_2) / (b_1 + b_2) for the ABBA calls of round i; the ratio is
the median of r_i; a seeded bootstrap over rounds gives its interval; a one-sided Wilcoxon
signed-rank test on log r_i gives p. A regression needs ratio > threshold AND interval low > 1
AND p < alpha AND (ratio - 1) x baseline median > floor: the rule of the two-file gate, shared
in `bench.gates.decision`. Exit 0 pass, 1 regression, 2 unusable input.
`experiments/paired_experiment.py` measures false positives and detections.
`tests/test_paired.py` checks the rule on hand-made samples and the command on tiny models.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.gates import decision
from bench.gates.table import render_paired

DEFAULT_THRESHOLD = 1.10
DEFAULT_ALPHA = 0.002
DEFAULT_CONFIDENCE = 0.99
DEFAULT_FLOOR_S = 50e-6
DEFAULT_BUDGET_S = 3.0


@dataclass
class PairedRow:
    """One variant's verdict; times in seconds (medians of the raw calls)."""

    variant: str
    baseline_s: float
    current_s: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    rounds: int
    verdict: str
    note: str = ""


def round_ratios(base: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Per-round ratios from ABBA samples shaped (rounds, 2): (c1 + c2) / (b1 + b2)."""
    return cur.sum(axis=1) / base.sum(axis=1)


def _median_of_rows(ratios: np.ndarray) -> np.ndarray:
    return np.median(ratios, axis=1)


def decide(
    variant: str,
    base: np.ndarray,
    cur: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
    floor_s: float = DEFAULT_FLOOR_S,
    seed: int = 0,
    resamples: int = 2000,
) -> PairedRow:
    """Apply the shared rule to ABBA samples of shape (rounds, 2) for baseline and candidate."""
    ratios = round_ratios(base, cur)
    low, high = decision.bootstrap_interval(
        (ratios,), _median_of_rows, confidence=confidence, resamples=resamples, seed=seed
    )
    p = decision.paired_slower_p_value(np.log(ratios))
    ratio = float(np.median(ratios))
    base_median = float(np.median(base))
    evidence = decision.Evidence(ratio, low, high, p, (ratio - 1.0) * base_median)
    verdict, note = decision.decide(evidence, decision.Rule(threshold, alpha, floor_s))
    return PairedRow(
        variant=variant,
        baseline_s=base_median,
        current_s=float(np.median(cur)),
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=p,
        rounds=int(ratios.size),
        verdict=verdict,
        note=note,
    )


def time_abba(
    base_call, cur_call, rounds: int, *, clock=time.perf_counter
) -> tuple[np.ndarray, np.ndarray]:
    """Time the two calls in ABBA rounds, BAAB in odd rounds, so neither side always goes first.

    Args:
        base_call: the baseline's call.
        cur_call: the candidate's call.
        rounds: rounds of four calls.
        clock: seconds, monotonic (tests pass a fake one).

    Returns:
        (baseline, candidate) durations, each shaped (rounds, 2): slot 0 is a side's first call
        of the round, slot 1 its second.
    """
    base = np.empty((rounds, 2))
    cur = np.empty((rounds, 2))
    abba = ((base_call, base, 0), (cur_call, cur, 0), (cur_call, cur, 1), (base_call, base, 1))
    baab = ((cur_call, cur, 0), (base_call, base, 0), (base_call, base, 1), (cur_call, cur, 1))
    for i in range(rounds):
        for call, out, slot in baab if i % 2 else abba:
            start = clock()
            call()
            out[i, slot] = clock() - start
    return base, cur


def _per_call_s(timed, calls: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        timed.call()
    return (time.perf_counter() - start) / calls


def compare_models(baseline, candidate, *, budget_s: float = DEFAULT_BUDGET_S):
    """Time two Keras models interleaved at batch 1; returns the ABBA samples."""
    from bench.measure import timing as latency

    base = latency.inference(baseline, batch_size=1, xla=False)
    cur = latency.inference(candidate, batch_size=1, xla=False)
    base.warm_up(10)
    cur.warm_up(10)
    per_round = 2 * (_per_call_s(base) + _per_call_s(cur))
    rounds = int(min(max(budget_s / per_round, 20), 400))
    return time_abba(base.call, cur.call, rounds)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench paired",
        description="Time the baseline's saved models and the current registry's models "
        "interleaved in this process, and fail on a latency regression.",
        epilog="exit status: 0 nothing regressed, 1 something regressed, 2 unusable input.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--baseline-models", type=Path, help="folder of <id>.keras (the baseline)")
    what.add_argument("--save-models", type=Path, help="write this checkout's models there")
    p.add_argument("--variants", default="all", help="comma-separated ids (default all)")
    p.add_argument("--plugin", action="append", default=[], help="module registering models")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    p.add_argument("--floor-s", type=float, default=DEFAULT_FLOOR_S)
    p.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S, help="seconds per variant")
    p.add_argument("--json-summary", type=Path)
    return p


def _save_models(entries, folder: Path) -> int:
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        keras.utils.set_random_seed(0)
        entry.build().save(folder / f"{entry.id}.keras")
    print(f"saved {len(entries)} models to {folder}")
    return decision.EXIT_PASS


def _compare_all(entries, args: argparse.Namespace) -> tuple[list[PairedRow], list[str]]:
    """Rows of the variants whose baseline model loads; one sentence per one that does not."""
    import keras

    rows: list[PairedRow] = []
    problems: list[str] = []
    for entry in entries:
        path = args.baseline_models / f"{entry.id}.keras"
        try:
            baseline = keras.saving.load_model(path, compile=False, safe_mode=True)
        except (OSError, ValueError) as exc:
            problems.append(f"{entry.id}: the baseline model {path} cannot be loaded ({exc}).")
            continue
        keras.utils.set_random_seed(0)
        base, cur = compare_models(baseline, entry.build(), budget_s=args.budget_s)
        rows.append(
            decide(entry.id, base, cur, threshold=args.threshold, alpha=args.alpha,
                   floor_s=args.floor_s)
        )  # fmt: skip
    return rows, problems


def main(argv: list[str]) -> int:
    """Save models, or time them against the baseline's; return 0 pass, 1 regression, 2 unusable."""
    args = _parser().parse_args(argv)
    from bench.measure.environment import Settings, configure

    configure(Settings())
    import architectures
    from bench.suite.worker import import_plugins

    try:
        import_plugins(args.plugin)
        entries = architectures.select(args.variants)
    except Exception as exc:  # unknown variant or a plugin that does not import
        print(f"paired: {exc}", file=sys.stderr)
        return decision.EXIT_UNUSABLE
    if args.save_models:
        return _save_models(entries, args.save_models)
    rows, problems = _compare_all(entries, args)
    print(render_paired(rows))
    for problem in problems:
        print(problem, file=sys.stderr)
    failed = any(r.verdict == decision.REGRESSION for r in rows)
    status = (
        decision.EXIT_UNUSABLE
        if problems
        else (decision.EXIT_REGRESSION if failed else decision.EXIT_PASS)
    )
    if args.json_summary:
        summary = {"exit_code": status, "rows": [asdict(r) for r in rows], "problems": problems}
        args.json_summary.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return status
