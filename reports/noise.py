"""The report's evidence for `bench.compare`: every pairwise decision of a report is made there.

This module only gathers, for two models of one report, the evidence the decision core reads,
and asks it; it decides nothing itself:

* a counted cost (parameters, MACs, FLOPs): `Counted`;
* a cost measured apart (memory, training time, file size, energy): `Apart`;
* a timed cost (median latency, time per image, training step, and the tails p90/p99): the raw
  per-round samples, keyed by (file, interleaved session, round), as `Rounds`; rounds shared by
  the two models are paired. A model called several times in a round keeps all its samples
  there: the centre takes their median, a tail uses them all. Where the two models share fewer
  than three rounds (timed in different files, or a file written before interleaving), the
  point figures are compared as measured apart, against the same margin, and the test says so;
* an accuracy: the runs' accuracies (one per seed) on `test_examples` images as `Seeds`, with
  each run's per-image correctness where the files carry predictions (McNemar's test needs it).

Decisions are cached per unordered pair, so an axis of n models costs n(n-1)/2 tests.
`tests/test_noise.py` checks the evidence gathered from hand-made samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bench import compare as core
from bench import metrics
from bench.compare import Apart, Counted, Decision, Rounds, Seeds
from bench.metrics import Metric
from reports.pareto import Judges

MIN_SHARED_ROUNDS = core.MIN_ROUNDS


class Evidence:
    """Gathers and caches the evidence of one report's models.

    Args:
        table: `reports.data.aggregate`'s table (accuracies per model).
        samples: `reports.data.Suite.samples` (raw per-round samples with their sessions).
        labels: the test sets' labels by checksum (`reports.data.Suite.labels`).
    """

    def __init__(
        self, table: pd.DataFrame, samples: pd.DataFrame, labels: dict[str, Any] | None = None
    ) -> None:
        self._rows = table.drop_duplicates("variant").set_index("variant")
        self._samples = samples.assign(seconds=samples["seconds"] / samples["batch_size"])
        self._labels = labels or {}
        self._rounds: dict[tuple[str, str], Rounds] = {}
        self._decisions: dict[tuple[tuple, tuple], Decision] = {}

    def rounds(self, scenario: str, variant: str) -> Rounds:
        """One model's per-image samples of `scenario`, by (file, session, round)."""
        if (scenario, variant) not in self._rounds:
            rows = self._samples[self._samples["scenario"] == scenario]
            for vid, mine in rows.groupby("variant"):
                grouped = mine.groupby(["run", "session", "round"], sort=True)["seconds"]
                self._rounds[(scenario, str(vid))] = Rounds({k: tuple(v) for k, v in grouped})
            self._rounds.setdefault((scenario, variant), Rounds({}))
        return self._rounds[(scenario, variant)]

    def cost(self, metric: Metric, a: str, cost_a: float, b: str, cost_b: float) -> Decision:
        """a against b on a cost axis; BETTER means a is cheaper as far as the data show."""
        return self._cached(
            (metric.key, a, cost_a), (metric.key, b, cost_b),
            lambda: self._cost(metric, a, cost_a, b, cost_b),
        )  # fmt: skip

    def _cost(self, metric: Metric, a: str, cost_a: float, b: str, cost_b: float) -> Decision:
        if metric.noise == "exact":
            return core.compare(Counted(cost_a), Counted(cost_b), metric)
        scenario = metrics.sample_scenario(metric)
        if metric.noise == "paired" and scenario:
            ra, rb = self.rounds(scenario, a), self.rounds(scenario, b)
            if len(set(ra.by_round) & set(rb.by_round)) >= MIN_SHARED_ROUNDS:
                return core.compare(ra, rb, metric)
        decision = core.compare(Apart(cost_a), Apart(cost_b), metric)
        if metric.noise == "paired":
            test = f"no shared rounds to pair, so {decision.test}"
            decision = Decision(**{**decision.__dict__, "test": test})
        return decision

    def accuracy(self, a: str, b: str) -> Decision:
        """a against b on accuracy; BETTER means a is more accurate as far as the data show."""
        return self._cached(("accuracy", a), ("accuracy", b), lambda: self._accuracy(a, b))

    def _accuracy(self, a: str, b: str) -> Decision:
        return core.compare(self.seeds(a), self.seeds(b), metrics.get("accuracy"))

    def seeds(self, variant: str) -> Seeds:
        """One model's accuracy evidence from its table row."""
        row = self._rows.loc[variant]
        runs = row.get("accuracy_runs")
        values = tuple(runs) if isinstance(runs, tuple) and runs else (float(row["accuracy"]),)
        n = row.get("test_examples")
        n_test = None if n is None or (isinstance(n, float) and math.isnan(n)) else int(n)
        return Seeds(values, n_test, self._correct(row, len(values)))

    def _correct(self, row: pd.Series, runs: int) -> tuple[tuple[str, Any], ...]:
        predictions = row.get("accuracy_predictions")
        if runs != 1 or not isinstance(predictions, tuple) or len(predictions) != 1:
            return ()
        sha, encoded = predictions[0]
        labels = self._labels.get(sha)
        if labels is None:
            return ()
        from bench.contract import decode_classes

        right = np.asarray(decode_classes(encoded)) == np.asarray(decode_classes(labels))
        return ((sha, right),)

    def _cached(self, a: tuple, b: tuple, make: Any) -> Decision:
        """One decision per unordered pair: the reverse is its mirror image."""
        if (b, a) in self._decisions:
            return self._decisions[(b, a)].mirrored()
        if (a, b) not in self._decisions:
            self._decisions[(a, b)] = make()
        return self._decisions[(a, b)]


def judges(
    table: pd.DataFrame, samples: pd.DataFrame, labels: dict[str, Any] | None = None
) -> Judges:
    """How two models of `table` compare: every decision from `bench.compare`.

    Args:
        table: `reports.data.aggregate`'s table (accuracy estimates per model).
        samples: `reports.data.Suite.samples`.
        labels: the test sets' labels by checksum (`reports.data.Suite.labels`), for McNemar.
    """
    evidence = Evidence(table, samples, labels)
    return Judges(evidence.cost, evidence.accuracy)
