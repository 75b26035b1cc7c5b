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

from bench import contract
from reports.references import static_reference_rows
from reports.stats import estimate

NUMERIC_KEYS = (
    "params_total",
    "params_trainable",
    "params_non_trainable",
    "macs",
    "flops",
    "flops_analytic",
    "accuracy",
    "test_examples",
    "seed",
    "train_time_s",
    "epochs",
    "peak_gpu_memory_bytes",
    "gpu_process_memory_bytes",
    "peak_host_memory_bytes",
    "latency_median_s",
    "latency_p90_s",
    "latency_p99_s",
    "throughput_images_per_s",
    "train_step_s",
)
TEXT_KEYS = (
    "variant",
    "kind",
    "description",
    "accuracy_source",
    "accuracy_citation",
    "dataset",
    "profile",
)
# Costs aggregated as the median over runs (accuracy is handled apart).
COST_KEYS = (
    *(k for k in NUMERIC_KEYS if k not in {"accuracy", "test_examples", "seed"}),
    "time_per_image_s",
)
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
        latency: raw batch-1 latency samples, long format: `run`, `variant`, `round`,
            `latency_s` (from the benchmarks' `stats.data` with scenario "latency").
        history: training histories, long format: `run`, `variant`, `epoch`, `cumulative_s`,
            `accuracy`, `val_accuracy`.
        notes: data-level remarks for the report (e.g. a latency benchmark without raw samples).
    """

    runs: pd.DataFrame
    files: pd.DataFrame
    latency: pd.DataFrame
    history: pd.DataFrame
    notes: tuple[str, ...]

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
    for key in NUMERIC_KEYS:
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
    tput = row["throughput_images_per_s"]
    row["time_per_image_s"] = 1.0 / tput if tput > 0 else math.nan
    unavailable = dict(record.get("unavailable") or {})
    if math.isnan(row["time_per_image_s"]) and "throughput_images_per_s" in unavailable:
        unavailable.setdefault("time_per_image_s", unavailable["throughput_images_per_s"])
    row["unavailable"] = unavailable
    row["errors"] = tuple(str(e) for e in record.get("errors") or ())
    return row


def suite_from_documents(documents: Sequence[tuple[str, dict[str, Any]]]) -> Suite:
    """Build the tables from already-parsed suite documents, each named by its file.

    Raises:
        ContractError: a document is not a suite JSON.
        ReportInputError: there are no variants, figures have the wrong type, or the files mix
            devices or datasets.
    """
    if not documents:
        raise ReportInputError("no input file was given; pass at least one suite JSON.")
    files, runs, latency, history, notes = [], [], [], [], []
    for index, (name, doc) in enumerate(documents):
        contract.validate(doc, source=name)
        file_row = _file_row(index, name, doc)
        files.append(file_row)
        for vid, record in doc["variants"].items():
            runs.append(_variant_row(file_row, vid, record))
            for entry in record.get("history") or ():
                history.append(
                    {
                        "run": index,
                        "variant": vid,
                        "epoch": entry.get("epoch"),
                        "cumulative_s": entry.get("cumulative_s"),
                        "accuracy": entry.get("accuracy"),
                        "val_accuracy": entry.get("val_accuracy"),
                    }
                )
        for bench in doc["benchmarks"]:
            extra = bench["extra_info"]
            if extra.get("scenario") != "latency":
                continue
            samples = (bench.get("stats") or {}).get("data")
            if not samples:
                notes.append(
                    f"{name}: the latency benchmark of {extra['variant']} has no raw samples "
                    "(stats.data), so it is missing from the latency distributions."
                )
                continue
            latency.extend(
                {"run": index, "variant": extra["variant"], "round": i, "latency_s": float(s)}
                for i, s in enumerate(samples)
            )
    if not runs:
        names = ", ".join(name for name, _ in documents)
        raise ReportInputError(f"{names} hold no variant records; run the suite on some variants.")
    files_df = pd.DataFrame(files)
    for column, what in (("device", "devices"), ("dataset", "datasets")):
        values = list(dict.fromkeys(files_df[column]))
        if len(values) > 1:
            raise ReportInputError(
                f"the files mix {what} ({', '.join(map(str, values))}); "
                f"build one report per {column}."
            )
    return Suite(
        runs=pd.DataFrame(runs),
        files=files_df,
        latency=pd.DataFrame(latency, columns=["run", "variant", "round", "latency_s"]),
        history=pd.DataFrame(
            history,
            columns=["run", "variant", "epoch", "cumulative_s", "accuracy", "val_accuracy"],
        ),
        notes=tuple(notes),
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


def aggregate(suite: Suite, *, static_references: bool = True) -> pd.DataFrame:
    """One row per variant, in the order the files list them.

    Columns: `variant`, `kind`, `description`, `n_runs`, `accuracy`, `accuracy_low`,
    `accuracy_high`, `accuracy_method`, `accuracy_runs` (tuple of the accuracies used),
    `accuracy_source`, `accuracy_citation`, `test_examples`, `dataset`, `profile`, `seeds`,
    every `COST_KEYS` column (median over runs), `cost_source` ("measured", or "published" for
    static reference points), the provenance columns (distinct values joined), `unavailable`
    (key -> reason for every null figure), `errors` and `notes` (tuples of sentences).

    Args:
        suite: the loaded files.
        static_references: add the published reference points the files do not measure.
    """
    rows = []
    for vid, group in suite.runs.groupby("variant", sort=False):
        notes: list[str] = []
        with_acc = group[group["accuracy"].notna()]
        measured = with_acc[with_acc["accuracy_source"] == "measured"]
        if not measured.empty and len(measured) < len(with_acc):
            notes.append("the reported accuracy is set aside: a measured one exists")
            with_acc = measured
        row: dict[str, Any] = {
            "variant": vid,
            "kind": _first(group["kind"]),
            "description": _first(group["description"]),
            "n_runs": len(group),
        }
        if with_acc.empty:
            row.update(
                accuracy=math.nan,
                accuracy_low=math.nan,
                accuracy_high=math.nan,
                accuracy_method=None,
                accuracy_runs=(),
                accuracy_source=_first(group["accuracy_source"]),
                accuracy_citation=_first(group["accuracy_citation"]),
                test_examples=_first(group["test_examples"]),
            )
        else:
            source = with_acc["accuracy_source"].iloc[0]
            # Reported and published figures repeat in every file: one value, not seeds.
            values = (
                list(with_acc["accuracy"])
                if source == "measured"
                else [with_acc["accuracy"].iloc[0]]
            )
            n_test = _first(with_acc["test_examples"])
            n_test = int(n_test) if n_test is not None else None
            est = estimate(values, n_test)
            row.update(
                accuracy=est.mean,
                accuracy_low=math.nan if est.low is None else est.low,
                accuracy_high=math.nan if est.high is None else est.high,
                accuracy_method=est.method,
                accuracy_runs=est.seeds,
                accuracy_source=source,
                accuracy_citation=_first(with_acc["accuracy_citation"]),
                test_examples=n_test,
            )
        row["dataset"] = _joined(group["dataset"])
        row["profile"] = _joined(group["profile"])
        row["seeds"] = tuple(int(s) for s in group["seed"].dropna())
        for key in COST_KEYS:
            row[key] = float(group[key].median()) if group[key].notna().any() else math.nan
        row["cost_source"] = "measured"
        for key in PROVENANCE_KEYS:
            row[key] = _joined(group[key])
        unavailable: dict[str, str] = {}
        for reasons in group["unavailable"]:
            for key, reason in reasons.items():
                unavailable.setdefault(key, reason)
        row["unavailable"] = {
            k: v
            for k, v in unavailable.items()
            if k not in row or row[k] is None or (isinstance(row[k], float) and math.isnan(row[k]))
        }
        row["errors"] = tuple(dict.fromkeys(e for errs in group["errors"] for e in errs))
        row["notes"] = tuple(notes)
        rows.append(row)
    # The published points are CIFAR-10 accuracies: beside accuracies measured on another
    # dataset (synthetic, Fashion-MNIST) they would compare unlike with unlike.
    datasets = {r.get("dataset") for r in rows if r.get("dataset")}
    if static_references and datasets <= {"cifar10"}:
        present = {r["variant"] for r in rows}
        for ref in static_reference_rows(present):
            est = estimate([ref["accuracy"]], ref["test_examples"])
            rows.append(
                {
                    **ref,
                    "accuracy_low": est.low,
                    "accuracy_high": est.high,
                    "accuracy_method": est.method,
                    "accuracy_runs": est.seeds,
                    "seeds": (),
                    "errors": (),
                    "notes": ("a published point: its costs are not measured here",),
                }
            )
    table = pd.DataFrame(rows)
    for key in (*COST_KEYS, "accuracy", "accuracy_low", "accuracy_high"):
        table[key] = pd.to_numeric(table[key]).astype(float)
    return table
