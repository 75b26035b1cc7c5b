"""The records cache: a model record's architecture-only figures, kept between runs.

What a worker measures about a freshly built model before it reads any data (parameter counts,
the saved file's size, MACs and FLOPs with the profiler cross-check, the fresh-process memory
peaks) has no timing in it and depends only on what `key_inputs` lists: the architecture (its
Keras config as built for this input shape and class count, layer names made positional, plus
the source of every layer class that is not Keras' own), the recipe (the memory's training
step), the input shape and classes, the versions of Python, TensorFlow, Keras and NumPy, a
digest of this harness's measuring code (`MEASURING_CODE`), and what the memory peaks depend on:
device, host, CPU architecture, oneDNN, precision, XLA, threads, GPU memory limit and the
inference batch. One JSON file per key (the SHA-256 of those inputs, which the file also holds);
a change in any of them is a miss.

A second run reads the entry instead of measuring: in the worker (every accuracy mode, every
executor), or, for reported accuracies on the local executor, in the suite's own process with
no worker at all (`bench.suite.executors.cached_record`). The record names its entry in
`cached_from`.

Not cached: accuracy (a reported figure is read from the registry every run, at no cost; a
trained model resumes from the model cache), a part measured with an error (an out-of-memory
may not happen again), and models whose config Keras cannot give (a subclassed model without
`get_config`, a layer whose source cannot be read): those are measured every run. An entry
that cannot be read, is not whole JSON or does not hold exactly the expected inputs is ignored
with a note and measured afresh, never trusted; entries are written whole or not at all
(`bench.atomic`). `tests/test_record_cache.py` checks hits, a miss for every changed input, a
corrupt entry, the provenance and a second run with no worker.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import platform
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import atomic
from bench.measure.memory import MEMORY_KEYS

FORMAT = 1  # of an entry file; another format is a miss
FOLDER_NAME = "records"  # the default folder, beside the model cache (results/records)
OFF = "off"  # --records-cache off: measure every record afresh
_ROOT = Path(__file__).resolve().parents[3]
# The code whose figures an entry holds: a change to any of these files is a miss.
MEASURING_CODE = (
    "bench/measure/params.py",
    "bench/measure/flops.py",
    "bench/measure/memory.py",
    "bench/measure/deploy.py",
    "bench/suite/executors/worker.py",
    "bench/suite/executors/record_cache.py",
)
# The record keys an entry may hold (what the worker's architecture step fills).
ARCHITECTURE_KEYS = (
    "params_total",
    "params_trainable",
    "params_non_trainable",
    "model_file_bytes",
    "macs",
    "flops",
    "flops_analytic",
    "layers",
    "macs_check",
    "macs_partial",
    "flops_uncounted_layers",
    *MEMORY_KEYS,
    "memory_phase",
)
Note = Callable[[str], None]


def folder_of(options: Any) -> Path | None:
    """The cache folder of a run: `--records-cache`, else `records` beside `--model-cache`
    (results/records by default, and a test's own folder when it names its model cache); None
    for `--records-cache off`."""
    value = getattr(options, "records_cache", None)
    if value is None:
        return Path(options.model_cache).parent / FOLDER_NAME
    return None if str(value) == OFF else Path(value)


@functools.cache
def measuring_code_digest() -> str:
    """SHA-256 of the files in `MEASURING_CODE`, in that order."""
    digest = hashlib.sha256()
    for name in MEASURING_CODE:
        digest.update(name.encode() + b"\0" + (_ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _walk(layer: Any) -> Iterator[Any]:
    """Every layer inside `layer` (nested models too), depth first, in their order."""
    for inner in getattr(layer, "layers", ()):
        yield inner
        yield from _walk(inner)


def _names(value: Any) -> Iterator[str]:
    """Every value of a "name" key in a config, in a fixed order (keys sorted)."""
    if isinstance(value, dict):
        for key in sorted(value):
            if key == "name" and isinstance(value[key], str):
                yield value[key]
            yield from _names(value[key])
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _names(item)


def _positional(value: Any, names: dict[str, str]) -> Any:
    """`value` with every string that is a name replaced by its position: names that Keras
    numbers per process (`dense_3`, `input_layer_1`) would otherwise make one architecture two
    keys. The renaming is one to one (no position is a name), so it merges nothing else."""
    if isinstance(value, dict):
        return {k: _positional(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_positional(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def _own_source(cls: type) -> str | None:
    """The source of a class that is not Keras' own (a user's layer: its `call` is not in any
    config), "" for Keras' classes, None when it cannot be read."""
    if cls.__module__.split(".")[0] in ("keras", "tf_keras", "tensorflow"):
        return ""
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return None


