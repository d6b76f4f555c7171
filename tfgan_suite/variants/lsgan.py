"""`lsgan`: least-squares GAN (Mao et al. 2017) with the 0-1 coding a=0, b=c=1.

D regresses real samples to 1 and fakes to 0, G pushes its samples' scores to 1:
d = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], g = 1/2 E[(D(G(z)) - 1)^2], with D's raw
(linear) output. The `gan` step with `loss="least_squares"`, on the DCGAN nets with the
suite's DCGAN optimiser settings, Adam(2e-4, beta1 0.5) (the paper's architectures for
LSUN and its per-dataset learning rates are not reproduced).
"""

from tfgan_suite.variants.gan import GAN
from tfgan_suite.variants.spec import Variant

VARIANT = Variant(
    name="lsgan",
    model=GAN,
    defaults=dict(loss="least_squares", architecture="dcgan", optimizer="adam",
                  g_lr=2e-4, d_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    # Twice the shared 2-D budget: at 20,000 steps lsgan covers 22/25 grid modes at 88 %
    # high quality, at 40,000 (the linear decay twice as slow) 22.5/25 at 95 %
    # (benchmarks/mixtures.py, setting steps40k, 2 seeds). Over 5 seeds: 8/8 ring modes at
    # 97.8 %, 21.2/25 grid modes at 94.4 %.
    points_defaults=dict(steps=40000),
    summary="least-squares GAN (a=0, b=c=1) on the DCGAN nets, Adam(2e-4, 0.5)",
    reference="Mao et al., Least Squares Generative Adversarial Networks, ICCV 2017",
)
