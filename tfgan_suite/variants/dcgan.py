"""`dcgan`: the non-saturating GAN on the DCGAN architecture and hyper-parameters.

Strided convolutions, batch norm, ReLU/tanh in G, LeakyReLU(0.2) in D, N(0, 0.02) init
(all in `tfgan_suite.nets.dcgan`), Adam(2e-4, beta1 0.5), z of size 100.
"""

from tfgan_suite.variants.gan import GAN
from tfgan_suite.variants.spec import Variant

VARIANT = Variant(
    name="dcgan",
    model=GAN,
    defaults=dict(loss="non_saturating", architecture="dcgan", latent_dim=100,
                  optimizer="adam", g_lr=2e-4, d_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    summary="non-saturating GAN on the DCGAN conv nets, Adam(2e-4, 0.5), z=100",
    reference="Radford, Metz & Chintala, Unsupervised Representation Learning with "
              "Deep Convolutional GANs, ICLR 2016",
)
