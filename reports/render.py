"""Render the report: one self-contained HTML page, the same content as Markdown, and CSV.

Claims:

* The HTML page needs nothing but itself: CSS inline, every plot embedded as a base64 PNG, no
  external script, font or stylesheet. A small inline script marks `<body data-render="ok">`
  once every image has decoded and no script error was raised, or lists what failed;
  `tests/test_report_browser.py` opens the page in headless Chromium and reads that attribute.
* HTML and Markdown are made from the same rows of strings, so they say the same thing.
* Tables and plots each carry the provenance line (device, dataset, TensorFlow/Keras versions,
  precision, XLA, profile) and every row its accuracy source.
* The CSV files keep SI units and full precision (`variants.csv`: one row per variant;
  `runs.csv`: one row per variant per file; `frontiers.csv`: one row per axis and variant).
  Rounding happens here and only for the HTML and Markdown.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench import metrics, units
from bench.compare import ALPHA_ACCURACY, ALPHA_COSTS
from bench.metrics import Metric
from reports.data import ACCURACY_SOURCE_PHRASES, Suite
from reports.deployments import DeploymentReport
from reports.marks import LEGEND, all_marks
from reports.noise import Evidence
from reports.pareto import Analysis, AxisResult, Step, lowercase_label
from reports.plots import Plot
from reports.runs import per_class_accuracy, time_to_accuracy
from reports.verdict import (
    DEFINITION,
    Verdict,
    accuracy_comparisons,
    dataset_name,
    short_citation,
)

TITLE = "Is the bigger model worth it? Accuracy against cost"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1240px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.provenance { color: #555; font-size: 0.9rem; }
#verdict .answer { background: #f3f7fb; border-left: 4px solid #1f77b4; padding: 0.8rem 1rem;
                   font-weight: 600; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.86rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td { white-space: nowrap; }
td.long { white-space: normal; min-width: 16em; }
th { background: #f0f0f0; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 0.8rem;
          padding-top: 0.3rem; }
.scroll { overflow-x: auto; }
figure { margin: 0.8rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85rem; }
.notes { color: #555; font-size: 0.88rem; }
"""

# Runs before anything else: collects script errors, then checks every image on load.
RENDER_CHECK = """
window.__reportErrors = [];
window.onerror = function (message, source, line) {
  window.__reportErrors.push(String(message) + " (line " + line + ")");
};
window.addEventListener("load", function () {
  var broken = [];
  Array.prototype.forEach.call(document.images, function (img) {
    if (!(img.complete && img.naturalWidth > 0)) { broken.push(img.alt || img.src.slice(0, 60)); }
  });
  var problems = [];
  if (broken.length) { problems.push("broken images: " + broken.join(", ")); }
  if (window.__reportErrors.length) {
    problems.push("errors: " + window.__reportErrors.join("; "));
  }
  document.body.dataset.render = problems.length ? problems.join(" | ") : "ok";
  document.body.dataset.images = String(document.images.length);
  document.body.dataset.tables = String(document.querySelectorAll("table").length);
});
"""


@dataclass(frozen=True)
class Table:
    """A rendered table: headings, rows of strings, and a caption."""

    headings: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class Content:
    """Everything the renderers need."""

    suite: Suite
    table: pd.DataFrame
    analysis: Analysis
    verdict: Verdict
    axis_plots: dict[str, Plot]
    time_to_accuracy: Plot | None
    latency: Plot | None
    deployments: DeploymentReport | None = None
    deployment_plots: dict[str, Plot] = field(default_factory=dict)


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def provenance_line(suite: Suite) -> str:
    """One line: device, dataset, TF/Keras versions, precision, XLA, profile."""
    files = suite.files

    def joined(column: str) -> str:
        values = [str(v) for v in dict.fromkeys(files[column]) if not _nan(v)]
        return ", ".join(values) if values else "unknown"

    xla = ", ".join("on" if v else "off" for v in dict.fromkeys(files["xla"]) if v is not None)
    profile = joined("profile")
    mixed = f" · POOLED ACROSS UNLIKE RUNS: {'; '.join(suite.mixed)}" if suite.mixed else ""
    return (
        f"Device: {joined('device')} · dataset: {dataset_name(suite.dataset)}{suite.images} · "
        f"TensorFlow {joined('tensorflow_version')} · Keras {joined('keras_version')} · "
        f"precision {joined('precision')} · XLA {xla or 'unknown'} · "
        f"profile {profile if profile != 'unknown' else 'none'}{mixed}"
    )


