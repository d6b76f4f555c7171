"""Adversarial losses as pure functions of discriminator outputs.

Why pure functions: a loss is the mathematics of a paper, nothing more. Keeping it free of
models, optimizers and replicas lets every variant share it, lets the tests compare it with
numbers computed by hand, and puts the distribution scaling in exactly one place (the base
model), not in every loss.

Vocabulary: `real_logits` = D(x) and `fake_logits` = D(G(z)), the discriminator's raw
(pre-sigmoid) outputs, any shape; every function returns a scalar averaged over all
elements. `d_*` losses are minimised by the discriminator, `g_*` losses by the generator.

Numerics: log D = log sigmoid(l) = -softplus(-l) and log(1 - D) = -softplus(l), so no loss
takes the log of a probability that has underflowed to 0.
"""

import tensorflow as tf


def _mean(x):
    return tf.reduce_mean(tf.cast(x, tf.float32))


def minimax_d_loss(real_logits, fake_logits):
    """Discriminator loss of the original GAN: -E[log D(x)] - E[log(1 - D(G(z)))].

    D maximises log D(x) + log(1 - D(G(z))); minimising the negation is the same game.

    Args:
        real_logits: D's logits on real data.
        fake_logits: D's logits on generated data.

    Returns:
        Scalar float32 loss.

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, eq. 1.
    """
    return _mean(tf.nn.softplus(-real_logits)) + _mean(tf.nn.softplus(fake_logits))


def minimax_g_loss(fake_logits):
    """Generator loss of the original (saturating) game: E[log(1 - D(G(z)))].

    Kept on purpose in its saturating form: its gradient vanishes when D confidently
    rejects the samples, the failure the non-saturating loss was introduced to fix.

    Args:
        fake_logits: D's logits on generated data.

    Returns:
        Scalar float32 loss (always <= 0).

    Reference: Goodfellow et al. 2014, eq. 1 and section 3.
    """
    return -_mean(tf.nn.softplus(fake_logits))


def non_saturating_g_loss(fake_logits):
    """Non-saturating generator loss: -E[log D(G(z))].

    Same fixed point as the minimax game but strong gradients early in training.

    Args:
        fake_logits: D's logits on generated data.

    Returns:
        Scalar float32 loss (always >= 0).

    Reference: Goodfellow et al. 2014, section 3 ("maximize log D(G(z))").
    """
    return _mean(tf.nn.softplus(-fake_logits))


def wasserstein_d_loss(real_logits, fake_logits):
    """Critic loss of WGAN: E[D(G(z))] - E[D(x)].

    The critic maximises E[D(x)] - E[D(G(z))], the Kantorovich-Rubinstein estimate of the
    Wasserstein-1 distance when D is 1-Lipschitz (the Lipschitz constraint, clipping or a
    penalty, is the variant's business, not the loss's). Its negation, E[D(x)] -
    E[D(G(z))], is what WGAN variants log as `wasserstein`.

    Args:
        real_logits: the critic's raw scores on real data.
        fake_logits: the critic's raw scores on generated data.

    Returns:
        Scalar float32 loss.

    Reference: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017, eq. 3 and
    Algorithm 1.
    """
    return _mean(fake_logits) - _mean(real_logits)


def wasserstein_g_loss(fake_logits):
    """Generator loss of WGAN: -E[D(G(z))].

    Args:
        fake_logits: the critic's raw scores on generated data.

    Returns:
        Scalar float32 loss.

    Reference: Arjovsky et al. 2017, Algorithm 1, line 10.
    """
    return -_mean(fake_logits)


def hinge_d_loss(real_logits, fake_logits):
    """Hinge discriminator loss: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].

    Real scores above +1 and fake scores below -1 cost nothing: D stops pushing samples
    it already separates by the margin.

    Args:
        real_logits: D's raw scores on real data.
        fake_logits: D's raw scores on generated data.

    Returns:
        Scalar float32 loss (>= 0).

    Reference: Lim & Ye, "Geometric GAN", 2017; Miyato et al., "Spectral Normalization
    for Generative Adversarial Networks", ICLR 2018, eq. 16-17.
    """
    return _mean(tf.nn.relu(1.0 - real_logits)) + _mean(tf.nn.relu(1.0 + fake_logits))


def hinge_g_loss(fake_logits):
    """Generator loss paired with the hinge D loss: -E[D(G(z))].

    Args:
        fake_logits: D's raw scores on generated data.

    Returns:
        Scalar float32 loss.

    Reference: Miyato et al. 2018, eq. 17.
    """
    return -_mean(fake_logits)


def least_squares_d_loss(real_logits, fake_logits):
    """LSGAN discriminator loss with a=0, b=1: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2].

    D regresses real samples to b = 1 and fakes to a = 0; D's output is its raw (linear)
    score, no sigmoid.

    Args:
        real_logits: D's raw scores on real data.
        fake_logits: D's raw scores on generated data.

    Returns:
        Scalar float32 loss (>= 0).

    Reference: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017,
    eq. 2 with the 0-1 coding a=0, b=c=1 (eq. 9).
    """
    real = tf.cast(real_logits, tf.float32)
    fake = tf.cast(fake_logits, tf.float32)
    return 0.5 * _mean(tf.square(real - 1.0)) + 0.5 * _mean(tf.square(fake))


def least_squares_g_loss(fake_logits):
    """LSGAN generator loss with c=1: 1/2 E[(D(G(z)) - 1)^2].

    Args:
        fake_logits: D's raw scores on generated data.

    Returns:
        Scalar float32 loss (>= 0).

    Reference: Mao et al. 2017, eq. 2 and 9.
    """
    return 0.5 * _mean(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))


# Name -> (d_loss(real_logits, fake_logits), g_loss(fake_logits)).
# Variants pick a pair by name (`--loss`).
LOSSES = {
    "minimax": (minimax_d_loss, minimax_g_loss),
    "non_saturating": (minimax_d_loss, non_saturating_g_loss),
    "wasserstein": (wasserstein_d_loss, wasserstein_g_loss),
    "hinge": (hinge_d_loss, hinge_g_loss),
    "least_squares": (least_squares_d_loss, least_squares_g_loss),
}


def get(name):
    """Returns the `(d_loss, g_loss)` pair registered under `name`.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in LOSSES:
        raise ValueError(
            f"unknown loss {name!r}; accepted: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]
