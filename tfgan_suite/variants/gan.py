"""`gan`: the original minimax GAN, with k discriminator steps per generator step.

D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))), the saturating
form, kept on purpose: it is the paper's game, and its vanishing gradient early in
training is what `nsgan` fixes. The same `train_step` serves every loss pair of
`tfgan_suite.losses` (`loss` picks it), so `nsgan` and `dcgan` reuse this class.
"""

import tensorflow as tf

from tfgan_suite import losses
from tfgan_suite.variants.base import GANModel, LossParams
from tfgan_suite.variants.spec import Variant


class GAN(GANModel):
    """Alternating updates: `d_steps` discriminator steps, then one generator step.

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1.
    """

    Params = LossParams

    def train_step(self, data):
        d_loss_fn, g_loss_fn = losses.get(self.params.loss)
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps

        # Discriminator: k steps, each on a fresh real batch and fresh z (Algorithm 1).
        for real_batch, _ in self.real_batches(real):
            fake = self.generator(self.latent(batch_size), training=True)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(self.noisy(real_batch), training=True)
                fake_logits = self.discriminator(self.noisy(fake), training=True)
                d_loss = d_loss_fn(real_logits, fake_logits)
            self.minimize(self.d_optimizer, tape, d_loss,
                          self.discriminator.trainable_variables)

        # Generator: one step through the (just updated) discriminator.
        with tf.GradientTape() as tape:
            fake = self.generator(self.latent(batch_size), training=True)
            g_fake_logits = self.discriminator(self.noisy(fake), training=True)
            g_loss = g_loss_fn(g_fake_logits)
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        return self.end_step({
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),   # D(x)
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),   # D(G(z)) before G's step
            "instance_noise": self.instance_noise_std(),
        })


VARIANT = Variant(
    name="gan",
    model=GAN,
    defaults=dict(loss="minimax", architecture="mlp"),
    summary="original minimax GAN (saturating G loss), fully connected nets, --d_steps=k",
    reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
)
