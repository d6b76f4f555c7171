"""`bigan` (alias `ali`): an encoder E(x) -> z learned jointly with G by a joint D(x, z).

D sees pairs: (x, E(x)) for real x, labelled real, and (G(z), z) for z ~ N(0, I),
labelled fake. E and G are one player with one optimizer (the g_optimizer, built over
both networks' variables): they minimise D's loss with the labels swapped, the
non-saturating form both papers train with in practice (ALI's code: generator_loss =
softplus(D(x, E(x))) + softplus(-D(G(z), z))). At the game's optimum E inverts G, so
G(E(x)) reconstructs x although no reconstruction loss is ever minimised.

With `--loss`: D minimises the pair's D loss d(real_logits, fake_logits); E and G minimise
d(fake_logits, real_logits), the swapped-label loss (for `non_saturating` this is
-log D(G(z), z) - log(1 - D(x, E(x)))); `minimax` keeps the saturating game, -d(...).

`--stochastic_encoder`: ALI's encoder outputs a mean and a log sigma and z = mu + sigma *
eps, eps ~ N(0, I) from this replica's random stream (reparametrisation, so gradients
reach both heads). Export and reconstructions use the mean. BiGAN's encoder is
deterministic (the default).

Logged: d_loss, g_loss (the E+G loss), d_real = D(x, E(x)), d_fake = D(G(z), z) and
`recon_error`, the mean over elements of (x - G(E(x)))^2 on the step's last real batch, in
the data's own scale ([-1, 1] images, data coordinates for points), with both networks in
inference mode (what the exported `encode` then `serving_default` compute). TensorBoard
also gets real/reconstruction pairs (`tfgan_suite.callbacks.ReconstructionGrid`).

Where the official code differs from the papers, and what we follow:
- ALI's code (IshmaelBelghazi/ALI, ali/bricks.py) computes z = mu + exp(log sigma) eps
  unbounded, runs real and fake pairs through D as one concatenated batch, applies
  dropout in D (0.2 on its inputs, 0.5 above, e.g. experiments/ali_mixture.py), and its
  `reconstruct` samples z by default. We clip log sigma to LOG_SIGMA_RANGE, run D on the
  two halves separately (as the suite's other variants do), use no dropout, and
  reconstruct from the mean.
- BiGAN's code (jeffdonahue/bigan) draws z from a uniform distribution (50-d for MNIST,
  train_mnist.sh), adds L2 weight decay 2.5e-5 to every player (train_gan.py) and uses
  fully connected nets for MNIST. We keep the suite's z ~ N(0, I) (the export's `sample`
  contract), no weight decay, and the suite's networks (`tfgan_suite.nets.bigan`: DCGAN
  convolutions for images).
- Both codes and papers use the swapped-label (non-saturating) E+G loss, as we do.

Defaults: Adam(1e-4, beta1 0.5) for both players, as in ALI's hyper-parameter tables
(BiGAN's code: 2e-4; on ring8 1e-4 was the more stable of the two in our runs), z of size
50 (BiGAN's MNIST latent size; 2-D data wants `--latent_dim=2`, as ALI's mixture experiment:
with a 50-d z the joint game on ring8 does not learn an inverse in a short run).

Reference:
    Donahue, Kraehenbuehl, Darrell, "Adversarial Feature Learning", ICLR 2017.
    Dumoulin et al., "Adversarially Learned Inference", ICLR 2017.

Length: the paper's game has a third network, the encoder, trained with G as one player
against a joint D(x, z); its stochastic (ALI) form, its export and its reconstruction grid
live here, and the docstring records where the two papers' codes differ.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgan_suite import losses, precision, settings
from tfgan_suite.variants.base import GANModel, LossParams
from tfgan_suite.variants.spec import Variant

# sigma = exp(log sigma) with log sigma clipped here, so an early large head output cannot
# overflow z (and the run) before D has shaped the encoder.
LOG_SIGMA_RANGE = (-10.0, 5.0)


@dataclasses.dataclass(frozen=True)
class BiGANParams(LossParams):
    stochastic_encoder: bool = settings.setting(
        False, "reparametrised encoder z = mu + sigma * eps (ALI, Dumoulin et al.); false: "
        "deterministic z = E(x) (BiGAN)")


class BiGAN(GANModel):
    """`d_steps` updates of D(x, z), then one joint update of G and E.

    Args (beyond GANModel's):
        encoder: keras.Model, data [N, *data_shape] -> z [N, latent_dim]; with
            `stochastic_encoder`, -> [mean, log_sigma], each [N, latent_dim].
        discriminator: keras.Model, [x, z] -> logits [N, 1].
        stochastic_encoder: z = mean + exp(log_sigma) * eps (ALI).

    Attributes:
        encoder: x -> z (the mean for a stochastic encoder): what `encode` exports.
        encoder_network: the trained encoder (both heads); checkpointed as `encoder`.

    Reference: Donahue et al. 2017 (the BiGAN game); Dumoulin et al. 2017 (ALI).
    """

    Params = BiGANParams

    def __init__(self, generator, discriminator, encoder, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.stochastic_encoder = stochastic_encoder = self.params.stochastic_encoder
        self.encoder_network = encoder
        outputs = len(getattr(encoder, "outputs", None) or [None])
        if outputs != (2 if self.stochastic_encoder else 1):
            raise ValueError(
                "`encoder` must have 2 outputs (mean, log_sigma) with stochastic_encoder=True "
                f"and 1 output otherwise. Received: {outputs} output(s), "
                f"stochastic_encoder={stochastic_encoder}")
        self.encoder = (keras.Model(encoder.inputs, encoder.outputs[0], name="encoder_mean")
                        if self.stochastic_encoder else encoder)

    @classmethod
    def create(cls, cfg, data):
        from tfgan_suite import nets
        from tfgan_suite.nets import bigan

        generator = nets.build_generator(cfg.architecture, data_shape=data.shape,
                                         latent_dim=cfg.latent_dim, width=cfg.width,
                                         norm=cfg.g_norm)
        discriminator = bigan.build_joint_discriminator(
            cfg.architecture, data_shape=data.shape, latent_dim=cfg.latent_dim,
            width=cfg.width, norm=cfg.d_norm, spectral_norm=cfg.d_spectral_norm)
        encoder = bigan.build_encoder(cfg.architecture, data_shape=data.shape,
                                      latent_dim=cfg.latent_dim, width=cfg.width,
                                      stochastic=cfg.stochastic_encoder)
        return cls(generator, discriminator, encoder, **cls.model_kwargs(cfg))

    @property
    def g_variables(self):
        """The variables of the E+G player: the generator's, then the encoder's."""
        return (self.generator.trainable_variables
                + self.encoder_network.trainable_variables)

    def compile(self, *, d_optimizer, g_optimizer, jit_compile=False, **kwargs):
        """As GANModel.compile, with the g_optimizer built over G's and E's variables.

        Built here first: GANModel.compile's own `g_optimizer.build(G's variables)` is
        then a no-op (Keras optimizers build once), so the optimizer holds slots for E.
        Under float16 it is wrapped in its LossScaleOptimizer first, so that the wrapper
        too knows E's variables.
        """
        g_optimizer = precision.wrap_optimizer(g_optimizer, self.precision)
        g_optimizer.build(self.g_variables)
        super().compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                        jit_compile=jit_compile, **kwargs)

    def checkpoint_items(self):
        return dict(super().checkpoint_items(), encoder=self.encoder_network)

    def exported_encoder(self):
        return self.encoder

    def training_callbacks(self, cfg, data, writer, evaluator):
        """The shared ones, plus real/reconstruction pairs."""
        from tfgan_suite import callbacks

        return (super().training_callbacks(cfg, data, writer, evaluator)
                + [callbacks.ReconstructionGrid(writer, cfg.sample_every, data)])

    def encode(self, x, training):
        """z for data x: E(x), or mean + sigma * eps with a stochastic encoder."""
        if not self.stochastic_encoder:
            return self.encoder_network(x, training=training)
        mean, log_sigma = self.encoder_network(x, training=training)
        log_sigma = tf.clip_by_value(log_sigma, *LOG_SIGMA_RANGE)
        return mean + tf.exp(log_sigma) * self.latent(tf.shape(mean)[0])

    def reconstruct(self, x):
        """G(E(x)) in inference mode, E's mean for a stochastic encoder."""
        return self.generator(self.encoder(x, training=False), training=False)

    def train_step(self, data):
        d_loss_fn, _ = losses.get(self.params.loss)
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps

        # D: (x, E(x)) labelled real against (G(z), z) labelled fake.
        for real_batch, _ in self.real_batches(real):
            z = self.latent(batch_size)
            fake = self.generator(z, training=True)
            z_hat = self.encode(real_batch, training=True)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator([self.noisy(real_batch), z_hat],
                                                 training=True)
                fake_logits = self.discriminator([self.noisy(fake), z], training=True)
                d_loss = d_loss_fn(real_logits, fake_logits)
            self.minimize(self.d_optimizer, tape, d_loss,
                          self.discriminator.trainable_variables)

        # E and G together, through the updated D, on the swapped labels.
        with tf.GradientTape() as tape:
            z = self.latent(batch_size)
            fake = self.generator(z, training=True)
            z_hat = self.encode(real_batch, training=True)
            g_real_logits = self.discriminator([self.noisy(real_batch), z_hat],
                                               training=True)
            g_fake_logits = self.discriminator([self.noisy(fake), z], training=True)
            if self.params.loss == "minimax":
                g_loss = -d_loss_fn(g_real_logits, g_fake_logits)
            else:
                g_loss = d_loss_fn(g_fake_logits, g_real_logits)
        self.minimize(self.g_optimizer, tape, g_loss, self.g_variables)

        recon_error = tf.reduce_mean(tf.square(real_batch - self.reconstruct(real_batch)))
        return self.end_step({
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),   # D(x, E(x))
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),   # D(G(z), z)
            "recon_error": recon_error,
            "instance_noise": self.instance_noise_std(),
        })


VARIANT = Variant(
    name="bigan",
    model=BiGAN,
    defaults=dict(loss="non_saturating", architecture="dcgan", latent_dim=50,
                  optimizer="adam", g_lr=1e-4, d_lr=1e-4, g_beta1=0.5, d_beta1=0.5),
    # A 2-D point needs no 50-d code: with z of size 50 the reconstruction G(E(x)) does not
    # improve on ring8, with z of size 2 (the data's own dimension) it falls steadily.
    # On 2-D data the shared rate of 1e-3 leaves the samples spread (ring8: 36 % high
    # quality); 3e-4 gives 89 % (benchmarks/mixtures.py, settings lr3e-4, lr1e-4).
    points_defaults=dict(latent_dim=2, g_lr=3e-4, d_lr=3e-4),
    summary="BiGAN/ALI: encoder E(x) -> z trained with G against a joint D(x, z); "
            "--stochastic_encoder for ALI; exports `encode`; logs recon_error",
    reference="Donahue, Kraehenbuehl & Darrell, Adversarial Feature Learning, ICLR 2017; "
              "Dumoulin et al., Adversarially Learned Inference, ICLR 2017",
)