def architecture_digest(model: Any) -> str | None:
    """SHA-256 of the model's architecture as built, or None when it cannot be known whole."""
    layers = [model, *_walk(model)]
    sources = [_own_source(type(layer)) for layer in layers]
    if None in sources:
        return None
    try:
        config = model.get_config()
    except NotImplementedError:  # a subclassed model Keras cannot describe
        return None
    names: dict[str, str] = {}
    for name in [*_names(config), *(layer.name for layer in layers)]:
        names.setdefault(name, f"\0name{len(names)}")  # "\0": never a real name
    text = json.dumps(
        {"config": _positional(config, names), "classes": [repr(type(x)) for x in layers],
         "sources": sources},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def key_inputs(
    model: Any,
    recipe: Any,
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    settings: Any,
    throughput_batch: int,
    profiler: bool,
) -> dict[str, Any] | None:
    """Everything the cached figures depend on (module docstring); None when the architecture
    cannot be known whole (then nothing is cached for the model)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from bench.measure.environment import device_name

    architecture = architecture_digest(model)
    if architecture is None:
        return None
    inputs = {
        "format": FORMAT,
        "architecture": architecture,
        "input_shape": list(input_shape),
        "num_classes": int(num_classes),
        "recipe": dataclasses.asdict(recipe),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__,
                     "measuring_code": measuring_code_digest()},
        "memory": {"device": device_name(), "node": platform.node(),
                   "machine": platform.machine(), "settings": dataclasses.asdict(settings),
                   "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                   "inference_batch": int(throughput_batch)},
        "profiler": bool(profiler),
    }  # fmt: skip
    return json.loads(json.dumps(inputs, default=str))  # as it reads back from a file


def key_of(inputs: dict[str, Any]) -> str:
    """The entry's key: SHA-256 of its inputs as canonical JSON."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _check(entry: Any, key: str, inputs: dict[str, Any]) -> None:
    """Raise ValueError (why, in words) unless `entry` is whole and holds exactly `inputs`."""
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        raise ValueError(f"not an entry of format {FORMAT}")
    if entry.get("key") != key or entry.get("inputs") != inputs:
        raise ValueError("its inputs are not the ones its name stands for")
    figures, unavailable = entry.get("figures"), entry.get("unavailable")
    if not isinstance(figures, dict) or not isinstance(unavailable, dict):
        raise ValueError("no figures")
    unknown = sorted(set(figures) - set(ARCHITECTURE_KEYS))
    if unknown or not isinstance(figures.get("params_total"), int):
        raise ValueError(f"figures it may not hold ({', '.join(unknown) or 'no params_total'})")
    if not all(isinstance(v, str) for v in unavailable.values()):
        raise ValueError("a reason that is not a sentence")
    if not isinstance(entry.get("written"), str) or not isinstance(entry.get("node"), str):
        raise ValueError("no date or node")


def read(folder: Path, inputs: dict[str, Any], note: Note) -> dict[str, Any] | None:
    """The entry for `inputs`, or None: none there, or one that is unusable (said to `note`)."""
    path = folder / f"{key_of(inputs)}.json"
    try:
        entry = json.loads(path.read_bytes())
        _check(entry, key_of(inputs), inputs)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        note(f"records cache: ignored {path} ({exc}); measuring afresh")
        return None
    return entry


def write(folder: Path, inputs: dict[str, Any], part: dict[str, Any], *, variant: str,
          note: Note) -> None:  # fmt: skip
    """Keep `part` (`{"figures", "unavailable"}`) for `inputs`; a failed write costs only the
    next run's time, so it is a note, not an error.

    Raises:
        ValueError: `part` holds a key that is not an architecture figure (our bug).
    """
    unknown = sorted(set(part["figures"]) - set(ARCHITECTURE_KEYS))
    if unknown:
        raise ValueError(f"not architecture figures, not cacheable: {', '.join(unknown)}")
    key = key_of(inputs)
    entry = {
        "format": FORMAT,
        "key": key,
        "inputs": inputs,
        "variant": variant,
        "node": platform.node(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": part["figures"],
        "unavailable": part["unavailable"],
    }
    data = json.dumps(entry, indent=1, sort_keys=True, default=str).encode()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_atomic(folder / f"{key}.json", data, check=json.loads)
    except (OSError, atomic.PublishError) as exc:
        note(f"records cache: not kept ({exc})")


def provenance(folder: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """The record's `cached_from`: which entry, measured when and where."""
    return {
        "key": entry["key"],
        "file": str(folder / f"{entry['key']}.json"),
        "written": entry["written"],
        "node": entry["node"],
    }


def figures(
    folder: Path | None,
    inputs: Callable[[], dict[str, Any] | None],
    measure: Callable[[], dict[str, Any]] | None,
    *,
    variant: str,
    note: Note,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The architecture part of a record, from the cache or measured (and then kept).

    Args:
        folder: the cache folder; None measures without the cache.
        inputs: gives the key's inputs (`key_inputs`); called only with a folder.
        measure: measures the part, `{"figures", "unavailable", "errors"}`; None to take only
            what the cache holds.
        variant: the model id, kept in the entry for a reader.
        note: receives one line about an unusable entry or a failed write.

    Returns:
        (part, cached_from): cached_from None when measured; part None when `measure` is None
        and the cache has no usable entry.
    """
    known = inputs() if folder is not None else None
    entry = read(folder, known, note) if known is not None else None
    if entry is not None:
        part = {"figures": entry["figures"], "unavailable": entry["unavailable"], "errors": []}
        return part, provenance(folder, entry)
    if measure is None:
        return None, None
    part = measure()
    if known is not None and not part["errors"]:
        write(folder, known, part, variant=variant, note=note)
    return part, None
