"""`python -m bench history report --out DIR`: the store's runs as the trend page's data.

Reads every run of the store (optionally of one branch), groups comparable runs (machine and
settings, `bench.history.store`), builds each group's series and steps (`bench.history.series`)
and hands plain tables to `reports.trend`, which draws and writes the page. Nothing here plots or
rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bench.gates.policy import Policy
from bench.history.series import Point, Series, build_series
from bench.history.store import Entry, Store, StoreError, group_heading

# For the page: how a step is found, in one paragraph (bench.history.series says it in full).
RULE = (
    "A step at a commit: its run differs from the run just before it and from a majority of the "
    "last 3 runs of earlier commits, in the same direction, and the next commit's run does not "
    "come back (a lone outlier is not a step). Differs means the gate's rule: latency needs the "
    "ratio of minima beyond the threshold, its exact 99 % interval off 1, the one-sided "
    "Mann-Whitney p and the absolute floor; parameters, MACs and FLOPs any change; memory its "
    "tolerance; accuracy its tolerance and the report's test. Latency is the minimum of the "
    "samples divided by the minimum of the reference workload timed in the same rounds; its bar "
    "spans the minimum to the k-th smallest sample the gate's interval reads, so two runs whose "
    "bars do not overlap differ by that interval. Accuracy bars: 95 % over seeds (at least "
    "Wilson's on the test images)."
)


def _previous(series: Series, index: int) -> Point | None:
    """The last run with a value of an earlier commit than run `index`."""
    commit = series.points[index].entry.commit
    earlier = [p for p in series.points[:index] if p.value is not None and p.entry.commit != commit]
    return earlier[-1] if earlier else None


def _series_rows(series: Series, position: dict[Path, int]) -> list[dict[str, Any]]:
    step_at = dict(series.steps)
    return [
        {
            "model": series.model,
            "cost": series.cost.key,
            "label": series.label,
            "unit": series.unit,
            "better": series.cost.better,
            "position": position[p.entry.path],
            "value": p.value,
            "low": p.low,
            "high": p.high,
            "step": step_at.get(i, ""),
        }
        for i, p in enumerate(series.points)
    ]


def _steps(series: Series) -> list[dict[str, Any]]:
    out = []
    for index, direction in series.steps:
        point, before = series.points[index], _previous(series, index)
        out.append(
            {
                "model": series.model,
                "label": series.label,
                "unit": series.unit,
                "better": series.cost.better,
                "direction": direction,
                "commit": point.entry.commit,
                "previous": before.entry.commit if before else "",
                "before": before.value if before else None,
                "after": point.value,
            }
        )
    return out


def group_data(members: Sequence[Entry], series: Sequence[Series]) -> dict[str, Any]:
    """One group's runs, points (a DataFrame) and steps, for `reports.trend.write_page`."""
    position = {e.path: i for i, e in enumerate(members)}
    runs = [
        {"position": i, "commit": e.commit, "branch": e.branch, "run_time": e.run_time,
         "dirty": e.dirty, "file": e.path.name}
        for i, e in enumerate(members)
    ]  # fmt: skip
    rows = [row for s in series for row in _series_rows(s, position)]
    return {
        "heading": group_heading(members[0]),
        "runs": runs,
        "points": pd.DataFrame(rows),
        "steps": [step for s in series for step in _steps(s)],
    }


def trend_page(
    store: Store, out: Path, *, branch: str | None = None, policy: Policy | None = None
) -> Path:
    """Write the trend page of every group of the store; returns the HTML file.

    Raises:
        StoreError: no runs (on that branch), or a damaged stored run.
    """
    from reports.trend import write_page

    policy = policy or Policy()
    entries, _ = store.entries()
    if branch:
        entries = [e for e in entries if e.branch == branch]
    if not entries:
        where = f" on branch {branch}" if branch else ""
        raise StoreError(
            f"the store {store.root} holds no suite runs{where}; save runs with "
            "`python -m bench run --save` first."
        )
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    data = []
    for members in groups.values():
        series = build_series([(e, store.load(e)) for e in members], policy)
        data.append(group_data(members, series))
    return write_page(data, out, rule=RULE + " " + settings_text(policy), source=str(store.root))


def settings_text(policy: Policy) -> str:
    """The policy the steps were found under, as the page states it."""
    overrides = ", ".join(f"{k} {v:g}" for k, v in sorted(policy.thresholds.items()))
    return (
        f"Settings: latency threshold {policy.threshold:g}"
        + (f" (overrides: {overrides})" if overrides else "")
        + f", alpha {policy.alpha:g}, accuracy tolerance {policy.accuracy_tolerance:g}, "
        f"memory tolerance {policy.memory_tolerance:g}."
    )
