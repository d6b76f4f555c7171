"""IRGAN's ranking losses as pure functions of (user, item) scores and masks.

Why here: like `losses.py`, a loss is the mathematics of a paper; the variant (`irgan`)
draws the items, scores them and adds its L2 terms. Recommendation batches are padded
(each user has its own number of positives), so every mean is over the valid entries:
`mask` is a bool (or 0/1) tensor of the scores' shape, and an all-False mask gives 0.

Vocabulary: `real_logits` = f(u, i) on a user's positives, `fake_logits` on the items
drawn against them, `pos_scores` / `neg_scores` the scores of one (positive, negative)
pair per entry. Every function returns a scalar.
"""

import tensorflow as tf


def masked_mean(x, mask):
    """sum(x * mask) / max(sum(mask), 1): the mean over the valid entries (0 if none)."""
    mask = tf.cast(mask, x.dtype)
    return tf.reduce_sum(x * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def pointwise_bce(real_logits, fake_logits, mask):
    """IRGAN's pointwise discriminator loss: sigmoid cross-entropy, positives labelled 1,
    drawn items 0, averaged over all valid pairs of both kinds.

        0.5 * (mean_mask softplus(-real_logits) + mean_mask softplus(fake_logits))

    (the mean over all 2 * sum(mask) pairs, as IRGAN's code averages its pair batches;
    real and fake share one mask: one drawn item per positive).

    Reference: Wang et al., "IRGAN", SIGIR 2017, eq. 4 and its item-recommendation code.
    """
    real = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(real_logits),
                                                   logits=real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits),
                                                   logits=fake_logits)
    return 0.5 * (masked_mean(real, mask) + masked_mean(fake, mask))


def bpr(pos_scores, neg_scores, mask):
    """Bayesian personalised ranking: mean_mask -log sigmoid(s(u, pos) - s(u, neg)).

    Reference: Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
    Feedback", UAI 2009, section 4.
    """
    return masked_mean(-tf.math.log_sigmoid(pos_scores - neg_scores), mask)
