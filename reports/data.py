"""Suite JSON files -> pandas tables, in SI units, with provenance kept on every row.

Claims:

* Every file goes through `bench.contract.load`, so a file that is not a suite JSON is refused in
  one sentence (`ContractError`) before anything is read from it; figures of the wrong type or an
  accuracy outside [0, 1] (a percentage written as a fraction's place) are refused the same way
  (`ReportInputError`).
* `Suite.runs` has one row per variant per file, column names from docs/contract.md (SI units,
  unit in the name) plus `time_per_image_s` (1 / `throughput_images_per_s`, so that throughput
  is a cost to minimise like the others) and the provenance columns `run`, `file`, `device`,
  `tensorflow_version`, `keras_version`, `precision`, `xla`, `commit`, `datetime`. Nothing is
  rounded here.
* A report compares like with like: files from different devices or datasets are refused
  (build one report per device and dataset).
* `aggregate` makes one row per variant: costs are the median over runs; accuracy is the mean
  over measured seeds (a measured accuracy wins over a reported one for the same variant, with a
  note), with its 95 % interval from `reports.stats`. Published reference points that the files
  lack are added from `reports.references`.

This module never imports TensorFlow. `tests/test_reports.py` builds contract-valid files by hand
and checks the rows, the refusals and the aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench import contract, metrics
from reports.stats import estimate

TEXT_KEYS = (
    "variant",
    "kind",
    "description",
    "accuracy_source",
    "accuracy_citation",
    "dataset",
    "profile",
)


def numeric_keys() -> tuple[str, ...]:
    """Every numeric column read from a record: the metrics (`bench.metrics`) and numeric fields."""
    return (*metrics.numeric_keys(), *contract.NUMERIC_FIELDS)


def cost_keys() -> tuple[str, ...]:
    """Figures aggregated as the median over runs: every metric but accuracy."""
    return tuple(k for k in metrics.numeric_keys() if k != "accuracy")


PROVENANCE_KEYS = (
    "run",
    "file",
    "device",
    "tensorflow_version",
    "keras_version",
    "precision",
    "xla",
    "commit",
    "datetime",
)

ACCURACY_SOURCE_PHRASES = {
    "measured": "measured here",
    "reported": "reported by the course report, not measured here",
    "published": "published, not measured here",
}


class ReportInputError(ValueError):
    """The files are suite JSONs but cannot make one report; the message is one sentence."""


@dataclass(frozen=True)
class Suite:
    """The files' content as tables.

    Attributes:
        runs: one row per variant per file (see the module docstring for the columns).
        files: one row per file: `run`, `file` and the run-level provenance.
        samples: raw per-round samples of every timed benchmark, long format: `run`,
            `scenario`, `session` (the interleaved session: rounds of one session are paired),
            `variant`, `round`, `seconds`, `batch_size`.
        history: training histories, long format: `run`, `variant`, `epoch`, `cumulative_s`,
            `accuracy`, `val_accuracy`.
        notes: data-level remarks for the report (e.g. a latency benchmark without raw samples).
        references: the published reference points the files carry (`published_references`),
            one per model id.
    """

    runs: pd.DataFrame
    files: pd.DataFrame
    samples: pd.DataFrame
    history: pd.DataFrame
    notes: tuple[str, ...]
    references: tuple[dict[str, Any], ...] = ()

    @property
    def latency(self) -> pd.DataFrame:
        """Batch-1 latency samples: `run`, `variant`, `round`, `latency_s`."""
        rows = self.samples[self.samples["scenario"] == "latency"]
        frame = rows[["run", "variant", "round", "seconds"]]
        return frame.rename(columns={"seconds": "latency_s"}).reset_index(drop=True)

    @property
    def device(self) -> str:
        """The device every timed figure comes from."""
        return str(self.files["device"].iloc[0])

    @property
    def dataset(self) -> str:
        """The dataset the run used."""
        return str(self.files["dataset"].iloc[0])


def _number(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportInputError(f"{where} is {value!r}, not a number; rerun the suite.")
    return float(value)


def _file_row(index: int, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    machine = doc.get("machine_info") or {}
    run = doc.get("run") or {}
    commit = doc.get("commit_info") or {}
    gpu = machine.get("gpu")
    return {
        "run": index,
        "file": name,
        "device": machine.get("device") or "unknown device",
        "dataset": run.get("dataset") or "unknown dataset",
        "tensorflow_version": machine.get("tensorflow_version"),
        "keras_version": machine.get("keras_version"),
        "precision": machine.get("precision"),
        "xla": machine.get("xla"),
        "profile": run.get("profile"),
        "accuracy_source": run.get("accuracy_source"),
        "seed": run.get("seed"),
        "cpu_model": machine.get("cpu_model"),
        "gpu": gpu.get("name") if isinstance(gpu, dict) else None,
        "commit": commit.get("id"),
        "datetime": doc.get("datetime"),
    }


def _variant_row(file_row: dict[str, Any], vid: str, record: dict[str, Any]) -> dict[str, Any]:
    where = f"{file_row['file']}: variants[{vid!r}]"
    row: dict[str, Any] = {k: file_row[k] for k in PROVENANCE_KEYS}
    for key in TEXT_KEYS:
        value = record.get(key)
        row[key] = None if value is None else str(value)
    row["variant"] = vid
    row["kind"] = row["kind"] or "variant"
    row["dataset"] = row["dataset"] or file_row["dataset"]
    row["profile"] = row["profile"] or file_row["profile"]
    for key in numeric_keys():
        row[key] = _number(record.get(key), f"{where}.{key}")
    acc = row["accuracy"]
    if not math.isnan(acc) and not 0.0 <= acc <= 1.0:
        raise ReportInputError(
            f"{where}.accuracy is {acc}, outside [0, 1]; accuracies are fractions, not percentages."
        )
    if row["accuracy_source"] not in (*contract.ACCURACY_SOURCES, None):
        raise ReportInputError(
            f"{where}.accuracy_source is {row['accuracy_source']!r}; "
            f"expected one of {', '.join(contract.ACCURACY_SOURCES)}."
        )
    unavailable = dict(record.get("unavailable") or {})
    for metric in metrics.METRICS:
        if metric.inverse_of is None:
            continue
        source = row[metric.inverse_of]
        row[metric.key] = 1.0 / source if source > 0 else math.nan
        if math.isnan(row[metric.key]) and metric.inverse_of in unavailable:
            unavailable.setdefault(metric.key, unavailable[metric.inverse_of])
    row["unavailable"] = unavailable
    row["errors"] = tuple(str(e) for e in record.get("errors") or ())
    return row


def _history_rows(run: int, vid: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("epoch", "cumulative_s", "accuracy", "val_accuracy")
    return [
        {"run": run, "variant": vid, **{k: entry.get(k) for k in keys}}
        for entry in record.get("history") or ()
    ]


SAMPLE_COLUMNS = ["run", "scenario", "session", "variant", "round", "seconds", "batch_size"]


def _sample_rows(run: int, name: str, doc: dict[str, Any], notes: list[str]) -> list[dict]:
    """Every timed benchmark's raw per-round samples, with the session they were measured in."""
    rows = []
    for bench in doc["benchmarks"]:
        extra = bench["extra_info"]
        samples = (bench.get("stats") or {}).get("data")
        if not samples:
            notes.append(
                f"{name}: the {extra.get('scenario')} benchmark of {extra['variant']} has no raw "
                "samples (stats.data), so its distribution and tie tests are missing."
            )
            continue
        session = (extra.get("session") or {}).get("id")
        rows.extend(
            {
                "run": run,
                "scenario": extra.get("scenario"),
                # Files without interleaved sessions: each benchmark is its own "session", so
                # no two models are ever paired by round.
                "session": session or f"{name}:{bench.get('name')}",
                "variant": extra["variant"],
                "round": i,
                "seconds": float(s),
                "batch_size": int(extra.get("batch_size") or 1),
            }
            for i, s in enumerate(samples)
        )
    return rows


