"""The presenting half: reads suite JSON files and builds the Pareto report."""

from __future__ import annotations

from typing import Any

__all__ = ["build_report"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import reports.data` does not pull in matplotlib and seaborn.
    if name == "build_report":
        from reports.build import build_report

        return build_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
