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


# Name -> (d_loss(real_logits, fake_logits), g_loss(fake_logits)).
# Variants pick a pair by name; later issues add wasserstein, hinge, least_squares.
LOSSES = {
    "minimax": (minimax_d_loss, minimax_g_loss),
    "non_saturating": (minimax_d_loss, non_saturating_g_loss),
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
