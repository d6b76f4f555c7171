"""`nsgan`: the original GAN with the non-saturating generator loss -log D(G(z))."""

from tfgan_suite.variants.gan import GAN
from tfgan_suite.variants.spec import Variant

VARIANT = Variant(
    name="nsgan",
    model=GAN,
    defaults=dict(loss="non_saturating", architecture="mlp"),
    summary="GAN with the non-saturating G loss -log D(G(z)), fully connected nets",
    reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014, section 3",
)
