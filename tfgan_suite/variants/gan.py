"""`gan`: the original minimax GAN, with k discriminator steps per generator step.

D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))), the saturating
form, kept on purpose: it is the paper's game, and its vanishing gradient early in
training is what `nsgan` fixes. The step is `GANModel.train_step` (Algorithm 1: `d_steps`
D updates on fresh batches, then one G update) with the loss pair picked by `loss`, so
every pair of `tfgan_suite.losses` runs on this class (`nsgan`, `dcgan`, `lsgan`, `hinge`,
`sngan`).
"""

from tfgan_suite.variants.base import GANModel, LossParams
from tfgan_suite.variants.spec import Variant


class GAN(GANModel):
    """Alternating updates of the loss pair `loss`: `d_steps` D steps, then one G step.

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1.
    """

    Params = LossParams
    packable = True


VARIANT = Variant(
    name="gan",
    model=GAN,
    defaults=dict(loss="minimax", architecture="mlp"),
    summary="original minimax GAN (saturating G loss), fully connected nets, --d_steps=k",
    reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
)
