"""Seeds and per-image predictions: parsing, merging, McNemar, per-class accuracy, time to
accuracy, the did-not-learn flag and the pipeline rate. Expected figures are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_reports import build, make_record, make_suite

from bench import metrics
from bench.compare import Outcome, Seeds, compare
from bench.contract import decode_classes, encode_classes
from bench.suite.executors.accuracy import learning_flag, train_images_per_s
from bench.suite.plan import seeds
from reports.runs import per_class_accuracy, time_to_accuracy
from reports.stats import estimate, mcnemar_p

# --- parsing and merging ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", (0, 1, 2)), ("1", (0,)), ("0,4,7", (0, 4, 7)), ("7,", (7,)), (" 2 , 5 ", (2, 5))],
)
def test_seeds_are_a_count_or_a_list(text, expected):
    assert seeds.parse_seeds(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0,1,0", "seed 0 is given twice"),
        ("0", "trains nothing"),
        ("a", "a count"),
        ("-1,2", "non-negative"),
    ],
)
def test_duplicate_or_bad_seeds_are_refused(text, words):
    with pytest.raises(seeds.SeedsError, match=words):
        seeds.parse_seeds(text)


def _worker_record(seed: int, accuracy: float, labels: np.ndarray, predicted: np.ndarray) -> dict:
    record = make_record("m", 1_000, 2_000, accuracy, source="measured", seed=seed,
                         train_time_s=10.0 + seed)  # fmt: skip
    record.update(
        seed=seed,
        predictions=encode_classes(predicted),
        test_labels=encode_classes(labels),
        train_provenance={"key": f"k{seed}", "segments": []},
        history=[{"epoch": 1, "cumulative_s": 10.0 + seed, "val_accuracy": accuracy}],
    )
    return record


def test_merge_keeps_every_seed_and_pools_the_model_figures():
    labels = np.array([0, 1, 2, 3])
    records = [
        _worker_record(0, 0.50, labels, np.array([0, 1, 0, 0])),
        _worker_record(1, 0.75, labels, np.array([0, 1, 2, 0])),
        _worker_record(2, 1.00, labels, labels),
    ]
    record, found = seeds.merge(records)
    assert record["seeds"] == [0, 1, 2]
    assert [r["seed"] for r in record["runs"]] == [0, 1, 2]
    assert record["accuracy"] == pytest.approx(0.75)  # (0.50 + 0.75 + 1.00) / 3
    assert record["train_time_s"] == pytest.approx(11.0)  # median of 10, 11, 12
    assert "test_labels" not in record and list(found) == [encode_classes(labels)["sha256"]]
    assert decode_classes(record["runs"][1]["predictions"]).tolist() == [0, 1, 2, 0]


# --- statistics against hand-computed figures ---------------------------------------------------


def test_mcnemar_exact_p_value_by_hand():
    # 20 images: a alone right on 8, b alone right on 2, both right on 6, neither on 4.
    # Exact McNemar: 2 * P(X <= 2 | n = 10, p = 1/2) = 2 * (1 + 10 + 45) / 1024 = 0.109375.
    labels = np.zeros(20, dtype=int)
    a = np.array([0] * 8 + [1] * 2 + [0] * 6 + [1] * 4)
    b = np.array([1] * 8 + [0] * 2 + [0] * 6 + [1] * 4)
    p, only_a, only_b = mcnemar_p(a, b, labels)
    assert (only_a, only_b) == (8, 2)
    assert p == pytest.approx(0.109375)


def test_seed_statistics_against_known_figures():
    # Seeds 0.90, 0.91, 0.92: mean 0.91, sd 0.01, t(0.975, 2) = 4.3027, half-width
    # 4.3027 * 0.01 / sqrt(3) = 0.024841.
    est = estimate([0.90, 0.91, 0.92], 10_000)
    assert est.mean == pytest.approx(0.91)
    assert (est.low, est.high) == pytest.approx((0.91 - 0.024841, 0.91 + 0.024841), abs=1e-6)
    # Against 0.95, 0.96, 0.97: Welch t = 0.05 / sqrt(2 * 0.0001 / 3) = 6.1237 on 4 df,
    # two-sided p = 0.0036 (the spread, 0.0001 / 3, is above the binomial 0.91 * 0.09 / 1e4).
    c = compare(Seeds((0.90, 0.91, 0.92), 10_000), Seeds((0.95, 0.96, 0.97), 10_000),
                metrics.get("accuracy"))  # fmt: skip
    assert c.test.startswith("Welch-Satterthwaite over seeds (3 and 3 runs)")
    assert c.p_value == pytest.approx(0.0036, abs=1e-4) and c.outcome is Outcome.WORSE


def test_one_seed_each_is_compared_with_mcnemar_on_the_same_images():
    # 10,000 images; b is right on 100 images a gets wrong and wrong on 50 a gets right:
    # accuracies 0.9000 and 0.9050, McNemar on 100 vs 50 discordant: p = 5.4e-5.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 10_000)
    a = labels.copy()
    a[:1_000] = (labels[:1_000] + 1) % 10  # a is wrong on the first 1,000
    b = a.copy()
    b[:100] = labels[:100]  # b right on 100 of those
    b[5_000:5_050] = (labels[5_000:5_050] + 1) % 10  # and wrong on 50 that a gets right
    records = []
    for vid, predicted in (("a", a), ("b", b)):
        rec = make_record(vid, 1_000 if vid == "a" else 2_000, 2_000, 0.0, source="measured")
        rec["accuracy"] = float(np.mean(predicted == labels))
        rec["predictions"] = encode_classes(predicted)
        rec["test_labels"] = encode_classes(labels)
        rec["train_provenance"] = {"key": vid, "segments": []}
        records.append(rec)
    doc = make_suite(records, accuracy_source="train")
    doc["test_labels"] = {encode_classes(labels)["sha256"]: encode_classes(labels)}
    _, _, verdict = build(doc, references=False)
    assert verdict.comparison.test.startswith("McNemar exact test (150 discordant of 10,000")
    assert verdict.comparison.p_value == pytest.approx(mcnemar_p(b, a, labels)[0])
    assert verdict.comparison.outcome is Outcome.BETTER


# --- per class, time to accuracy ----------------------------------------------------------------


def test_per_class_accuracy_is_the_mean_over_runs():
    import pandas as pd

    labels = np.array([0, 0, 1, 1])
    sha = encode_classes(labels)["sha256"]
    runs = pd.DataFrame(
        {
            "variant": ["m", "m"],
            "labels_sha256": [sha, sha],
            # run 1: class 0 2/2, class 1 0/2; run 2: class 0 1/2, class 1 2/2
            "predictions": [encode_classes([0, 0, 0, 0]), encode_classes([0, 1, 1, 1])],
        }
    )
    table = per_class_accuracy(runs, {sha: encode_classes(labels)}, ["shirt", "boot"])
    assert table.loc["m"].tolist() == [pytest.approx(0.75), pytest.approx(0.5)]


def test_time_to_accuracy_per_run_and_pooled():
    import pandas as pd

    rows = []
    # seed 0 reaches 80 % at 30 s; seed 1 at 50 s; seed 2 never (78 % best).
    curves = {
        0: [(10, 0.6), (20, 0.75), (30, 0.82)],
        1: [(10, 0.5), (30, 0.79), (50, 0.81)],
        2: [(10, 0.5), (20, 0.70), (40, 0.78)],
    }
    for seed, curve in curves.items():
        for epoch, (t, acc) in enumerate(curve, start=1):
            row = {"run": 0, "variant": "m", "seed": seed, "epoch": epoch}
            rows.append({**row, "cumulative_s": float(t), "accuracy": None, "val_accuracy": acc})
    table = time_to_accuracy(pd.DataFrame(rows)).set_index("target")
    assert table.loc[0.8, "reached"] == 2 and table.loc[0.8, "runs"] == 3
    assert table.loc[0.8, "seconds"] == pytest.approx(40.0)  # median of 30 and 50
    assert math.isnan(table.loc[0.8, "per_run"][2])
    assert table.loc[0.7, "per_run"] == (20.0, 30.0, 20.0)
    assert 0.85 not in table.index  # no run reached it


# --- did not learn; pipeline rate ----------------------------------------------------------------


def test_a_model_at_chance_or_far_below_its_training_accuracy_is_flagged():
    assert "within 5.00 pp of chance" in learning_flag(0.12, 10, [])
    # v03 on the old quick profile: 73.6 % training accuracy, 15.1 % in inference mode.
    flag = learning_flag(0.151, 10, [{"accuracy": 0.736}])
    assert "training accuracy 73.60 %" in flag and "not the trained one" in flag
    assert learning_flag(0.85, 10, [{"accuracy": 0.88}]) is None


def test_a_flagged_model_stays_off_the_accuracy_axes_unless_asked():
    flagged = make_record("v04", 1_709_514, 153_324_032, 0.10, source="measured")
    flagged["accuracy_flag"] = "test accuracy 10.00 % is within 5.00 pp of chance (10.00 %)"
    flagged["train_provenance"] = {"key": "v04", "segments": []}
    fine = make_record("v01", 159_146, 10_387_776, 0.80, source="measured")
    fine["train_provenance"] = {"key": "v01", "segments": []}
    table, analysis, _ = build(make_suite([fine, flagged], accuracy_source="train"),
                               references=False)  # fmt: skip
    assert math.isnan(table.set_index("variant").loc["v04", "accuracy"])
    assert analysis.no_accuracy["v04"].startswith("did not learn: test accuracy 10.00 %")


def test_training_images_per_second_leave_out_validation_and_the_first_epoch():
    history = [
        {"train_s": 9.0, "train_images": 1_000},  # tracing: left out
        {"train_s": 2.0, "train_images": 1_000},
        {"train_s": 3.0, "train_images": 1_500},
    ]
    assert train_images_per_s(history) == pytest.approx(2_500 / 5.0)
    assert train_images_per_s(history[:1]) == pytest.approx(1_000 / 9.0)
    assert train_images_per_s([]) is None
