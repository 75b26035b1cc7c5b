"""Seeds: which ones a run trains, and one model's record made from its per-seed worker records.

`--seeds 3` means seeds 0, 1 and 2; `--seeds 0,4,7` those three. A seed given twice is refused
(`SeedsError`), so the same training can never be counted as two seeds. Each seed is its own
worker job (its own cache entry, resumable on its own); the data split does not depend on the
seed (`DATA_SPLIT_SEED`), so every seed and every model is evaluated on the same test images.

`merge` makes the model's record: the costs (parameters, FLOPs, memory: the same for every seed)
from the first seed's worker, and one entry per seed in `runs` (accuracy, its flag, training
time, history, predictions, cache key, device, node), with the model-level accuracy their mean
and its training time their median. The test labels travel once per test set (`test_labels`,
keyed by their checksum). `tests/test_seeds.py` checks the parsing and the merge.
"""

from __future__ import annotations

import statistics
from typing import Any

DATA_SPLIT_SEED = 0  # the validation split and test subset are the same for every seed
# Each seed is one training run of every model: a count beyond this is a typo, not a plan (a
# count of 10^9 would build a billion seeds before refusing anything). Seeds are 31-bit, as
# every random generator the training seeds takes them.
MOST_SEEDS = 100
LARGEST_SEED = 2**31 - 1

RUN_FIELDS = (
    "seed",
    "accuracy",
    "accuracy_flag",
    "test_examples",
    "train_time_s",
    "epochs",
    "history",
    "stopped_by",
    "from_cache",
    "model_path",
    "train_provenance",
    "train_device",
    "node",
    "train_images_per_s",
    "energy_train_j",
    "predictions",
)


class SeedsError(ValueError):
    """A `--seeds` value that is not a count or a list of distinct non-negative integers."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """`"3"` -> (0, 1, 2); `"0,4,7"` -> (0, 4, 7); `"7,"` -> (7,).

    Raises:
        SeedsError: not integers, negative, a count below 1 or above `MOST_SEEDS`, a seed above
            `LARGEST_SEED`, or a seed given twice.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        numbers = [int(p) for p in parts if p]
    except ValueError:
        raise SeedsError(f"--seeds takes a count (3) or a list (0,1,2); got {text!r}.") from None
    if not numbers or any(n < 0 for n in numbers):
        raise SeedsError(f"--seeds needs non-negative integers; got {text!r}.")
    if len(parts) == 1:  # a count
        if numbers[0] < 1:
            raise SeedsError("--seeds 0 trains nothing; give a count of at least 1 or a list.")
        if numbers[0] > MOST_SEEDS:
            raise SeedsError(
                f"--seeds {numbers[0]} asks for {numbers[0]} training runs of every model; give "
                f"a count of at most {MOST_SEEDS}, or a list of seeds."
            )
        return tuple(range(numbers[0]))
    if len(numbers) > MOST_SEEDS or max(numbers) > LARGEST_SEED:
        raise SeedsError(
            f"--seeds takes at most {MOST_SEEDS} seeds, each at most {LARGEST_SEED}; got {text!r}."
        )
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise SeedsError(
            f"seed {repeated[0]} is given twice in --seeds {text}; each seed is one training run."
        )
    return tuple(numbers)


def _run(record: dict[str, Any]) -> dict[str, Any]:
    run = {key: record.get(key) for key in RUN_FIELDS}
    labels = record.get("test_labels")
    run["test_labels_sha256"] = labels.get("sha256") if isinstance(labels, dict) else None
    return run


def merge(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One model's record from its per-seed records (in seed order), and its test labels.

    Returns:
        (record, labels): the merged record, and `{sha256: encoded labels}` of its test sets.
    """
    measured = [r for r in records if r.get("accuracy_source") == "measured"]
    runs = [_run(r) for r in measured]  # before the labels leave the records
    labels = {}
    for record in records:
        encoded = record.pop("test_labels", None)
        if isinstance(encoded, dict):
            labels[encoded["sha256"]] = encoded
    base = dict(records[0])
    base["seeds"] = [r.get("seed") for r in records]
    base["errors"] = [
        *records[0].get("errors", []),
        *(f"seed {r.get('seed')}: {e}" for r in records[1:] for e in r.get("errors", [])),
    ]
    base["runs"] = runs
    if len(measured) > 1:
        _pool(base, [r for r in measured if r.get("accuracy") is not None])
    return base, labels


def _pool(base: dict[str, Any], finished: list[dict[str, Any]]) -> None:
    """Model-level figures over several seeds: mean accuracy, median training time."""
    if not finished:
        return
    base["accuracy"] = statistics.fmean(r["accuracy"] for r in finished)
    times = [r["train_time_s"] for r in finished if r.get("train_time_s") is not None]
    base["train_time_s"] = statistics.median(times) if times else None
    _pool_energy(base, finished)
    base["epochs"] = max(r.get("epochs") or 0 for r in finished) or None
    base["history"] = []  # per seed, in `runs`
    base["predictions"] = None
    flags = [f"seed {r['seed']}: {r['accuracy_flag']}" for r in finished if r.get("accuracy_flag")]
    base["accuracy_flag"] = "; ".join(flags) or None


def _pool_energy(base: dict[str, Any], finished: list[dict[str, Any]]) -> None:
    """Median training energy over the seeds, or none when any seed has none (with its reason):
    a median of the seeds that happened to have a counter would describe other runs."""
    base["unavailable"] = dict(base.get("unavailable") or {})
    missing = next((r for r in finished if r.get("energy_train_j") is None), None)
    if missing is None:
        base["energy_train_j"] = statistics.median(r["energy_train_j"] for r in finished)
        base["unavailable"].pop("energy_train_j", None)
        return
    base["energy_train_j"] = None
    why = (missing.get("unavailable") or {}).get("energy_train_j", "no figure")
    base["unavailable"]["energy_train_j"] = f"seed {missing.get('seed')}: {why}"
