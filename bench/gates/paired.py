"""`python -m bench paired --baseline-models DIR`: baseline and candidate timed in one process.

Claim: for a change to a model, timing the baseline's saved network and the candidate's network
interleaved in the same process (ABBA rounds alternating with BAAB) and comparing the per-round
ratio cancels what a busy shared machine does to both, far better than comparing two separate runs
(`bench.gates.twofile`, whose held-out experiment missed 3 of 10 slowdowns of 25 %; see its
docstring).
This is measurement.md §4's first recommendation ("the best reference is the baseline version of
the same model").

Use: save the baseline's models once (e.g. on the main branch, `python -m bench paired
--save-models DIR`), then on the candidate run `python -m bench paired --baseline-models DIR`.
It covers changes to models and to the harness's timed function; a change of TensorFlow itself
cannot be put in one process with the old one, and stays with `bench.gates.twofile`.

Rule, per variant: r_i = (c_1 + c_2) / (b_1 + b_2) for the ABBA calls of round i. These are
paired rounds, the decision core's `Rounds` evidence, so the statistics are the core's
(`bench.compare.compare` on the median latency): the ratio is the Hodges-Lehmann estimate of
the centre of log r_i, its 99 % interval the Wilcoxon signed-rank interval, and p the
signed-rank test's, made one-sided for "current is slower" (half the two-sided p when the
estimate is above 1, else 1 minus that half). A regression needs ratio > threshold AND
interval low > 1 AND p < alpha AND (ratio - 1) x baseline median > floor: the rule of the
two-file gate, shared in `bench.gates.decision`. The core's own word (better, worse,
equivalent within its 3 % margin, undetermined) is kept beside the verdict in the row.
It fails closed: a selected baseline model whose variant is gone from
the current registry ("all" selects every saved model too), or a current model that cannot be
built or timed, is a loss, one sentence naming the variant and the reason (exit 1), unless
`--allow-missing` accepts it as a note. Exit 0 pass, 1 regression or loss, 2 unusable input.
`experiments/paired_experiment.py` measures false positives and detections.
`tests/test_paired.py` checks the rule on hand-made samples, the ABBA/BAAB order with a fake clock,
and the command on tiny models (saved, gone, unbuildable).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import metrics
from bench.compare import Rounds, compare
from bench.gates import decision
from bench.gates.rows import PairedRow
from bench.gates.table import render_paired

if TYPE_CHECKING:  # only for annotations: architectures imports Keras
    from architectures import Entry

DEFAULT_THRESHOLD = 1.10
DEFAULT_ALPHA = 0.002
DEFAULT_FLOOR_S = 50e-6
DEFAULT_BUDGET_S = 3.0


def round_ratios(base: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Per-round ratios from ABBA samples shaped (rounds, 2): (c1 + c2) / (b1 + b2)."""
    return cur.sum(axis=1) / base.sum(axis=1)


def _rounds(samples: np.ndarray) -> Rounds:
    """One side's ABBA samples as the core's evidence: round i -> its two calls."""
    return Rounds({i: tuple(float(v) for v in pair) for i, pair in enumerate(samples)})


def decide(
    variant: str,
    base: np.ndarray,
    cur: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    floor_s: float = DEFAULT_FLOOR_S,
) -> PairedRow:
    """Apply the shared rule to ABBA samples of shape (rounds, 2) for baseline and candidate.

    The ratio, its interval and p come from the decision core on the paired rounds (the median
    of a round's two calls is their mean, so each round's log ratio is log r_i).

    Raises:
        ValueError: fewer than three rounds (the command always times at least 20).
    """
    decided = compare(_rounds(cur), _rounds(base), metrics.get("latency_median_s"))
    if decided.p_value is None:
        raise ValueError(f"{variant}: {decided.test}; time at least 3 rounds.")
    ratio = decided.estimate
    half = decided.p_value / 2.0
    p = half if ratio > 1.0 else 1.0 - half  # one-sided: current slower
    base_median = float(np.median(base))
    evidence = decision.Evidence(ratio, decided.low, decided.high, p, (ratio - 1.0) * base_median)
    verdict, note = decision.decide(evidence, decision.Rule(threshold, alpha, floor_s))
    return PairedRow(
        variant=variant,
        baseline_s=base_median,
        current_s=float(np.median(cur)),
        ratio=ratio,
        ci_low=decided.low,
        ci_high=decided.high,
        p_value=p,
        rounds=decided.n,
        verdict=verdict,
        note=note,
        outcome=decided.outcome.value,
    )


def time_abba(
    base_call: Callable[[], object],
    cur_call: Callable[[], object],
    rounds: int,
    *,
    clock: Callable[[], float] = time.perf_counter,
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
        epilog="exit status: 0 nothing regressed; 1 something regressed, or was lost: a baseline "
        "model whose variant is gone from the current registry, or a current model that cannot "
        "be built or timed (--allow-missing accepts losses as notes); 2 unusable input (an "
        "unknown variant, a plugin that does not import, a baseline model that cannot be "
        "loaded).",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--baseline-models", type=Path, help="folder of <id>.keras (the baseline)")
    what.add_argument("--save-models", type=Path, help="write this checkout's models there")
    p.add_argument(
        "--variants",
        default="all",
        help="comma-separated ids (default all: the registry's and the baseline folder's)",
    )
    p.add_argument("--plugin", action="append", default=[], help="module registering models")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    p.add_argument("--floor-s", type=float, default=DEFAULT_FLOOR_S)
    p.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S, help="seconds per variant")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="accept losses (a baseline model without a current variant, a current model that "
        "cannot be built or timed): list them as notes instead of exit 1",
    )
    p.add_argument("--json-summary", type=Path)
    return p


