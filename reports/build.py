"""`build_report`: suite JSON files in, a report directory out (the one entry point).

The directory holds `report.html` (self-contained), `report.md` (the same content),
`variants.csv`, `runs.csv`, `frontiers.csv` (SI units, unrounded) and `plots/*.png|svg`.
Steps: `reports.data` loads and aggregates, `reports.pareto` analyses, `reports.verdict` answers,
`reports.plots` draws, `reports.render` writes. `build` does the same and also hands back the
table, the analysis and the verdict (for the terminal summary, `reports.terminal`), reporting
each step to an optional `progress`. `tests/test_reports.py` builds a report from hand-made
files and checks every artefact; `tests/test_report_browser.py` opens the page in headless
Chromium.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from reports import plots, render
from reports.data import Suite, aggregate, load_suite
from reports.deployments import DeploymentReport, analyse_deployments
from reports.noise import judges
from reports.pareto import Analysis, analyse
from reports.verdict import Verdict, dataset_name, make_verdict

STEPS = ("read", "analyse", "plots", "pages")  # what `build` reports to its `progress`


class Steps(Protocol):
    """Told of each step as it starts and ends (`bench.suite.presentation.progress.Phase`
    is one)."""

    def start(self, item: str, detail: str = "") -> None:
        """`item` starts."""

    def done(self, item: str) -> None:
        """`item` is finished."""


class _NoSteps:
    def start(self, item: str, detail: str = "") -> None:
        """Nothing to report."""

    def done(self, item: str) -> None:
        """Nothing to report."""


@dataclass(frozen=True)
class Built:
    """A built report and what it was made from.

    Attributes:
        html: the path of `report.html`.
        suite: the files' content.
        table: one row per model (`reports.data.aggregate`).
        analysis: the frontier per axis.
        verdict: the answer.
    """

    html: Path
    suite: Suite
    table: pd.DataFrame
    analysis: Analysis
    verdict: Verdict


def _remove_stale_plots(plot_dir: Path) -> None:
    """Delete plots an earlier build left (an axis measured then may be absent now)."""
    if not plot_dir.is_dir():
        return
    for pattern in ("pareto_*", "time_to_accuracy.*", "latency_distribution.*"):
        for path in [*plot_dir.glob(pattern), *plot_dir.glob(f"deployments/{pattern}")]:
            if path.suffix in {".png", ".svg"}:
                path.unlink()


def _plots(
    suite: Suite,
    table: pd.DataFrame,
    analysis: Analysis,
    deployed: DeploymentReport | None,
    plot_dir: Path,
) -> dict[str, Any]:
    """Every figure of the report, saved under `plot_dir`, as `render.Content` fields."""
    _remove_stale_plots(plot_dir)
    device, dataset = suite.device, dataset_name(suite.dataset) + suite.images
    axis_plots = {
        result.axis.slug: plots.pareto_plot(
            result, table, device=device, dataset=dataset, out_dir=plot_dir
        )
        for result in analysis.measured_axes
    }
    deployment_plots = {}
    if deployed is not None:
        deployment_plots = {
            result.axis.slug: plots.pareto_plot(
                result, deployed.points, device=device, dataset=dataset,
                out_dir=plot_dir / "deployments",
            )
            for result in deployed.analysis.measured_axes
        }  # fmt: skip
    order = list(table["variant"])
    return {
        "axis_plots": axis_plots,
        "deployment_plots": deployment_plots,
        "time_to_accuracy": plots.time_to_accuracy_plot(
            suite.history, device=device, dataset=dataset, out_dir=plot_dir
        ),
        "latency": plots.latency_plot(
            suite.latency, order, device=device, dataset=dataset, out_dir=plot_dir
        ),
    }


def build_report(
    paths: Sequence[str | Path], out_dir: str | Path, *, allow_mixed: bool = False
) -> Path:
    """Build the report for `paths` into `out_dir` (created if needed); `build` says more.

    Returns:
        The path of `report.html`.
    """
    return build(paths, out_dir, allow_mixed=allow_mixed).html


def build(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    allow_mixed: bool = False,
    progress: Steps | None = None,
) -> Built:
    """Build the report for `paths` into `out_dir` (created if needed).

    Args:
        paths: one or more suite JSON files (several: seeds or repeated runs of one device).
        out_dir: the report directory; existing files of the same names are replaced.
        allow_mixed: pool files that differ in a setting (profile, test-set size, accuracy
            source, precision, XLA, device, threads, throughput batch), labelling every pooled
            figure; without it such files are refused.
        progress: told of each of `STEPS` as it starts and ends.

    Returns:
        The report's path, table, analysis and verdict.

    Raises:
        bench.contract.ContractError: a file is not a suite JSON.
        reports.data.ReportInputError: the files cannot make one report (no variants, mixed
            devices or datasets, malformed figures).
    """
    out_dir, steps = Path(out_dir), progress or _NoSteps()
    steps.start("read")
    suite = load_suite(paths, allow_mixed=allow_mixed)
    table = aggregate(suite)
    steps.done("read")
    steps.start("analyse")
    analysis = analyse(table, judges=judges(table, suite.samples, suite.labels))
    verdict = make_verdict(
        table, analysis, device=suite.device, dataset=suite.dataset, labels=suite.labels
    )
    deployed = analyse_deployments(
        suite.deployments, suite.samples, suite.labels, device=suite.device, dataset=suite.dataset
    )
    steps.done("analyse")
    steps.start("plots")
    content = render.Content(
        suite=suite,
        table=table,
        analysis=analysis,
        verdict=verdict,
        deployments=deployed,
        **_plots(suite, table, analysis, deployed, out_dir / "plots"),
    )
    steps.done("plots")
    steps.start("pages")
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    html_path.write_text(render.render_html(content, out_dir), encoding="utf-8")
    (out_dir / "report.md").write_text(render.render_markdown(content, out_dir), encoding="utf-8")
    render.write_csv(content, out_dir)
    steps.done("pages")
    return Built(html_path, suite, table, analysis, verdict)
