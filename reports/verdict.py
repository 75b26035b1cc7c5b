"""The computed answer to the report's closing question, in a few sentences at the top of the page.

The course report asks whether its winner (v10) is also the best in computational efficiency,
having grown the parameters almost 5x over v09 for 0.9 % more accuracy. `make_verdict` answers it
from the data and nothing else: which variant is most accurate and whether the next one can be
told apart from it (`reports.stats.compare`); whether the winner is on each cost's Pareto frontier
or who dominates it; what it costs over the next most accurate variant on every axis against its
accuracy gain, per doubling; which variant gives the most accuracy per unit of each cost; and how
the published reference points compare. The final "yes / partly / no" is whether the winner also
gives the most accuracy per unit of every measured cost.

Change the data and the words change: `tests/test_reports.py` makes v10 cheaper, more or less
accurate, removes figures, and checks the sentences and the structured fields each time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from reports import units
from reports.data import ACCURACY_SOURCE_PHRASES
from reports.pareto import Analysis, AxisResult
from reports.stats import AccuracyEstimate, Comparison, compare, estimate

DATASET_NAMES = {
    "cifar10": "CIFAR-10",
    "fashion_mnist": "Fashion-MNIST",
    "synthetic": "synthetic data",
}

Answer = Literal["yes", "partly", "no", "n/a"]


@dataclass(frozen=True)
class AxisCost:
    """What the winner costs over the runner-up on one axis."""

    axis_key: str
    short: str
    ratio: float
    gain_per_doubling: float


@dataclass(frozen=True)
class Verdict:
    """The verdict's facts and its sentences.

    Attributes:
        winner: the most accurate variant (None when no variant has an accuracy).
        runner_up: the next most accurate variant (None with fewer than two).
        comparison: winner against runner-up.
        frontier_axes: keys of the axes where the winner is on the frontier.
        dominated_on: axis key -> the variants that dominate the winner there.
        costs_over_runner_up: one entry per axis where both have a figure.
        best_per_unit: axis key -> the variants with the most accuracy per unit of that cost.
        answer: "yes" (the winner is also the most efficient on every measured cost), "partly",
            "no", or "n/a" (nothing to compare).
        sentences: the paragraph, one sentence per item.
    """

    winner: str | None
    runner_up: str | None
    comparison: Comparison | None
    frontier_axes: tuple[str, ...] = ()
    dominated_on: dict[str, tuple[str, ...]] = field(default_factory=dict)
    costs_over_runner_up: tuple[AxisCost, ...] = ()
    best_per_unit: dict[str, tuple[str, ...]] = field(default_factory=dict)
    answer: Answer = "n/a"
    sentences: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The paragraph."""
        return " ".join(self.sentences)


def dataset_name(dataset: str | None) -> str:
    """Human name of a dataset id ("cifar10" -> "CIFAR-10")."""
    return DATASET_NAMES.get(dataset or "", dataset or "an unknown dataset")


def _list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _estimate(row: pd.Series) -> AccuracyEstimate:
    n = row.get("test_examples")
    n = int(n) if n is not None and not (isinstance(n, float) and math.isnan(n)) else None
    runs = row.get("accuracy_runs")
    values = list(runs) if isinstance(runs, tuple) and runs else [row["accuracy"]]
    return estimate(values, n)


def _evidence(row: pd.Series, comparison: Comparison) -> str:
    runs = row.get("accuracy_runs")
    if comparison.method.startswith("Welch") and isinstance(runs, tuple):
        return f"{len(runs)} seeds"
    n = row.get("test_examples")
    return f"{int(n):,} test images" if n is not None and not math.isnan(n) else "this test set"


def short_citation(text: object) -> str:
    """The author-year part of a citation ("He et al. 2016, Deep ..." -> "He et al. 2016")."""
    return str(text).split(",")[0].split(";")[0].strip() if isinstance(text, str) and text else ""