def _source(row: pd.Series) -> str:
    phrase = ACCURACY_SOURCE_PHRASES.get(row.get("accuracy_source"), "unknown")
    citation = row.get("accuracy_citation")
    if row.get("accuracy_source") == "reported":
        phrase = "reported by the course report, not measured here"
    elif not _nan(citation) and citation:
        phrase += f" ({short_citation(citation)})"
    return phrase


def _interval(row: pd.Series) -> str:
    if _nan(row.get("accuracy_low")) or _nan(row.get("accuracy_high")):
        return units.MISSING
    return f"{units.percent(row['accuracy_low'])}–{units.percent(row['accuracy_high'])}"


def variant_columns() -> list[tuple[str, str, Any]]:
    """The main table's metric columns (heading, key, formatter), from `bench.metrics`."""
    return [
        (m.column_label, m.key, lambda value, unit=m.unit: units.figure(unit, value))
        for m in metrics.columns()
    ]


def _runs_cell(row: pd.Series, n_runs: Any) -> str:
    """How many runs stand behind the row: seeds for measured accuracies, else files."""
    if _nan(n_runs) or n_runs == 0:
        return "published"
    seeds = row.get("accuracy_runs")
    if row.get("accuracy_source") == "measured" and isinstance(seeds, tuple) and seeds:
        return f"{len(seeds)} seed" + ("s" if len(seeds) > 1 else "")
    return str(int(n_runs))


def variants_table(content: Content) -> tuple[Table, list[str]]:
    """The main table and the notes on columns left out because nothing was measured."""
    table = content.table
    columns = variant_columns()
    present = [c for c in columns if c[1] in table and table[c[1]].notna().any()]
    present_keys = {key for _, key, _ in present}
    notes = []
    for heading, key, _ in columns:
        if key in present_keys:
            continue
        reasons = [u[key] for u in table["unavailable"] if isinstance(u, dict) and u.get(key)]
        reason = f" ({reasons[0]})" if reasons else ""
        notes.append(f"{heading}: not measured for any variant{reason}.")
    headings = ["Variant", "Kind", "Accuracy", "95 % interval", "Runs", "Accuracy source"]
    headings += [c[0] for c in present] + ["Notes"]
    evidence = content.analysis.judges or Evidence(
        table, content.suite.samples, content.suite.labels
    )
    marks = all_marks(table, evidence, ["accuracy", *present_keys])
    rows = []
    for _, row in table.iterrows():
        remarks = list(row.get("notes") or ())
        remarks += list(row.get("errors") or ())
        if _nan(row["accuracy"]):
            unavailable = row.get("unavailable") or {}
            remarks.insert(
                0, f"no accuracy: {unavailable.get('accuracy', 'no figure in the data')}"
            )
        n_runs = row.get("n_runs")
        rows.append(
            [
                str(row["variant"]),
                str(row["kind"]),
                units.percent(row["accuracy"]) + marks["accuracy"].get(row["variant"], ""),
                _interval(row),
                _runs_cell(row, n_runs),
                _source(row),
                *[fmt(row[key]) + marks[key].get(row["variant"], "") for _, key, fmt in present],
                "; ".join(remarks),
            ]
        )
    return Table(headings, rows, f"Marks: {LEGEND}. {provenance_line(content.suite)}"), notes


def files_table(suite: Suite) -> Table:
    """One row per input file with its provenance."""
    rows = []
    for _, f in suite.files.iterrows():
        rows.append(
            [
                str(f["file"]),
                str(f["device"]),
                dataset_name(f["dataset"]),
                str(f["tensorflow_version"]),
                str(f["keras_version"]),
                str(f["precision"]),
                "on" if f["xla"] else "off",
                str(f["profile"] or "—"),
                str(f["accuracy_source"] or "—"),
                str(f["seed"]),
                str(f["commit"] or "—")[:12],
                str(f["datetime"] or "—"),
            ]
        )
    headings = [
        "File", "Device", "Dataset", "TensorFlow", "Keras", "Precision", "XLA", "Profile",
        "Accuracy source", "Seed", "Commit", "Date",
    ]  # fmt: skip
    return Table(headings, rows)


