"""Suite JSON files -> pandas tables, in SI units, with provenance kept on every row.

Claims:

* Every file goes through `bench.contract.load`, so a file that is not a suite JSON is refused in
  one sentence (`ContractError`) before anything is read from it, and a file of an older contract
  is read upgraded, its migration in `Suite.notes` (tests/test_contract_migrations.py); figures
  of the wrong type or an accuracy outside [0, 1] (a percentage written as a fraction's place)
  are refused the same way (`ReportInputError`).
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

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench import contract, metrics
from bench.compare import InvalidFigure, figure
from reports import runs as runs_module
from reports.deployment_rows import rows as deployment_rows
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
        history: training histories, long format: `run`, `variant`, `seed`, `epoch`,
            `cumulative_s`, `accuracy`, `val_accuracy`.
        notes: data-level remarks for the report (e.g. a latency benchmark without raw samples).
        references: the published reference points the files carry (`published_references`),
            one per model id.
        mixed: the settings in which pooled files differ (only with `allow_mixed`).
        trainings: one row per measured training run (model x seed x file): accuracy, its flag,
            run identity, predictions (`reports.runs.TRAINING_COLUMNS`).
        labels: the test sets' labels by checksum (`test_labels` of the files).
        class_names: the dataset's class names, in label order, when the files give them.
        deployments: one row per model × deployment × file (`reports.deployment_rows.rows`).
    """

    runs: pd.DataFrame
    files: pd.DataFrame
    samples: pd.DataFrame
    history: pd.DataFrame
    notes: tuple[str, ...]
    references: tuple[dict[str, Any], ...] = ()
    mixed: tuple[str, ...] = ()
    trainings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=runs_module.TRAINING_COLUMNS))  # fmt: skip
    labels: dict[str, Any] = field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    deployments: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def latency(self) -> pd.DataFrame:
        """Batch-1 latency samples: `run`, `variant`, `round`, `latency_s`."""
        rows = self.samples[self.samples["scenario"] == "latency"]
        rows = rows[~rows["variant"].str.contains("@", regex=False)]  # the models, in keras
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

    @property
    def images(self) -> str:
        """ " (48x48x1 images, 3 classes)" for the dataset's name in a title; "" when the files do
        not say (written before the suite recorded it)."""
        sizes = [str(v) for v in dict.fromkeys(self.files["images"]) if isinstance(v, str)]
        return f" ({'; '.join(sizes)})" if sizes else ""


def _number(value: Any, file: str, model: str, key: str) -> float:
    """A figure of the file, validated once (`bench.compare.figure`): null is NaN (missing);
    NaN, infinities, strings, booleans, negative costs and accuracies outside [0, 1] are refused
    with one sentence naming the file, model and field."""
    try:
        number = figure(value, where=file, model=model, field=key, cost=key != "accuracy")
    except InvalidFigure as exc:
        raise ReportInputError(str(exc)) from None
    return math.nan if number is None else number


def _images(run: dict[str, Any]) -> str | None:
    """ "48x48x1 images, 3 classes", from the run's `input_shape` and `num_classes` (None in
    files written before the suite recorded them)."""
    shape, classes = run.get("input_shape"), run.get("num_classes")
    if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
        return None
    size = "x".join(str(d) for d in shape)
    return f"{size} images, {classes} classes" if isinstance(classes, int) else f"{size} images"


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
        "images": _images(run),
        "tensorflow_version": machine.get("tensorflow_version"),
        "keras_version": machine.get("keras_version"),
        "precision": machine.get("precision"),
        "xla": machine.get("xla"),
        "profile": run.get("profile"),
        "accuracy_source": run.get("accuracy_source"),
        "seed": run.get("seed"),
        "cpu_model": machine.get("cpu_model"),
        "gpu": gpu.get("name") if isinstance(gpu, dict) else None,
        "threads": json.dumps(machine.get("threads"), sort_keys=True),
        "throughput_batch": run.get("throughput_batch_size"),
        "commit": commit.get("id"),
        "datetime": doc.get("datetime"),
        "fingerprint": hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(),
    }


# Settings that must be the same in every pooled file: a figure averaged over runs that differ
# in one of them would describe no run at all. File-level columns of `_file_row`, and the
# test-set size per model (a 256-image smoke accuracy is not a 10,000-image one).
POOLING_SETTINGS = {
    "profile": "training profile",
    "accuracy_source": "accuracy source",
    "precision": "precision",
    "xla": "XLA",
    "device": "device",
    "cpu_model": "CPU model",
    "gpu": "GPU model",
    "threads": "threads",
    "throughput_batch": "throughput batch",
}


