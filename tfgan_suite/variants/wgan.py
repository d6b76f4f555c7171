"""`wgan`: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

The critic (D with a linear output) maximises E[D(x)] - E[D(G(z))]; after every critic
update its weights are clipped to [-c, c] (`--clip_value`, 0.01), a crude way to keep it
K-Lipschitz; G minimises -E[D(G(z))]. RMSProp at 5e-5 for both players, with rho = 0.99:
PyTorch's default `alpha`, which the authors' code used (Keras's default rho is 0.9).
The critic keeps the DCGAN discriminator's batch norm, as the paper's DCGAN critic and the
authors' code do (its gamma and beta are clipped like every other critic weight).

The critic schedule: n_critic = `--d_steps` (5) critic updates per generator update,
raised to 100 for each of the first 25 generator steps and every 500th, so that the critic
is close to optimal when its estimate matters most (authors' code; `--nowgan_critic_schedule`
turns it off). Every critic update uses a fresh real batch, and the step's count cannot be
a traced loop: under MirroredStrategy an `optimizer.apply` inside `tf.while_loop` or
`tf.cond` is not supported. So the count is a property of the data: the input pipeline
puts m(k) batches into step k's element (`batches_per_step` = `CriticSchedule`, whose
closed-form offset keeps resume exact), and `make_train_function` reads m(k) from the
element's size and runs it as Python-unrolled calls of two traced functions: chunks of
`d_steps` critic updates, then the last `d_steps` critic updates with the generator
update. (Keras's own train function would see one trace with an unknown batch size, and
a single trace unrolling 100 critic updates takes minutes to build.)

`--instance_noise` adds the annealed Gaussian noise of `gan` to both of the critic's inputs
in every critic update and to the fakes of the generator update (logged: `instance_noise`).

Logged: `wasserstein` = E[D(x)] - E[D(G(z))] of the last critic update, the critic's
estimate of the Wasserstein-1 distance up to the Lipschitz constant; it should fall as the
samples improve.

Length: the paper's critic schedule (100 critic updates early and every 500th step) needs
its own train function, so that each step's critic count comes from the data and every
update stays out of tf.cond under MirroredStrategy.
"""

import dataclasses
import functools

import tensorflow as tf

from tfgan_suite import losses, settings
from tfgan_suite.optimizers import CriticSchedule  # also importable from here
from tfgan_suite.variants.base import _DRAWS_PER_STEP as DRAWS_PER_STEP
from tfgan_suite.variants.base import GANModel, LossParams, loss_setting, step_logs
from tfgan_suite.variants.spec import Variant


def clip_setting():
    """`--clip_value`, declared once for the variants that clip their critic."""
    return settings.setting(0.01, "weight clipping c: critic weights are clipped to [-c, c] "
                            "after every critic update", check=settings.above(0))


@dataclasses.dataclass(frozen=True)
class WGANParams(LossParams):
    loss: str = loss_setting("wasserstein")
    clip_value: float = clip_setting()
    wgan_critic_schedule: bool = settings.setting(
        True, "100 critic updates for each of the first 25 generator steps and every "
        "500th, else --d_steps (Arjovsky et al.'s code); false: always --d_steps")


