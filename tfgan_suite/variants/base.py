"""The base of every variant: two players, two optimizers, a step counter and random streams.

Why a base class: what every GAN needs but no paper writes down — two optimizers built
eagerly, per-replica random draws, loss scaling under `tf.distribute`, instance noise, a
step counter that survives checkpoints — lives here once. So does the adversarial step most
papers share (`train_step`: `d_steps` D updates, then one G update), written once so that a
variant is a specification: it subclasses `GANModel` (one level of inheritance, no deeper)
and overrides the hooks where its paper differs. A variant whose algorithm has another shape
(an auto-encoder D, an encoder, a scheduled critic) writes its own `train_step` instead,
with the helpers below.

Hooks of the adversarial step (defaults: the loss pair `params.loss`, nothing else):
    d_objective(real, fake, labels) -> (loss, logs)   D's loss on noised inputs (mcgan: IPM)
    score_logs(real_logits, fake_logits) -> logs      what D's outputs say (wgan_gp)
    penalty_points(real, fake) -> points              drawn with each fake batch (wgan_gp)
    d_penalty(points, labels) -> (value, logs)        added to D's loss (wgan_gp, dragan)
    d_constrain()                                     after each D update (mcgan)
    g_objective(fake, labels) -> loss                 G's loss on noised fakes (mcgan)
    conditional = True                                G takes [z, y], D takes [x, y] (cgan)

Helpers a `train_step` uses:
    real, labels = self.unpack(data)
    for real_batch in self.real_batches(real): ...   # d_steps critic updates, fresh data each
    z = self.latent(batch_size)                        # per-replica, per-step, per-draw stream
    fake = self.fake_batch(batch_size, labels)         # G(z) (G(z, y)), training mode
    logits = self.discriminate(x, labels)              # D(x) (D(x, y)), training mode
    x = self.noisy(x)                                  # instance noise on D's inputs
    self.minimize(optimizer, tape, loss, variables)    # replica-correct update
    grads = self.replica_gradients(tape, loss, vars)   # ... its gradients, applied later
    self.add_state(name)                               # (in __init__) checkpointed scalar
    return self.end_step(logs)                         # EMA moves, step += 1, logs out

The generator EMA (`ema_decay` > 0, `tfgan_suite.ema`): `ema_generator` is an averaged copy
of G, moved in `end_step`, the one place every step of every variant ends (train_step,
pretrain_step, wgan's last call, began's simultaneous step). It is checkpointed, drawn as
`samples/fixed_z_ema`, measured by `--eval_every` and exported by default; it never feeds
back into training. With `ema_decay` = 0 there is no copy and no extra operation.
"""

import dataclasses
import threading

import keras
import tensorflow as tf

from tfgan_suite import ema, losses, packing, settings
from tfgan_suite import precision as precision_lib

# Offsets that keep the random streams of different replicas and draws apart. Seed element
# 0 carries (seed, replica), element 1 carries (step, draw index within the step).
_REPLICA_STRIDE = 1 << 32
_DRAWS_PER_STEP = 1 << 12


def loss_setting(default="non_saturating"):
    """`--loss`, declared once for every variant whose step takes a loss pair."""
    return settings.setting(default, "adversarial loss pair from tfgan_suite.losses",
                            check=settings.one_of(*losses.LOSSES))


@dataclasses.dataclass(frozen=True)
class LossParams(settings.Params):
    """The parameters of a variant whose only knob is its loss pair (gan, nsgan, ...)."""

    loss: str = loss_setting()


