"""`hinge`: the hinge loss on the plain DCGAN discriminator (batch norm, no spectral norm).

d = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))], g = -E[D(G(z))]: the `gan` step with
`loss="hinge"`, Adam(2e-4, beta1 0.5) as DCGAN. `sngan` is the same loss on a spectrally
normalised D; this variant isolates the loss.
"""

from tfgan_suite.variants.gan import GAN
from tfgan_suite.variants.spec import Variant

VARIANT = Variant(
    name="hinge",
    model=GAN,
    defaults=dict(loss="hinge", architecture="dcgan", optimizer="adam", g_lr=2e-4,
                  d_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    summary="hinge-loss GAN on the plain DCGAN nets, Adam(2e-4, 0.5)",
    reference="Lim & Ye, Geometric GAN, 2017; Miyato et al., Spectral Normalization for "
              "GANs, ICLR 2018",
)
