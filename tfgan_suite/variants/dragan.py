"""`dragan`: non-saturating GAN with the DRAGAN gradient penalty (Kodali et al. 2017).

The penalty lambda E[(||grad D(x_hat)|| - 1)^2], lambda = 10, is evaluated around the real
data only: x_hat lies between x and x + 0.5 std(x) U[0, 1) (`penalties.dragan_interpolates`,
as in the authors' code), to keep D smooth where mode collapse starts. The step is
`wgan_gp`'s penalised step with the non-saturating loss. Adam(1e-4, 0.5, 0.9) as in the
authors' code; the critic uses layer norm instead of batch norm because the penalty is per
sample (a choice of this suite; the authors' toy networks had no normalisation at all).
"""

from tfgan_suite.variants.spec import Variant
from tfgan_suite.variants.wgan_gp import GradientPenaltyGAN

VARIANT = Variant(
    name="dragan",
    model=GradientPenaltyGAN,
    defaults=dict(loss="non_saturating", penalty="dragan", gp_weight=10.0,
                  architecture="dcgan", d_norm="layer", optimizer="adam", g_lr=1e-4,
                  d_lr=1e-4, g_beta1=0.5, d_beta1=0.5, g_beta2=0.9, d_beta2=0.9),
    # On 2-D data lambda = 10 holds D's slope near 1 within 0.5 std of the data, far
    # wider than a mode (std 0.01 on the ring): no mode is found. lambda = 1 finds all
    # (benchmarks/mixtures.py: settings gp_weight1, gp_weight0.1 against default).
    points_defaults=dict(gp_weight=1.0),
    summary="non-saturating GAN + DRAGAN penalty lambda (||grad D|| - 1)^2 around perturbed "
            "real data",
    reference="Kodali, Abernethy, Hays & Kira, On Convergence and Stability of GANs, 2017",
)
