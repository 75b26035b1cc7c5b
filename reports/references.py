"""Published CIFAR-10 reference points, drawn as a separate layer when the suite lacks them.

The suite measures `resnet20` and `resnet56` as registry entries (kind "reference", accuracy
source "published"); when a JSON file has them, their measured costs are used and nothing here is
drawn. When it lacks them, these static points stand in, carrying only the figures that were
published, so they appear only on the parameter and MAC axes.

Sources: accuracies and parameter counts are He et al. 2016 (CVPR), Table 6 (error 8.75 % and
6.97 %; 0.27 M and 0.85 M parameters). The paper gives no FLOPs for CIFAR; the MAC counts (40.55 M
and 125.49 M, option-A identity shortcuts) are the hand computation in `shared/notes/peers.md` §3,
which matches the figures pruning papers quote. `tests/test_reports.py` checks these values against
the paper's error rates and that a measured reference replaces the static one.
"""

from __future__ import annotations

from typing import Any

HE_2016 = "He et al. 2016, Deep Residual Learning for Image Recognition (CVPR), Table 6"
MACS_NOTE = "MACs: hand count with option-A shortcuts, shared/notes/peers.md §3"

# Only the figures that exist: a None figure keeps the point off that axis.
PUBLISHED_REFERENCES: tuple[dict[str, Any], ...] = (
    {
        "variant": "resnet20",
        "description": "ResNet-20 (published)",
        "accuracy": 1 - 0.0875,
        "params_total": 0.27e6,
        "macs": 40.55e6,
        "citation": f"{HE_2016}; {MACS_NOTE}",
    },
    {
        "variant": "resnet56",
        "description": "ResNet-56 (published)",
        "accuracy": 1 - 0.0697,
        "params_total": 0.85e6,
        "macs": 125.49e6,
        "citation": f"{HE_2016}; {MACS_NOTE}",
    },
)

CIFAR10_TEST_EXAMPLES = 10_000


def static_reference_rows(present: set[str]) -> list[dict[str, Any]]:
    """Rows for the published references whose id is not in `present` (already measured).

    Each row has the columns of `reports.data.aggregate`'s table that the figure exists for;
    the caller fills the rest with nulls. `cost_source` is "published" so renderers can say the
    costs were not measured here.
    """
    rows = []
    for ref in PUBLISHED_REFERENCES:
        if ref["variant"] in present:
            continue
        rows.append(
            {
                "variant": ref["variant"],
                "kind": "reference",
                "description": ref["description"],
                "accuracy": ref["accuracy"],
                "accuracy_source": "published",
                "accuracy_citation": ref["citation"],
                "test_examples": CIFAR10_TEST_EXAMPLES,
                "dataset": "cifar10",
                "params_total": ref["params_total"],
                "macs": ref["macs"],
                "cost_source": "published",
                "n_runs": 0,
                "unavailable": {
                    "flops": "not published (the paper gives no FLOPs for CIFAR-10)",
                    "latency_median_s": "a published point, not measured here",
                    "latency_p99_s": "a published point, not measured here",
                    "time_per_image_s": "a published point, not measured here",
                    "peak_gpu_memory_bytes": "a published point, not measured here",
                    "train_time_s": "a published point, not measured here",
                },
            }
        )
    return rows
