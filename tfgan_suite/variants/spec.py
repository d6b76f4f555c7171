"""What the registry holds for each variant: its model class, its defaults and its paper."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Variant:
    """A registered GAN variant.

    Attributes:
        name: the registry key, i.e. the value of `--variant`.
        model: the `GANModel` subclass whose `train_step` implements it.
        defaults: the settings where the paper differs from the suite's defaults: shared
            ones (fields of `tfgan_suite.config.Config`) and the variant's own parameters
            (fields of `model.Params`).
        summary: one line for `--help` and the README.
        reference: the paper.
        points_defaults: settings that replace `defaults` on the 2-D mixtures (ring8,
            grid25), where a paper's image hyper-parameters can train far too slowly;
            user settings still override them.
    """

    name: str
    model: type
    defaults: dict
    summary: str
    reference: str
    points_defaults: dict = dataclasses.field(default_factory=dict)

    @property
    def params(self):
        """The dataclass of the variant's own parameters (`model.Params`)."""
        return self.model.Params
