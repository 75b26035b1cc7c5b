"""Test-session setup: register the example user model, as `--plugin` does for the suite.

Every test that iterates the registry (`architectures.VARIANTS`) therefore covers a user model
too, not only the project's own entries.
"""

from __future__ import annotations

import os
from pathlib import Path

from architectures.plugins import import_plugins

USER_PLUGIN = Path(__file__).resolve().parent / "plugins" / "depthwise_net.py"

import_plugins([str(USER_PLUGIN)])

# Property-based tests (hypothesis): in CI (CI=true) the examples are drawn from a fixed seed, so
# a submission's run is reproducible; on a developer's machine they are fresh each time, so new
# cases keep being tried. A failure prints the example and the seed to reproduce it.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.load_profile("ci")