def _refuse_mixed(files: pd.DataFrame) -> None:
    for column, what in (("device", "devices"), ("dataset", "datasets")):
        values = list(dict.fromkeys(files[column]))
        if len(values) > 1:
            raise ReportInputError(
                f"the files mix {what} ({', '.join(map(str, values))}); "
                f"build one report per {column}."
            )


def suite_from_documents(documents: Sequence[tuple[str, dict[str, Any]]]) -> Suite:
    """Build the tables from already-parsed suite documents, each named by its file.

    Raises:
        ContractError: a document is not a suite JSON.
        ReportInputError: there are no variants, figures have the wrong type, or the files mix
            devices or datasets.
    """
    if not documents:
        raise ReportInputError("no input file was given; pass at least one suite JSON.")
    files, runs, samples, history, notes = [], [], [], [], []
    references: dict[str, dict[str, Any]] = {}
    for index, (name, doc) in enumerate(documents):
        contract.validate(doc, source=name)
        file_row = _file_row(index, name, doc)
        files.append(file_row)
        for vid, record in doc["variants"].items():
            runs.append(_variant_row(file_row, vid, record))
            history.extend(_history_rows(index, vid, record))
        samples.extend(_sample_rows(index, name, doc, notes))
        for point in doc["published_references"]:
            references.setdefault(point["variant"], point)
    if not runs:
        names = ", ".join(name for name, _ in documents)
        raise ReportInputError(f"{names} hold no variant records; run the suite on some variants.")
    files_df = pd.DataFrame(files)
    _refuse_mixed(files_df)
    return Suite(
        runs=pd.DataFrame(runs),
        files=files_df,
        samples=pd.DataFrame(samples, columns=SAMPLE_COLUMNS),
        history=pd.DataFrame(
            history,
            columns=["run", "variant", "epoch", "cumulative_s", "accuracy", "val_accuracy"],
        ),
        notes=tuple(notes),
        references=tuple(references.values()),
    )


