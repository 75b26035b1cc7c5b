"""The computed answer to the report's closing question: is the most accurate model also the most
efficient?

The course report grows its winner (v10) to almost 5x the parameters of v09 for 0.9 % more
accuracy and asks whether it is also the best in computational efficiency. "Most efficient" is
defined here on the Pareto frontier and on marginal returns, never on accuracy / cost (that ratio
always crowns the smallest model: accuracies span 0.72-0.92 while costs span 230x, so a
one-parameter model at chance would win it). On one cost axis, the winner W is **efficient**
when all of these hold:

1. W is on the frontier: no model is better or equivalent on both cost and accuracy and better
   on one (`reports.pareto`, every decision from `bench.compare`). A cheaper model whose
   accuracy cannot be told from W's does not dominate it; W's step from it is then unresolved
   and the axis is unclear until more seeds settle it.
2. W's last step pays: from its cheaper frontier neighbour P, W buys an accuracy per doubling of
   cost that is not resolvably below the frontier's average return before it, from its cheapest
   point F0 to P: g_before = (acc P - acc F0) / log2(cost P / cost F0). A one-sided z-test on
   g_before - g_last, with the accuracies' variances (`reports.stats.variance`) treated as
   independent, at 5 %; cost ratios are taken as exact (their noise is small beside the
   accuracies'). With no step before P there is nothing to compare with, and W is efficient.

Otherwise W is not efficient on that axis (dominated, or past the point of diminishing
returns), and the verdict names by whom or by how much. The answer is **yes** when W is
efficient on every axis that could be judged, **no** when on none, **partly** otherwise, and
**cannot be told** when no axis could be judged (no accuracy, no test-set size). When no test
puts one of the top models' accuracies above another's (equivalent or undetermined), they are
**co-winners**: each is judged, the answer combines all their judgements and the headline names
each one's. Nothing depends on the order of the models in the files. The verdict opens with
the answer in one line, then its reasons as a short list.

`tests/test_verdict.py` builds data where the answer must be yes (the winner costs 1.2x the
runner-up for +0.9 pp on every axis), no (the report's own figures) and partly, and checks the
sentences and the structured fields.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from scipy import stats as scipy_stats

from bench import units
from bench.compare import Decision, Outcome, holm
from reports.data import ACCURACY_SOURCE_PHRASES, SAMPLE_COLUMNS
from reports.noise import Evidence
from reports.pareto import Analysis, AxisResult, Judges, Step
from reports.stats import estimate_row, variance

DATASET_NAMES = {
    "cifar10": "CIFAR-10",
    "fashion_mnist": "Fashion-MNIST",
    "synthetic": "synthetic data",
}
ALPHA_RETURNS = 0.05  # one-sided: is the last step's return below the earlier average?

Answer = Literal["yes", "partly", "no", "cannot be told"]
AxisAnswer = Literal["yes", "no", "unclear"]


@dataclass(frozen=True)
class AxisJudgement:
    """Whether the winner is efficient on one cost axis, and why.

    Attributes:
        axis_key: the metric's key.
        short: its short label.
        answer: "yes", "no", or "unclear" (no figure, or no test possible).
        reason: one sentence.
        last_step: the frontier step into the winner, if any.
        gain_before: the frontier's average gain per doubling before that step, if any.
        p_value: the one-sided test of diminishing returns, if run.
    """

    axis_key: str
    short: str
    answer: AxisAnswer
    reason: str
    last_step: Step | None = None
    gain_before: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class Verdict:
    """The verdict's facts and its words.

    Attributes:
        winner: the most accurate model by its figure, ties broken by id (None when none has
            an accuracy).
        runner_up: the next most accurate model (None with fewer than two).
        comparison: winner against runner-up (`bench.compare`).
        answer: "yes", "partly", "no" or "cannot be told".
        headline: the answer in one line a reader can act on.
        reasons: the reasons, one short sentence each.
        axes: the per-axis judgements of the winner.
        co_winners: every model no other model is better than in accuracy (equivalent to the
            winner, or not to be told apart from it), the winner first; one model when the
            winner stands alone.
        co_axes: the per-axis judgements of each co-winner.
    """

    winner: str | None
    runner_up: str | None
    comparison: Decision | None
    answer: Answer
    headline: str
    reasons: tuple[str, ...] = ()
    axes: tuple[AxisJudgement, ...] = ()
    co_winners: tuple[str, ...] = ()
    co_axes: dict[str, tuple[AxisJudgement, ...]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Headline and reasons as one paragraph."""
        return " ".join((self.headline, *self.reasons))

    def axis(self, key: str) -> AxisJudgement | None:
        return next((a for a in self.axes if a.axis_key == key), None)


