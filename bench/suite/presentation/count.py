"""`python -m bench count`: what each model costs on paper, in seconds, with nothing timed.

For every selected model (the registry, plus `--plugin` modules) it builds the model for
`--image-size` images with `--channels` channels and `--num-classes` outputs, and prints its
parameters (Keras' `count_params()`), MACs and FLOPs per image from the analytic counter
(`bench.measure.flops`); `--profiler` adds the TF profiler's FLOPs and its cross-check. A MAC
count the counter cannot vouch for (a layer it does not know) is null with the reason, as in the
suite's records. `--json` prints the records instead of the table.

A model that cannot be built at that size (too many poolings for a small image, say) is one
sentence in its row and the others are still counted; the exit status is then 1. Bad input
(an unknown model, a plugin that does not import, a malformed size) is one sentence and exit 2.
`tests/test_count.py` runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.suite.plan.plugins import REFERENCE_SETS, build_failure
from bench.training.images import ImageSizeError, parse_image_size

EXIT_OK, EXIT_MODEL_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench count",
        description="Parameters, MACs and FLOPs per image of each model, without timing or "
        "training.",
    )
    parser.add_argument("--variants", default="all", help="comma-separated ids, or 'all'")
    parser.add_argument(
        "--plugin", action="append", default=[], help="module or .py file that registers models"
    )
    parser.add_argument(
        "--image-size",
        default="32x32",
        metavar="HxW",
        help="input size (default 32x32; 224 means 224x224)",
    )
    parser.add_argument("--channels", type=int, default=3, help="image channels (default 3)")
    parser.add_argument("--num-classes", type=int, default=10, help="outputs (default 10)")
    parser.add_argument(
        "--profiler", action="store_true", help="also run the TF profiler and cross-check"
    )
    parser.add_argument(
        "--references",
        default="none",
        choices=REFERENCE_SETS,
        help="'keras' adds MobileNetV2, "
        "EfficientNetB0 and ResNet50 (keras.applications, weights=None)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON records")
    return parser


def count_one(
    entry: Any, input_shape: tuple[int, int, int], num_classes: int, *, profiler: bool
) -> dict[str, Any]:
    """The record of one registry entry: params, MACs and FLOPs, or the reason there are none."""
    from bench.measure.flops import FlopCountError, flop_figures

    record: dict[str, Any] = {
        "id": entry.id,
        "input_shape": list(input_shape),
        "num_classes": num_classes,
    }
    try:
        model = entry.build(input_shape=input_shape, num_classes=num_classes)
    except Exception as exc:  # a user's builder can raise anything at a size it cannot take
        record["error"] = build_failure(entry.id, input_shape, exc)
        return record
    record["params"] = int(model.count_params())
    try:
        figures, unavailable = flop_figures(model, profiler=profiler)
    except FlopCountError as exc:
        record.update(macs=None, flops_analytic=None, unavailable={"macs": str(exc)})
        return record
    record.update(
        macs=figures["macs"],
        flops_analytic=figures["flops_analytic"],
        flops=figures.get("flops"),
        macs_check=figures["macs_check"]["status"],
        unavailable=unavailable,
    )
    return record


def _table(records: list[dict[str, Any]]) -> str:
    from bench import units

    rows = [("Model", "Input", "Params", "MACs", "FLOPs")]
    for r in records:
        size = "x".join(str(d) for d in r["input_shape"])
        if "error" in r:
            rows.append((r["id"], size, "-", "-", "-"))
            continue
        rows.append(
            (
                r["id"],
                size,
                units.count(r["params"]),
                units.macs(r.get("macs")),
                units.flops(r.get("flops_analytic")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [r["error"] for r in records if "error" in r]
    notes += [
        f"{r['id']}: MACs n/a: {r['unavailable']['macs']}"
        for r in records
        if "error" not in r and r.get("macs") is None
    ]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: list[str]) -> int:
    """Count every selected model; 0 when all were counted, 1 when one failed, 2 on bad input."""
    args = _parser().parse_args(argv)
    try:
        height, width = parse_image_size(args.image_size)
    except ImageSizeError as exc:
        print(f"count: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from bench.measure import native_logs

    native_logs.drop_native_logs()
    import architectures
    from architectures.plugins import import_plugins
    from bench.suite.plan.plugins import add_references

    try:
        import_plugins(args.plugin)
        add_references(args.references)
        entries = architectures.select(args.variants)
    except Exception as exc:  # an unknown id or a plugin that does not import: one sentence
        print(f"count: {exc}", file=sys.stderr)
        return EXIT_USAGE
    shape = (height, width, args.channels)
    records = [count_one(e, shape, args.num_classes, profiler=args.profiler) for e in entries]
    print(json.dumps(records, indent=1) if args.json else _table(records))
    return EXIT_MODEL_FAILED if any("error" in r for r in records) else EXIT_OK
