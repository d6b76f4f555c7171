"""Builds one player's optimizer from the run configuration, and the schedules that change
a player's learning rate or number of updates over a run.

Schedules here are pure: they read the step (or the optimizer's own update count) and
state the caller keeps in checkpointed variables, so a resumed run continues exactly.

    make(name, ...)                     an optimizer by name
    FusedAdam                           Adam with one op per variable update
    with_initial_rate(opt, rate, n)     another rate for an optimizer's first n updates
    window_decay(schedule, ...)         BEGAN's plateau / fixed learning-rate decay decision
    scale_learning_rates(opts, factor)  lr <- lr * factor, in the traced step
    CriticSchedule(n_critic)            WGAN's critic updates per generator step
"""

import dataclasses

import keras
import tensorflow as tf


def make(name, *, learning_rate, beta1, beta2):
    """An optimizer by name.

    Args:
        name: "adam" (beta1, beta2 as Adam's), "rmsprop" (beta2 is rho, the decay of the
            squared-gradient average; set explicitly because Keras's default 0.9 differs
            from PyTorch's 0.99 that WGAN's code used) or "sgd" (beta1 is the momentum).
        learning_rate, beta1, beta2: as above.

    Returns:
        A keras.optimizers.Optimizer (unbuilt; `GANModel.compile` builds it).
    """
    if name == "adam":
        return FusedAdam(learning_rate, beta_1=beta1, beta_2=beta2)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, rho=beta2)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=beta1)
    raise ValueError(f"unknown optimizer {name!r}; accepted: adam, rmsprop, sgd")


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam, each variable's update as one op: TensorFlow's `ResourceApplyAdam`.

    Why: Keras 3 spells Adam's update of one variable as about twenty small ops (the
    bias-correction scalars recomputed per variable, two moment updates, the step); on the
    2-D mixtures, where each op's fixed cost outweighs its arithmetic, the fused update
    makes the whole step about a tenth faster (`benchmarks/mixtures_speed.py --forms`).
    The kernel computes the same update in the same order,

        m <- m + (g - m)(1 - b1),  v <- v + (g^2 - v)(1 - b2),
        w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps),

    with the same variables (so checkpoints of either load in the other). It is not bit
    for bit Keras's: the kernel forms 1 - b in float32 from float32 b, Keras in float64
    from the Python number (for b2 = 0.999, 0.00099998713 against 0.00100000005, a
    relative 1.3e-5): one step agrees with Keras's to rounding, but a GAN run amplifies the
    difference and ends elsewhere than Keras's run of the same seed. Over 50 seed pairs
    of 2-D runs the two updates give the same quality (`benchmarks/adam_forms.py`, the
    2-D summary's "Adam" note in README). Keras's own update runs where the fused op does
    not apply: `amsgrad`, a non-TensorFlow backend, and inside a `tf.distribute` replica
    update (`MirroredStrategy` and the rest), whose per-device variables the raw op does
    not resolve.

    Class attribute `fused` (True) switches the fused op off for A/B measurements.
    """

    fused = True

    def update_step(self, gradient, variable, learning_rate):
        if (not self.fused or self.amsgrad or keras.backend.backend() != "tensorflow"
                or tf.distribute.has_strategy()
                or not isinstance(variable, tf.Variable)):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        if isinstance(gradient, tf.IndexedSlices):  # embeddings: dense, as Keras's own ops
            gradient = tf.convert_to_tensor(gradient)
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


# ---------------------------------------------------------------------------------------
# Learning-rate schedules.


def with_initial_rate(optimizer, rate, updates):
    """A copy of `optimizer` whose learning rate is `rate` for its first `updates` updates
    and its own (constant) rate afterwards.

    The optimizer counts its updates in `iterations` (checkpointed), so the switch happens
    at the same update in a resumed run. Used by irgan: its BPR pretraining steps run at
    `--irgan_pretrain_lr` (`updates` = pretraining steps x the player's updates per step).

    Example:
        >>> opt = with_initial_rate(keras.optimizers.Adam(1e-3), 0.01, updates=2)
        >>> float(opt.learning_rate)    # updates 0 and 1 at 0.01, then 1e-3
        0.01
    """
    if updates < 1:
        raise ValueError(f"`updates` must be >= 1. Received: updates={updates}")
    config = optimizer.get_config()
    config["learning_rate"] = keras.optimizers.schedules.PiecewiseConstantDecay(
        [updates - 1], [rate, float(config["learning_rate"])])
    return type(optimizer).from_config(config)


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`rate` x (1 - step / steps), floored at 0, for `--lr_decay=linear`.

    `step` is the model's generator-step counter, not the optimizer's own update count, so
    both players reach 0 together at the end of the run whatever their updates per step
    (critic schedules, pretraining), and a resumed run continues the same line (the
    counter is checkpointed). The update of step s uses rate x (1 - s / steps).

    Example:
        >>> step = keras.Variable(0, dtype="int64")
        >>> decay = LinearDecay(1e-3, step, steps=4)
        >>> step.assign(3); float(decay(0))
        0.00025
    """

    def __init__(self, rate, step, steps):
        if steps < 1:
            raise ValueError(f"`steps` must be >= 1. Received: steps={steps}")
        self.rate, self.step, self.steps = float(rate), step, int(steps)

    def __call__(self, iterations):
        del iterations  # the model's step decides, see the docstring
        done = tf.cast(tf.convert_to_tensor(self.step), tf.float32) / self.steps
        return self.rate * tf.maximum(0.0, 1.0 - done)

    def get_config(self):
        return {"rate": self.rate, "steps": self.steps}


LR_DECAYS = ("none", "linear")


def decayed_rate(rate, decay, step, steps):
    """The `learning_rate` to build an optimizer with: `rate` for decay "none", a
    `LinearDecay` from `rate` over `steps` model steps for "linear"."""
    if decay == "none":
        return rate
    if decay != "linear":
        raise ValueError(f"unknown decay {decay!r}; accepted: {', '.join(LR_DECAYS)}")
    return LinearDecay(rate, step, steps)


DECAY_SCHEDULES = ("plateau", "fixed", "none")
# Under `plateau`, a window's mean must be this much (relative) below the best earlier
# window's to count as progress.
PLATEAU_THRESHOLD = 0.01


def window_decay(schedule, *, step, value, window, window_sum, best,
                 threshold=PLATEAU_THRESHOLD):
    """Whether to decay the learning rate after `step`, judged on windows of `window` steps.

    Windows are the steps [j * window, (j + 1) * window); decisions fall on a window's last
    step, (step + 1) % window == 0:
        fixed:   decay at every window's end.
        plateau: decay when the window's mean of `value` (e.g. BEGAN's M_global) is not
                 `threshold` (relative) below the best earlier window mean:
                 mean > best * (1 - threshold). The first window never decays (best = inf).
        none:    never.

    Pure: the caller keeps the plateau state (`window_sum`, the sum of `value` over the
    current window so far, 0 at its start; `best`, the lowest window mean so far, inf at
    first) and assigns the returned values.

    Args:
        schedule: one of `DECAY_SCHEDULES`.
        step: the step just taken (int tensor; 0-based).
        value: the monitored scalar of that step.
        window: steps per window (>= 1).
        window_sum, best: the plateau state before this step (unused by fixed and none).

    Returns:
        (decay, window_sum, best): a bool scalar and the state after this step.
    """
    if schedule not in DECAY_SCHEDULES:
        raise ValueError(f"`schedule` must be one of {DECAY_SCHEDULES}. "
                         f"Received: schedule={schedule!r}")
    if window < 1:
        raise ValueError(f"`window` must be >= 1. Received: window={window}")
    window_sum = tf.convert_to_tensor(window_sum)
    best = tf.convert_to_tensor(best)
    window_end = tf.equal((step + 1) % window, 0)
    if schedule == "none":
        return tf.constant(False), window_sum, best
    if schedule == "fixed":
        return window_end, window_sum, best
    window_sum = window_sum + value
    mean = window_sum / float(window)
    stalled = mean > best * (1.0 - threshold)
    return (tf.logical_and(window_end, stalled),
            tf.where(window_end, 0.0, window_sum),
            tf.where(window_end, tf.minimum(best, mean), best))


def scale_learning_rates(optimizers, factor):
    """lr <- lr * factor for each optimizer (a constant-rate one; its rate is a variable
    the optimizer checkpoints). Runs in the traced step: pass factor 1.0 for no change."""
    for optimizer in optimizers:
        lr = optimizer.learning_rate
        lr.assign(lr * tf.cast(factor, lr.dtype))


# ---------------------------------------------------------------------------------------
# Update-count schedules.

# WGAN's critic schedule (github.com/martinarjovsky/WassersteinGAN, main.py).
BURST_CRITIC_STEPS = 100
BURST_FIRST_STEPS = 25
BURST_EVERY = 500


@dataclasses.dataclass(frozen=True)
class CriticSchedule:
    """m(k) = burst if k < first or k % every == 0 else n_critic: critic updates at step k.

    Also the `batches_per_step` of the input pipeline, with `offset(k)` = m(0) + ... +
    m(k-1) in closed form (the stream position of step k, for an instant resume).

    Example:
    >>> s = CriticSchedule(n_critic=5)
    >>> [s(k) for k in (0, 24, 25, 499, 500, 501)]
    [100, 100, 5, 5, 100, 5]

    Reference: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017, and the authors'
    code.
    """

    n_critic: int
    burst: int = BURST_CRITIC_STEPS
    first: int = BURST_FIRST_STEPS
    every: int = BURST_EVERY

    def __post_init__(self):
        for name in ("n_critic", "burst", "every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {name}={getattr(self, name)}")
        if self.first < 0:
            raise ValueError(f"`first` must be >= 0. Received: first={self.first}")

    def __call__(self, step):
        step = int(step)
        return self.burst if step < self.first or step % self.every == 0 else self.n_critic

    def offset(self, step):
        """Critic updates (= real batches) of steps 0 .. step-1, in closed form."""
        step = int(step)
        early = min(step, self.first)
        # Multiples of `every` in [first, step): those in [0, step) minus those in [0, early).
        periodic = -(-step // self.every) - (-(-early // self.every))
        bursts = early + periodic
        return bursts * self.burst + (step - bursts) * self.n_critic
