"""`wgan_gp`: Wasserstein GAN with a gradient penalty (Gulrajani et al. 2017).

The critic minimises E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)||_2 - 1)^2] with
x_hat = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample: a soft 1-Lipschitz constraint on
the lines between real and fake samples, in place of WGAN's weight clipping. lambda = 10
(`--gp_weight`), n_critic = 5, Adam(1e-4, beta1 0.5, beta2 0.9) for both players, and no
batch norm in the critic (`d_norm="layer"`): the penalty is per sample, and batch norm
makes each sample's score depend on the rest of the batch.

`GradientPenaltyGAN` is `GANModel`'s adversarial step with the penalty's two hooks
(`penalty_points`, drawn with each fake batch, and `d_penalty`), for any loss pair: `dragan`
reuses it with the non-saturating loss and its own penalty points (`--penalty=dragan`).

On the 2-D mixtures (ring8, grid25) the paper's image settings barely move the generator
in 10,000 steps (lambda = 10 outweighs Wasserstein distances of ~0.1 at that scale), so
there the defaults are lambda = 1, Adam at 1e-3 and the plain MLP critic (as lambda = 0.1
in the authors' toy code, `gan_toy.py`); ring8 then covers its 8 modes within ~2,000 steps.

Logged: `wasserstein` = E[D(x)] - E[D(G(z))] (Wasserstein losses), `gradient_penalty`
(lambda included), `grad_norm` = mean ||grad D(x_hat)||, and the loss terms.

Length: the code is short; the docstring records the paper's settings and the 2-D
defaults.
"""

import dataclasses

import tensorflow as tf

from tfgan_suite import penalties, precision, settings
from tfgan_suite.variants.base import GANModel, LossParams, loss_setting
from tfgan_suite.variants.spec import Variant

PENALTIES = ("wgan_gp", "dragan")


@dataclasses.dataclass(frozen=True)
class GradientPenaltyParams(LossParams):
    loss: str = loss_setting("wasserstein")
    gp_weight: float = settings.setting(10.0, "weight lambda of the gradient penalty",
                                        check=settings.at_least(0))
    penalty: str = settings.setting("wgan_gp", "where the gradient penalty is evaluated: "
                                    "wgan_gp (random interpolates of real and fake) or "
                                    "dragan (around perturbed real data)",
                                    check=settings.one_of(*PENALTIES))


class GradientPenaltyGAN(GANModel):
    """The adversarial step of any loss pair with a gradient penalty on D's loss.

    Parameters (`GradientPenaltyParams`, beyond the loss pair):
        gp_weight: lambda of the penalty (applied once, in `penalties.gradient_penalty`).
        penalty: where the penalty is evaluated: "wgan_gp" (random interpolates of real and
            fake) or "dragan" (random points between x and a perturbed x).

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017,
    Algorithm 1; Kodali et al., "On Convergence and Stability of GANs", 2017, Algorithm 1.
    """

    Params = GradientPenaltyParams
    packable = True

    def penalty_points(self, real, fake):
        """x_hat for this critic update, from this replica's random stream."""
        alpha = self.uniform(penalties.alpha_shape(real))  # U[0, 1], one per sample
        if self.params.penalty == "dragan":
            noise = self.uniform(tf.shape(real))            # U[0, 1), one per element
            return penalties.dragan_interpolates(real, noise, alpha)
        return penalties.random_interpolates(real, fake, alpha)

    def d_penalty(self, points, labels):
        # Under D's tape: the nested tape inside lets it differentiate the gradient norm.
        gp, grad_norm = penalties.gradient_penalty(
            self.discriminator, self.packed(points), weight=self.params.gp_weight,
            loss_scale=precision.loss_scale(self.d_optimizer))
        return gp, {"gradient_penalty": gp, "grad_norm": grad_norm}

    def score_logs(self, real_logits, fake_logits):
        if self.params.loss != "wasserstein":  # a classifier D: logged as `gan` logs it
            return super().score_logs(real_logits, fake_logits)
        return {"wasserstein": tf.reduce_mean(real_logits) - tf.reduce_mean(fake_logits)}


VARIANT = Variant(
    name="wgan_gp",
    model=GradientPenaltyGAN,
    defaults=dict(loss="wasserstein", penalty="wgan_gp", gp_weight=10.0, d_steps=5,
                  architecture="dcgan", d_norm="layer", latent_dim=128, optimizer="adam",
                  g_lr=1e-4, d_lr=1e-4, g_beta1=0.5, d_beta1=0.5, g_beta2=0.9, d_beta2=0.9),
    summary="Wasserstein GAN with gradient penalty lambda (||grad D(x_hat)|| - 1)^2 on "
            "random interpolates, Adam(1e-4, 0.5, 0.9), n_critic 5, layer-norm critic",
    reference="Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
    points_defaults=dict(gp_weight=1.0, g_lr=1e-3, d_lr=1e-3, d_norm="none"),
)