def comparisons_table(content: Content) -> Table:
    """Each variant against the next less accurate one, in the decision core's four words."""
    rows = []
    for _, c in accuracy_comparisons(content.table, content.suite.labels).iterrows():
        interval = f"[{units.points(c['low'])}, {units.points(c['high'])}]"
        outcome = "cannot be told apart" if c["outcome"] == "undetermined" else c["outcome"]
        if c["settle"]:
            outcome += f" ({c['settle']} would settle it)"
        rows.append(
            [
                f"{c['higher']} vs {c['lower']}",
                units.points(c["difference"]),
                interval,
                units.p_value(c["p_value"]),
                units.p_value(c["p_holm"]),
                c["method"],
                outcome,
            ]
        )
    return Table(
        ["Pair (by accuracy)", "Difference", "95 % interval", "p", "p (Holm)", "Test", "Outcome"],
        rows,
        "Better: the interval excludes no difference; equivalent: the interval lies within "
        f"±{100 * metrics.get('accuracy').tolerance:g} pp; otherwise the two cannot be told "
        "apart. Welch-Satterthwaite over seeds (a single run counts with its binomial variance "
        "on the test set, and a seed spread is never taken below it); McNemar's exact test on "
        "the per-image predictions when each model has one run scored on the same test images. "
        f"Each pair is decided at {ALPHA_ACCURACY:.0%}; the Holm column adjusts the p-values for "
        "the number of pairs in this table (family-wise error rate at most 5 % where it is "
        "below 0.05). " + provenance_line(content.suite),
    )


def _latency_ratio(point: pd.Series, keras_latency: dict[str, float], judge: Evidence) -> str:
    """The point's median latency against its keras model's, with the decision core's outcome
    where it is not a difference ("equivalent", "cannot be told apart")."""
    base = keras_latency.get(point["model"])
    if not base or _nan(point["latency_median_s"]):
        return ""
    if point["deployment"] == "keras":
        return units.ratio(1.0)
    found = judge.cost(
        metrics.get("latency_median_s"), point["variant"], point["latency_median_s"],
        point["model"], base,
    )  # fmt: skip
    ratio = point["latency_median_s"] / base
    return units.ratio(ratio) + ("" if found.differs else f" ({found.outcome.words})")


def _deployment_row(
    point: pd.Series, keras_latency: dict[str, float], judge: Evidence
) -> list[str]:
    ratio = _latency_ratio(point, keras_latency, judge)
    change = "" if _nan(point["accuracy_change"]) else units.points(point["accuracy_change"])
    p = "" if _nan(point["mcnemar_p"]) else units.p_value(point["mcnemar_p"])
    return [
        str(point["model"]),
        str(point["deployment"]),
        units.figure("bytes", point["model_file_bytes"]),
        "" if _nan(point["conversion_s"]) else units.seconds(point["conversion_s"]),
        units.seconds(point["latency_median_s"]),
        ratio,
        units.seconds(point["time_per_image_s"]),
        units.percent(point["accuracy"]),
        change,
        p,
        "; ".join(point["errors"]) or "; ".join(point["unavailable"].values()),
    ]


def deployments_table(content: Content) -> Table:
    """Every model in every deployment: size, conversion, latency, accuracy and its change."""
    table = content.deployments.points
    keras = table[table["deployment"] == "keras"].set_index("model")["latency_median_s"]
    judge = Evidence(table, content.suite.samples, content.suite.labels)
    rows = [_deployment_row(p, keras.to_dict(), judge) for _, p in table.iterrows()]
    headings = ["Model", "Deployment", "File size", "Conversion", "Latency p50", "vs keras",
                "Time per image", "Accuracy", "Δ vs keras", "McNemar p", "Notes"]  # fmt: skip
    caption = (
        "Each model in each deployment, timed in the same interleaved sessions as the models "
        "(LiteRT with as many threads as TensorFlow's intra-op setting); 'equivalent' where "
        "the rounds show a deployment's latency within 3 % of its keras model's, 'cannot be "
        "told apart' where they cannot say. Accuracy is measured "
        "from each deployment's predictions on the test set; its change and McNemar's exact "
        "test are against the same model's keras float32 predictions. "
        + provenance_line(content.suite)
    )
    return Table(headings, rows, caption)


