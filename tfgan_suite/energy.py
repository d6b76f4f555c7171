"""Energy-based GAN objectives (EBGAN, BEGAN) as pure functions of reconstruction errors.

Why a module of its own: in both papers the discriminator is an auto-encoder and its
output is not a logit but a reconstruction error, the *energy* of a sample (low near the
data). The objectives are functions of those energies, plus BEGAN's proportional
controller k_t and EBGAN's pull-away term, so they do not fit the `(real_logits,
fake_logits)` signature of `tfgan_suite.losses`. Like those losses they are pure: no
model, optimizer or replica in sight, and the tests check them against numbers computed
by hand.

Normalisation: every per-sample energy here is a *mean over the sample's elements*
(pixels x channels, or the 2 coordinates of a point), so the same margin m and the same
gamma work at 28x28x1 and 64x64x3. Batch reductions are means over the samples.

Example:

>>> x = tf.zeros([4, 28, 28, 1]); recon = tf.fill([4, 28, 28, 1], 0.5)
>>> mse_energy(x, recon).shape, float(mse_energy(x, recon)[0])
(TensorShape([4]), 0.25)
>>> k_next, m_global = began_control(0.0, l_real=0.2, l_fake=0.05, gamma=0.5,
...                                  lambda_k=0.001)
>>> round(float(k_next), 8), round(float(m_global), 6)
(5e-05, 0.25)
"""

import tensorflow as tf


def _per_sample_mean(x):
    """Mean over every axis but the first: [N, ...] -> [N]."""
    x = tf.cast(x, tf.float32)
    rank = x.shape.rank
    if rank == 1:
        return x
    return tf.reduce_mean(x, axis=list(range(1, rank)))


def mse_energy(x, reconstruction):
    """EBGAN's energy D(x) = ||Dec(Enc(x)) - x||^2 / d, per sample.

    Args:
        x: a batch [N, ...].
        reconstruction: the auto-encoder's output for `x`, same shape.

    Returns:
        float32 [N]: the squared error averaged over each sample's d elements (the paper
        writes the squared norm; dividing by d makes the margin independent of the image
        size).

    Reference: Zhao, Mathieu & LeCun, "Energy-based Generative Adversarial Network",
    ICLR 2017, section 2.3.
    """
    return _per_sample_mean(tf.square(tf.cast(reconstruction, tf.float32) -
                                      tf.cast(x, tf.float32)))


def l1_energy(x, reconstruction):
    """BEGAN's per-sample L1 reconstruction loss |v - D(v)| / d (eta = 1 in the paper).

    Args:
        x: a batch [N, ...].
        reconstruction: the auto-encoder's output for `x`, same shape.

    Returns:
        float32 [N]; `tf.reduce_mean` of it is the paper's L(v) for the batch.

    Reference: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative
    Adversarial Networks", 2017, eq. 1 (the L^eta loss with eta = 1).
    """
    return _per_sample_mean(tf.abs(tf.cast(reconstruction, tf.float32) -
                                   tf.cast(x, tf.float32)))


# ------------------------------------------------------------------------------------
# EBGAN


def ebgan_d_loss(real_energy, fake_energy, margin):
    """L_D = E[D(x)] + E[max(0, m - D(G(z)))].

    The margin hinge: D pushes the energy of generated samples up, but only until it
    reaches m; above m a fake sample costs D nothing (and gives it no gradient).

    Args:
        real_energy: per-sample energies D(x), [N].
        fake_energy: per-sample energies D(G(z)), [M].
        margin: m > 0, in the units of the energies.

    Returns:
        Scalar float32 loss.

    Reference: Zhao et al. 2017, eq. 1.
    """
    real_energy = tf.cast(real_energy, tf.float32)
    fake_energy = tf.cast(fake_energy, tf.float32)
    return tf.reduce_mean(real_energy) + tf.reduce_mean(tf.nn.relu(margin - fake_energy))


