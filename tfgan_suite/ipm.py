"""McGAN's integral probability metrics on features, and the projections that keep them valid.

Why pure functions: the IPMs are the mathematics of the paper - estimates computed from two
batches of features Phi(x) and the critic's linear parameters - and the projections are what
keeps those parameters in their constraint sets. Free of models and replicas, they are
tested against numpy closed forms (optimal v and U, V give ||Delta mu||_q and the sum of the
top-k singular values of Delta Sigma).

Vocabulary: `real_features` = Phi(x), `fake_features` = Phi(G(z)), float [N, m]. Every IPM is
a mean over the batch of a per-example score, so it is a per-replica mean like any loss.

Reference: Mroueh, Sercu & Goel, "McGan: Mean and Covariance Feature Matching GAN",
ICML 2017, sections 3-4 and Algorithms 1-2. https://arxiv.org/abs/1702.08398
"""

import tensorflow as tf

MODES = ("mean", "cov", "mean_cov")
Q_NORMS = (1, 2)


def _float(x):
    return tf.cast(x, tf.float32)


def mean_ipm(real_features, fake_features, v):
    """Mean-matching IPM estimate <v, mu(P) - mu(Q)>.

    With v on the unit ball of the dual norm p (1/p + 1/q = 1), the maximum over v is
    ||mu(P) - mu(Q)||_q: v = Delta mu / ||Delta mu||_2 for q = 2, v = sign(Delta mu) for q = 1.

    Args:
        real_features: Phi(x), [N, m].
        fake_features: Phi(G(z)), [M, m].
        v: [m].

    Returns:
        Scalar float32.

    Reference: McGan, section 3 and Algorithm 1.
    """
    delta = tf.reduce_mean(_float(real_features), 0) - tf.reduce_mean(_float(fake_features), 0)
    return tf.reduce_sum(_float(v) * delta)


def mean_scores(features, v):
    """Per-example mean critic <v, Phi(x)>, [N]; mean_ipm is the difference of its means."""
    return tf.linalg.matvec(_float(features), _float(v))


def covariance_scores(features, u, v):
    """Per-example covariance critic <U^T Phi(x), V^T Phi(x)>, [N]."""
    features = _float(features)
    return tf.reduce_sum(tf.matmul(features, _float(u)) * tf.matmul(features, _float(v)), -1)


def covariance_ipm(real_features, fake_features, u, v):
    """Covariance-matching IPM estimate E_P<U^T Phi, V^T Phi> - E_Q<U^T Phi, V^T Phi>.

    Equals trace(U^T (Sigma(P) - Sigma(Q)) V) with the *uncentred* second moments
    Sigma(P) = E_P[Phi Phi^T], as in the paper. Over U, V in R^{m x k} with orthonormal
    columns its maximum is the sum of the k largest singular values of Sigma(P) - Sigma(Q),
    reached at their left and right singular vectors.

    Args:
        real_features: [N, m]; fake_features: [M, m].
        u, v: [m, k].

    Returns:
        Scalar float32.

    Reference: McGan, section 4.1 and Algorithm 2.
    """
    return (tf.reduce_mean(covariance_scores(real_features, u, v))
            - tf.reduce_mean(covariance_scores(fake_features, u, v)))


def second_moment(features):
    """Uncentred second moment E[Phi Phi^T] of a batch, [m, m] (for reference and tests)."""
    features = _float(features)
    return tf.matmul(features, features, transpose_a=True) / tf.cast(tf.shape(features)[0],
                                                                     tf.float32)


def project_to_ball(v, q):
    """Euclidean projection of v onto {||v||_p <= 1}, p the dual exponent of q.

    q = 2: p = 2, v / max(1, ||v||_2). q = 1: p = infinity, v clipped to [-1, 1].

    Reference: McGan, Algorithm 1 (v projected on the l_p ball after each critic update).
    """
    if q == 2:
        return v / tf.maximum(1.0, tf.norm(v))
    if q == 1:
        return tf.clip_by_value(v, -1.0, 1.0)
    raise ValueError(f"`q` must be 1 or 2. Received: q={q}")


def retract_to_stiefel(u):
    """The Q factor of u = QR with sign(diag R) >= 0: orthonormal columns, deterministic.

    QR is unique only up to the signs of Q's columns; fixing diag(R) positive makes the
    retraction a function of u (and the identity on matrices that already have orthonormal
    columns).

    Args:
        u: [m, k] with m >= k.

    Returns:
        [m, k] with orthonormal columns.

    Reference: McGan, Algorithm 2 (U and V retracted onto the Stiefel manifold by QR after
    each critic update).
    """
    q, r = tf.linalg.qr(u)
    signs = tf.where(tf.linalg.diag_part(r) < 0, -1.0, 1.0)
    return q * tf.cast(signs, q.dtype)[tf.newaxis, :]
