"""`ebgan`: Energy-Based GAN with the pull-away term (Zhao, Mathieu & LeCun 2017).

D is an auto-encoder and a sample's energy is its reconstruction error,
D(x) = ||Dec(Enc(x)) - x||^2 / d (mean over the d pixels and channels). D minimises
D(x) + max(0, m - D(G(z))): low energy on data, energy at least m on generated samples.
G minimises D(G(z)) + lambda_PT f_PT(S), where f_PT, the pull-away term, is the mean
squared cosine similarity between the encoder's codes S of different generated samples
("EBGAN-PT"); it pushes the batch apart in D's code space against mode collapse.

Choices (where the paper leaves room or the suite differs):
- Energy normalisation: mean over pixels, images in [-1, 1]. The margin is in those
  units (`--ebgan_margin`, default 0.2): one number for 28x28, 32x32 and 64x64. The
  paper's margins (m = 10 on MNIST, larger for LSUN, CelebA and ImageNet) are in the
  units of its own Torch criterion and image scaling, and do not carry over as such.
- Nets: `--architecture=dcgan` by default: the suite's DCGAN generator and EBGAN's
  convolutional auto-encoder in the DCGAN discriminator's layout (stride-2 4x4 convs,
  batch norm, LeakyReLU; the decoder mirrors it), S = the encoder's last map, as in the
  paper's LSUN/CelebA models. `began` and `mlp` auto-encoders work too
  (`tfgan_suite.nets.autoencoder`).
- Adam(2e-4, beta1 0.5), z of size 100, as the DCGAN setting the paper builds on.
- `--ebgan_pretrain_steps=N`: the first N steps of the run (they count in `--steps` and
  in the step counter) train only the auto-encoder, on real data; G's weights and its
  optimizer are untouched. Which kind of step runs is decided by the step counter, so a
  resumed run continues exactly.
- Under several replicas f_PT is computed on each replica's share of the batch (a
  per-replica estimate, as with batch norm); the energies are batch means as usual.

Logged: `d_loss`, `g_loss`, `energy_real` = E[D(x)], `energy_fake` = E[D(G(z))] (before
G's update), `pull_away` = f_PT (unweighted), `hinge_active` = the fraction of fakes with
energy below m (those that give D a gradient), `pretraining` (1 during pretraining).

Length: the auto-encoder energy, the margin hinge and the pull-away term are three parts
of the paper's objective, and the optional auto-encoder pretraining is a fourth; the step
is its own (D reconstructs, it does not score).
"""

import dataclasses

import tensorflow as tf

from tfgan_suite import energy, settings
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.began import auto_encoder_players, hidden_setting
from tfgan_suite.variants.spec import Variant


@dataclasses.dataclass(frozen=True)
class EBGANParams(settings.Params):
    began_hidden: int = hidden_setting()
    ebgan_margin: float = settings.setting(
        0.2, "margin m of D's hinge max(0, m - D(G(z))), in the units of the energy "
        "(squared error per pixel, images in [-1, 1])", check=settings.above(0))
    pt_weight: float = settings.setting(
        0.1, "weight lambda_PT of the pull-away term on the encoder's codes of the "
        "generated batch (0 = off)", check=settings.at_least(0))
    ebgan_pretrain_steps: int = settings.setting(
        0, "the first N of --steps train only the auto-encoder, on real data (G frozen), so "
        "that D reconstructs well when the game starts", check=settings.at_least(0))


class EBGAN(GANModel):
    """Auto-encoder D with a margin hinge; G with the pull-away term.

    Parameters (`EBGANParams`):
        ebgan_margin: m > 0, in the units of `energy.mse_energy`.
        pt_weight: lambda_PT >= 0 of the pull-away term (0 = plain EBGAN).
        ebgan_pretrain_steps: leading steps that train only the auto-encoder on real data.

    Reference: Zhao, Mathieu & LeCun, "Energy-based Generative Adversarial Network",
    ICLR 2017, sections 2.3-2.4.
    """

    Params = EBGANParams

    @classmethod
    def create(cls, cfg, data):
        return cls(*auto_encoder_players(cfg, data), **cls.model_kwargs(cfg))

    def energies(self, x):
        """(per-sample energies [N], codes S) of one training-mode pass through D."""
        codes, reconstruction = self.discriminator.reconstruct(x, training=True)
        return energy.mse_energy(x, reconstruction), codes

    @property
    def pretrain_steps(self):
        """`ebgan_pretrain_steps`: GANModel runs `pretrain_step` for those first steps."""
        return self.params.ebgan_pretrain_steps

    def pretrain_step(self, data):
        """`d_steps` auto-encoder updates on real data: minimise E[D(x)]. G is frozen."""
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps
        for real_batch, _ in self.real_batches(real):
            with tf.GradientTape() as tape:
                real_energy, _ = self.energies(real_batch)
                d_loss = tf.reduce_mean(real_energy)
            self.minimize(self.d_optimizer, tape, d_loss,
                          self.discriminator.trainable_variables)
        # What G's samples would score, for the curves (no update).
        fake = self.generator(self.latent(batch_size), training=False)
        codes, reconstruction = self.discriminator.reconstruct(fake, training=False)
        fake_energy = energy.mse_energy(fake, reconstruction)
        g_loss, pull_away = energy.ebgan_g_loss(fake_energy, codes, self.params.pt_weight)
        return self.end_step(self._logs(d_loss, g_loss, real_energy, fake_energy,
                                        pull_away, pretraining=1.0))

    def train_step(self, data):
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps

        # Discriminator: D(x) + max(0, m - D(G(z))).
        for real_batch, _ in self.real_batches(real):
            fake = self.generator(self.latent(batch_size), training=True)
            with tf.GradientTape() as tape:
                real_energy, _ = self.energies(real_batch)
                fake_energy, _ = self.energies(fake)
                d_loss = energy.ebgan_d_loss(real_energy, fake_energy, self.params.ebgan_margin)
            self.minimize(self.d_optimizer, tape, d_loss,
                          self.discriminator.trainable_variables)

        # Generator: D(G(z)) + lambda_PT f_PT(S).
        with tf.GradientTape() as tape:
            fake = self.generator(self.latent(batch_size), training=True)
            g_fake_energy, codes = self.energies(fake)
            g_loss, pull_away = energy.ebgan_g_loss(g_fake_energy, codes, self.params.pt_weight)
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        return self.end_step(self._logs(d_loss, g_loss, real_energy, fake_energy,
                                        pull_away, pretraining=0.0))

    def _logs(self, d_loss, g_loss, real_energy, fake_energy, pull_away, pretraining):
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "energy_real": tf.reduce_mean(real_energy),
            "energy_fake": tf.reduce_mean(fake_energy),
            "pull_away": pull_away,
            "hinge_active": tf.reduce_mean(tf.cast(fake_energy < self.params.ebgan_margin, tf.float32)),
            "pretraining": pretraining,
        }


VARIANT = Variant(
    name="ebgan",
    model=EBGAN,
    defaults=dict(architecture="dcgan", latent_dim=100, optimizer="adam", g_lr=2e-4,
                  d_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    summary="auto-encoder D, energy = per-pixel MSE reconstruction error, margin hinge "
            "max(0, m - D(G(z))), pull-away term on the encoder's codes (EBGAN-PT)",
    reference="Zhao, Mathieu & LeCun, Energy-based Generative Adversarial Network, "
              "ICLR 2017",
)