def _interval(row: pd.Series) -> str:
    low, high = row.get("accuracy_low"), row.get("accuracy_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "no interval: test-set size unknown"
    return f"95 % CI {units.percent(low)}–{units.percent(high)}"


def _axes_sentence(winner: str, axes: tuple[AxisResult, ...]) -> tuple[str, dict, tuple]:
    on, dominated, absent = [], {}, []
    for result in axes:
        point = result.point(winner)
        if point is None:
            absent.append(result.axis.short)
        elif point["on_frontier"]:
            on.append(result.axis.key)
        else:
            dominated[result.axis.key] = tuple(point["dominated_by"])
    short = {r.axis.key: r.axis.short for r in axes}
    if not dominated and on:
        text = (
            f"{winner} is on the Pareto frontier of every cost measured for it "
            f"({_list([short[k] for k in on])}): no variant is both cheaper and at least as "
            "accurate."
        )
    elif not on and not dominated:
        text = f"{winner} has no cost figure on any axis, so it is on no frontier."
    else:
        parts = [f"by {_list(list(ids))} on {short[k]}" for k, ids in dominated.items()]
        text = f"{winner} is dominated {'; '.join(parts)}"
        text += f", and on the frontier of {_list([short[k] for k in on])}." if on else "."
    if absent:
        text += f" It has no figure for {_list(absent)}."
    return text, dominated, tuple(on)


def make_verdict(table: pd.DataFrame, analysis: Analysis, *, device: str, dataset: str) -> Verdict:
    """Answer "is the most accurate variant also the most efficient?" from the data.

    Args:
        table: `reports.data.aggregate`'s table (references included).
        analysis: `reports.pareto.analyse(table)`.
        device: where the costs were measured (machine_info.device).
        dataset: the run's dataset id.
    """
    variants = table[(table["kind"] != "reference") & table["accuracy"].notna()]
    variants = variants.sort_values("accuracy", ascending=False, kind="stable")
    axes = analysis.measured_axes
    if variants.empty:
        why = "; ".join(f"{v}: {r}" for v, r in analysis.no_accuracy.items())
        return Verdict(
            None,
            None,
            None,
            sentences=(
                "No variant in these files has a test accuracy"
                + (f" ({why})" if why else "")
                + ", so accuracy cannot be weighed against cost.",
            ),
        )
    best = variants.iloc[0]
    winner = str(best["variant"])
    source = ACCURACY_SOURCE_PHRASES.get(best["accuracy_source"], "of unknown source")
    sentences = []
    if len(variants) == 1:
        sentences.append(
            f"{winner} is the only variant with an accuracy ({units.percent(best['accuracy'])}, "
            f"{source}), so it is on every frontier by default and there is nothing to weigh it "
            "against."
        )
        if analysis.no_accuracy:
            sentences.append(
                f"Without an accuracy: {_list(sorted(analysis.no_accuracy))} (see the notes)."
            )
        return Verdict(winner, None, None, sentences=tuple(sentences))

    second = variants.iloc[1]
    runner = str(second["variant"])
    comparison = compare(_estimate(best), _estimate(second))
    tie = best["accuracy"] == second["accuracy"]
    lead = (
        f"{winner} and {runner} share the highest accuracy, {units.percent(best['accuracy'])}"
        if tie
        else f"{winner} is the most accurate variant at {units.percent(best['accuracy'])}"
    )
    sentence = f"{lead} ({_interval(best)}, {source})"
    if not tie:
        sentence += f"; the next is {runner} at {units.percent(second['accuracy'])}"
        if comparison.p_value is None:
            sentence += ", and with no test-set size the two cannot be compared"
        elif comparison.distinguishable:
            sentence += (
                f", a {units.points(comparison.difference)} difference that "
                f"{_evidence(best, comparison)} can resolve ({comparison.method}, "
                f"{units.p_value(comparison.p_value)})"
            )
        else:
            sentence += (
                f", and {_evidence(best, comparison)} cannot tell the two apart "
                f"({comparison.method}, {units.p_value(comparison.p_value)})"
            )
    sentences.append(sentence + ".")

    frontier_text, dominated, on = _axes_sentence(winner, axes)
    sentences.append(frontier_text)

    costs: list[AxisCost] = []
    for result in axes:
        a, b = result.point(winner), result.point(runner)
        if a is None or b is None:
            continue
        gpd = (
            math.nan
            if a["cost"] == b["cost"]
            else ((a["accuracy"] - b["accuracy"]) / math.log2(a["cost"] / b["cost"]))
        )
        costs.append(AxisCost(result.axis.key, result.axis.short, a["cost"] / b["cost"], gpd))
    if costs:
        parts = [f"{units.ratio(c.ratio)} the {c.short}" for c in costs]
        gain = units.points(best["accuracy"] - second["accuracy"])
        text = f"Over {runner}, {winner} costs {_list(parts)}, for {gain}"
        first = costs[0]
        if first.ratio > 1 and not math.isnan(first.gain_per_doubling):
            text += f": {units.points(first.gain_per_doubling)} per doubling of {first.short}"
        sentences.append(text + ".")

    best_unit: dict[str, tuple[str, ...]] = {}
    for result in axes:
        ids = tuple(result.points.loc[result.points["best_per_unit"], "variant"])
        best_unit[result.axis.key] = ids
    if best_unit:
        by_ids: dict[tuple[str, ...], list[str]] = {}
        short = {r.axis.key: r.axis.short for r in axes}
        for key, ids in best_unit.items():
            by_ids.setdefault(ids, []).append(short[key])
        if len(by_ids) == 1:
            (ids,) = by_ids
            sentences.append(
                f"The most accuracy per unit of cost comes from {_list(list(ids))} "
                f"on every axis ({_list(by_ids[ids])})."
            )
        else:
            parts = [f"{_list(list(ids))} for {_list(names)}" for ids, names in by_ids.items()]
            sentences.append(f"The most accuracy per unit of cost comes from {'; '.join(parts)}.")

    won = [k for k, ids in best_unit.items() if winner in ids]
    lost = [k for k, ids in best_unit.items() if winner not in ids]
    short = {r.axis.key: r.axis.short for r in axes}
    if best_unit and not lost:
        answer: Answer = "yes"
        sentences.append(
            f"So yes: {winner} is both the most accurate variant and the most efficient per unit "
            "of every measured cost."
        )
    elif won:
        answer = "partly"
        sentences.append(
            f"So partly: {winner} gives the most accuracy per unit of "
            f"{_list([short[k] for k in won])}, but not of {_list([short[k] for k in lost])}."
        )
    else:
        answer = "no"
        text = f"So no: {winner} is the most accurate but not the most efficient on any cost"
        steps = next((r.steps for r in axes if r.steps), ())
        into = next((s for s in steps if s.to_id == winner), None)
        if into is not None and steps[0] != into:
            axis_short = next(r.axis.short for r in axes if r.steps)
            text += (
                f"; on the {axis_short} frontier its last step ({into.from_id} → {winner}) buys "
                f"{units.points(into.gain_per_doubling)} per doubling, against "
                f"{units.points(steps[0].gain_per_doubling)} for the first "
                f"({steps[0].from_id} → {steps[0].to_id})"
            )
        sentences.append(text + "." if best_unit else "So there is no cost to judge it on.")
        if not best_unit:
            answer = "n/a"

    sentences.extend(_reference_sentences(table, axes, winner, best))
    if analysis.no_accuracy:
        sentences.append(
            f"Left out of every axis for want of an accuracy: "
            f"{_list(sorted(analysis.no_accuracy))} (see the notes)."
        )
    sources = sorted(set(variants["accuracy_source"].dropna()))
    sentences.append(
        f"Costs were measured on {device}; the accuracies ({dataset_name(dataset)}) are "
        f"{_list([ACCURACY_SOURCE_PHRASES.get(s, s) for s in sources])}."
    )
    return Verdict(
        winner,
        runner,
        comparison,
        frontier_axes=on,
        dominated_on=dominated,
        costs_over_runner_up=tuple(costs),
        best_per_unit=best_unit,
        answer=answer,
        sentences=tuple(sentences),
    )


def _reference_sentences(
    table: pd.DataFrame, axes: tuple[AxisResult, ...], winner: str, best: pd.Series
) -> list[str]:
    """One sentence placing the reference points that share an axis with the winner."""
    clauses, origins = [], []
    refs = table[(table["kind"] == "reference") & table["accuracy"].notna()]
    for _, ref in refs.iterrows():
        shared = [
            r
            for r in axes
            if r.point(winner) is not None and ref["variant"] in set(r.references["variant"])
        ]
        if not shared:
            continue
        first = shared[0]
        ref_cost = float(first.references.set_index("variant").loc[ref["variant"], "cost"])
        win_cost = first.point(winner)["cost"]
        size = (
            f"{units.ratio(win_cost / ref_cost)} fewer {first.axis.short}"
            if ref_cost < win_cost
            else f"{units.ratio(ref_cost / win_cost)} more {first.axis.short}"
        )
        versus = compare(_estimate(ref), _estimate(best))
        delta = units.points(versus.difference)
        noise = "" if versus.distinguishable or versus.p_value is None else ", within noise"
        clause = (
            f"{ref['variant']} reaches {units.percent(ref['accuracy'])} "
            f"({delta} against {winner}{noise}) with {size}"
        )
        dominating = [
            r.axis.short
            for r in shared
            if winner in r.references.set_index("variant").loc[ref["variant"], "dominates"]
        ]
        if dominating:
            clause += f" and would dominate {winner} on {_list(dominating)}"
        clauses.append(clause)
        cited = short_citation(ref.get("accuracy_citation"))
        costs = (
            "published costs" if ref.get("cost_source") == "published" else "costs measured here"
        )
        origins.append(f"{ref['accuracy_source']} accuracy{', ' + cited if cited else ''}; {costs}")
    if not clauses:
        return []
    if len(set(origins)) == 1:
        return [f"For context ({origins[0]}): {'; '.join(clauses)}."]
    return [
        "For context: "
        + "; ".join(f"{c} ({o})" for c, o in zip(clauses, origins, strict=True))
        + "."
    ]


def compare_variants(table: pd.DataFrame, a: str, b: str) -> Comparison:
    """Whether variants `a` and `b` (rows of the aggregated table) differ in accuracy."""
    rows = table.set_index("variant")
    return compare(_estimate(rows.loc[a]), _estimate(rows.loc[b]))


def accuracy_comparisons(table: pd.DataFrame) -> pd.DataFrame:
    """Every variant against the next less accurate one (references included).

    Returns:
        Columns `higher`, `lower`, `difference` (fraction), `p_value`, `method`,
        `distinguishable`, most accurate pair first.
    """
    ranked = table[table["accuracy"].notna()].sort_values(
        "accuracy", ascending=False, kind="stable"
    )
    rows = []
    for (_, hi), (_, lo) in zip(ranked.iterrows(), list(ranked.iterrows())[1:], strict=False):
        c = compare(_estimate(hi), _estimate(lo))
        rows.append(
            {
                "higher": hi["variant"],
                "lower": lo["variant"],
                "difference": c.difference,
                "p_value": c.p_value,
                "method": c.method,
                "distinguishable": c.distinguishable,
            }
        )
    columns = ["higher", "lower", "difference", "p_value", "method", "distinguishable"]
    return pd.DataFrame(rows, columns=columns)
