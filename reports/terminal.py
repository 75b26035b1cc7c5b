"""The answer in the terminal: a compact table of the measured models, then the verdict's answer.

What `python -m bench run` prints last, before the report's path. Claims, checked by
`tests/test_terminal.py` on hand-made suite files:

- One row per model measured here, in the table's order (published reference points whose
  costs come from a paper are left out): model, accuracy with its source, parameters, MACs,
  batch-1 latency p50, throughput, and on how many of the measured cost axes it is on the
  Pareto frontier ("reference" for a reference architecture, which is compared with the
  frontier but not part of it, as in the report). The columns come from the metric table
  (`bench.metrics`); every number is rendered by `bench.units`.
- A figure is followed by "=" when it is equivalent to its neighbour by that figure and by "?"
  when the data cannot tell them apart (`reports.marks`), with a legend under the table.
- Under it, per measured axis, the frontier from its cheapest model to its dearest; the
  provenance line (device, dataset, versions, precision, XLA, profile) and the accuracy sources
  in words; then the verdict's one-line answer (`reports.verdict.Verdict.headline`).
- No line is wider than `width` (100 by default): the table drops its rightmost figure columns
  (saying which) when its model ids are too long for all of them, and prose is wrapped.

Imports no TensorFlow.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import pandas as pd

from bench import metrics, units
from reports.data import ACCURACY_SOURCE_PHRASES, Suite
from reports.marks import LEGEND, all_marks
from reports.noise import Evidence
from reports.pareto import Analysis
from reports.render import provenance_line
from reports.verdict import Verdict

WIDTH = 100
GAP = "  "
# The figure columns, by metric key (headings and units come from `bench.metrics`), in the order
# they are dropped from the right when the table is too wide.
FIGURES = ("params_total", "macs", "latency_median_s", "throughput_images_per_s")
SOURCE_TAGS = {"measured": "measured", "reported": "reported", "published": "published"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _accuracy_cell(row: pd.Series, mark: str = "") -> str:
    if _missing(row.get("accuracy")):
        return units.MISSING
    tag = SOURCE_TAGS.get(row.get("accuracy_source"), "unknown source")
    return f"{units.percent(row['accuracy'])}{mark} ({tag})"


def _frontier_cell(variant: str, kind: str, analysis: Analysis) -> str:
    if kind == "reference":
        return "reference"
    axes = analysis.measured_axes
    points = [a.point(variant) for a in axes]
    judged = [p for p in points if p is not None]
    if not judged:
        return "—"
    return f"{sum(bool(p['on_frontier']) for p in judged)} of {len(axes)}"


def _rows(
    table: pd.DataFrame, analysis: Analysis, keys: tuple[str, ...],
    marks: dict[str, dict[str, str]] | None = None,
) -> list[list[str]]:  # fmt: skip
    marks = marks or {}
    rows = []
    for _, row in table[table["cost_source"] == "measured"].iterrows():
        variant, kind = str(row["variant"]), str(row["kind"])
        figures = [
            units.figure(metrics.get(k).unit, row.get(k)) + marks.get(k, {}).get(variant, "")
            for k in keys
        ]
        frontier = _frontier_cell(variant, kind, analysis)
        accuracy = _accuracy_cell(row, marks.get("accuracy", {}).get(variant, ""))
        rows.append([variant, accuracy, *figures, frontier])
    return rows


def _lay_out(headings: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headings, *rows]) for i in range(len(headings))]
    lines = []
    for cells in [headings, ["-" * w for w in widths], *rows]:
        padded = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append(GAP.join(padded).rstrip())
    return lines


def table_lines(
    table: pd.DataFrame, analysis: Analysis, width: int = WIDTH,
    marks: dict[str, dict[str, str]] | None = None,
) -> tuple[list[str], list[str]]:  # fmt: skip
    """The table's lines, and a note for each figure column left out to fit `width`.

    `marks` (`reports.marks.all_marks`) puts "=" or "?" after a figure that is equivalent to, or
    cannot be told apart from, its neighbour by that figure."""
    keys = FIGURES
    while True:
        headings = ["Model", "Accuracy", *(metrics.get(k).column_label for k in keys), "Frontier"]
        lines = _lay_out(headings, _rows(table, analysis, keys, marks))
        if max(len(line) for line in lines) <= width or not keys:
            break
        keys = keys[:-1]
    dropped = [metrics.get(k).column_label for k in FIGURES if k not in keys]
    notes = [f"left out to fit {width} columns: {', '.join(dropped)}"] if dropped else []
    return lines, notes


def _wrapped(text: str, width: int, indent: str = "    ") -> list[str]:
    return textwrap.wrap(
        text, width=width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def frontier_lines(analysis: Analysis, width: int = WIDTH) -> list[str]:
    """Per measured axis, its frontier from the cheapest model to the dearest."""
    heading = "Pareto frontier per cost, cheapest first (the models no other model dominates):"
    lines = _wrapped(heading, width, "")
    for result in analysis.measured_axes:
        lines += _wrapped(f"  {result.axis.short}: {' → '.join(result.frontier)}", width)
    return lines


def _sources(table: pd.DataFrame) -> str:
    """What each accuracy tag means, and what a "reference" row is, when there is one."""
    measured = table[table["cost_source"] == "measured"]
    present = dict.fromkeys(measured["accuracy_source"].dropna())
    phrases = ACCURACY_SOURCE_PHRASES
    words = [f"{SOURCE_TAGS.get(s, s)} = {phrases.get(s, 'unknown')}" for s in present]
    text = "Accuracy: " + "; ".join(words) + "." if words else "No accuracy in these files."
    references = list(measured.loc[measured["kind"] == "reference", "variant"])
    if references:
        text += (
            f" {', '.join(references)}: reference architectures, measured here and compared "
            "with the frontier, not part of it."
        )
    return text


def summary(
    suite: Suite, table: pd.DataFrame, analysis: Analysis, verdict: Verdict, width: int = WIDTH
) -> str:
    """The terminal summary (module docstring), lines joined by newlines."""
    measured = table[table["cost_source"] == "measured"]
    evidence = analysis.judges or Evidence(table, suite.samples, suite.labels)
    marks = all_marks(measured, evidence, ("accuracy", *FIGURES))
    lines, notes = table_lines(table, analysis, width, marks)
    lines += [f"({note})" for note in notes]
    if any(marks.values()):
        lines += _wrapped(f"({LEGEND})", width, " ")
    lines += ["", *frontier_lines(analysis, width), ""]
    lines += _wrapped(provenance_line(suite) + ".", width, "")
    lines += _wrapped(_sources(table), width, "")
    lines += ["", *_wrapped(f"Answer: {verdict.headline}", width, "        ")]
    return "\n".join(lines)