def load_suite(paths: Sequence[str | Path]) -> Suite:
    """Read and validate suite JSON files (see `suite_from_documents` for what is refused)."""
    return suite_from_documents([(str(p), contract.load(p)) for p in paths])


def _first(series: pd.Series) -> Any:
    values = series.dropna()
    return None if values.empty else values.iloc[0]


def _joined(series: pd.Series) -> str | None:
    values = [str(v) for v in dict.fromkeys(series.dropna())]
    return ", ".join(values) if values else None


def _accuracy_fields(group: pd.DataFrame, notes: list[str]) -> dict[str, Any]:
    """Accuracy, its interval and source for one variant's rows (measured beats reported)."""
    with_acc = group[group["accuracy"].notna()]
    measured = with_acc[with_acc["accuracy_source"] == "measured"]
    if not measured.empty and len(measured) < len(with_acc):
        notes.append("the reported accuracy is set aside: a measured one exists")
        with_acc = measured
    if with_acc.empty:
        return {
            "accuracy": math.nan,
            "accuracy_low": math.nan,
            "accuracy_high": math.nan,
            "accuracy_method": None,
            "accuracy_runs": (),
            "accuracy_source": _first(group["accuracy_source"]),
            "accuracy_citation": _first(group["accuracy_citation"]),
            "test_examples": _first(group["test_examples"]),
        }
    source = with_acc["accuracy_source"].iloc[0]
    # Reported and published figures repeat in every file: one value, not seeds.
    values = list(with_acc["accuracy"]) if source == "measured" else [with_acc["accuracy"].iloc[0]]
    n_test = _first(with_acc["test_examples"])
    n_test = int(n_test) if n_test is not None else None
    est = estimate(values, n_test)
    return {
        "accuracy": est.mean,
        "accuracy_low": math.nan if est.low is None else est.low,
        "accuracy_high": math.nan if est.high is None else est.high,
        "accuracy_method": est.method,
        "accuracy_runs": est.seeds,
        "accuracy_source": source,
        "accuracy_citation": _first(with_acc["accuracy_citation"]),
        "test_examples": n_test,
    }


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _variant_aggregate(vid: str, group: pd.DataFrame) -> dict[str, Any]:
    notes: list[str] = []
    row: dict[str, Any] = {
        "variant": vid,
        "kind": _first(group["kind"]),
        "description": _first(group["description"]),
        "n_runs": len(group),
        **_accuracy_fields(group, notes),
        "dataset": _joined(group["dataset"]),
        "profile": _joined(group["profile"]),
        "seeds": tuple(int(s) for s in group["seed"].dropna()),
        "cost_source": "measured",
    }
    for key in cost_keys():
        row[key] = float(group[key].median()) if group[key].notna().any() else math.nan
    for key in PROVENANCE_KEYS:
        row[key] = _joined(group[key])
    unavailable: dict[str, str] = {}
    for reasons in group["unavailable"]:
        for key, reason in reasons.items():
            unavailable.setdefault(key, reason)
    row["unavailable"] = {k: v for k, v in unavailable.items() if k not in row or _null(row[k])}
    row["errors"] = tuple(dict.fromkeys(e for errs in group["errors"] for e in errs))
    row["notes"] = tuple(notes)
    return row


