"""Gradient penalties on the discriminator, as pure functions of the critic and its inputs.

Why a module of its own: a penalty is a soft Lipschitz constraint, independent of the
adversarial loss it is added to (`tfgan_suite.losses`). Any loss pair can take any penalty,
and the penalty weight lambda is applied in exactly one place: `gradient_penalty`.

Where the penalty is evaluated is a separate choice, made by the two point generators:
`random_interpolates` (WGAN-GP: on lines between real and fake samples) and
`dragan_interpolates` (DRAGAN: in a noisy neighbourhood of the real data). Neither draws
random numbers itself: the caller passes draws from the model's per-replica stream
(`GANModel.uniform`), so replicas see different points and runs are reproducible.

Example (inside a `train_step`, under the critic's tape):

    alpha = self.uniform(penalties.alpha_shape(real))       # [N, 1, 1, 1], U[0, 1]
    x_hat = penalties.random_interpolates(real, fake, alpha)
    with tf.GradientTape() as tape:
        ...
        gp, grad_norm = penalties.gradient_penalty(self.discriminator, x_hat, weight=10.0)
        d_loss = d_loss + gp
"""

import tensorflow as tf

# Added to the squared norm inside the square root: the derivative of sqrt at 0 is
# infinite, so without it a zero gradient (e.g. a dead ReLU critic, or real == fake with a
# constant critic) gives NaN in the critic's update (TF-GAN uses the same guard).
EPSILON = 1e-10


def alpha_shape(x):
    """[N, 1, ..., 1]: one interpolation weight per sample, broadcast over its features.

    Args:
        x: a batch [N, ...].

    Returns:
        A shape tensor of x's rank.
    """
    rank = x.shape.rank
    return tf.concat([tf.shape(x)[:1], tf.ones([rank - 1], tf.int32)], axis=0)


def random_interpolates(real, fake, alpha):
    """x_hat = x + alpha (G(z) - x): points on the segments between real and fake samples.

    Args:
        real: real batch [N, ...].
        fake: generated batch, same shape.
        alpha: U[0, 1] weights of shape `alpha_shape(real)`, one per sample (a normal draw,
            or one alpha for the whole batch, is a known bug of public ports).

    Returns:
        x_hat, shape of `real`.

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017,
    Algorithm 1, lines 4-6.
    """
    alpha = tf.cast(alpha, real.dtype)
    return real + alpha * (tf.cast(fake, real.dtype) - real)


def dragan_interpolates(real, noise, alpha):
    """Points around the real data: x + alpha (x_p - x) with x_p = x + 0.5 std(x) noise.

    `std(x)` is the standard deviation of the whole batch (all samples and features, as
    `X.std()` in the authors' code); `noise` is U[0, 1) per element, so the perturbation
    x_p - x lies in [0, 0.5 std(x)) per feature. As in the authors' code the penalty is
    evaluated at a random point (alpha U[0, 1] per sample) between x and x_p.

    Args:
        real: real batch [N, ...].
        noise: U[0, 1) draws of the shape of `real`.
        alpha: U[0, 1] weights of shape `alpha_shape(real)`.

    Returns:
        x_hat, shape of `real`.

    Reference: Kodali et al., "On Convergence and Stability of GANs" (DRAGAN), 2017,
    section 4 and github.com/kodalinaveen3/DRAGAN (`get_perturbed_batch`).
    """
    std = tf.math.reduce_std(tf.cast(real, tf.float32))
    perturbed = real + tf.cast(0.5 * std, real.dtype) * tf.cast(noise, real.dtype)
    return random_interpolates(real, perturbed, alpha)


def gradient_penalty(critic, x_hat, *, weight, target=1.0, epsilon=EPSILON, training=True,
                     loss_scale=None):
    """lambda E[(||grad_x D(x_hat)||_2 - target)^2], and the mean gradient norm.

    The gradient of D at each sample is taken with a nested `tf.GradientTape`; called
    inside the critic's own tape, that outer tape differentiates through it (a second
    derivative), which is what lets the critic minimise the penalty. The norm runs over all
    axes but the batch axis, per sample, in float32 with `epsilon` inside the square root.
    Per-sample gradients need a critic that treats samples independently: no batch norm
    (use `d_norm="layer"` or "none").

    Under float16 (`--precision=mixed_float16`) the critic's backward pass runs in float16,
    where small gradients underflow: pass the critic optimizer's `loss_scale`. The inner
    gradient is then that of s * D(x_hat) (s as the tape's output gradient) and is divided
    by s in float32 before the norm, so the penalty is unscaled and the critic's own loss
    scaling applies to it once, through the outer tape. A scaled inner gradient that
    overflows float16 is not finite; so are then the critic's gradients, and the loss
    scaler skips that update and halves s, as for any overflow.

    Args:
        critic: callable, x [N, ...] -> scores [N, 1] (or [N]).
        x_hat: the points to penalise, [N, ...].
        weight: lambda, applied here and nowhere else.
        target: the gradient norm aimed at (1 for a 1-Lipschitz critic).
        epsilon: added to the squared norm inside the square root.
        training: passed to the critic.
        loss_scale: None, or the critic's current loss scale s (a float32 scalar).

    Returns:
        (penalty, grad_norm): float32 scalars; `penalty` already includes `weight`;
        `grad_norm` is the mean of ||grad D(x_hat)|| over the batch, for logging.

    Example:
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> gp, norm = gradient_penalty(critic, tf.zeros([8, 2]), weight=10.0)
    >>> gp.shape, norm.shape
    (TensorShape([]), TensorShape([]))

    Reference: Gulrajani et al. 2017, eq. 3; Kodali et al. 2017, eq. 2.
    """
    x_hat = tf.convert_to_tensor(x_hat)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=training)
    # D(x_hat_i) depends on x_hat_i only, so the gradient of the sum is per sample.
    if loss_scale is None:
        grads = tf.cast(tape.gradient(scores, x_hat), tf.float32)
    else:
        scale = tf.cast(loss_scale, scores.dtype)
        grads = tape.gradient(scores, x_hat, output_gradients=scale * tf.ones_like(scores))
        grads = tf.cast(grads, tf.float32) / tf.cast(loss_scale, tf.float32)
    axes = list(range(1, grads.shape.rank))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
    penalty = weight * tf.reduce_mean(tf.square(norms - target))
    return penalty, tf.reduce_mean(norms)