def unlike_settings(files: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """One phrase per setting in which the pooled files differ ("profile: smoke, paper")."""
    found = []
    for column, label in POOLING_SETTINGS.items():
        values = list(dict.fromkeys(str(v) for v in files[column]))
        if len(values) > 1:
            found.append(f"{label}: {', '.join(values)}")
    with_size = runs.dropna(subset=["test_examples"])
    if (with_size.groupby("variant")["test_examples"].nunique() > 1).any():
        sizes = sorted({int(s) for s in with_size["test_examples"]})
        found.append(f"test-set size: {', '.join(f'{s:,}' for s in sizes)} images")
    return found


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
    derived = {m.key for m in metrics.METRICS if m.inverse_of is not None}
    for key in numeric_keys():  # derived figures keep their column, filled below
        row[key] = (
            math.nan if key in derived else _number(record.get(key), file_row["file"], vid, key)
        )
    for i, run in enumerate(record.get("runs") or ()):
        if isinstance(run, dict):
            _number(run.get("accuracy"), file_row["file"], vid, f"runs[{i}].accuracy")
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
    _other_device(row, record, file_row["device"], unavailable)
    row["energy_source"] = energy_source(record)
    row["unavailable"] = unavailable
    row["errors"] = tuple(str(e) for e in record.get("errors") or ())
    return row


def _other_device(row: dict, record: dict[str, Any], device: str, unavailable: dict) -> None:
    """Keep a training time or energy measured on another device off this run's axes."""
    trained_on = record.get("train_device")
    if not trained_on or trained_on == device:
        return
    cached = " (from cache)" if record.get("from_cache") else ""
    for key, what in (("train_time_s", "training times"), ("energy_train_j", "training energies")):
        if math.isnan(row[key]):
            continue
        row[key] = math.nan
        unavailable[key] = (
            f"trained on {trained_on}{cached}, not on this run's {device}: {what} from "
            "different devices are not put on one axis"
        )


def energy_source(record: dict[str, Any]) -> str | None:
    """Which counters the record's energy figures were read from: "nvml_counter (GPU 0: ...)"."""
    windows = [record.get("inference_energy") or {}]
    for run in record.get("runs") or ():
        segments = ((run or {}).get("train_provenance") or {}).get("segments") or ()
        windows += [s.get("energy") or {} for s in segments]
    found = [f"{w['source']} ({w.get('device')})" for w in windows if w.get("source")]
    return "; ".join(dict.fromkeys(found)) or None


DEPLOYMENT_FIGURES = (
    "file_size_bytes", "conversion_s", "latency_median_s", "throughput_images_per_s",
)  # fmt: skip


def _checked_deployments(file: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A deployment's figures validated as the records' are (`_number`): NaN, strings and
    negative figures are one sentence naming the file, `model@deployment` and the field."""
    for row in rows:
        point = f"{row['model']}@{row['deployment']}"
        for key in DEPLOYMENT_FIGURES:
            row[key] = _number(row[key], file, point, key)
    return rows


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
        calls = int((extra.get("session") or {}).get("calls_per_round") or 1)
        deployment = extra.get("deployment", "keras")
        variant = extra["variant"] if deployment == "keras" else f"{extra['variant']}@{deployment}"
        model = extra["variant"]
        values = [_number(s, name, model, f"{extra.get('scenario')} sample") for s in samples]
        if any(math.isnan(v) or v <= 0 for v in values):
            raise ReportInputError(
                f"{name}: {model}'s {extra.get('scenario')} benchmark holds a null or zero "
                "timing sample; no time can be zero: rerun the suite."
            )
        rows.extend(
            {
                "run": run,
                "scenario": extra.get("scenario"),
                # Files without interleaved sessions: each benchmark is its own "session", so
                # no two models are ever paired by round.
                "session": session or f"{name}:{bench.get('name')}",
                "variant": variant,  # `<model>@<deployment>` for another deployment than keras
                "round": i // calls,  # several samples of one round share its index
                "seconds": s,
                "batch_size": int(extra.get("batch_size") or 1),
            }
            for i, s in enumerate(values)
        )
    return rows


def _refuse_mixed(files: pd.DataFrame, runs: pd.DataFrame, allow_mixed: bool) -> list[str]:
    """Refuse files that cannot be pooled; returns the differences pooled with `allow_mixed`."""
    values = list(dict.fromkeys(files["dataset"]))
    if len(values) > 1:
        raise ReportInputError(
            f"the files mix datasets ({', '.join(map(str, values))}); build one report per dataset."
        )
    unlike = unlike_settings(files, runs)
    if unlike and not allow_mixed:
        raise ReportInputError(
            f"the files differ in {'; '.join(unlike)}: pooling them would average unlike "
            "figures; build one report per setting, or pass --allow-mixed to pool them with "
            "every pooled figure labelled."
        )
    return unlike


@dataclass
class _Tables:
    """The rows of every table, filled file by file."""

    files: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    trainings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)

    def add(self, index: int, name: str, doc: dict[str, Any]) -> None:
        file_row = _file_row(index, name, doc)
        first = self.seen.setdefault(file_row["fingerprint"], name)
        if first != name:
            self.notes.append(
                f"{name} is the same run as {first} (identical content); it is counted once."
            )
            return
        self.files.append(file_row)
        for vid, record in doc["variants"].items():
            self.runs.append(_variant_row(file_row, vid, record))
            self.history.extend(runs_module.history_rows(index, vid, record))
            self.trainings.extend(runs_module.training_rows(index, vid, record))
            self.deployments.extend(_checked_deployments(name, deployment_rows(index, vid, record)))
        self.samples.extend(_sample_rows(index, name, doc, self.notes))
        for point in doc["published_references"]:
            self.references.setdefault(point["variant"], point)
        self.labels.update(doc.get("test_labels") or {})
        self.class_names = self.class_names or list(doc["run"].get("class_names") or [])


def suite_from_documents(
    documents: Sequence[tuple[str, dict[str, Any]]], *, allow_mixed: bool = False
) -> Suite:
    """Build the tables from already-parsed suite documents, each named by its file.

    A document identical to one already read is the same run: it is counted once, with a note.

    Args:
        documents: (name, parsed JSON) pairs.
        allow_mixed: pool files that differ in a setting of `POOLING_SETTINGS` (the
            differences are kept in `Suite.mixed` and labelled on every pooled figure).

    Raises:
        ContractError: a document is not a suite JSON.
        ReportInputError: there are no variants, figures have the wrong type, the files mix
            datasets, or they differ in a pooling setting without `allow_mixed`.
    """
    if not documents:
        raise ReportInputError("no input file was given; pass at least one suite JSON.")
    tables = _Tables()
    for index, (name, doc) in enumerate(documents):
        # A file of an older contract comes in upgraded, its migration noted once.
        doc = contract.validate(contract.upgrade(doc, source=name), source=name)
        run = doc.get("run")
        migration = run.get("contract_migration") if isinstance(run, dict) else None
        if migration:
            tables.notes.append(f"{name}: {migration['note']}.")
        tables.add(index, name, doc)
    if not tables.runs:
        names = ", ".join(name for name, _ in documents)
        raise ReportInputError(f"{names} hold no variant records; run the suite on some variants.")
    files, runs = pd.DataFrame(tables.files), pd.DataFrame(tables.runs)
    mixed = _refuse_mixed(files, runs, allow_mixed)
    return Suite(
        runs=runs,
        files=files,
        samples=pd.DataFrame(tables.samples, columns=SAMPLE_COLUMNS),
        history=pd.DataFrame(tables.history, columns=runs_module.HISTORY_COLUMNS),
        trainings=pd.DataFrame(tables.trainings, columns=runs_module.TRAINING_COLUMNS),
        labels=tables.labels,
        class_names=tuple(tables.class_names),
        deployments=pd.DataFrame(tables.deployments),
        notes=tuple(tables.notes),
        references=tuple(tables.references.values()),
        mixed=tuple(mixed),
    )


def load_suite(paths: Sequence[str | Path], *, allow_mixed: bool = False) -> Suite:
    """Read and validate suite JSON files (see `suite_from_documents` for what is refused)."""
    documents = [(str(p), contract.load(p)) for p in paths]
    return suite_from_documents(documents, allow_mixed=allow_mixed)


def _first(series: pd.Series) -> Any:
    values = series.dropna()
    return None if values.empty else values.iloc[0]


def _joined(series: pd.Series) -> str | None:
    values = [str(v) for v in dict.fromkeys(series.dropna())]
    return ", ".join(values) if values else None


def _no_accuracy(group: pd.DataFrame) -> dict[str, Any]:
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


def _estimated(values: list[float], n_test: Any, source: str, citation: Any) -> dict[str, Any]:
    n_test = int(n_test) if n_test is not None and not _null(n_test) else None
    est = estimate(values, n_test)
    return {
        "accuracy": est.mean,
        "accuracy_low": math.nan if est.low is None else est.low,
        "accuracy_high": math.nan if est.high is None else est.high,
        "accuracy_method": est.method,
        "accuracy_runs": est.seeds,
        "accuracy_source": source,
        "accuracy_citation": citation,
        "test_examples": n_test,
    }


def _measured_fields(
    group: pd.DataFrame, runs: pd.DataFrame, notes: list[str], include_flagged: bool
) -> dict[str, Any]:
    """Accuracy over a model's distinct training runs (seeds); flagged runs keep it off axes."""
    if len(group[group["accuracy_source"] != "measured"].dropna(subset=["accuracy"])):
        notes.append("the reported accuracy is set aside: a measured one exists")
    runs, repeated = runs_module.distinct(runs)
    if repeated:
        notes.append(
            f"{repeated} run(s) repeat a training run already counted (same cache key or "
            "weights file); each run is counted once"
        )
    finished = runs.dropna(subset=["accuracy"])
    fields = (
        _estimated(list(finished["accuracy"]), _first(finished["test_examples"]), "measured", None)
        if not finished.empty
        else _no_accuracy(group)
    )
    fields["accuracy_seeds"] = tuple(int(s) for s in finished["seed"].dropna())
    fields["accuracy_predictions"] = tuple(
        (run["labels_sha256"], run["predictions"])
        for _, run in finished.iterrows()
        if isinstance(run["predictions"], dict) and run["labels_sha256"]
    )
    flags = [f for f in runs["flag"] if isinstance(f, str) and f]
    fields["accuracy_flag"] = "; ".join(flags) or None
    if flags and not include_flagged:
        notes.append(f"did not learn ({fields['accuracy_flag']}); kept off the accuracy axes")
        fields.update(accuracy=math.nan, accuracy_low=math.nan, accuracy_high=math.nan)
    return fields


def _accuracy_fields(
    group: pd.DataFrame, runs: pd.DataFrame, notes: list[str], include_flagged: bool
) -> dict[str, Any]:
    """Accuracy, its interval and source for one model (measured runs beat a reported figure)."""
    if not runs.empty:
        return _measured_fields(group, runs, notes, include_flagged)
    with_acc = group[group["accuracy"].notna()]
    if with_acc.empty:
        return _no_accuracy(group)
    # Reported and published figures repeat in every file: one value, not seeds.
    return _estimated(
        [with_acc["accuracy"].iloc[0]],
        _first(with_acc["test_examples"]),
        with_acc["accuracy_source"].iloc[0],
        _first(with_acc["accuracy_citation"]),
    )


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _variant_aggregate(
    vid: str, group: pd.DataFrame, runs: pd.DataFrame, include_flagged: bool
) -> dict[str, Any]:
    notes: list[str] = []
    row: dict[str, Any] = {
        "variant": vid,
        "kind": _first(group["kind"]),
        "description": _first(group["description"]),
        "n_runs": len(group),
        **_accuracy_fields(group, runs, notes, include_flagged),
        "dataset": _joined(group["dataset"]),
        "profile": _joined(group["profile"]),
        "seeds": tuple(int(s) for s in group["seed"].dropna()),
        "cost_source": "measured",
        "energy_source": _joined(group["energy_source"]),
    }
    for key in cost_keys():
        row[key] = float(group[key].median()) if group[key].notna().any() else math.nan
    for key in PROVENANCE_KEYS:
        row[key] = _joined(group[key])
    if row.get("accuracy_seeds"):
        row["seeds"] = row["accuracy_seeds"]
    unavailable: dict[str, str] = {}
    if row.get("accuracy_flag") and _null(row["accuracy"]):
        unavailable["accuracy"] = f"did not learn: {row['accuracy_flag']}"
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


def aggregate(
    suite: Suite, *, references: bool = True, include_flagged: bool = False
) -> pd.DataFrame:
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
        include_flagged: keep the accuracy of a model whose training did not learn (by default
            it is left off the accuracy axes, with the flag as the reason).
    """
    trainings = suite.trainings
    rows = [
        _variant_aggregate(vid, g, trainings[trainings["variant"] == vid], include_flagged)
        for vid, g in suite.runs.groupby("variant", sort=False)
    ]
    if suite.mixed:
        label = f"pooled across unlike runs ({'; '.join(suite.mixed)})"
        for row in rows:
            if row["n_runs"] > 1:
                row["notes"] = (*row["notes"], label)
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
