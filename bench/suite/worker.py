"""One variant, one fresh process: parameters, FLOPs, accuracy, training, memory -> a JSON record.

The suite starts `python -m bench.suite.worker` once per variant so that memory peaks cannot leak
from one variant into the next (TensorFlow never hands allocator memory back within a process),
and so that a crash, an out-of-memory or a NaN in one variant costs only that variant. The record
has every key of the contract (docs/contract.md, `bench.contract.variant_keys`) except the timing
figures, which the suite measures in its own process and adds.

Faults a user can cause become one sentence in `record["errors"]`; the worker still writes the
record and exits 0. Exit 1 means a bug in the harness (the traceback is printed for us).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from bench.contract import empty_variant_record
from bench.measure.environment import Settings, configure

ACCURACY_MODES = ("reported", "train", "load")
CIFAR10_TEST_EXAMPLES = 10_000  # the report's figures are on the full CIFAR-10 test set


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.suite.worker")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--accuracy", choices=ACCURACY_MODES, default="reported")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--weights-dir", type=Path)
    parser.add_argument("--model-cache", type=Path, default=Path("results/models"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--throughput-batch", type=int, default=256)
    parser.add_argument("--plugin", action="append", default=[])
    parser.add_argument("--skip-profiler", action="store_true", help="analytic FLOPs only")
    return parser.parse_args(argv)


def import_plugins(names: list[str]) -> None:
    """Import user modules that call `architectures.register` (a module name or a .py path)."""
    for name in names:
        if name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(name).stem, name)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            importlib.import_module(name)


def _validation_examples(dataset: str, profile: Any, recipe: Any) -> int | None:
    """The profile's size, else the recipe's (5,000); synthetic data keeps its own default."""
    if profile is not None and profile.validation_examples:
        return profile.validation_examples
    return None if dataset == "synthetic" else recipe.validation_examples


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Fill one variant's record; user-caused faults go into `errors`, never raise."""
    import keras
    import tensorflow as tf

    import architectures
    from bench.measure import flops, memory
    from bench.measure import timing as latency

    entry = architectures.get(args.variant)
    record = empty_variant_record(entry.id)
    recipe = entry.recipe
    record.update(
        kind=entry.kind,
        description=entry.description,
        seed=args.seed,
        recipe=json.loads(json.dumps(dataclasses.asdict(recipe))),
        published=None if entry.published is None else dataclasses.asdict(entry.published),
    )
    unavailable = record["unavailable"]
    errors = record["errors"]
    keras.utils.set_random_seed(args.seed)

    data = None
    profile = None
    if args.accuracy in {"train", "load"}:
        from bench.training import datasets
        from bench.training import fit as training
        from bench.training.profiles import PROFILES
        from bench.training.weights import WeightsError, load_user_model

        profile = PROFILES[args.profile] if args.accuracy == "train" else None
        try:
            data = datasets.load_dataset(
                args.dataset,
                data_dir=args.data_dir,
                seed=args.seed,
                validation_examples=_validation_examples(args.dataset, profile, recipe),
                train_examples=profile.train_examples if profile else None,
                test_examples=profile.test_examples if profile else None,
            )
        except datasets.DatasetError as exc:
            errors.append(str(exc))
    input_shape = tuple(data.input_shape) if data else (32, 32, 3)
    num_classes = data.num_classes if data else 10
    record["input_shape"] = list(input_shape)

    model = entry.build(input_shape=input_shape, num_classes=num_classes)
    record["params_total"] = int(model.count_params())
    record["params_trainable"] = int(sum(int(tf.size(w)) for w in model.trainable_weights))
    record["params_non_trainable"] = int(sum(int(tf.size(w)) for w in model.non_trainable_weights))

    counts = flops.analytic_counts(model)
    record["macs"] = counts.macs
    record["flops_analytic"] = counts.flops
    record["layers"] = [dict(layer) for layer in counts.layers]
    if counts.uncounted:
        record["flops_uncounted_layers"] = list(counts.uncounted)
    if args.skip_profiler:
        unavailable["flops"] = "the TF profiler was skipped (--skip-profiler)"
    else:
        record["flops"] = int(flops.profiler_flops(model))

    # --- accuracy --------------------------------------------------------------------------------
    if args.accuracy == "reported":
        published = entry.published
        accuracy = published.test_accuracy if published else None
        record["accuracy"] = accuracy
        record["accuracy_source"] = "published" if entry.kind == "reference" else "reported"
        record["accuracy_citation"] = (
            f"{published.citation}: {published.accuracy_note}" if published else None
        )
        record["dataset"] = "cifar10"
        record["test_examples"] = CIFAR10_TEST_EXAMPLES if accuracy is not None else None
        if accuracy is None:
            unavailable["accuracy"] = (
                published.accuracy_note if published else "no accuracy was published for this model"
            )
    elif data is not None:
        record["dataset"] = data.name
        record["accuracy_source"] = "measured"
        try:
            if args.accuracy == "train":
                record["profile"] = profile.name
                result = training.train_variant(
                    entry,
                    data,
                    profile=profile,
                    cache_root=args.model_cache,
                    seed=args.seed,
                    progress=_progress,
                    jit_compile=Settings.from_env().xla,
                )
                model = result.model
                record.update(
                    accuracy=result.test_accuracy,
                    test_examples=result.test_examples,
                    train_time_s=result.train_time_s,
                    epochs=result.epochs,
                    history=result.history,
                    stopped_by=result.stopped_by,
                    from_cache=result.from_cache,
                    model_path=str(result.cache_dir / "final.keras"),
                    # where and with what the training ran (a cached run may come from elsewhere)
                    train_provenance=result.provenance,
                )
            else:
                path = (args.weights_dir or Path(".")) / f"{entry.id}.keras"
                model = load_user_model(
                    path, entry, input_shape=input_shape, num_classes=num_classes
                )
                record["accuracy"] = training.evaluate(model, data.x_test, data.y_test)
                record["test_examples"] = len(data.y_test)
                record["model_path"] = str(path)
        except (training.TrainingError, WeightsError) as exc:
            errors.append(str(exc))
    if record["accuracy"] is None and "accuracy" not in unavailable:
        unavailable["accuracy"] = errors[-1] if errors else "no accuracy was measured"
    for key in ("train_time_s", "epochs"):
        if record[key] is None:
            unavailable[key] = (
                "accuracy taken from the report; nothing was trained here (use --accuracy train)"
                if args.accuracy == "reported"
                else "no training run in this mode"
                if args.accuracy == "load"
                else "training did not complete"
            )

    # --- memory: one inference at the throughput batch and one training step, fresh process ------
    try:
        with memory.MeasurePeaks() as peaks:
            latency.inference(model, batch_size=args.throughput_batch, xla=False).call()
            latency.train_step(model, recipe, num_classes=num_classes, xla=False).call()
        record.update(
            peak_gpu_memory_bytes=peaks.result.peak_gpu_memory_bytes,
            gpu_process_memory_bytes=peaks.result.gpu_process_memory_bytes,
            peak_host_memory_bytes=peaks.result.peak_host_memory_bytes,
        )
        unavailable.update(peaks.result.unavailable)
    except tf.errors.ResourceExhaustedError:
        message = (
            f"{entry.id} ran out of memory at inference batch {args.throughput_batch} or training "
            f"batch {recipe.batch_size}; rerun with a smaller --throughput-batch."
        )
        errors.append(message)
        for key in ("peak_gpu_memory_bytes", "gpu_process_memory_bytes", "peak_host_memory_bytes"):
            unavailable.setdefault(key, message)
    record["memory_phase"] = (
        f"one inference at batch {args.throughput_batch} and one training step at batch "
        f"{recipe.batch_size}, in a fresh process per variant"
    )
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure(Settings.from_env())
    try:
        import_plugins(args.plugin)
        record = measure(args)
        status = 0
    except Exception as exc:  # a bug of ours: keep the traceback, and still write a record
        traceback.print_exc()
        record = empty_variant_record(args.variant)
        record["errors"].append(f"internal error while measuring {args.variant}: {exc!r}")
        status = 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
