"""The variant registry: `--variant=NAME` looks NAME up here.

Adding a variant: write `tfgan_suite/variants/<name>.py` with its `GANModel` subclass (or
reuse one) and a `VARIANT = Variant(...)`, then add one line below. Nothing else changes;
the shared tests pick it up from `REGISTRY`.
"""

from tfgan_suite.variants import dcgan, gan, nsgan
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.spec import Variant

REGISTRY = {
    "gan": gan.VARIANT,
    "nsgan": nsgan.VARIANT,
    "dcgan": dcgan.VARIANT,
}

# Other names users may type for a registered variant.
ALIASES = {}


class UnknownVariantError(ValueError):
    """`--variant` names nothing in the registry."""


def get(name):
    """Returns the Variant registered as `name` (or an alias of it)."""
    key = ALIASES.get(name, name)
    if key not in REGISTRY:
        known = ", ".join(sorted(list(REGISTRY) + list(ALIASES)))
        raise UnknownVariantError(f"unknown variant {name!r}; accepted: {known}")
    return REGISTRY[key]


__all__ = ["REGISTRY", "ALIASES", "GANModel", "Variant", "get", "UnknownVariantError"]
