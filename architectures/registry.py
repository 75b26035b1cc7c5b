"""One ordered registry of what the harness measures: the ten, references, user models.

Everything iterates `VARIANTS` (tests, the suite, reports). Entries are added with `register`; the
report's variants first, in the report's order, then the published references, then what a user
registers (from a `--plugin` module, for instance).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Literal

import keras

from architectures.builder import build_from_spec
from architectures.spec import Published, Recipe, VariantSpec

Kind = Literal["variant", "reference", "user"]
# An id names folders and files (cache entries, worker records, plots), benchmark names and JSON
# keys, and is split on "," (--variants) and "@" (deployments): ASCII letters, digits, "-", "_"
# and ".", not "." first, so that no id can name a path outside its folder ("../x", "sub/dir"),
# nor "-" first, which a command line (the worker's `--variant -x`) would read as an option.
ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
RESERVED_IDS = ("all",)  # --variants all selects every entry
Builder = Callable[..., keras.Model]


class UnknownVariantError(KeyError):
    """A name that is not in the registry; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RegistryError(ValueError):
    """A registration that would make the registry ambiguous (a duplicate id, a bad builder)."""


@dataclass(frozen=True)
class Entry:
    """A registered model: how to build it, how it was trained, what was published about it."""

    id: str
    kind: Kind
    description: str
    builder: Builder
    recipe: Recipe
    published: Published | None
    spec: VariantSpec | None = None  # the report's variants are data; other builders are code

    def build(
        self, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 10
    ) -> keras.Model:
        """Build a fresh, uncompiled model for `input_shape` images and `num_classes` classes."""
        return self.builder(input_shape=tuple(input_shape), num_classes=num_classes)


class _Registry(Mapping[str, Entry]):
    """An insertion-ordered, read-only mapping; `register` is the only way in."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __getitem__(self, key: str) -> Entry:
        try:
            return self._entries[key]
        except KeyError:
            known = ", ".join(self._entries)
            raise UnknownVariantError(f"unknown variant {key!r}; known: {known}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def _add(self, entry: Entry) -> Entry:
        check_id(entry.id)
        if entry.id in self._entries:
            raise RegistryError(f"variant {entry.id!r} is already registered; choose another id.")
        self._entries[entry.id] = entry
        return entry

    def _remove(self, key: str) -> None:
        del self._entries[key]


VARIANTS = _Registry()


def check_id(id: object) -> None:
    """Raise `RegistryError` unless `id` is a safe model id (`ID_PATTERN`, not reserved)."""
    if not isinstance(id, str) or not ID_PATTERN.fullmatch(id) or id in RESERVED_IDS:
        raise RegistryError(
            f"the model id {id!r} is not allowed; use 1 to 64 ASCII letters, digits, '-', '_' "
            "and '.' ('.' and '-' not first), such as 'my_net-v2', and not 'all'."
        )


def register(
    id: str,
    builder: Builder,
    recipe: Recipe,
    *,
    published: Published | None = None,
    description: str = "",
    kind: Kind = "user",
) -> Entry:
    """Add a model to the registry, after everything registered before it.

    Args:
        id: a unique name (used in benchmark names, JSON keys and plots).
        builder: `builder(input_shape=(h, w, c), num_classes=n) -> keras.Model`, uncompiled, with a
            `keras.Input`; inference only (no augmentation layers inside).
        recipe: how to train it.
        published: figures published elsewhere (an accuracy from a paper, say), if any.
        description: one line for reports.
        kind: "variant" for the report's ten, "reference" for published architectures, "user".

    Returns:
        The registered entry.
    """
    if not callable(builder):
        raise RegistryError(f"the builder for {id!r} is not callable.")
    return VARIANTS._add(
        Entry(
            id=id,
            kind=kind,
            description=description,
            builder=builder,
            recipe=recipe,
            published=published,
        )
    )


def unregister(id: str) -> None:
    """Remove a user entry (tests and plugins that clean up after themselves)."""
    if VARIANTS[id].kind != "user":
        raise RegistryError(f"{id!r} is one of the project's own entries and cannot be removed.")
    VARIANTS._remove(id)


def register_spec(
    id: str, spec: VariantSpec, recipe: Recipe, published: Published, description: str
) -> Entry:
    """Register one of the report's variants: the spec is read by the one builder."""
    return VARIANTS._add(
        Entry(
            id=id,
            kind="variant",
            description=description,
            builder=partial(build_from_spec, spec, name=id),
            recipe=recipe,
            published=published,
            spec=spec,
        )
    )


def get(id: str) -> Entry:
    """The entry called `id`; an unknown id raises `UnknownVariantError` listing the known ones."""
    return VARIANTS[id]


def select(ids: str | list[str] | None, *, kinds: tuple[Kind, ...] | None = None) -> list[Entry]:
    """Entries named in `ids` (a list or a comma-separated string), in registry order.

    `None` or "all" selects every entry (of `kinds`, when given). Unknown names raise
    `UnknownVariantError` before anything runs.
    """
    if ids is None or ids == "all" or ids == ["all"]:
        return [e for e in VARIANTS.values() if kinds is None or e.kind in kinds]
    names = [n.strip() for n in (ids.split(",") if isinstance(ids, str) else ids) if n.strip()]
    wanted = {get(n).id for n in names}
    return [e for e in VARIANTS.values() if e.id in wanted]