class WGAN(GANModel):
    """Critic updates with weight clipping, then one generator update.

    Parameters (`WGANParams`, beyond the loss pair):
        clip_value: c; critic weights are clipped to [-c, c] after every critic update.
        wgan_critic_schedule: use `CriticSchedule(d_steps)` (True) or always `d_steps`
            critic updates (False).

    Args (beyond GANModel's):
        batch_size: global batch size of one critic update. The number of critic updates
            of a step is the number of such batches in its element (so it follows whatever
            the pipeline was given); None: every element holds `d_steps` batches.

    Reference: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017, Algorithm 1.
    """

    Params = WGANParams
    packable = True
    multi_step_execution = False   # one element, one step, per call (make_train_function)

    def __init__(self, generator, discriminator, *, batch_size=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.batch_size = batch_size

    @staticmethod
    def model_kwargs(cfg):
        return dict(GANModel.model_kwargs(cfg), batch_size=cfg.batch_size)

    @property
    def batches_per_step(self):
        if self.params.wgan_critic_schedule:
            return CriticSchedule(self.d_steps)
        return self.d_steps

    # ----------------------------------------------------------------------------------
    # The train function: the critic count comes from the element's size.

    def make_train_function(self, force=False):
        """Runs each step's n critic updates as traced chunks, then the generator update.

        Keras's own train function takes the next element inside one trace, where an
        element of varying size has an unknown batch dimension, and one trace with 100
        unrolled critic updates takes minutes to build. Here the element is taken first
        and its critic count n read from its concrete size; the first n - d_steps critic
        updates run as chunks of d_steps updates (`_critic_chunk`, one trace), the last
        d_steps with the generator update (`_last_critic_steps_and_generator`, one trace).
        An ordinary step is that last call alone. Each call goes through Keras's
        `_make_function` (strategy.run, replica reduction, XLA), so every optimizer update
        stays out of `tf.cond`/`tf.while_loop` and the step works under MirroredStrategy.
        """
        if self.train_function is not None and not force:
            return self.train_function
        last = self._make_function(self._last_critic_steps_and_generator)
        chunks = {}

        def train_function(iterator):
            data = next(iterator)
            n_critic = self._critic_steps_in(data)
            draws = self._last_call_draws() + self._critic_draws() * (n_critic - self.d_steps)
            if draws > DRAWS_PER_STEP:  # more would reuse the next step's random streams
                raise ValueError(f"{n_critic} critic updates make {draws} random draws in "
                                 f"one step; at most {DRAWS_PER_STEP} are allowed")
            done = 0
            while done < n_critic - self.d_steps:
                size = min(self.d_steps, n_critic - self.d_steps - done)
                if size not in chunks:
                    chunks[size] = self._make_function(
                        functools.partial(self._critic_chunk, size=size))
                chunks[size]([(data, tf.constant(done, tf.int32),
                               tf.constant(n_critic, tf.int32))])
                done += size
            return last([(data, tf.constant(n_critic, tf.int32))])

        self.train_function = train_function
        return train_function

    def _critic_steps_in(self, data):
        """Critic updates a step's element feeds: its rows over the global batch size."""
        if self.batch_size is None:
            return self.d_steps
        real, _ = self.unpack(data)
        strategy = self.distribute_strategy
        local = strategy.experimental_local_results(real)
        # This worker's replicas hold len(local) of the num_replicas_in_sync equal blocks.
        rows = sum(int(t.shape[0]) for t in local) * strategy.num_replicas_in_sync // len(local)
        if rows % self.batch_size or rows // self.batch_size < self.d_steps:
            raise ValueError(f"an element of {rows} rows is not a whole number (>= d_steps="
                             f"{self.d_steps}) of batches of batch_size={self.batch_size}")
        return rows // self.batch_size

    def train_step(self, data):
        """One step on an element of exactly `d_steps` batches (the schedule needs
        `make_train_function`)."""
        return self._last_critic_steps_and_generator((data, self.d_steps))

    # ----------------------------------------------------------------------------------

    def clip_critic(self):
        """w <- clip(w, -c, c) for every trainable critic weight (Algorithm 1, line 8)."""
        for v in self.discriminator.trainable_variables:
            v.assign(tf.clip_by_value(v, -self.params.clip_value, self.params.clip_value))

    # Random draws of a step. A critic update draws z, then (with instance noise) the noise
    # of its real and of its fake batch; the generator update draws z and (with instance
    # noise) the noise of its fakes. The last call (`_last_critic_steps_and_generator`)
    # numbers its draws from 0; chunk update j (0 <= j < n_critic - d_steps) takes the
    # draws after them, `_last_call_draws() + _critic_draws() * j + (0, 1, 2)`. Without
    # instance noise that is draw j + d_steps + 1 for z, the numbering of the noiseless
    # step, whose random streams stay as they were.

    def _critic_draws(self):
        """Random draws of one critic update: z, and the noise of its real and fake batch."""
        return 1 if self.instance_noise == 0.0 else 3

    def _last_call_draws(self):
        """Random draws of the last call: its d_steps critic updates and the generator's."""
        return self._critic_draws() * self.d_steps + (1 if self.instance_noise == 0.0 else 2)

    def _seed(self, draw_offset):
        """The next draw's seed, `draw_offset` draws on (None: not moved)."""
        seed = self.next_seed()
        if draw_offset is None:
            return seed
        return seed + tf.stack([tf.zeros([], tf.int64), draw_offset])

    def _critic_update(self, real_batch, batch_size, draw_offset=None):
        """One critic update (Algorithm 1, lines 3-8), instance noise on both of the
        critic's inputs as in `gan`; returns (loss, real scores, fake scores).

        Its draws: z, then (with instance noise) the noise of the real and of the fake
        batch, each `draw_offset` draws on. The offset is passed, not kept on the model:
        under MirroredStrategy the replicas trace this concurrently on the one model.
        """
        d_loss_fn, _ = losses.get(self.params.loss)
        z = tf.random.stateless_normal([batch_size, self.latent_dim],
                                       seed=self._seed(draw_offset))
        fake = self.generator(z, training=True)
        if self.instance_noise != 0.0:
            real_batch = self.noisy(real_batch, seed=self._seed(draw_offset))
            fake = self.noisy(fake, seed=self._seed(draw_offset))
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(self.packed(real_batch), training=True)
            fake_scores = self.discriminator(self.packed(fake), training=True)
            d_loss = d_loss_fn(real_scores, fake_scores)
        self.minimize(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)
        self.clip_critic()
        return d_loss, real_scores, fake_scores

    def _critic_chunk(self, inputs, size):
        """Critic updates first .. first+size-1 of a step with n_critic updates in all."""
        data, first, n_critic = inputs
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // n_critic
        # The i-th update of this trace makes draws i * _critic_draws() + (0, 1, 2) of the
        # trace; moved past the last call's draws and those of chunk updates 0 .. first-1.
        offset = tf.cast(self._last_call_draws() + self._critic_draws() * first, tf.int64)
        for real_batch in _critic_batches(real, n_critic, first, size):
            d_loss, _, _ = self._critic_update(real_batch, batch_size, offset)
        self._draws = 0  # this trace's draws are numbered; the next trace starts again at 0
        return step_logs({"d_loss": d_loss})

    def _last_critic_steps_and_generator(self, inputs):
        """The last d_steps critic updates of the step, then the generator update."""
        data, n_critic = inputs
        _, g_loss_fn = losses.get(self.params.loss)
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // n_critic
        reals = _critic_batches(real, n_critic, n_critic - self.d_steps, self.d_steps)

        for real_batch in reals:
            d_loss, real_scores, fake_scores = self._critic_update(real_batch, batch_size)

        # Generator: one update through the clipped critic (Algorithm 1, lines 9-10).
        with tf.GradientTape() as tape:
            fake = self.generator(self.latent(batch_size), training=True)
            g_loss = g_loss_fn(self.discriminator(self.packed(self.noisy(fake)), training=True))
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        d_real = tf.reduce_mean(real_scores)
        d_fake = tf.reduce_mean(fake_scores)
        return self.end_step({
            "d_loss": d_loss,
            "g_loss": g_loss,
            "wasserstein": d_real - d_fake,
            "d_real": d_real,   # mean critic score on real data
            "d_fake": d_fake,   # ... on generated data, before G's update
            "critic_steps": n_critic,
            "instance_noise": self.instance_noise_std(),
        })


def _critic_batches(real, n_critic, first, count):
    """Batches first .. first+count-1 (count static) of `real` cut into n_critic batches.

    A gather on a [n_critic, batch, ...] view rather than a slice: under XLA the offset
    `first` stays a runtime value (a slice size depending on it would be recompiled for
    every chunk of the step).
    """
    shape = tf.shape(real)
    batches = tf.reshape(real, tf.concat([[n_critic, shape[0] // n_critic], shape[1:]], 0))
    return tf.unstack(tf.gather(batches, first + tf.range(count)), num=count)


VARIANT = Variant(
    name="wgan",
    model=WGAN,
    defaults=dict(loss="wasserstein", architecture="dcgan", latent_dim=100, d_steps=5,
                  optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5, g_beta2=0.99, d_beta2=0.99),
    # On 2-D data the paper's clip of 0.01 gives 1.1 % high-quality ring samples, 0.1 with
    # one critic update per step 61 % at a fifth of the cost; neither reaches 90 %, the
    # limit of clipping that Gulrajani et al. (2017) show on these mixtures (README).
    points_defaults=dict(clip_value=0.1, d_steps=1),
    summary="Wasserstein GAN: critic weights clipped to [-c, c], RMSProp 5e-5, n_critic 5 "
            "(100 early and every 500th step)",
    reference="Arjovsky, Chintala & Bottou, Wasserstein GAN, ICML 2017",
)