class GANModel(keras.Model):
    """A generator and a discriminator trained against each other.

    Args:
        generator: keras.Model, z [N, latent_dim] -> samples [N, *data_shape].
        discriminator: keras.Model, samples -> logits [N, 1].
        latent_dim: size of z.
        d_steps: discriminator updates per generator update (>= 1). Each uses its own real
            batch, so the input pipeline yields `d_steps` batches per step.
        seed: base of every random draw inside the step (z, noise, interpolates).
        instance_noise: initial std of the Gaussian noise added to D's inputs (0 = off).
        instance_noise_steps: steps over which that std falls linearly to 0.
        params: the variant's own parameters, an instance of its `Params` (checked when
            it is built); or give them as keyword arguments (`loss="minimax"`).
        ema_decay: d of the generator EMA, in [0, 1); 0 = no averaged copy.
        ema_start: S: the averaged copy equals G up to step S and averages after it
            (`tfgan_suite.ema`).
        precision: `--precision` (`tfgan_suite.precision`); "mixed_float16" makes `compile`
            wrap both optimizers in a LossScaleOptimizer. The players take their dtype
            policy when they are built (`training.build_model` builds them under it).
    """

    # The variant's own parameters (a frozen `settings.Params` dataclass); flags, checks
    # and `config.json` come from its fields. The base has none.
    Params = settings.Params

    # True for variants whose G and D take labels (the pipeline then yields (x, y)).
    conditional = False
    # The kinds of data the variant trains on (`data.kind`); irgan's is ("recsys",).
    data_kinds = ("image", "points")
    # True where D judges samples alone, so that PacGAN packing (`--pack`) applies; a D
    # that also reads labels, codes or reconstructs its input does not pack.
    packable = False
    # True where Keras may run several steps per call (`--steps_per_execution`); False for
    # a variant with a train function of its own that takes one element per call (wgan).
    multi_step_execution = True
    # True for a variant that sets its players' learning rates itself (began's decay on
    # M_global, irgan's pretraining rate), which `--lr_decay` would fight.
    drives_learning_rate = False
    # True for a variant that trains under a mixed `--precision` (every one but irgan).
    mixed_precision = True
    # False: one input element per step even at several steps per call (Keras's own loop;
    # `steps_per_element`), for A/B measurements (benchmarks/mixtures_speed.py --forms).
    fetch_steps_together = True

    def __init__(self, generator, discriminator, *, latent_dim, d_steps=1, seed=0,
                 instance_noise=0.0, instance_noise_steps=1, pack=1, ema_decay=0.0,
                 ema_start=1000, precision="float32", params=None, name=None,
                 **param_values):
        super().__init__(name=name)
        # The shared settings were checked by `Config`; the variant's by its `Params`.
        self.params = params if params is not None else self.Params(**param_values)
        if params is not None and param_values:
            raise ValueError("give the variant's parameters as `params` or as keyword "
                             f"arguments, not both. Received: {sorted(param_values)}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.d_steps = int(d_steps)
        self.seed = int(seed)
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = int(instance_noise_steps)
        self.pack = int(pack)
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1). Received: ema_decay={ema_decay}")
        if ema_start < 0:
            raise ValueError(f"`ema_start` must be >= 0. Received: ema_start={ema_start}")
        self.ema_decay = float(ema_decay)
        self.ema_start = int(ema_start)
        if precision not in precision_lib.PRECISIONS:
            raise ValueError(f"`precision` must be one of {', '.join(precision_lib.PRECISIONS)}"
                             f". Received: precision={precision!r}")
        self.precision = precision
        # The averaged generator, or None: EMA off adds no variable to the model.
        self.ema_generator = ema.copy_network(generator) if self.ema_decay > 0 else None
        # Generator updates done so far. Checkpointed; drives the random streams, the
        # instance-noise schedule and any variant schedule.
        self._state = {}
        self.step = self.add_state("step", dtype="int64")
        # The trace-time draw counter, one per thread: under MirroredStrategy each replica
        # traces the step in its own thread, at the same time, on this one model.
        self._trace_state = threading.local()
        # A wrapper model without call() must say it is built, or fit under a
        # distribution strategy refuses it (KERAS_NOTES).
        self.built = True

    # ----------------------------------------------------------------------------------
    # Construction from a run configuration.

    @classmethod
    def create(cls, cfg, data):
        """Builds the variant's networks for `data` from a Config.

        `data` is an ArrayData or RecsysData, or the `DataSpec` a run recorded (shape,
        classes): building needs no examples, so a run can be exported without its data.
        """
        return cls(*cls.standard_players(cfg, data), **cls.model_kwargs(cfg))

    @staticmethod
    def standard_players(cfg, data):
        """(generator, discriminator) of `cfg.architecture` with the Config's width,
        latent size, G and D normalisation and spectral norm; variants that reshape the
        discriminator (mcgan's feature critic) start from these."""
        from tfgan_suite import nets

        generator = nets.build_generator(cfg.architecture, data_shape=data.shape,
                                         latent_dim=cfg.latent_dim, width=cfg.width,
                                         norm=cfg.g_norm)
        discriminator = nets.build_discriminator(
            cfg.architecture, data_shape=data.shape, width=cfg.width, norm=cfg.d_norm,
            spectral_norm=cfg.d_spectral_norm, pack=cfg.pack)
        return generator, discriminator

    @staticmethod
    def model_kwargs(cfg):
        """The constructor arguments every variant takes from a (data-fitted) Config."""
        return dict(latent_dim=cfg.latent_dim, d_steps=cfg.d_steps, seed=cfg.seed,
                    instance_noise=cfg.instance_noise,
                    instance_noise_steps=cfg.instance_noise_steps, pack=cfg.pack,
                    ema_decay=cfg.ema_decay, ema_start=cfg.ema_start,
                    precision=cfg.precision, params=cfg.params)

    def compile(self, *, d_optimizer, g_optimizer, jit_compile=False, **kwargs):
        """Attaches both optimizers and builds them now, outside any traced function.

        An optimizer built lazily inside the traced step fails under a distribution
        strategy; the generator's optimizer doubles as `self.optimizer` so that Keras's
        callbacks see a real one (KERAS_NOTES: "train_step with two optimizers"). Under
        float16 each is first wrapped in a LossScaleOptimizer (`precision.wrap_optimizer`),
        so Keras's compile, which wraps only a bare `self.optimizer`, adds no third one.
        """
        d_optimizer = precision_lib.wrap_optimizer(d_optimizer, self.precision)
        g_optimizer = precision_lib.wrap_optimizer(g_optimizer, self.precision)
        super().compile(optimizer=g_optimizer, jit_compile=jit_compile, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras's shape inference before `fit`, skipped with several workers.

        There Keras would average a first batch over the workers to learn its shapes,
        which MultiWorkerMirroredStrategy refuses for an (x, y) element; nothing is left
        to infer anyway: the networks are built when created, both optimizers in `compile`,
        and there are no compiled losses or metrics.
        """
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # ----------------------------------------------------------------------------------
    # Pretraining: leading steps of another kind (ebgan's auto-encoder, irgan's BPR).

    @property
    def pretrain_steps(self):
        """Leading steps that run `pretrain_step` instead of `train_step` (0: none). They
        count in the step counter and in `--steps`."""
        return 0

    def pretrain_step(self, data):
        """One pretraining step on the same pipeline element as `train_step`, ending with
        `end_step` like it; a variant with `pretrain_steps` > 0 writes it."""
        raise NotImplementedError(f"{type(self).__name__} has pretrain_steps="
                                  f"{self.pretrain_steps} but no pretrain_step")

    def make_train_function(self, force=False):
        """Keras's train function; with `pretrain_steps`, one that picks the step per call.

        The choice is made in Python from the step counter before each step, so each kind
        of step is its own traced function (traced when first used): no optimizer update
        sits inside a `tf.cond` (unsupported under MirroredStrategy), a step computes only
        its own phase, and a resumed run picks what the uninterrupted one did.
        """
        if self.train_function is not None and not force:
            return self.train_function
        if not self.pretrain_steps:
            super().make_train_function(force)
            return self.train_function
        if self.pretrain_steps % self.steps_per_execution:
            raise ValueError("pretraining picks its step per call: `steps_per_execution` "
                             f"must divide pretrain_steps={self.pretrain_steps}. Received: "
                             f"steps_per_execution={self.steps_per_execution}")
        game = self._make_function(self.train_step)
        pretrain = self._make_function(self.pretrain_step)

        def train_function(iterator):
            if int(self.step.numpy()) < self.pretrain_steps:
                return pretrain(iterator)
            return game(iterator)

        self.train_function = train_function
        return train_function

    @property
    def steps_per_element(self):
        """Steps whose data one input element holds: `steps_per_execution` (k) when this
        model runs k > 1 steps per call on one device without a distribution strategy,
        else 1.

        Why: Keras's loop over k steps fetches k elements, each fetch and its loop
        bookkeeping costing about as much as a tenth of a 2-D step; with the k steps'
        batches stacked in one element (`make_dataset`, `data.make_dataset`'s
        `steps_per_element`), a call fetches once and slices (`_make_function`). The
        batches, and so the run, are the same.
        """
        k = self.steps_per_execution or 1
        # Keras records the strategy a model was created under (None: the default one).
        if (k > 1 and self.multi_step_execution and self.fetch_steps_together
                and self._distribute_strategy is None):
            return k
        return 1

    def _make_function(self, step_function):
        """Keras's train function of `step_function`, or with `steps_per_element` = k > 1
        one that fetches one element of k steps' batches and runs the k steps on its
        slices, in a `tf.while_loop`, returning the last step's logs (what Keras's own
        k-step loop returns). The step stays a function of its own, as in Keras's loop:
        inlined into the loop, its graph is optimised differently and its rounding no
        longer matches a run of one step per call bit for bit.
        """
        k = self.steps_per_element
        if k == 1:
            return super()._make_function(step_function)
        # No AutoGraph, as in Keras's loop: the step is traced as the Python it is.
        one_step = tf.function(step_function, jit_compile=self.jit_compile,
                               reduce_retracing=True, autograph=False)

        @tf.function(reduce_retracing=True, autograph=False)
        def run_steps(iterator):
            element = iterator.get_next()
            sliced = lambda i: tf.nest.map_structure(lambda t: t[i], element)  # noqa: E731
            # The loop carries the logs, so their structure is needed before its body is
            # traced: from the step's trace on a slice's signature, which the body reuses.
            spec = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape[1:], t.dtype),
                                         element)
            logs_spec = one_step.get_concrete_function(spec).structured_outputs
            logs = tf.nest.map_structure(lambda t: tf.zeros(t.shape, t.dtype), logs_spec)

            def body(i, logs):
                return i + 1, one_step(sliced(i))

            _, logs = tf.while_loop(lambda i, logs: i < k, body, [tf.constant(0), logs])
            return logs

        return run_steps

    # ----------------------------------------------------------------------------------
    # Helpers for train_step.

    @property
    def _draws(self):
        """Draws made so far in the step being traced (by this thread)."""
        return getattr(self._trace_state, "draws", 0)

    @_draws.setter
    def _draws(self, value):
        self._trace_state.draws = value

    @property
    def num_replicas(self):
        return tf.distribute.get_strategy().num_replicas_in_sync

    def unpack(self, data):
        """Splits a pipeline element into (real, labels); labels is None when absent."""
        if isinstance(data, (tuple, list)):
            return data[0], (data[1] if len(data) > 1 else None)
        return data, None

    def real_batches(self, real, labels=None):
        """The `d_steps` real batches of one step, each (real_batch, label_batch)."""
        reals = tf.split(real, self.d_steps) if self.d_steps > 1 else [real]
        if labels is None:
            return [(r, None) for r in reals]
        labs = tf.split(labels, self.d_steps) if self.d_steps > 1 else [labels]
        return list(zip(reals, labs))

    @property
    def batches_per_step(self):
        """Real batches the input pipeline puts in each step's element: `d_steps`.

        A variant whose number of critic updates varies by step (`wgan`) returns a
        schedule instead, a callable step -> count (`tfgan_suite.data.make_dataset`).
        """
        return self.d_steps

    def next_seed(self):
        """A stateless seed for one draw, different per replica, per step and per draw.

        Python's draw counter runs at trace time, so the k-th draw of a traced step always
        gets index k; the step variable makes each execution of the step different; the
        replica id keeps replicas from drawing the same numbers (which keras.random with a
        SeedGenerator does under MirroredStrategy).
        """
        index = self._draws
        self._draws += 1
        if index >= _DRAWS_PER_STEP:
            raise RuntimeError(f"more than {_DRAWS_PER_STEP} random draws in one step")
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        replica = tf.cast(replica, tf.int64)
        return tf.stack([self.seed + replica * _REPLICA_STRIDE,
                         self.step * _DRAWS_PER_STEP + index])

    def latent(self, batch_size):
        """z ~ N(0, I), shape [batch_size, latent_dim], from this replica's stream."""
        return tf.random.stateless_normal([batch_size, self.latent_dim],
                                          seed=self.next_seed())

    def uniform(self, shape, minval=0.0, maxval=1.0):
        """U[minval, maxval) from this replica's stream (e.g. interpolation weights)."""
        return tf.random.stateless_uniform(shape, seed=self.next_seed(),
                                           minval=minval, maxval=maxval)

    def instance_noise_std(self):
        """sigma_t = sigma_0 * max(0, 1 - step / instance_noise_steps)."""
        progress = tf.cast(self.step, tf.float32) / float(self.instance_noise_steps)
        return self.instance_noise * tf.maximum(0.0, 1.0 - progress)

    def noisy(self, x, seed=None):
        """x plus instance noise N(0, sigma_t^2); x itself when instance noise is off.

        `seed`: the stateless seed of the noise (default: `next_seed()`), for a step that
        numbers some of its draws itself (`wgan`'s critic chunks).

        Reference: Sonderby et al., "Amortised MAP Inference for Image Super-resolution",
        ICLR 2017, section 3.3; Arjovsky & Bottou, ICLR 2017.
        """
        if self.instance_noise == 0.0:
            return x
        noise = tf.random.stateless_normal(tf.shape(x), dtype=x.dtype,
                                           seed=self.next_seed() if seed is None else seed)
        return x + tf.cast(self.instance_noise_std(), x.dtype) * noise

    def minimize(self, optimizer, tape, loss, variables):
        """One update of `variables` down the gradient of `loss` (a per-replica mean).

        Gradients are summed over replicas by the optimizer, so each replica's gradient
        is divided by the replica count: the update is that of the mean over the global
        batch, at any replica count. Loss values are logged unscaled. Under float16 the
        gradient is that of the scaled loss, which the LossScaleOptimizer unscales, or
        skips (an overflow) while it halves its scale (`replica_gradients`).
        """
        grads = self.replica_gradients(tape, loss, variables, optimizer)
        # The update waits for the loss: gradients need not read every forward value (the
        # gradient of a bias is the upstream gradient), so without this edge an update,
        # and the clip after it, could run before a forward read of the same variable.
        with tf.control_dependencies([loss]):
            optimizer.apply(grads, variables)

    def replica_gradients(self, tape, loss, variables, optimizer):
        """The gradients `minimize` applies, for a step that computes several players'
        gradients before it applies any (`optimizer.apply(grads, variables)`).

        `optimizer` is the one that will apply them: under float16 (a LossScaleOptimizer)
        the gradient is that of `optimizer.scale_loss(loss)`, which its `apply` divides
        back. The scale enters as the tape's output gradient, d(s L)/dw = s dL/dw, so the
        loss itself (and what is logged) stays unscaled; for a plain optimizer s = 1.
        """
        grads = tape.gradient(loss, variables,
                              output_gradients=optimizer.scale_loss(tf.ones_like(loss)))
        replicas = self.num_replicas
        if replicas > 1:
            # Embedding lookups (cgan's label embeddings) give IndexedSlices, which `/` rejects.
            grads = [None if g is None
                     else tf.IndexedSlices(g.values / replicas, g.indices, g.dense_shape)
                     if isinstance(g, tf.IndexedSlices) else g / replicas for g in grads]
        return grads

    def end_step(self, logs):
        """Moves the generator EMA, counts the generator update, returns `logs` as
        float32 scalars.

        Also resets the trace-time draw counter, so every trace numbers its draws from 0.
        Under float16 the logs also hold both players' loss scales after the step
        (`d_loss_scale`, `g_loss_scale`): a halved one means an update was skipped.
        """
        self.update_ema()
        self.step.assign_add(1)
        self._draws = 0
        if precision_lib.loss_scaled(self.precision):
            logs = {**logs, "d_loss_scale": self.d_optimizer.dynamic_scale,
                    "g_loss_scale": self.g_optimizer.dynamic_scale}
        return step_logs(logs)

    def update_ema(self):
        """ema_k = g_k for k <= ema_start, else d ema_{k-1} + (1 - d) g_k, with k = step + 1
        the update this step made (`tfgan_suite.ema`); nothing when the EMA is off."""
        if self.ema_generator is None:
            return
        ema.update(self.ema_generator.weights, self.generator.weights, decay=self.ema_decay,
                   averaging=self.step >= self.ema_start)

    # ----------------------------------------------------------------------------------
    # The adversarial step, and the hooks a variant overrides where its paper differs.

    def train_step(self, data):
        """`d_steps` D updates, each on a fresh real batch and fresh z, then one G update.

        Each D update minimises `d_objective` on the noised inputs plus `d_penalty` at the
        `penalty_points` of the inputs without noise, then calls `d_constrain` (draws in
        this order: z, the points, the instance noise); G then minimises `g_objective` on
        fresh samples through the updated D. A conditional model gets (x, y) batches and
        makes its fakes for the labels of the real batch they meet (G's update: the last
        batch's labels, a draw from p(y)). Logged: `d_loss`, `g_loss`, then the logs of
        `d_penalty` and `d_objective`, all from the last D update.

        Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014,
        Algorithm 1.
        """
        real, labels = self.unpack(data)
        if not self.conditional:
            labels = None
        elif labels is None:
            raise ValueError(f"{type(self).__name__} trains on (x, y) batches; the dataset "
                             "yields x only (make_dataset(..., with_labels=True))")
        batch_size = tf.shape(real)[0] // self.d_steps

        for real_batch, label_batch in self.real_batches(real, labels):
            fake = self.fake_batch(batch_size, label_batch)
            points = self.penalty_points(real_batch, fake)
            with tf.GradientTape() as tape:
                d_loss, d_logs = self.d_objective(self.noisy(real_batch), self.noisy(fake),
                                                  label_batch)
                penalty, penalty_logs = self.d_penalty(points, label_batch)
                if penalty is not None:
                    d_loss = d_loss + penalty
            self.minimize(self.d_optimizer, tape, d_loss,
                          self.discriminator.trainable_variables)
            self.d_constrain()

        with tf.GradientTape() as tape:
            fake = self.fake_batch(batch_size, label_batch)
            g_loss = self.g_objective(self.noisy(fake), label_batch)
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return self.end_step({"d_loss": d_loss, "g_loss": g_loss, **penalty_logs, **d_logs})

    def d_objective(self, real, fake, labels):
        """D's loss on a real and a fake batch (instance noise added) and its logs; by
        default the D half of the loss pair `params.loss`, logged by `score_logs`."""
        real_logits = self.discriminate(real, labels)
        fake_logits = self.discriminate(fake, labels)
        d_loss = losses.get(self.params.loss)[0](real_logits, fake_logits)
        return d_loss, self.score_logs(real_logits, fake_logits)

    def score_logs(self, real_logits, fake_logits):
        """What D's outputs say: by default those of a classifier D, the mean probabilities
        D(x) and D(G(z)) before G's update, with the instance-noise std sigma_t."""
        return {"d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
                "instance_noise": self.instance_noise_std()}

    def penalty_points(self, real, fake):
        """Where `d_penalty` looks at D, drawn from the real and fake batches (without
        instance noise) before D's tape opens; by default nowhere (None)."""
        return None

    def d_penalty(self, points, labels):
        """A regulariser added to D's loss at `points`, under D's tape: (value, logs), or
        (None, {}) for none (the default)."""
        return None, {}

    def d_constrain(self):
        """Puts D back in its constraint set after each of its updates (clipping,
        projections); by default D is unconstrained.

        The explicit `return` matters: AutoGraph cannot convert a body that is only a
        docstring, and warned at every trace."""
        return None

    def g_objective(self, fake, labels):
        """G's loss on its fresh samples (instance noise added), through the updated D; by
        default the G half of the loss pair `params.loss`."""
        return losses.get(self.params.loss)[1](self.discriminate(fake, labels))

    def fake_batch(self, batch_size, labels=None):
        """G(z) in training mode for fresh z (G(z, y) for labels y), from this replica's
        stream."""
        return self.generator(_with_labels(self.latent(batch_size), labels), training=True)

    def discriminate(self, x, labels=None):
        """D(x) in training mode (D(x, y) for labels y): logits [N / pack, 1]."""
        return self.discriminator(_with_labels(self.packed(x), labels), training=True)

    def packed(self, x):
        """D's view of a batch of samples: runs of `pack` joined (`packing.pack_samples`)."""
        return packing.pack_samples(x, self.pack)

    # ----------------------------------------------------------------------------------
    # Sampling outside training.

    def generate(self, z, labels=None, *, ema=False):
        """G(z) in inference mode (batch norm uses its moving statistics); `ema`: the
        averaged generator's, where there is one."""
        return self.generator_for(ema)(_with_labels(z, labels), training=False)

    def generator_for(self, ema):
        """The generator to sample from: the averaged one if `ema` and there is one, else G."""
        return self.ema_generator if ema and self.ema_generator is not None else self.generator

    # ----------------------------------------------------------------------------------
    # What `training.train` asks of the model. Defaults fit images and 2-D points; a
    # variant overrides the hooks whose answer differs (irgan: all of them).

    def make_dataset(self, cfg, data, start_step):
        """The input stream from step `start_step` on: `batches_per_step` real batches per
        step (with labels for a conditional model), a pure function of (seed, batch); the
        batches of `steps_per_element` steps per element."""
        from tfgan_suite import data as data_lib

        return data_lib.make_dataset(data, batch_size=cfg.batch_size,
                                     batches_per_step=self.batches_per_step, seed=cfg.seed,
                                     start_batch=start_step, with_labels=self.conditional,
                                     steps_per_element=self.steps_per_element)

    def make_evaluator(self, cfg, data):
        """What `--eval_every` measures (None when off): the feature network and reference
        statistics of the training images, or the 2-D mixture's modes. Called before
        anything is written, so a missing feature network is a ConfigError."""
        if not cfg.eval_every:
            return None
        from tfgan_suite.metrics import evaluation

        try:
            return evaluation.training_evaluator(data, cfg.eval_samples, seed=cfg.seed)
        except ValueError as e:  # FeatureNetError, or 2-D data without known modes.
            raise settings.ConfigError(f"--eval_every={cfg.eval_every}: {e}") from None

    def training_callbacks(self, cfg, data, writer, evaluator):
        """The callbacks that show the run: the fixed-z sample grid (a scatter plot for 2-D
        data) and, with `evaluator`, the periodic metrics; with the generator EMA, both
        again for the averaged generator (`samples/fixed_z_ema`, `eval_ema/...`)."""
        from tfgan_suite import callbacks

        generators = [False] + ([True] if self.ema_generator is not None else [])
        out = [callbacks.SampleGrid.for_model(self, cfg, data, writer, ema=averaged)
               for averaged in generators]
        if evaluator is not None:
            from tfgan_suite.metrics.evaluation import EvalCallback

            out += [EvalCallback(writer, cfg.eval_every, evaluator,
                                 num_classes=data.num_classes, ema=averaged)
                    for averaged in generators]
        return out

    def exported_encoder(self):
        """An encoder x -> z to export as the `encode` signature, or None (bigan has one)."""
        return None

    def exported_features(self):
        """D's features x -> [N, F] to export as the `features` signature (with
        `--export_features`), or None where there are none: the pooled activations of
        every conv block of a `dcgan`-architecture D (`tfgan_suite.nets.features`; for
        bigan the x-path of D(x, z)). None for a conditional D (it needs the label), a
        packed D (it judges M samples at once), or a D without conv blocks (mlp,
        auto-encoders)."""
        if self.conditional or self.pack != 1:
            return None
        from tfgan_suite.nets import features

        return features.conv_block_features(self.discriminator)

    def export(self, cfg, data, step, *, export_base=None, untrained=False):
        """Writes the generator to <export_dir>/<variant>/<version>; returns the path.

        `export_base` replaces <export_dir>/<variant>; `untrained` marks the networks as
        not trained (meta `untrained: true`, `tfgan_suite.export --untrained`).

        The averaged generator when there is one and `cfg.export_ema`, else G; the
        metadata's `generator` says which ("ema" or "raw", `exported_generator_meta`).
        With `cfg.export_features`, D's features too (`exported_features`, the `features`
        signature; settings.ConfigError where the variant has none).
        """
        import os

        from tfgan_suite import __version__, serving

        meta = dict(variant=cfg.variant, dataset=cfg.dataset, latent_dim=cfg.latent_dim,
                    kind=data.kind, data_shape=list(data.shape),
                    num_classes=data.num_classes if self.conditional else None,
                    step=int(step), tfgan_suite_version=__version__,
                    **self.exported_generator_meta(cfg.export_ema))
        features = None
        if cfg.export_features:
            features = self.check_export_features(data)
            meta["features_of"] = "discriminator"
        if untrained:
            meta["untrained"] = True
        base = export_base or os.path.join(cfg.export_dir, cfg.variant)
        return serving.export_generator(self.generator_for(cfg.export_ema), base, meta=meta,
                                        encoder=self.exported_encoder(), features=features)

    def check_export_features(self, data):
        """The network `--export_features` exports; settings.ConfigError naming what is
        accepted when this model has none (called before training writes anything)."""
        features = self.exported_features() if data.kind == "image" else None
        if features is None:
            raise settings.ConfigError(
                f"--export_features: {type(self).__name__} on {data.kind} data has no "
                "discriminator features to export; they exist for an unconditional, "
                "unpacked D of the dcgan architecture (images), e.g. dcgan, bigan, wgan_gp")
        return features

    def exported_generator_meta(self, export_ema):
        """Which generator an export holds, for its metadata: `generator` "ema" (with the
        run's `ema_decay` and `ema_start`) or "raw"."""
        if export_ema and self.ema_generator is not None:
            return dict(generator="ema", ema_decay=self.ema_decay, ema_start=self.ema_start)
        return dict(generator="raw")

    def checkpoint_items(self):
        """Everything a checkpoint holds: both networks, both optimizers, the step, any
        variant state (variables created with `add_weight` on the model) and the averaged
        generator (`ema_generator`, only when the EMA is on)."""
        items = dict(generator=self.generator, discriminator=self.discriminator,
                     g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                     state=dict(self._state))
        if self.ema_generator is not None:
            items["ema_generator"] = self.ema_generator
        return items

    def add_state(self, name, *, dtype="float32", initial=0.0):
        """A non-trainable scalar of the model (step, BEGAN's k_t, ...), checkpointed.

        Replicas keep one value: updates from the first replica count, so every replica
        must compute the same new value (true for values derived from all-reduced
        statistics or from the step).
        """
        var = self.add_weight(name=name, shape=(), dtype=dtype,
                              initializer=keras.initializers.Constant(initial),
                              trainable=False, aggregation="only_first_replica")
        self._state[name] = var
        return var


def step_logs(logs):
    """A step's logs as float32 values Keras can reduce over the replicas: scalars, or
    under MultiWorkerMirroredStrategy shape [1] (Keras averages its logs over axis 0 of
    the gathered values there, which a scalar lacks; the mean comes back a scalar)."""
    several_workers = isinstance(tf.distribute.get_strategy(),
                                 tf.distribute.MultiWorkerMirroredStrategy)
    return {name: (tf.reshape(tf.cast(value, tf.float32), [1]) if several_workers
                   else tf.cast(value, tf.float32)) for name, value in logs.items()}


def _with_labels(x, labels):
    """A player's input: x alone, or [x, labels] for a conditional player."""
    return x if labels is None else [x, labels]