def pull_away_term(codes):
    """f_PT(S) = 1 / (N (N - 1)) sum_{i != j} (S_i^T S_j / (||S_i|| ||S_j||))^2.

    The mean squared cosine similarity between the encoder's representations of
    different samples of a batch: small when the generated samples point in different
    directions in D's code space, so adding it to G's loss discourages mode collapse.

    Args:
        codes: S, the encoder's representations of the generated batch, [N, ...]
            (flattened per sample); N >= 2.

    Returns:
        Scalar float32 in [0, 1]. A zero code vector counts as orthogonal to everything.

    Reference: Zhao et al. 2017, section 2.4, eq. 6.
    """
    s = tf.cast(codes, tf.float32)
    s = tf.reshape(s, [tf.shape(s)[0], -1])
    s = tf.math.l2_normalize(s, axis=1, epsilon=1e-12)
    n = tf.cast(tf.shape(s)[0], tf.float32)
    cosine = tf.matmul(s, s, transpose_b=True)
    squared = tf.square(cosine)
    off_diagonal = tf.reduce_sum(squared) - tf.reduce_sum(tf.linalg.diag_part(squared))
    return off_diagonal / (n * (n - 1.0))


def ebgan_g_loss(fake_energy, codes, pt_weight):
    """L_G = E[D(G(z))] + lambda_PT f_PT(S); the pull-away weight is applied only here.

    Args:
        fake_energy: per-sample energies D(G(z)), [N].
        codes: the encoder's representations S of the same batch, [N, ...].
        pt_weight: lambda_PT >= 0 (0.1 in the paper); 0 skips the term.

    Returns:
        (loss, pull_away): scalar float32 loss and the unweighted f_PT (0 when skipped).

    Reference: Zhao et al. 2017, eq. 2 and section 2.4 ("EBGAN-PT").
    """
    energy = tf.reduce_mean(tf.cast(fake_energy, tf.float32))
    if pt_weight == 0:
        return energy, tf.constant(0.0)
    pull_away = pull_away_term(codes)
    return energy + pt_weight * pull_away, pull_away


# ------------------------------------------------------------------------------------
# BEGAN


def began_d_loss(l_real, l_fake, k):
    """L_D = L(x) - k_t L(G(z)).

    Args:
        l_real: L(x), the batch-mean reconstruction loss of real data (scalar).
        l_fake: L(G(z_D)), the same for generated data (scalar).
        k: k_t in [0, 1], how much D currently cares about fakes (scalar, not trained).

    Returns:
        Scalar float32 loss.

    Reference: Berthelot et al. 2017, eq. 4.
    """
    k = tf.stop_gradient(tf.cast(k, tf.float32))
    return tf.cast(l_real, tf.float32) - k * tf.cast(l_fake, tf.float32)


def began_control(k, l_real, l_fake, gamma, lambda_k):
    """One step of BEGAN's proportional controller, and the convergence measure.

    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
    M_global = L(x) + |gamma L(x) - L(G(z))|

    The controller keeps E[L(G(z))] = gamma E[L(x)]: when the fakes are reconstructed
    too well (the generator is winning), k grows and D pushes their reconstruction
    error up, and the other way round. M_global falls as the samples improve.

    Args:
        k: k_t (scalar).
        l_real: L(x) of the step (scalar; under several replicas, the global mean).
        l_fake: L(G(z_G)) of the step (scalar; idem).
        gamma: the diversity ratio gamma = E[L(G(z))] / E[L(x)] in (0, 1].
        lambda_k: the controller's gain (0.001 in the paper).

    Returns:
        (k_next, m_global), float32 scalars.

    Reference: Berthelot et al. 2017, eq. 4 and section 3.4.1.
    """
    k = tf.cast(k, tf.float32)
    l_real = tf.cast(l_real, tf.float32)
    l_fake = tf.cast(l_fake, tf.float32)
    balance = gamma * l_real - l_fake
    k_next = tf.clip_by_value(k + lambda_k * balance, 0.0, 1.0)
    m_global = l_real + tf.abs(balance)
    return k_next, m_global
