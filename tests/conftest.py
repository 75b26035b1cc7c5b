"""Test-session setup: register the example user model, as `--plugin` does for the suite.

Every test that iterates the registry (`architectures.VARIANTS`) therefore covers a user model
too, not only the project's own entries.
"""

from __future__ import annotations

from pathlib import Path

from bench.suite.plugins import import_plugins

USER_PLUGIN = Path(__file__).resolve().parent / "plugins" / "depthwise_net.py"

import_plugins([str(USER_PLUGIN)])
