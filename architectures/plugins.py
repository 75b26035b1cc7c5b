"""User plugins: modules or `.py` files that call `architectures.register(...)`, imported by name.

Here, below everything that runs models, so that the suite, its workers and the paired gate can
all import a user's plugins (`bench/suite/plan/plugins.py` checks what they registered). A plugin
that cannot be imported is one sentence for the user (`PluginError`), never a traceback of ours.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path


class PluginError(Exception):
    """A plugin that cannot be imported; the message names it and the cause."""


def import_plugins(names: Iterable[str]) -> None:
    """Import each plugin (a module name, or a path ending in `.py`).

    Raises:
        PluginError: a plugin is missing or raises while it is imported.
    """
    for name in names:
        try:
            if name.endswith(".py"):
                spec = importlib.util.spec_from_file_location(Path(name).stem, name)
                if spec is None or spec.loader is None:
                    raise ImportError(f"{name} is not a Python file")
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module  # as `import` would: its classes can be found
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except Exception as exc:  # a user's module can raise anything while it is imported
            raise PluginError(
                f"the plugin {name} could not be imported ({type(exc).__name__}: {exc}); "
                "check the path or module name and that it runs on its own."
            ) from exc
