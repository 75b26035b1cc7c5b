"""The models the harness measures, as data: the report's ten variants, published references, and
whatever a user registers. This package only builds models and the Keras objects of their recipes
(augmentation layers, optimizer): no I/O, no timing, no training loop.
"""

from architectures.references import register_references
from architectures.registry import (
    VARIANTS,
    Entry,
    RegistryError,
    UnknownVariantError,
    get,
    register,
    register_spec,
    select,
    unregister,
)
from architectures.spec import Block, Conv, Dense, Published, Recipe, VariantSpec
from architectures.variants import REPORT_VARIANTS

for _id, _description, _spec, _recipe, _published in REPORT_VARIANTS:
    register_spec(_id, _spec, _recipe, _published, _description)
register_references(register)  # published architectures, after the report's ten

__all__ = [
    "VARIANTS",
    "Block",
    "Conv",
    "Dense",
    "Entry",
    "Published",
    "Recipe",
    "RegistryError",
    "UnknownVariantError",
    "VariantSpec",
    "get",
    "register",
    "select",
    "unregister",
]
