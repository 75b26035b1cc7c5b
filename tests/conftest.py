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

# The test command runs the files in two processes (pytest-xdist, README "Tests"), which marks
# its workers with PYTEST_XDIST_* variables. The suites and runs these tests start as child
# processes would inherit them, and pytest-benchmark reads PYTEST_XDIST_WORKER as "a parallel
# run" and disables every benchmark; the children are runs of their own, so the marks stop here.
for _name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_name, None)
