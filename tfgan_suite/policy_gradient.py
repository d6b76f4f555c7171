"""Policy-gradient estimators for a generator over discrete items (IRGAN).

Why: items are discrete, so the generator p_theta(i | u) cannot be trained by
back-propagating through the discriminator. Its objective, the expected reward
J(theta) = sum_i p_theta(i) r(i), has the gradient

    grad J = E_{i ~ p_theta}[ r(i) grad log p_theta(i) ]                       (REINFORCE)
           = E_{i ~ q}[ r(i) (p_theta(i) / q(i)) grad log p_theta(i) ]         (importance)

for any proposal q that covers p_theta. Both are estimated from samples by differentiating
a surrogate loss, `-mean(log p_theta(i_s) * stop_gradient(r * w))`. All functions are
pure: tensors in, tensors out; masks handle a different number of samples per row.

    log_probs = tf.nn.log_softmax(logits / temperature)           # [B, num_items]
    proposal = mixture_with_positives(tf.exp(log_probs), pos_matrix, counts, 0.2)
    items = sample(tf.math.log(proposal), num_samples, seed)     # [B, S]
    weights = importance_weights(log_probs, proposal, items)
    loss = reinforce_loss(tf.gather(log_probs, items, batch_dims=1), rewards, weights, mask)

Reference: Williams, "Simple statistical gradient-following algorithms", 1992; Wang et
al., "IRGAN", SIGIR 2017, eq. (5) and section 2.2 (importance sampling).
"""

import tensorflow as tf

_EPSILON = 1e-20


def discriminator_reward(logits, kind="sigmoid"):
    """The generator's reward for items the discriminator scores `logits` (f_phi).

    Two forms, as `--irgan_reward` names them:
        "sigmoid":  2 (sigmoid(f) - 0.5) = 2 sigmoid(f) - 1 = tanh(f / 2), in (-1, 1): what
                    IRGAN's released item-recommendation code uses (its discriminator's
                    `reward`). Items D finds less likely than not to be real get a negative
                    reward, so it acts like a centred (baselined) reward.
        "softplus": log(1 + exp(f)) = softplus(f), in (0, inf): the reward of the paper's
                    generator gradient (Wang et al. 2017, eq. 5). Always positive, so every
                    sampled item's probability is pushed up, the better ones more.

    Reference: Wang et al., "IRGAN", SIGIR 2017, eq. 5; its item-recommendation code.
    """
    if kind == "sigmoid":
        return 2.0 * (tf.sigmoid(logits) - 0.5)
    if kind == "softplus":
        return tf.nn.softplus(logits)
    raise ValueError(f"unknown reward {kind!r}; accepted: {', '.join(REWARDS)}")


REWARDS = ("sigmoid", "softplus")


def sample(logits, num_samples, seed, exclude=None):
    """Draws `num_samples` items per row from softmax(logits), with replacement.

    Args:
        logits: float [B, num_items], unnormalised log-probabilities.
        num_samples: samples per row (a Python int).
        seed: a stateless seed, int [2] (`GANModel.next_seed()`).
        exclude: optional bool [B, num_items]; True items get probability 0. Every row
            must keep at least one item.

    Returns:
        int32 [B, num_samples].
    """
    if exclude is not None:
        logits = tf.where(exclude, tf.constant(-1e30, logits.dtype), logits)
    return tf.random.stateless_categorical(logits, num_samples, seed=seed, dtype=tf.int32)


def mixture_with_positives(probs, positive_mask, counts, weight):
    """The proposal q = (1 - weight) p + weight * uniform(user's positives).

    Args:
        probs: float [B, num_items], p_theta.
        positive_mask: float or bool [B, num_items], 1 at the user's positives.
        counts: int [B], number of positives per row (>= 1).
        weight: mixture weight of the positives, in [0, 1).

    Returns:
        float [B, num_items], rows sum to 1.
    """
    positive_mask = tf.cast(positive_mask, probs.dtype)
    uniform = positive_mask / tf.cast(tf.maximum(counts, 1), probs.dtype)[:, None]
    return (1.0 - weight) * probs + weight * uniform


def importance_weights(target_log_probs, proposal, items):
    """w = p_theta(i) / q(i) at the sampled `items` (no gradient flows through w).

    Args:
        target_log_probs: float [B, num_items], log p_theta.
        proposal: float [B, num_items], q (> 0 wherever items were drawn).
        items: int [B, S].

    Returns:
        float [B, S].
    """
    log_p = tf.gather(target_log_probs, items, batch_dims=1)
    q = tf.gather(proposal, items, batch_dims=1)
    return tf.stop_gradient(tf.exp(log_p) / tf.maximum(q, _EPSILON))


def reinforce_loss(log_probs, rewards, weights=None, mask=None):
    """The surrogate -mean(log p(i) * r(i) * w(i)) whose gradient estimates -grad J.

    Rewards and weights are constants (stop_gradient): only log p carries gradient. The
    mean is over the valid (mask) samples of the whole batch.

    Args:
        log_probs: float [B, S], log p_theta of the sampled items.
        rewards: float [B, S].
        weights: optional float [B, S], importance weights (1 when None).
        mask: optional bool/float [B, S]; 0 marks padding.

    Returns:
        A float scalar.
    """
    signal = tf.stop_gradient(rewards if weights is None else rewards * weights)
    terms = log_probs * signal
    if mask is None:
        return -tf.reduce_mean(terms)
    mask = tf.cast(mask, terms.dtype)
    return -tf.reduce_sum(terms * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def expected_reward(probs, rewards):
    """J = sum_i p(i) r(i) per row: what the estimators' gradients estimate (for tests)."""
    return tf.reduce_sum(probs * rewards, axis=-1)