DEFINITION = (
    "On one cost axis the most accurate model is efficient when it is on the Pareto frontier "
    "(no model is better or equivalent on both cost and accuracy and better on one; a pair the "
    "data cannot tell apart is not equal) and its last step on the frontier buys an accuracy "
    "per doubling of cost that is not resolvably below the frontier's average return before it "
    "(one-sided test at 5 %). The answer is yes when that holds on every cost that could be "
    "judged, no when on none, partly otherwise. Models whose accuracies no test puts one above "
    "the other are co-winners, each judged. Accuracy per unit of cost is not used: it always "
    "favours the smallest model."
)


def dataset_name(dataset: str | None) -> str:
    """Human name of a dataset id ("cifar10" -> "CIFAR-10")."""
    return DATASET_NAMES.get(dataset or "", dataset or "an unknown dataset")


def short_citation(text: object) -> str:
    """The author-year part of a citation ("He et al. 2016, Deep ..." -> "He et al. 2016")."""
    return str(text).split(",")[0].split(";")[0].strip() if isinstance(text, str) and text else ""


def _list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ------------------------------------------------------------------------------- one axis


def _returns_test(
    table: pd.DataFrame, result: AxisResult, step: Step
) -> tuple[float | None, float | None]:
    """(gain before the last step, one-sided p of "the last step's return is lower").

    The gain before runs from the first frontier step's cheaper end F0 to the last step's
    cheaper end P. Steps only join costs decided different, so F0 and P are never in one group;
    with no step before the last one, or a cost ratio that is not above 1, there is nothing to
    compare with (None).
    """
    index = result.steps.index(step)
    if index == 0:
        return None, None
    first, before = result.steps[0].from_id, step.from_id
    rows = table.drop_duplicates("variant").set_index("variant")
    cost = result.points.set_index("variant")["cost"]
    if cost[before] <= cost[first] or step.cost_ratio <= 1:
        return None, None
    acc = {v: float(rows.loc[v, "accuracy"]) for v in (first, before, step.to_id)}
    d_before = math.log2(cost[before] / cost[first])
    d_last = math.log2(step.cost_ratio)
    gain_before = (acc[before] - acc[first]) / d_before
    variances = {v: variance(estimate_row(rows.loc[v])) for v in acc}
    if any(v is None for v in variances.values()):
        return gain_before, None
    # g_before - g_last as a sum of independent accuracies times coefficients
    coefficients = {
        first: -1 / d_before,
        before: 1 / d_before + 1 / d_last,
        step.to_id: -1 / d_last,
    }
    sd = math.sqrt(sum(c * c * variances[v] for v, c in coefficients.items()))
    if sd == 0:
        return gain_before, 0.0 if gain_before > step.gain_per_doubling else 1.0
    z = (gain_before - step.gain_per_doubling) / sd
    return gain_before, float(scipy_stats.norm.sf(z))


def _last_step(result: AxisResult, winner: str) -> Step | None:
    point = result.point(winner)
    group = {winner}
    if point:
        group |= {*point["cost_ties"], *point["cost_undetermined"]}
    return next((s for s in reversed(result.steps) if s.to_id in group), None)