@dataclass
class PairedResult:
    """Rows, losses (exit 1 unless accepted), problems (exit 2) and notes of one comparison."""

    rows: list[PairedRow] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def accept_losses(self) -> None:
        """--allow-missing: each loss becomes a note."""
        self.notes.extend(decision.accepted_notes(self.losses))
        self.losses = []

    @property
    def failures(self) -> list[str]:
        """One sentence per loss, with what to do."""
        return decision.failure_sentences(self.losses, "fix the change")

    @property
    def exit_code(self) -> int:
        failing = bool(self.losses) or any(r.verdict in decision.FAILING for r in self.rows)
        return decision.exit_status(unusable=bool(self.problems), failing=failing)


def _save_models(entries: list[Entry], folder: Path) -> int:
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        keras.utils.set_random_seed(0)
        entry.build().save(folder / f"{entry.id}.keras")
    print(f"saved {len(entries)} models to {folder}")
    return decision.EXIT_PASS


def _select(variants: str, folder: Path, result: PairedResult) -> list[Entry]:
    """The registry entries to time; a selected baseline model without one is a loss.

    "all" selects every registry entry and every model saved in the baseline folder.

    Raises:
        architectures.UnknownVariantError: a name in neither.
    """
    import architectures

    saved = {path.stem for path in folder.glob("*.keras")} if folder.is_dir() else set()
    if variants == "all":
        names = [*architectures.VARIANTS, *sorted(saved - set(architectures.VARIANTS))]
    else:
        names = [name.strip() for name in variants.split(",") if name.strip()]
    gone = [name for name in names if name in saved and name not in architectures.VARIANTS]
    result.losses.extend(
        f"{name}: the baseline has a saved model ({folder / f'{name}.keras'}) but there is no "
        "model in the current registry"
        for name in gone
    )
    return architectures.select([name for name in names if name not in gone])


def _compare_one(
    entry: Entry, baseline: Any, args: argparse.Namespace, result: PairedResult
) -> None:
    """Build the current model and time it against the baseline's; a failure is a loss."""
    import keras

    # The builder and the model are the change under test (user code may raise anything): a
    # failure is reported with its type and message and fails the gate, never skipped.
    try:
        keras.utils.set_random_seed(0)
        candidate = entry.build()
    except Exception as exc:
        result.losses.append(
            f"{entry.id}: the current model cannot be built ({type(exc).__name__}: {exc})"
        )
        return
    try:
        base, cur = compare_models(baseline, candidate, budget_s=args.budget_s)
    except Exception as exc:
        result.losses.append(
            f"{entry.id}: the current model cannot be timed against the baseline's "
            f"({type(exc).__name__}: {exc})"
        )
        return
    result.rows.append(
        decide(entry.id, base, cur, threshold=args.threshold, alpha=args.alpha,
               floor_s=args.floor_s)
    )  # fmt: skip


def _compare_all(entries: list[Entry], args: argparse.Namespace, result: PairedResult) -> None:
    """Rows of the variants whose baseline model loads; one sentence per one that does not."""
    import keras

    for entry in entries:
        path = args.baseline_models / f"{entry.id}.keras"
        try:
            baseline = keras.saving.load_model(path, compile=False, safe_mode=True)
        except (OSError, ValueError) as exc:
            result.problems.append(
                f"{entry.id}: the baseline model {path} cannot be loaded ({exc})."
            )
            continue
        _compare_one(entry, baseline, args, result)


def _report(result: PairedResult, summary_path: Path | None) -> int:
    """Print the table, notes, failures and problems; write the summary; return the exit code."""
    print(render_paired(result.rows))
    for note in result.notes:
        print(f"note: {note}")
    for failure in result.failures:
        print(f"failure: {failure}")
    for problem in result.problems:
        print(problem, file=sys.stderr)
    status = result.exit_code
    if summary_path:
        summary = {
            "exit_code": status,
            "rows": [asdict(r) for r in result.rows],
            "failures": result.failures,
            "problems": result.problems,
            "notes": result.notes,
        }
        summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return status


def main(argv: list[str]) -> int:
    """Save models, or time them against the baseline's; return 0 pass, 1 fail, 2 unusable."""
    args = _parser().parse_args(argv)
    from bench.measure.environment import Settings, configure

    configure(Settings())
    import architectures
    from architectures.plugins import import_plugins

    result = PairedResult()
    try:
        import_plugins(args.plugin)
        if args.save_models:
            entries = architectures.select(args.variants)
        else:
            entries = _select(args.variants, args.baseline_models, result)
    except Exception as exc:  # unknown variant or a plugin that does not import
        print(f"paired: {exc}", file=sys.stderr)
        return decision.EXIT_UNUSABLE
    if args.save_models:
        return _save_models(entries, args.save_models)
    _compare_all(entries, args, result)
    if args.allow_missing:
        result.accept_losses()
    return _report(result, args.json_summary)