def deployment_section(content: Content) -> Section | None:
    """The deployments: their answers, their table, and the frontier across all of them."""
    deployed = content.deployments
    if deployed is None:
        return None
    answers = []
    for name, verdict in deployed.verdicts.items():
        line = f"As {name}: {verdict.headline}"
        points = deployed.points.set_index("variant")
        key = f"{verdict.winner}@{name}"
        if name != "keras" and key in points.index and not _nan(points.loc[key, "mcnemar_p"]):
            change = units.points(points.loc[key, "accuracy_change"])
            line += (
                f" ({verdict.winner} as {name}: {change} against keras float32, McNemar "
                f"{units.p_value(points.loc[key, 'mcnemar_p'])})"
            )
        answers.append(line)
    blocks: list[Block] = [("list", answers), ("table", deployments_table(content))]
    for result in deployed.analysis.measured_axes:
        plot = content.deployment_plots.get(result.axis.slug)
        blocks += [("h3", f"All deployments: accuracy vs {lowercase_label(result.axis.label)}")]
        blocks += [("figure", plot)] if plot else []
        blocks += [("table", axis_table(content, result)), ("list", axis_notes(result))]
    return Section("deployments", "Deployments", tuple(blocks))


def per_class_table(content: Content) -> Table | None:
    """Accuracy on each class, per model (mean over its runs), from the per-image predictions."""
    frame = per_class_accuracy(
        content.suite.trainings, content.suite.labels, content.suite.class_names
    )
    if frame.empty:
        return None
    rows = [[str(vid), *(units.percent(v, 1) for v in row)] for vid, row in frame.iterrows()]
    caption = (
        "Fraction of each class's test images predicted right, mean over the model's runs. "
        + provenance_line(content.suite)
    )
    return Table(["Model", *map(str, frame.columns)], rows, caption)


def time_to_accuracy_table(content: Content) -> Table | None:
    """Training time to reach each validation accuracy (DAWNBench's metric), per model."""
    frame = time_to_accuracy(content.suite.history)
    if frame.empty:
        return None
    targets = sorted(frame["target"].unique())
    rows = []
    for vid, group in frame.groupby("variant", sort=False):
        by_target = group.set_index("target")
        cells = []
        for target in targets:
            if target not in by_target.index:
                cells.append("")
                continue
            r = by_target.loc[target]
            seconds = units.seconds(r["seconds"]) if r["reached"] else "not reached"
            cells.append(f"{seconds} ({r['reached']}/{r['runs']} runs)")
        rows.append([str(vid), *cells])
    caption = (
        "Cumulative training time (validation passes included) at the end of the first epoch "
        "whose validation accuracy reached the target; median over the runs that reached it. "
        + provenance_line(content.suite)
    )
    return Table(["Model", *(units.percent(t, 0) for t in targets)], rows, caption)


def _status(point: dict) -> str:
    status = (
        "on the frontier"
        if point["on_frontier"]
        else f"dominated by {', '.join(point['dominated_by'])}"
    )
    if point["on_frontier"] and point["unresolved"]:
        status += f", unresolved against {', '.join(point['unresolved'])}"
        if point["settle"]:
            status += f" (would settle it: {point['settle']})"
    ties, unknown = point["cost_ties"], point["cost_undetermined"]
    status += f"; cost equivalent to {', '.join(ties)}" if ties else ""
    return status + (f"; cost cannot be told from {', '.join(unknown)}" if unknown else "")


def _step_cells(step: Step | None) -> list[str]:
    if step is None:
        return ["", ""]
    gain = units.points(step.accuracy_gain)
    if step.accuracy != "better":
        gain += " (cannot be told apart from none)"
    return [
        f"→ {step.to_id}: {units.ratio(step.cost_ratio)} cost, {gain}",
        units.points(step.gain_per_doubling),
    ]