def judge_axis(table: pd.DataFrame, result: AxisResult, winner: str) -> AxisJudgement:
    """Is `winner` efficient on this axis (module docstring: conditions 1 and 2)?"""
    axis = result.axis
    point = result.point(winner)
    if point is None:
        why = result.left_out.get(winner, "no figure")
        return AxisJudgement(axis.key, axis.short, "unclear", f"{axis.label}: no figure ({why}).")
    if not point["on_frontier"]:
        by = _list(list(point["dominated_by"]))
        return AxisJudgement(
            axis.key,
            axis.short,
            "no",
            f"{axis.label}: {winner} is dominated by {by} (no dearer and at least as accurate, "
            "one of the two shown better).",
        )
    step = _last_step(result, winner)
    if step is None:
        return AxisJudgement(
            axis.key, axis.short, "yes", f"{axis.label}: nothing cheaper is on the frontier."
        )
    head = (
        f"{axis.label}: {step.from_id} → {winner} costs {units.ratio(step.cost_ratio)} for "
        f"{units.points(step.accuracy_gain)}, {units.points(step.gain_per_doubling)} per doubling"
    )
    if step.accuracy != Outcome.BETTER:
        settle = point["settle"] or "more seeds"
        why = f"{head}; that gain cannot be told apart from none (unresolved: {settle})."
        return AxisJudgement(axis.key, axis.short, "unclear", why, step)
    gain_before, p = _returns_test(table, result, step)
    if gain_before is None:
        return AxisJudgement(axis.key, axis.short, "yes", f"{head}; no earlier step to compare.",
                             step)  # fmt: skip
    first = result.steps[0].from_id
    against = (
        f"against {units.points(gain_before)} per doubling before it ({first} → {step.from_id})"
    )
    if p is None:
        return AxisJudgement(axis.key, axis.short, "unclear", f"{head}, {against}; no test-set "
                             "size, so the two cannot be compared.", step, gain_before)  # fmt: skip
    if p < ALPHA_RETURNS:
        return AxisJudgement(axis.key, axis.short, "no", f"{head}, {against}: diminishing "
                             f"returns ({units.p_value(p)}).", step, gain_before, p)  # fmt: skip
    return AxisJudgement(axis.key, axis.short, "yes", f"{head}, {against}: not resolvably "
                         f"lower ({units.p_value(p)}).", step, gain_before, p)  # fmt: skip


# ------------------------------------------------------------------------------- the whole


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """The rows with an accuracy, most accurate first; equal figures in id order, so nothing
    depends on the order of the models in the files."""
    rows = table[table["accuracy"].notna()]
    return rows.assign(_neg=-rows["accuracy"]).sort_values(["_neg", "variant"]).drop(columns="_neg")


def accuracy_evidence(table: pd.DataFrame, labels: dict[str, Any] | None) -> Evidence:
    """The accuracy side of `reports.noise.Evidence` (no timing samples needed)."""
    return Evidence(table, pd.DataFrame(columns=SAMPLE_COLUMNS), labels)


def co_winners(models: pd.DataFrame, evidence: Evidence | Judges) -> list[str]:
    """Every model that no other model is better than in accuracy, most accurate first.

    "Better" implies a higher mean (Welch) or more images right (McNemar), so the most accurate
    model is always among them: the set is never empty."""
    ids = list(models["variant"])
    return [
        w for w in ids
        if not any(evidence.accuracy(o, w).outcome is Outcome.BETTER for o in ids if o != w)
    ]  # fmt: skip


def _accuracy_reason(best: pd.Series, second: pd.Series, comparison: Decision) -> str:
    source = ACCURACY_SOURCE_PHRASES.get(best["accuracy_source"], "of unknown source")
    text = (
        f"Accuracy: {best['variant']} {units.percent(best['accuracy'])} ({source}), next "
        f"{second['variant']} {units.percent(second['accuracy'])}: "
        f"{units.points(comparison.estimate)}"
    )
    if comparison.p_value is None:
        return f"{text}; {comparison.outcome.words} ({comparison.test})."
    return (
        f"{text}, {comparison.outcome.words} ({comparison.test}, "
        f"{units.p_value(comparison.p_value)})."
    )