def _reference_row(point: dict[str, Any]) -> dict[str, Any]:
    """A published reference point as a table row: only its published costs are figures."""
    est = estimate([point["accuracy"]], point["test_examples"])
    not_measured = "a published point, not measured here"
    return {
        "variant": point["variant"],
        "kind": "reference",
        "description": point["description"],
        "accuracy": point["accuracy"],
        "accuracy_low": est.low,
        "accuracy_high": est.high,
        "accuracy_method": est.method,
        "accuracy_runs": est.seeds,
        "accuracy_source": "published",
        "accuracy_citation": point["citation"],
        "test_examples": point["test_examples"],
        "dataset": point["dataset"],
        **point["costs"],
        "cost_source": "published",
        "n_runs": 0,
        "seeds": (),
        "unavailable": {k: not_measured for k in cost_keys() if k not in point["costs"]},
        "errors": (),
        "notes": ("a published point: its costs are not measured here",),
    }


def aggregate(suite: Suite, *, references: bool = True) -> pd.DataFrame:
    """One row per variant, in the order the files list them.

    Columns: `variant`, `kind`, `description`, `n_runs`, `accuracy`, `accuracy_low`,
    `accuracy_high`, `accuracy_method`, `accuracy_runs` (tuple of the accuracies used),
    `accuracy_source`, `accuracy_citation`, `test_examples`, `dataset`, `profile`, `seeds`,
    every `cost_keys()` column (median over runs), `cost_source` ("measured", or "published" for
    reference points the files carry but did not measure), the provenance columns (distinct
    values joined), `unavailable` (key -> reason for every null figure), `errors` and `notes`
    (tuples of sentences).

    Args:
        suite: the loaded files.
        references: add the published reference points the files carry but did not measure.
    """
    rows = [_variant_aggregate(vid, g) for vid, g in suite.runs.groupby("variant", sort=False)]
    # The published points are accuracies on their own dataset (CIFAR-10): beside accuracies
    # measured on another dataset (synthetic, Fashion-MNIST) they would compare unlike things.
    datasets = {r.get("dataset") for r in rows if r.get("dataset")}
    present = {r["variant"] for r in rows}
    if references:
        rows += [
            _reference_row(point)
            for point in suite.references
            if point["variant"] not in present and datasets <= {point["dataset"]}
        ]
    table = pd.DataFrame(rows)
    for key in (*cost_keys(), "accuracy", "accuracy_low", "accuracy_high"):
        table[key] = pd.to_numeric(table.get(key, math.nan)).astype(float)
    return table
