"""What the registry holds for each variant: its model class, its defaults and its paper."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Variant:
    """A registered GAN variant.

    Attributes:
        name: the registry key, i.e. the value of `--variant`.
        model: the `GANModel` subclass whose `train_step` implements it.
        defaults: the settings (fields of `tfgan_suite.config.Config`) where the paper
            differs from the suite's defaults.
        summary: one line for `--help` and the README.
        reference: the paper.
    """

    name: str
    model: type
    defaults: dict
    summary: str
    reference: str
