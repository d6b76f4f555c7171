"""The variant registry: `--variant=NAME` looks NAME up here.

Adding a variant: write `tfgan_suite/variants/<name>.py` with its `GANModel` subclass (or
reuse one) and a `VARIANT = Variant(...)`, then add one line below. Nothing else changes;
the shared tests pick it up from `REGISTRY`.
"""

from tfgan_suite.variants import dcgan, gan, nsgan
from tfgan_suite.variants import mcgan, sngan
from tfgan_suite.variants import dragan, hinge, lsgan, wgan, wgan_gp
from tfgan_suite.variants import began, ebgan
from tfgan_suite.variants import bigan, cgan
from tfgan_suite.variants import irgan
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.spec import Variant

REGISTRY = {
    "gan": gan.VARIANT,
    "nsgan": nsgan.VARIANT,
    "dcgan": dcgan.VARIANT,
    "sngan": sngan.VARIANT,
    "mcgan": mcgan.VARIANT,
    "wgan": wgan.VARIANT,
    "wgan_gp": wgan_gp.VARIANT,
    "lsgan": lsgan.VARIANT,
    "hinge": hinge.VARIANT,
    "dragan": dragan.VARIANT,
    "ebgan": ebgan.VARIANT,
    "began": began.VARIANT,
    "cgan": cgan.VARIANT,
    "bigan": bigan.VARIANT,
    "irgan": irgan.VARIANT,
}

# Other names users may type for a registered variant.
ALIASES = {"ali": "bigan"}


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