def axis_table(content: Content, result: AxisResult) -> Table:
    """Every model on one axis, cheapest first: frontier status, ties and the step to the next."""
    unit = result.axis.unit
    steps = {s.from_id: s for s in result.steps}
    rows = []
    for _, p in result.points.sort_values(["cost", "accuracy"], kind="stable").iterrows():
        step = steps.get(p["variant"]) if p["on_frontier"] else None
        cells = [str(p["variant"]), units.figure(unit, p["cost"]), units.percent(p["accuracy"])]
        rows.append([*cells, _status(p.to_dict()), *_step_cells(step)])
    for _, r in result.references.iterrows():
        beaten = f"; would dominate {', '.join(r['dominates'])}" if r["dominates"] else ""
        cells = [f"{r['variant']} (reference)", units.figure(unit, r["cost"])]
        rows.append([*cells, units.percent(r["accuracy"]), "reference layer" + beaten, "", ""])
    headings = ["Model", result.axis.label, "Accuracy", "Status", "Next step on the frontier",
                "Gain per doubling of cost"]  # fmt: skip
    caption = (
        f"Costs are compared by {_noise_phrase(result.axis)}. A model is dominated only by one "
        "that is better or equivalent on both cost and accuracy and better on one; a pair that "
        "cannot be told apart on either stays on the frontier, marked unresolved. Each pair is "
        "decided at its own level, not adjusted for the number of pairs on the axis. "
        + provenance_line(content.suite)
    )
    return Table(headings, rows, caption)


def _noise_phrase(axis: Metric) -> str:
    if axis.noise == "exact":
        return "count: equal counts are equivalent, any other difference is one"
    if axis.noise == "paired":
        if axis.statistic in ("p90", "p99"):
            test = f"a bootstrap of the {axis.statistic} ratio over the interleaved rounds"
        else:
            test = "the Hodges-Lehmann ratio of the interleaved rounds (Wilcoxon signed-rank)"
        return (
            f"{test}, with a {1 - ALPHA_COSTS:.0%} interval: equivalent when it lies within "
            f"±{axis.tolerance:.0%}, different when it excludes 1 and is not within that margin, "
            "otherwise undetermined"
        )
    return f"their ratio, measured apart: equivalent within ±{axis.tolerance:.1%}"


def axis_notes(result: AxisResult) -> list[str]:
    """Left-out variants and ties on one axis."""
    notes = [f"{v} is left out of this axis: {why}." for v, why in result.left_out.items()]
    notes += [
        f"{' and '.join(t)} are on the frontier with costs that are equivalent or cannot be "
        "told apart: no step, and no gain per doubling, is computed between them."
        for t in result.ties
    ]
    return notes + list(result.notes)


def references_table(content: Content) -> Table:
    """The reference layer: each reference point's figures and source."""
    refs = content.table[content.table["kind"] == "reference"]
    rows = []
    for _, r in refs.iterrows():
        rows.append(
            [
                str(r["variant"]),
                units.percent(r["accuracy"]),
                units.count(r.get("params_total")),
                units.macs(r.get("macs")),
                "published (not measured here)"
                if r.get("cost_source") == "published"
                else "measured here",
                str(r.get("accuracy_citation") or "—"),
            ]
        )
    return Table(
        ["Reference", "Accuracy", "Params", "MACs", "Costs", "Source"],
        rows,
        "Drawn as a separate grey layer on the plots; not part of the variants' frontier. "
        + provenance_line(content.suite),
    )


def _general_notes(content: Content) -> list[str]:
    notes = list(content.suite.notes)
    for v, why in content.analysis.no_accuracy.items():
        notes.append(f"{v} has no accuracy and is left out of every axis: {why}.")
    for result in content.analysis.axes:
        if result.empty:
            reasons = list(dict.fromkeys(result.left_out.values()))
            reason = f": {reasons[0]}" if len(reasons) == 1 else ""
            notes.append(f"{result.axis.label}: not measured for any variant{reason}.")
    return notes


METHOD_NOTES = [
    "A model is dominated on an axis when another is no dearer and at least as accurate, one of"
    " the two differences being resolvable; the frontier is every model not dominated. Costs that"
    " cannot be told apart are tied (counted costs: only when equal; timings: a paired test on"
    " the rounds of the interleaved session, p < 0.01, and a difference beyond the metric's"
    " tolerance, 3 % for medians; memory and training time: within a tolerance). Accuracies are"
    " tied when the test below cannot tell them apart. A tie decides nothing.",
    "Gain per doubling between frontier neighbours whose costs differ = Δaccuracy / log2(cost"
    " ratio), in percentage points; none is computed across a tie.",
    "Accuracy intervals: Wilson 95 % on the test-set size (10,000 images for CIFAR-10); with"
    " several measured seeds, the Student-t interval of their mean, at least as wide as Wilson's.",
    "Throughput is the batch over the 5 % quantile of a model's calls (the rate of a call the"
    " machine did not slow down; a median lands on whichever speed other work left it), and is"
    " analysed as its inverse (time per image), so every cost is minimised.",
    "The verdict: " + DEFINITION,
]