def _answer(judged: list[AxisJudgement]) -> Answer:
    answers = {j.answer for j in judged} - {"unclear"}
    if not answers:
        return "cannot be told"
    if answers == {"yes"}:
        return "yes"
    return "no" if answers == {"no"} else "partly"


def _headline(answer: Answer, winner: str, best: pd.Series, judged: list[AxisJudgement]) -> str:
    acc = units.percent(best["accuracy"])
    yes = [j.short for j in judged if j.answer == "yes"]
    no = [j for j in judged if j.answer == "no"]
    if answer == "yes":
        return (
            f"Yes: {winner} is the most accurate ({acc}) and also efficient on every measured "
            f"cost ({_list(yes)}): each extra doubling of cost buys as much as before."
        )
    if answer == "cannot be told":
        return (
            f"Cannot be told: {winner} is the most accurate ({acc}), but no cost could be judged."
        )
    example = next((j for j in no if j.last_step is not None), no[0])
    why = (
        f"{units.points(example.last_step.gain_per_doubling)} per doubling of {example.short} "
        f"over {example.last_step.from_id}"
        + (f" against {units.points(example.gain_before)} before" if example.gain_before else "")
        if example.last_step is not None
        else f"it is dominated on {example.short}"
    )
    if answer == "no":
        return (
            f"No: {winner} is the most accurate ({acc}) but not the most efficient on any "
            f"measured cost ({why})."
        )
    return (
        f"Partly: {winner} is the most accurate ({acc}) and efficient on {_list(yes)}, but not "
        f"on {_list([j.short for j in no])} ({why})."
    )


def _co_headline(answer: Answer, winners: list[str], rows: pd.DataFrame,
                 judged: dict[str, list[AxisJudgement]]) -> str:  # fmt: skip
    """The answer when several models share the top: each one's own answer, named."""
    each = []
    for w in winners:
        own = _answer(judged[w])
        yes = [j.short for j in judged[w] if j.answer == "yes"]
        detail = {"yes": "efficient on every measured cost",
                  "no": "efficient on none",
                  "cannot be told": "no cost could be judged",
                  "partly": f"efficient on {_list(yes)} only"}[own]  # fmt: skip
        each.append(f"{w} ({units.percent(rows.loc[w, 'accuracy'])}): {detail}")
    lead = {"yes": "Yes", "no": "No", "partly": "Partly", "cannot be told": "Cannot be told"}
    return (
        f"{lead[answer]}: co-winners {_list(winners)}, whose accuracies no test puts one above "
        f"the other: {_list(each)}."
    )


def make_verdict(
    table: pd.DataFrame,
    analysis: Analysis,
    *,
    device: str,
    dataset: str,
    labels: dict[str, Any] | None = None,
) -> Verdict:
    """Answer "is the most accurate model also the most efficient?" from the data.

    Args:
        table: `reports.data.aggregate`'s table (references included).
        analysis: `reports.pareto.analyse(table, judges=...)`.
        device: where the costs were measured (machine_info.device).
        dataset: the run's dataset id.
        labels: the test sets' labels by checksum (McNemar's test needs them).
    """
    models = ranked(table[table["kind"] != "reference"])
    if models.empty:
        why = "; ".join(f"{v}: {r}" for v, r in analysis.no_accuracy.items())
        line = "Cannot be told: no model in these files has a test accuracy"
        return Verdict(None, None, None, "cannot be told", line + (f" ({why})." if why else "."))
    best = models.iloc[0]
    winner = str(best["variant"])
    if len(models) == 1:
        line = f"Cannot be told: {winner} is the only model with an accuracy, nothing to weigh."
        return Verdict(winner, None, None, "cannot be told", line, co_winners=(winner,))
    # The analysis' decisions when it has them (cached, the same ones), else the accuracies'.
    evidence = analysis.judges or accuracy_evidence(table, labels)
    second = models.iloc[1]
    comparison = evidence.accuracy(winner, str(second["variant"]))
    winners = co_winners(models, evidence)
    judged = {w: [judge_axis(table, r, w) for r in analysis.measured_axes] for w in winners}
    every = [j for w in winners for j in judged[w]]
    answer = _answer(every)
    rows = models.set_index("variant")
    headline = (
        _headline(answer, winner, best, judged[winner])
        if len(winners) == 1
        else _co_headline(answer, winners, rows, judged)
    )
    reasons = [_accuracy_reason(best, second, comparison)]
    for w in winners:
        prefix = f"{w}: " if len(winners) > 1 else ""
        reasons += [prefix + j.reason for j in judged[w]]
    reasons += _reference_sentences(table, analysis, winner, best, evidence)
    sources = sorted(set(models["accuracy_source"].dropna()))
    reasons.append(
        f"Costs were measured on {device}; the accuracies ({dataset_name(dataset)}) are "
        f"{_list([ACCURACY_SOURCE_PHRASES.get(s, s) for s in sources])}."
    )
    if analysis.no_accuracy:
        reasons.append(f"Left out for want of an accuracy: {_list(sorted(analysis.no_accuracy))}.")
    return Verdict(winner, str(second["variant"]), comparison, answer, headline, tuple(reasons),
                   tuple(judged[winner]), tuple(winners),
                   {w: tuple(j) for w, j in judged.items()})  # fmt: skip


