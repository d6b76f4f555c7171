"""`MatrixFactorization`: the scorer s(u, i) = e_u . e_i + b_i of both IRGAN players.

Why a model of its own: IRGAN's generator and discriminator for item recommendation are
the same bilinear scorer with their own parameters; the generator turns the scores of all
items into a policy softmax(s(u, .) / temperature), the discriminator reads s(u, i) as a
logit. The same model trained alone (BPR) is the matrix-factorisation baseline.
"""

import keras
import tensorflow as tf


class MatrixFactorization(keras.Model):
    """User and item embeddings plus an item bias.

    Args:
        num_users, num_items: sizes of the id ranges.
        dim: embedding size.
        init_delta: embeddings start U[-init_delta, init_delta] (IRGAN's code: 0.05);
            biases start at 0.

    Example:
        >>> mf = MatrixFactorization(943, 1682, dim=5)
        >>> mf(tf.constant([0, 1])).shape                  # every item's score
        TensorShape([2, 1682])
        >>> mf.pair_scores(tf.constant([0, 1]), tf.constant([[3, 4, 5], [6, 7, 8]])).shape
        TensorShape([2, 3])
    """

    def __init__(self, num_users, num_items, *, dim, init_delta=0.05, **kwargs):
        super().__init__(**kwargs)
        for name, value, low in (("num_users", num_users, 1), ("num_items", num_items, 2),
                                 ("dim", dim, 1)):
            if value < low:
                raise ValueError(f"`{name}` must be >= {low}. Received: {name}={value}")
        self.num_users, self.num_items, self.dim = int(num_users), int(num_items), int(dim)
        self.init_delta = float(init_delta)
        init = keras.initializers.RandomUniform(-init_delta, init_delta)
        self.user_embedding = self.add_weight(shape=(num_users, dim), initializer=init,
                                              name="user_embedding")
        self.item_embedding = self.add_weight(shape=(num_items, dim), initializer=init,
                                              name="item_embedding")
        self.item_bias = self.add_weight(shape=(num_items,), initializer="zeros",
                                         name="item_bias")
        self.built = True

    def get_config(self):
        """The constructor's arguments, so that `keras.models.clone_model` can copy it
        (the generator EMA, `tfgan_suite.ema`)."""
        return dict(num_users=self.num_users, num_items=self.num_items, dim=self.dim,
                    init_delta=self.init_delta, name=self.name)

    def call(self, users, training=False):
        """Scores of every item: int [N] -> float32 [N, num_items]."""
        e_u = tf.gather(self.user_embedding, users)
        return tf.matmul(e_u, self.item_embedding, transpose_b=True) + self.item_bias

    def pair_scores(self, users, items):
        """s(u_b, items[b, k]): int [B], int [B, K] -> float32 [B, K]."""
        e_u = tf.gather(self.user_embedding, users)[:, None, :]
        e_i = tf.gather(self.item_embedding, items)
        return tf.reduce_sum(e_u * e_i, axis=-1) + tf.gather(self.item_bias, items)

    def l2_penalty(self, users, items, mask):
        """mean over the valid pairs of (|e_u|^2 + |e_i|^2 + b_i^2) / 2.

        IRGAN's code adds lambda * l2_loss(...) of the batch's gathered parameters with
        lambda = 0.1 / batch size, which is this mean times 0.1.
        """
        mask = tf.cast(mask, tf.float32)
        e_u = tf.gather(self.user_embedding, users)
        per_user = tf.reduce_sum(tf.square(e_u), axis=-1)[:, None]
        per_item = (tf.reduce_sum(tf.square(tf.gather(self.item_embedding, items)), axis=-1)
                    + tf.square(tf.gather(self.item_bias, items)))
        total = tf.reduce_sum((per_user + per_item) * mask)
        return 0.5 * total / tf.maximum(tf.reduce_sum(mask), 1.0)