# ---------------------------------------------------------------- HTML


def _html_table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headings)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="long">{esc(cell)}</td>' if len(cell) > 28 else f"<td>{esc(cell)}</td>"
            for cell in row
        )
        + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{esc(table.caption)}</caption>" if table.caption else ""
    return (
        f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _html_list(items: list[str]) -> str:
    if not items:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def _html_figure(plot: Plot, out_dir: Path) -> str:
    data = base64.b64encode(plot.png.read_bytes()).decode("ascii")
    svg = plot.svg.relative_to(out_dir).as_posix()
    png = plot.png.relative_to(out_dir).as_posix()
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(plot.title)}">'
        f"<figcaption>{html.escape(plot.caption)} "
        f'Files: <a href="{html.escape(png)}">PNG</a>, <a href="{html.escape(svg)}">SVG</a>.'
        "</figcaption></figure>"
    )


Block = tuple[str, Any]  # ("answer", text) | ("list", items) | ("table", Table) | ("figure", Plot)
#                          | ("h3", text) | ("text", text)


@dataclass(frozen=True)
class Section:
    """One section of the report, rendered the same way to HTML and to Markdown."""

    id: str
    title: str
    blocks: tuple[Block, ...]


def energy_note(table: pd.DataFrame) -> str:
    """Where the energy figures come from (a J axis is never shown without its source)."""
    column = table["energy_source"] if "energy_source" in table else pd.Series(dtype=object)
    sources = list(dict.fromkeys(str(s) for s in column.dropna()))
    where = "; ".join(sources) if sources else "no counter named in the data"
    return (
        f"Energy read from a hardware counter: {where}. Gross joules of the whole device over "
        "the window (every process on it counts), not an estimate; the idle baseline measured "
        "before each window is in the JSON (`inference_energy`, `train_provenance`)."
    )


def _axis_section(content: Content, result: AxisResult) -> Section:
    plot = content.axis_plots.get(result.axis.slug)
    blocks: list[Block] = [("figure", plot)] if plot else []
    notes = axis_notes(result)
    if result.axis.unit == "J":
        notes.append(energy_note(content.table))
    blocks += [("table", axis_table(content, result)), ("list", notes)]
    title = f"Accuracy vs {lowercase_label(result.axis.label)}"
    return Section(f"axis-{result.axis.slug}", title, tuple(blocks))


def sections(content: Content) -> list[Section]:
    """The report's sections, in order; empty blocks are skipped by the renderers."""
    variants, column_notes = variants_table(content)
    verdict = content.verdict
    found = [
        Section("verdict", "Verdict",
                (("answer", verdict.headline), ("list", list(verdict.reasons)))),
        Section("variants", "Variants", (("table", variants), ("list", column_notes))),
        Section("comparisons", "Can the accuracies be told apart?",
                (("table", comparisons_table(content)),)),
        *(_axis_section(content, r) for r in content.analysis.measured_axes),
    ]  # fmt: skip
    references = references_table(content)
    if references.rows:
        found.append(Section("references", "Reference points", (("table", references),)))
    deployed = deployment_section(content)
    if deployed is not None:
        found.append(deployed)
    per_class = per_class_table(content)
    if per_class is not None:
        found.append(Section("per-class", "Accuracy per class", (("table", per_class),)))
    to_accuracy = time_to_accuracy_table(content)
    blocks = [("figure", content.time_to_accuracy)] if content.time_to_accuracy else []
    blocks += [("table", to_accuracy)] if to_accuracy is not None else []
    if blocks:
        found.append(Section("time-to-accuracy", "Time to accuracy", tuple(blocks)))
    if content.latency:
        found.append(Section("latency", "Latency distributions", (("figure", content.latency),)))
    notes = _general_notes(content) or ["None."]
    found += [
        Section("notes", "Notes", (("list", notes), ("h3", "Method"), ("list", METHOD_NOTES))),
        Section("provenance", "Input files", (("table", files_table(content.suite)),)),
    ]
    return found


def _html_block(block: Block, out_dir: Path) -> str:
    kind, value = block
    esc = html.escape
    render = {
        "answer": lambda: f'<p class="answer">{esc(value)}</p>',
        "list": lambda: _html_list(value),
        "table": lambda: _html_table(value),
        "figure": lambda: _html_figure(value, out_dir),
        "h3": lambda: f"<h3>{esc(value)}</h3>",
        "text": lambda: f"<p>{esc(value)}</p>",
    }
    return render[kind]()


