"""McGAN's critic: a feature network Phi and the linear parameters of the IPMs on Phi.

    mean:      f(x) = <v, Phi(x)>,              ||v||_p <= 1
    cov:       f(x) = <U^T Phi(x), V^T Phi(x)>, U, V in O(m, k) (orthonormal columns)
    mean_cov:  the sum of both.

Why a network of its own: the critic is a discriminator (calling it gives f(x) [N, 1]) that
also exposes Phi, the IPM estimate from two batches of features, and `constrain`, which puts
its weights back in their sets after an update. The mathematics is in `tfgan_suite.ipm`.

Reference: Mroueh, Sercu & Goel, "McGan: Mean and Covariance Feature Matching GAN",
ICML 2017, sections 3-4. https://arxiv.org/abs/1702.08398
"""

import keras
import tensorflow as tf

from tfgan_suite import ipm


def _unit_normal(seed):
    """An initializer: N(0, I) scaled to unit L2 norm (inside both of v's constraint sets)."""
    normal = keras.initializers.RandomNormal(seed=seed)

    def init(shape, dtype=None):
        x = normal(shape, dtype=dtype)
        return x / tf.norm(x)

    return init


class FeatureMatchingCritic(keras.Model):
    """Phi plus the IPM's parameters: v (mean matching) and U, V (covariance matching).

    Calling the critic gives the per-example score f(x) [N, 1], so it can stand wherever a
    discriminator does; `ipm` gives the estimate from features of a real and a fake batch.

    Args:
        features: keras.Model, samples -> Phi [N, m].
        mode: "mean", "cov" or "mean_cov".
        q: 1 or 2, the norm of the mean IPM ||mu(P) - mu(Q)||_q.
        k: columns of U and V (<= m).
        seed: int seed of the initial v, U, V; None draws from Keras's global seed.
    """

    def __init__(self, features, *, mode="mean", q=2, k=16, seed=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ipm.MODES:
            raise ValueError(f"`mode` must be one of {ipm.MODES}. Received: mode={mode!r}")
        if q not in ipm.Q_NORMS:
            raise ValueError(f"`q` must be 1 or 2. Received: q={q!r}")
        self.features = features
        self.mode, self.q, self.k = mode, int(q), int(k)
        m = int(features.outputs[0].shape[-1])
        self.feature_dim = m
        seeds = [None] * 3 if seed is None else [seed, seed + 1, seed + 2]
        self.mean_v = self.cov_u = self.cov_v = None
        if mode in ("mean", "mean_cov"):
            self.mean_v = self.add_weight(name="mean_v", shape=(m,),
                                          initializer=_unit_normal(seeds[0]))
        if mode in ("cov", "mean_cov"):
            if not 1 <= k <= m:
                raise ValueError(f"`k` must be in [1, m={m}] (the feature dimension). "
                                 f"Received: k={k}")
            self.cov_u = self.add_weight(name="cov_u", shape=(m, k),
                                         initializer=keras.initializers.Orthogonal(seed=seeds[1]))
            self.cov_v = self.add_weight(name="cov_v", shape=(m, k),
                                         initializer=keras.initializers.Orthogonal(seed=seeds[2]))
        self.built = True

    @classmethod
    def from_discriminator(cls, discriminator, **kwargs):
        """The critic whose Phi is `discriminator` without its last layer (the logits):
        everything up to that layer's input, sharing its weights."""
        features = keras.Model(discriminator.inputs, discriminator.layers[-1].input,
                               name="features")
        return cls(features, **kwargs)

    def scores(self, phi):
        """f(x) from Phi(x): [N]."""
        out = 0.0
        if self.mean_v is not None:
            out += ipm.mean_scores(phi, self.mean_v)
        if self.cov_u is not None:
            out += ipm.covariance_scores(phi, self.cov_u, self.cov_v)
        return out

    def call(self, x, training=None):
        return self.scores(self.features(x, training=training))[:, None]

    def ipm(self, real_phi, fake_phi):
        """The IPM estimate and its parts: (total, {"ipm_mean": .., "ipm_cov": ..})."""
        parts = {}
        if self.mean_v is not None:
            parts["ipm_mean"] = ipm.mean_ipm(real_phi, fake_phi, self.mean_v)
        if self.cov_u is not None:
            parts["ipm_cov"] = ipm.covariance_ipm(real_phi, fake_phi, self.cov_u, self.cov_v)
        return tf.add_n(list(parts.values())), parts

    def constrain(self, clip_value):
        """Puts the critic back in its sets: Phi's weights clipped to [-c, c], v projected on
        the l_p ball, U and V retracted onto the Stiefel manifold.

        Under MirroredStrategy each replica assigns its own copy; all compute the same value
        from the same (all-reduced) weights, so the copies stay equal.
        """
        for w in self.features.trainable_variables:
            w.assign(tf.clip_by_value(w, -clip_value, clip_value))
        if self.mean_v is not None:
            self.mean_v.assign(ipm.project_to_ball(self.mean_v, self.q))
        if self.cov_u is not None:
            self.cov_u.assign(ipm.retract_to_stiefel(self.cov_u))
            self.cov_v.assign(ipm.retract_to_stiefel(self.cov_v))
