"""The trend page (`python -m bench history report`): per model and cost, the figure against
commit order, its interval, and the steps.

Claims: one self-contained HTML page (CSS inline, every plot a base64 PNG, the report's inline
render check, no external resource); per group of comparable runs, a table of its runs, a table
of the steps found (model, cost, the first commit of the step and the last commit before it,
the figure before and after), and one figure per model with one panel per cost (seaborn on
matplotlib's Agg backend): the figure of every run in commit order with its interval as an error
bar, each step's first commit marked by a red point and a dashed line and named on the panel.
The data come from `bench.history.page` as plain tables; nothing here decides what a step is.

How it is checked: `tests/test_history_report.py` renders a page of hand-made runs in headless
Chromium and checks that every plot decoded and that the step's commit is named.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede any pyplot import anywhere in this process

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench import units
from reports.render import page_head

TITLE = "History: each model's figures across commits"
STEP_COLOUR = "#d62728"
POINT_COLOUR = "#1f77b4"
PANELS_PER_ROW = 3


def short(commit: str) -> str:
    """A commit id as the page shows it (git's 7 characters)."""
    return commit[:7] if re.fullmatch(r"[0-9a-f]{40}", commit) else commit


def figure_text(unit: str, value: float | None) -> str:
    """A figure of the page: a multiple of the reference workload, or the metric's unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return units.MISSING
    if unit == "reference":
        return f"{units.ratio(value)} reference"
    return units.figure(unit, value)  # type: ignore[arg-type]


def _direction_text(direction: str, better: str) -> str:
    worse = direction != better
    return f"{direction} ({'worse' if worse else 'better'})"


def _panel(ax: Axes, rows: pd.DataFrame, runs: Sequence[dict[str, Any]]) -> None:
    """One cost of one model: points, error bars, steps, commit ticks."""
    rows = rows.dropna(subset=["value"]).sort_values("position")
    unit, label = rows["unit"].iloc[0], rows["label"].iloc[0]
    sns.lineplot(data=rows, x="position", y="value", marker="o", color=POINT_COLOUR, ax=ax)
    bars = rows.dropna(subset=["low", "high"])
    if not bars.empty:
        ax.errorbar(
            bars["position"], bars["value"],
            yerr=[bars["value"] - bars["low"], bars["high"] - bars["value"]],
            fmt="none", ecolor=POINT_COLOUR, elinewidth=1, capsize=3,
        )  # fmt: skip
    for _, step in rows[rows["step"] != ""].iterrows():
        commit = short(runs[int(step["position"])]["commit"])
        ax.axvline(step["position"] - 0.5, color=STEP_COLOUR, linestyle="--", linewidth=1)
        ax.scatter([step["position"]], [step["value"]], color=STEP_COLOUR, s=60, zorder=5)
        ax.annotate(
            f"step: {commit}", (step["position"], step["value"]), xytext=(4, 6),
            textcoords="offset points", color=STEP_COLOUR, fontsize=9,
        )  # fmt: skip
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels([short(r["commit"]) for r in runs], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(runs) - 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure_text(unit, v)))
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("commit (oldest first)")
    ax.set_ylabel("")


def model_figure(
    model: str, points: pd.DataFrame, runs: Sequence[dict[str, Any]], path: Path
) -> Path:
    """One PNG per model: a panel per cost, in the order of the rows."""
    costs = list(dict.fromkeys(points["cost"]))
    rows_n = math.ceil(len(costs) / PANELS_PER_ROW)
    cols = min(len(costs), PANELS_PER_ROW)
    with matplotlib.rc_context():
        sns.set_theme(style="whitegrid", context="notebook")
        fig = Figure(figsize=(4.6 * cols, 3.4 * rows_n + 0.6))
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows_n, cols, squeeze=False).ravel()
        for ax, cost in zip(axes, costs, strict=False):
            _panel(ax, points[points["cost"] == cost], runs)
        for ax in axes[len(costs) :]:
            ax.set_visible(False)
        fig.suptitle(f"{model}: each cost against commit order", fontsize=12)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90, metadata={"Software": None})
    return path


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    table = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _runs_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = [
        [str(r["position"] + 1), short(r["commit"]) + (" (uncommitted)" if r["dirty"] else ""),
         r["branch"], r["run_time"][:19].replace("T", " "), r["file"]]
        for r in runs
    ]  # fmt: skip
    return _table(["#", "commit", "branch", "run at (UTC)", "stored as"], rows)


def _steps_block(steps: Sequence[dict[str, Any]]) -> str:
    if not steps:
        return '<p class="steps">No step found: every figure stayed within the noise.</p>'
    rows = [
        [s["model"], s["label"], short(s["commit"]), short(s["previous"]),
         f"{figure_text(s['unit'], s['before'])} → {figure_text(s['unit'], s['after'])}",
         _direction_text(s["direction"], s["better"])]
        for s in steps
    ]  # fmt: skip
    names = ", ".join(
        sorted({f"{s['model']} {s['label'].lower()} at {short(s['commit'])}" for s in steps})
    )
    return f'<p class="steps">Steps found: {html.escape(names)}.</p>' + _table(
        ["model", "cost", "first commit of the step", "last commit before", "figure", "direction"],
        rows,
        "The first commit of a step is the first whose run shows the new level.",
    )


def _figure_html(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></figure>'


def _group_html(number: int, group: dict[str, Any], out: Path) -> list[str]:
    parts = [
        f'<section id="group{number}"><h2>Group {number}</h2>',
        f'<p class="provenance">{html.escape(group["heading"])}</p>',
        _runs_table(group["runs"]),
        _steps_block(group["steps"]),
    ]
    points: pd.DataFrame = group["points"]
    for model in dict.fromkeys(points["model"]) if not points.empty else ():
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model)
        png = model_figure(model, points[points["model"] == model], group["runs"],
                           out / "plots" / f"group{number}_{slug}.png")  # fmt: skip
        parts.append(_figure_html(png, f"{model} across commits"))
    parts.append("</section>")
    return parts


def write_page(groups: Sequence[dict[str, Any]], out: Path, *, rule: str, source: str) -> Path:
    """Write `out/trend.html` (and its plots under `out/plots/`); returns the page.

    Args:
        groups: per group of comparable runs, `bench.history.page.group_data`'s dict.
        out: the folder.
        rule: one paragraph saying how steps are found and what the bars are.
        source: the store the runs come from.
    """
    out.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    parts = [
        *page_head(TITLE),
        f'<p class="provenance">Runs of the store {esc(source)}, {len(groups)} group(s) of '
        "comparable runs (same machine and settings); runs of different groups are never "
        "compared.</p>",
        f'<p class="notes">{esc(rule)}</p>',
    ]
    for number, group in enumerate(groups, start=1):
        parts += _group_html(number, group, out)
    parts.append("</body></html>")
    page = out / "trend.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page