def page_head(title: str) -> list[str]:
    """The opening lines of a self-contained page (this report's, the history's trend page):
    its style and render check inline, its title as the heading."""
    esc = html.escape
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        f"<script>{RENDER_CHECK}</script>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
    ]


def render_html(content: Content, out_dir: Path) -> str:
    """The self-contained page."""
    esc = html.escape
    parts = [
        *page_head(TITLE),
        f'<p class="provenance">{esc(provenance_line(content.suite))}</p>',
    ]
    for section in sections(content):
        parts.append(f'<section id="{esc(section.id)}"><h2>{esc(section.title)}</h2>')
        parts += [_html_block(block, out_dir) for block in section.blocks]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


# ---------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = [
        "| " + " | ".join(_md_cell(h) for h in table.headings) + " |",
        "|" + "---|" * len(table.headings),
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    if table.caption:
        lines += ["", f"*{table.caption}*"]
    return "\n".join(lines)


def _md_list(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items)


def _md_figure(plot: Plot, out_dir: Path) -> str:
    png = plot.png.relative_to(out_dir).as_posix()
    svg = plot.svg.relative_to(out_dir).as_posix()
    return f"![{plot.title}]({png})\n\n*{plot.caption}* ([SVG]({svg}))"


def _md_block(block: Block, out_dir: Path) -> str:
    kind, value = block
    render = {
        "answer": lambda: f"**{value}**",
        "list": lambda: _md_list(value),
        "table": lambda: _md_table(value),
        "figure": lambda: _md_figure(value, out_dir),
        "h3": lambda: f"### {value}",
        "text": lambda: value,
    }
    return render[kind]()


def render_markdown(content: Content, out_dir: Path) -> str:
    """The same content as the HTML page, with the plots referenced as files."""
    parts = [f"# {TITLE}", f"*{provenance_line(content.suite)}*"]
    for section in sections(content):
        parts.append(f"## {section.title}")
        parts += [_md_block(block, out_dir) for block in section.blocks]
    return "\n\n".join(p for p in parts if p) + "\n"


# ---------------------------------------------------------------- CSV


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuples and dicts as JSON so the CSV round-trips; numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, dict | tuple | list)).any():
            out[column] = out[column].map(
                lambda v: (
                    json.dumps(list(v) if isinstance(v, tuple) else v)
                    if isinstance(v, dict | tuple | list)
                    else v
                )
            )
    return out


def frontiers_frame(content: Content) -> pd.DataFrame:
    """One row per axis and variant: cost (SI), accuracy, frontier status, step to the next."""
    rows = []
    for result in content.analysis.axes:
        steps = {s.from_id: s for s in result.steps}
        for _, p in result.points.iterrows():
            step = steps.get(p["variant"]) if p["on_frontier"] else None
            rows.append(
                {
                    "axis": result.axis.key,
                    "variant": p["variant"],
                    "cost": p["cost"],
                    "accuracy": p["accuracy"],
                    "on_frontier": bool(p["on_frontier"]),
                    "dominated_by": " ".join(p["dominated_by"]),
                    "cost_ties": " ".join(p["cost_ties"]),
                    "cost_undetermined": " ".join(p["cost_undetermined"]),
                    "unresolved": " ".join(p["unresolved"]),
                    "settle": p["settle"],
                    "step_accuracy": step.accuracy if step else None,
                    "next_on_frontier": step.to_id if step else None,
                    "gain_per_doubling": step.gain_per_doubling if step else None,
                }
            )
        for variant, why in result.left_out.items():
            rows.append(
                {
                    "axis": result.axis.key,
                    "variant": variant,
                    "on_frontier": False,
                    "left_out": why,
                }
            )
    return pd.DataFrame(rows)


def write_csv(content: Content, out_dir: Path) -> list[Path]:
    """variants.csv, runs.csv and frontiers.csv in SI units."""
    paths = [out_dir / "variants.csv", out_dir / "runs.csv", out_dir / "frontiers.csv"]
    _csv_ready(content.table).to_csv(paths[0], index=False)
    _csv_ready(content.suite.runs).to_csv(paths[1], index=False)
    frontiers_frame(content).to_csv(paths[2], index=False)
    return paths
