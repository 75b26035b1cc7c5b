"""The terminal summary of `python -m bench run` (`reports.terminal`), on hand-made suite files.

The files are `tests/test_reports.py`'s: the course report's ten variants with their reported
accuracies and hand-counted MACs, invented latencies; the frontier and the verdict of that data
are worked out in `tests/test_reports.py` and `tests/test_verdict.py`. Here: what the summary
shows of them, and that it fits the width it is given.
"""

from __future__ import annotations

import copy

from test_reports import REPORT_FIGURES, build, make_record, make_suite

from bench import units
from reports.data import aggregate, suite_from_documents
from reports.terminal import summary, table_lines


def _summary(doc: dict, width: int = 100) -> str:
    suite = suite_from_documents([("run0.json", doc)])
    table, analysis, verdict = build(doc)
    return summary(suite, table, analysis, verdict, width)


def _row(text: str, vid: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"{vid} "))


def test_one_row_per_measured_model_with_its_figures_and_the_verdict():
    doc = make_suite()
    text = _summary(doc)
    lines = text.splitlines()
    assert lines[0].split() == [
        "Model", "Accuracy", "Params", "MACs", "Latency", "p50", "Throughput", "Frontier",
    ]  # fmt: skip
    params, _, macs, accuracy = REPORT_FIGURES["v10"]
    record = doc["variants"]["v10"]
    v10 = _row(text, "v10")
    for cell in (
        f"{units.percent(accuracy)} (reported)",
        units.count(params),
        units.macs(macs),
        units.seconds(record["latency_median_s"]),
        units.images_per_s(record["throughput_images_per_s"]),
    ):
        assert cell in v10, (cell, v10)
    # The published ResNet points (costs from a paper) are not rows: nothing of theirs ran here.
    assert not any(line.startswith("resnet") for line in lines)
    _, _, verdict = build(doc)
    answer = " ".join(line.strip() for line in lines[lines.index("") + 1 :] if line)
    assert f"Answer: {verdict.headline}" in answer
    assert "reported = reported by the course report, not measured here" in answer


def test_frontier_membership_counts_the_measured_axes():
    doc = make_suite()
    _, analysis, _ = build(doc)
    text = _summary(doc)
    axes = analysis.measured_axes
    for vid in ("v02", "v05"):
        on = sum(bool(a.point(vid)["on_frontier"]) for a in axes)
        assert _row(text, vid).endswith(f"{on} of {len(axes)}")
    assert on == 0  # v05 is dominated by v08 (same costs, more accurate): a count that is not full
    assert _row(text, "v04").endswith("—")  # no accuracy: on no axis
    for result in axes:
        assert f"  {result.axis.short}: {' → '.join(result.frontier)}" in text


def test_a_measured_reference_architecture_is_a_row_marked_reference():
    records = [make_record(v, p, m, a) for v, (p, _, m, a) in REPORT_FIGURES.items()]
    records.append(
        make_record("resnet20", 272_474, 40_551_040, 0.9125, source="published", kind="reference")
    )
    text = _summary(make_suite(records))
    assert _row(text, "resnet20").endswith("reference")
    # 91.25 % against v10's 91.35 % on 10,000 images each: cannot be told apart, hence "?".
    assert "91.25 %? (published)" in _row(text, "resnet20")
    assert "resnet20: reference architectures, measured here" in " ".join(text.split())


def test_every_line_fits_and_long_ids_cost_columns_not_width():
    doc = copy.deepcopy(make_suite())
    long_id = "a_user_model_with_a_rather_long_identifier"
    record = copy.deepcopy(doc["variants"]["v03"])
    record["variant"] = long_id
    doc["variants"][long_id] = record
    for width in (100, 80):
        text = _summary(make_suite(list(doc["variants"].values())), width)
        assert max(len(line) for line in text.splitlines()) <= width
    # At 80 columns the long id leaves no room for every figure: columns go, and it says which.
    suite = suite_from_documents([("run0.json", make_suite(list(doc["variants"].values())))])
    table = aggregate(suite)
    _, analysis, _ = build(make_suite(list(doc["variants"].values())))
    lines, notes = table_lines(table, analysis, 80)
    assert notes and "Throughput" in notes[0]
    assert "Throughput" not in lines[0]


def test_figures_say_when_they_are_equivalent_to_or_cannot_be_told_from_their_neighbour():
    # a and b: the same parameter count (counted: equivalent), latencies 1.00 and 1.01 ms timed
    # apart (within the 3 % margin: equivalent), accuracies 90.00 and 90.05 % on 10,000 images
    # (interval about +-0.8 pp: cannot be told apart). c differs from both on everything.
    doc = make_suite([
        make_record("a", 1_000_000, 10_000_000, 0.9000, latency_s=1.00e-3),
        make_record("b", 1_000_000, 10_000_000, 0.9005, latency_s=1.01e-3),
        make_record("c", 4_000_000, 40_000_000, 0.9500, latency_s=4.00e-3),
    ])  # fmt: skip
    text = _summary(doc)
    a, b, c = (_row(text, vid) for vid in "abc")
    assert f"{units.count(1_000_000)}=" in a and f"{units.count(1_000_000)}=" in b
    assert f"{units.seconds(1.00e-3)}=" in a and f"{units.seconds(1.01e-3)}=" in b
    assert "90.00 %? (reported)" in a and "90.05 %? (reported)" in b
    assert "=" not in c and "?" not in c
    assert "= equivalent to the next model by that figure" in text