def _reference_sentences(
    table: pd.DataFrame,
    analysis: Analysis,
    winner: str,
    best: pd.Series,
    evidence: Evidence | Judges,
) -> list[str]:
    """One sentence placing the published reference points beside the winner."""
    clauses = []
    refs = table[(table["kind"] == "reference") & table["accuracy"].notna()]
    for _, ref in refs.iterrows():
        shared = [
            r
            for r in analysis.measured_axes
            if r.point(winner) is not None and ref["variant"] in set(r.references["variant"])
        ]
        if not shared:
            continue
        versus = evidence.accuracy(str(ref["variant"]), winner)
        noise = "" if versus.differs else f", {versus.outcome.words}"
        dominating = [
            r.axis.short
            for r in shared
            if winner in r.references.set_index("variant").loc[ref["variant"], "dominates"]
        ]
        cited = short_citation(ref.get("accuracy_citation"))
        origin = f"{ref['accuracy_source']}, {cited}" if cited else ref["accuracy_source"]
        clause = (
            f"{ref['variant']} ({origin}) reaches {units.percent(ref['accuracy'])} "
            f"({units.points(versus.estimate)} against {winner}{noise})"
        )
        if dominating:
            clause += f" and would dominate it on {_list(dominating)}"
        clauses.append(clause)
    return [f"For context: {'; '.join(clauses)}."] if clauses else []


def accuracy_comparisons(table: pd.DataFrame, labels: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every model against the next less accurate one (references included).

    Returns:
        Columns `higher`, `lower`, `difference` (fraction), `low`, `high` (its interval),
        `p_value`, `p_holm` (Holm-adjusted over these pairs), `method`, `outcome` (of the
        higher against the lower: "better", "equivalent" or "undetermined") and `settle`,
        most accurate pair first.
    """
    ordered = ranked(table)
    evidence = accuracy_evidence(table, labels)
    rows = []
    ids = list(ordered["variant"])
    for hi, lo in itertools.pairwise(ids):
        d = evidence.accuracy(hi, lo)
        rows.append({"higher": hi, "lower": lo, "difference": d.estimate, "low": d.low,
                     "high": d.high, "p_value": d.p_value, "method": d.test,
                     "outcome": d.outcome.value, "settle": d.settle})  # fmt: skip
    columns = ["higher", "lower", "difference", "low", "high", "p_value", "p_holm", "method",
               "outcome", "settle"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=[c for c in columns if c != "p_holm"])
    p_values = [None if p is None or math.isnan(p) else p for p in frame["p_value"]]
    frame.insert(6, "p_holm", holm(p_values) if rows else [])
    return frame[columns]
