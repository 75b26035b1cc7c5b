"""The report's figures (seaborn on matplotlib's Agg backend), each saved as PNG and SVG.

Claims: every accuracy/cost plot has a log cost axis, the frontier drawn as a staircase (the
region a user can reach: at a given budget, the best accuracy on offer), every point labelled with
its variant id, 95 % intervals as error bars, marker style by accuracy source (measured /
reported / published), and the reference points as a separate grey layer whose legend entry names
its source. Every figure states device and dataset in its title. The figures are built on
`matplotlib.figure.Figure` objects, never pyplot's global state, so building a report leaves no
figure open. `tests/test_reports.py` checks that the files exist and are valid PNG and SVG, and
`tests/test_report_browser.py` that they render in a browser.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")  # no display; must precede any pyplot import anywhere in this process

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator
from matplotlib.transforms import Bbox

from bench import units
from bench.metrics import Unit
from reports.pareto import AxisResult, lowercase_label

MARKERS = {"measured": "o", "reported": "s", "published": "D"}
SOURCE_LABELS = {
    "measured": "measured here",
    "reported": "reported (course report)",
    "published": "published",
}
FRONTIER_COLOUR = "#1f77b4"
DOMINATED_COLOUR = "#d62728"
REFERENCE_COLOUR = "#7f7f7f"
RC = {"svg.hashsalt": "reports", "svg.fonttype": "none"}  # stable SVG ids; text stays text

P = ParamSpec("P")
R = TypeVar("R")


def _styled(function: Callable[P, R]) -> Callable[P, R]:
    """Run a plot function under seaborn's whitegrid theme, restoring rcParams afterwards.

    seaborn themes work through matplotlib's global rcParams; the lead's main job builds the
    report inside a longer process, so the theme must not leak out of the report.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context():
            sns.set_theme(style="whitegrid", context="notebook")
            matplotlib.rcParams.update(RC)
            return function(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Plot:
    """A saved figure.

    Attributes:
        slug: file stem.
        title: the figure's title (device and dataset included).
        caption: one or two sentences for the page.
        png, svg: the files.
    """

    slug: str
    title: str
    caption: str
    png: Path
    svg: Path


def _figure(width: float, height: float) -> Figure:
    """A figure with its own Agg canvas (text extents need a renderer; no pyplot state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out_dir: Path, slug: str, title: str, caption: str) -> Plot:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{slug}.png", out_dir / f"{slug}.svg"
    fig.savefig(png, dpi=100, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    return Plot(slug, title, caption, png, svg)


# Label positions tried in turn, in points from the marker: right, then left, then further out.
LABEL_SPOTS = (
    (5, 3, "left"),
    (5, -11, "left"),
    (-5, 3, "right"),
    (-5, -11, "right"),
    (5, 13, "left"),
    (-5, 13, "right"),
    (5, -21, "left"),
    (-5, -21, "right"),
)


def _label_points(
    ax: Axes, xs: list[float], ys: list[float], labels: list[str], colour: str
) -> None:
    """Write each label beside its point where it covers no other label and no marker.

    Variants often share a cost exactly (v04/v05/v08 have the same architecture), so labels are
    placed greedily in display space, trying the spots of `LABEL_SPOTS` in turn; markers are
    obstacles too. When every spot is taken, the first one is used.
    """
    fig = ax.figure
    fig.canvas.draw()  # display coordinates need a drawn layout
    renderer = fig.canvas.get_renderer()
    radius = 4 * fig.dpi / 72  # about a marker's half-width, in pixels
    obstacles = []
    for x, y in zip(xs, ys, strict=True):
        px, py = ax.transData.transform((x, y))
        obstacles.append(Bbox.from_extents(px - radius, py - radius, px + radius, py + radius))
    for x, y, label in sorted(zip(xs, ys, labels, strict=True), key=lambda t: -t[1]):
        px, py = ax.transData.transform((x, y))
        own = Bbox.from_extents(px - radius, py - radius, px + radius, py + radius)
        others = [b for b in obstacles if not _same(b, own)]  # a twin point hides no label
        chosen = None
        for spot in LABEL_SPOTS:
            text = _annotate(ax, label, (x, y), spot, colour)
            box = text.get_window_extent(renderer=renderer)
            if not any(box.overlaps(other) for other in others):
                chosen = (text, box)
                break
            text.remove()
        if chosen is None:
            text = _annotate(ax, label, (x, y), LABEL_SPOTS[0], colour)
            chosen = (text, text.get_window_extent(renderer=renderer))
        obstacles.append(chosen[1])


def _annotate(
    ax: Axes, label: str, xy: tuple[float, float], spot: tuple[int, int, str], colour: str
) -> Text:
    dx, dy, ha = spot
    return ax.annotate(
        label, xy, xytext=(dx, dy), textcoords="offset points", fontsize=8, color=colour, ha=ha
    )


def _same(a: Bbox, b: Bbox) -> bool:
    return bool((a.get_points() == b.get_points()).all())


def _cost_formatter(unit: Unit) -> FuncFormatter:
    """Short tick labels: "20 M" for counts, MACs and FLOPs (the axis label names the unit)."""
    short: Unit = "count" if unit in ("macs", "flops") else unit
    return FuncFormatter(
        lambda value, _pos: units.figure(short, value, digits=2) if value > 0 else ""
    )


def _points_frame(result: AxisResult, info: pd.DataFrame) -> pd.DataFrame:
    pts = result.points.copy()
    pts["accuracy_pct"] = 100 * pts["accuracy"]
    pts["low_pct"] = [100 * info.loc[v, "accuracy_low"] for v in pts["variant"]]
    pts["high_pct"] = [100 * info.loc[v, "accuracy_high"] for v in pts["variant"]]
    pts["accuracy source"] = [
        SOURCE_LABELS.get(info.loc[v, "accuracy_source"], "unknown") for v in pts["variant"]
    ]
    pts["status"] = ["on the frontier" if f else "dominated" for f in pts["on_frontier"]]
    return pts


def _intervals(ax: Axes, pts: pd.DataFrame) -> None:
    with_ci = pts.dropna(subset=["low_pct", "high_pct"])
    if with_ci.empty:
        return
    ax.errorbar(
        with_ci["cost"],
        with_ci["accuracy_pct"],
        yerr=[
            (with_ci["accuracy_pct"] - with_ci["low_pct"]).clip(lower=0),
            (with_ci["high_pct"] - with_ci["accuracy_pct"]).clip(lower=0),
        ],
        fmt="none",
        ecolor="#999999",
        elinewidth=1,
        capsize=2,
        zorder=1,
    )


def _frontier_and_points(ax: Axes, pts: pd.DataFrame) -> None:
    front = pts[pts["on_frontier"]].sort_values(["cost", "accuracy"])
    if not front.empty:
        ax.plot(
            front["cost"],
            front["accuracy_pct"],
            drawstyle="steps-post",
            color=FRONTIER_COLOUR,
            linewidth=1.5,
            alpha=0.8,
            label="Pareto frontier",
            zorder=2,
        )
    sns.scatterplot(
        data=pts,
        x="cost",
        y="accuracy_pct",
        hue="status",
        hue_order=["on the frontier", "dominated"],
        palette={"on the frontier": FRONTIER_COLOUR, "dominated": DOMINATED_COLOUR},
        style="accuracy source",
        markers={SOURCE_LABELS[k]: m for k, m in MARKERS.items()} | {"unknown": "X"},
        s=60,
        ax=ax,
        zorder=3,
    )


def _reference_layer(ax: Axes, refs: pd.DataFrame, info: pd.DataFrame) -> None:
    if refs.empty:
        return
    citations = info.get("accuracy_citation", {})
    cited = {
        str(citations[v]).split(",")[0].split(";")[0]
        for v in refs["variant"]
        if isinstance(citations.get(v), str)  # measured here (or a deployment): no citation
    }
    label = "reference, accuracy measured here"
    if cited:
        label = f"reference, published accuracy ({'; '.join(sorted(cited))})"
    ax.scatter(
        refs["cost"],
        100 * refs["accuracy"],
        marker="*",
        s=140,
        color=REFERENCE_COLOUR,
        edgecolor="black",
        linewidth=0.5,
        label=label,
        zorder=3,
    )


def _open_degenerate_limits(ax: Axes) -> None:
    """Give an axis that spans no range (one model, or models of one cost) a width: a factor of
    2 either side on the log cost axis, 1 pp on the accuracy axis. Matplotlib would otherwise
    divide by the zero width when it lays the labels out (a RuntimeWarning)."""
    low, high = ax.get_xlim()
    if not high > low * 1.01:  # matplotlib's own widening of one value is a rounding error
        ax.set_xlim(low / 2, high * 2)
    low, high = ax.get_ylim()
    if not high - low > 1e-6:
        ax.set_ylim(low - 1, high + 1)


@_styled
def pareto_plot(
    result: AxisResult, table: pd.DataFrame, *, device: str, dataset: str, out_dir: Path
) -> Plot:
    """Accuracy against one cost, log cost axis, frontier, labels, intervals and references."""
    axis, info, refs = result.axis, table.set_index("variant"), result.references
    pts = _points_frame(result, info)
    title = f"Accuracy vs {lowercase_label(axis.label)} — {device}, {dataset}"
    fig = _figure(10, 5.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    _intervals(ax, pts)
    _frontier_and_points(ax, pts)
    _reference_layer(ax, refs, info)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(_cost_formatter(axis.unit))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_xlabel(f"{axis.label} (log scale; lower is cheaper)")
    ax.set_ylabel("Test accuracy (%)")
    ax.set_title(title, fontsize=11)
    _open_degenerate_limits(ax)
    if not pts.empty or not refs.empty:
        # Outside the axes, so that it never hides a point.
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        _label_points(
            ax,
            list(pts["cost"]) + list(refs["cost"]),
            list(pts["accuracy_pct"]) + list(100 * refs["accuracy"]),
            list(pts["variant"]) + list(refs["variant"]),
            "#222222",
        )
    caption = (
        f"{axis.label} against test accuracy on {dataset}; costs measured on {device}. "
        "Blue: on the frontier, red: dominated; marker shape: accuracy source; bars: 95 % "
        "intervals; grey stars: published reference points, a separate layer outside the frontier."
    )
    if result.left_out:
        caption += f" Left out (no figure): {', '.join(result.left_out)}."
    return _save(fig, out_dir, f"pareto_{axis.slug}", title, caption)


@_styled
def time_to_accuracy_plot(
    history: pd.DataFrame, *, device: str, dataset: str, out_dir: Path
) -> Plot | None:
    """Validation accuracy against cumulative training wall time, one line per variant and run."""
    data = history.dropna(subset=["cumulative_s", "val_accuracy"]).copy()
    if data.empty:
        return None
    data["validation accuracy (%)"] = 100 * data["val_accuracy"].astype(float)
    data["training time (s)"] = data["cumulative_s"].astype(float)
    data["curve"] = data["run"].astype(str) + ":" + data["seed"].astype(str)
    title = f"Time to accuracy — {device}, {dataset}"
    fig = _figure(8, 4.8)
    ax = fig.add_subplot()
    sns.lineplot(
        data=data,
        x="training time (s)",
        y="validation accuracy (%)",
        hue="variant",
        units="curve",  # one line per run and seed
        estimator=None,
        marker="o",
        markersize=6,  # single-epoch runs are one point each: they must stay visible
        ax=ax,
    )
    ax.set_title(title, fontsize=11)
    # Outside the axes: inside, it hid the slowest variant's points at the lower right.
    ax.legend(fontsize=8, title="variant", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    caption = (
        f"Validation accuracy after each epoch against cumulative training wall time on {device} "
        f"({dataset}); one line per model, run and seed. Validation, not test, accuracy."
    )
    return _save(fig, out_dir, "time_to_accuracy", title, caption)


@_styled
def latency_plot(
    latency: pd.DataFrame, order: list[str], *, device: str, dataset: str, out_dir: Path
) -> Plot | None:
    """Distribution of the raw batch-1 latency samples per variant (log axis)."""
    if latency.empty:
        return None
    data = latency.copy()
    data["latency (ms)"] = 1e3 * data["latency_s"]
    present = [v for v in order if v in set(data["variant"])]
    present += [v for v in dict.fromkeys(data["variant"]) if v not in present]
    title = f"Batch-1 latency distribution — {device}, {dataset}"
    fig = _figure(8, max(2.5, 0.42 * len(present) + 1.2))
    ax = fig.add_subplot()
    with warnings.catch_warnings():
        # seaborn 0.13.2 passes matplotlib 3.11 the deprecated `vert=`; not ours to fix.
        warnings.filterwarnings("ignore", message="vert: bool", category=DeprecationWarning)
        sns.boxplot(
            data=data,
            x="latency (ms)",
            y="variant",
            order=present,
            whis=(1, 99),
            fliersize=2,
            color="#9ecae1",
            ax=ax,
            log_scale=True,
        )
    sns.stripplot(
        data=data,
        x="latency (ms)",
        y="variant",
        order=present,
        size=2,
        color="#08519c",
        alpha=0.5,
        jitter=0.2,
        ax=ax,
    )
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_title(title, fontsize=11)
    n_rounds = data.groupby("variant")["latency_s"].size()
    caption = (
        f"Raw per-round batch-1 latency samples (pytest-benchmark stats.data) on {device}, "
        f"{dataset} input shape; boxes: quartiles, whiskers: 1st-99th percentile; "
        f"{int(n_rounds.min())}–{int(n_rounds.max())} samples per model (small models are timed "
        "several times per round)."
        if math.isfinite(n_rounds.min())
        else ""
    )
    return _save(fig, out_dir, "latency_distribution", title, caption)
