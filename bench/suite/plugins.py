"""User plugins: modules or `.py` files that call `architectures.register(...)`.

The suite imports them in the pytest process and in every worker process, so a user model is
measured like the report's ten. A plugin that cannot be imported is one sentence for the user
(`PluginError`), never a traceback of ours.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
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


def build_failure(model_id: str, input_shape: tuple[int, ...], exc: Exception) -> str:
    """One sentence for a builder that raised at this input shape (a model that pools a small
    image away, a `keras.applications` model under its minimum size). Keras puts "Exception
    encountered when calling ..." first and the cause, in ANSI bold, after it."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    causes = [line for line in lines if line and not line.startswith("Exception encountered")]
    cause = causes[0] if causes else type(exc).__name__
    size = "x".join(str(d) for d in input_shape)
    return f"{model_id} cannot be built for {size} images: {cause.rstrip('.')}."


REFERENCE_SETS = ("none", "keras")  # --references


def add_references(which: str | None) -> None:
    """Register the reference models `--references` names: "keras" adds MobileNetV2,
    EfficientNet-B0 and ResNet50 from `keras.applications` (architectures/keras_references.py);
    "none" (or None) adds nothing. Called in the suite's process and in every worker."""
    if which in (None, "none"):
        return
    import architectures
    from architectures.keras_references import register_keras_references

    register_keras_references(architectures.register, architectures.VARIANTS)
