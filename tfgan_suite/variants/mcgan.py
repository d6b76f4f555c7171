"""`mcgan`: McGAN, mean and covariance feature matching IPMs with a clipped feature network.

The critic is a feature network Phi (the suite's discriminator without its last Dense) and
the linear parameters of the IPM on its output:

    mean:      f(x) = <v, Phi(x)>,              IPM = <v, mu(P) - mu(Q)>,  ||v||_p <= 1
    cov:       f(x) = <U^T Phi(x), V^T Phi(x)>, IPM = E_P f - E_Q f,       U, V in O(m, k)
    mean_cov:  the sum of both.

The critic maximises the IPM estimate (minimises its negation) over Phi, v, U, V; after each
critic update Phi's weights are clipped to [-c, c] (Phi bounded, as in WGAN), v is projected
on the l_p ball (q = 2: unit L2 ball; q = 1: box [-1, 1]) and U, V are retracted onto the
Stiefel manifold by a sign-fixed QR (`tfgan_suite.ipm`). The generator minimises the IPM;
only its E_Q term depends on G, so its loss is -E[f(G(z))] (the paper's generator gradient).
`ipm` in the logs is the critic's estimate on the last critic batch of the step (with
`ipm_mean` / `ipm_cov` for its parts); `--loss` does not apply to this variant.

Defaults: WGAN's recipe: RMSProp with learning rate 5e-5 for both players, n_c = 5 critic
updates per generator update, clipping c = 0.01, the DCGAN architecture; covariance
matching with k = 16. They have not been checked against the paper's section 6 (its text
was not available offline when this was written), so do not quote them as the paper's.
RMSProp's decay rho is 0.99, PyTorch's default that WGAN's code (on which the paper's
setup is based) ran with.
The second moments are uncentred, E[Phi Phi^T], as the paper defines them. The authors'
code was not available to compare with; where the paper is silent this follows its
Algorithms 1-2, so WGAN's schedule of 100 critic updates early on (not in those
algorithms) is not applied.

Reference: Mroueh, Sercu & Goel, "McGan: Mean and Covariance Feature Matching GAN",
ICML 2017, Algorithms 1-2 and section 6. https://arxiv.org/abs/1702.08398
"""

import dataclasses

import keras
import tensorflow as tf

from tfgan_suite import ipm, settings
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.spec import Variant
from tfgan_suite.variants.wgan import clip_setting


@dataclasses.dataclass(frozen=True)
class McGANParams(settings.Params):
    clip_value: float = clip_setting()
    mcgan_mode: str = settings.setting("mean", "IPM: mean (feature means), cov (uncentred "
                                       "second moments, rank k) or mean_cov (their sum)",
                                       check=settings.one_of(*ipm.MODES))
    mcgan_q: int = settings.setting(2, "mean matching: the IPM is ||mu(P) - mu(Q)||_q; 2 "
                                    "keeps v on the unit L2 ball, 1 clips v to [-1, 1]",
                                    check=settings.one_of(*ipm.Q_NORMS))
    mcgan_k: int = settings.setting(16, "covariance matching: number k of directions "
                                    "(columns of U and V)", check=settings.at_least(1))


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


class McGAN(GANModel):
    """Critic: n_c ascent steps on the IPM, each followed by clip / project / retract;
    generator: one descent step on the IPM.

    Args:
        generator, discriminator: as for GANModel; `discriminator` is a
            FeatureMatchingCritic.
        **kwargs: GANModel's; the parameters are `McGANParams` (clip_value: c, Phi's
            weights are clipped to [-c, c]; the critic's mode, q and k).

    Reference: Mroueh et al., ICML 2017, Algorithms 1 (mean) and 2 (covariance).
    """

    Params = McGANParams

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if not isinstance(discriminator, FeatureMatchingCritic):
            raise ValueError("`discriminator` must be a FeatureMatchingCritic. Received: "
                             f"{type(discriminator).__name__}")

    @classmethod
    def create(cls, cfg, data):
        generator, body = cls.standard_players(cfg, data)
        # Phi: everything up to the input of the logits layer.
        features = keras.Model(body.inputs, body.layers[-1].input, name="features")
        critic = FeatureMatchingCritic(features, mode=cfg.mcgan_mode, q=cfg.mcgan_q,
                                       k=cfg.mcgan_k, name="critic")
        return cls(generator, critic, **cls.model_kwargs(cfg))

    def train_step(self, data):
        critic = self.discriminator
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps

        for real_batch, _ in self.real_batches(real):
            fake = self.generator(self.latent(batch_size), training=True)
            with tf.GradientTape() as tape:
                real_phi = critic.features(self.noisy(real_batch), training=True)
                fake_phi = critic.features(self.noisy(fake), training=True)
                d_ipm, parts = critic.ipm(real_phi, fake_phi)
                d_loss = -d_ipm
                d_real = tf.reduce_mean(critic.scores(real_phi))   # E_P f before the update
                d_fake = tf.reduce_mean(critic.scores(fake_phi))
            self.minimize(self.d_optimizer, tape, d_loss, critic.trainable_variables)
            critic.constrain(self.params.clip_value)

        with tf.GradientTape() as tape:
            fake = self.generator(self.latent(batch_size), training=True)
            g_fake_scores = critic.scores(critic.features(self.noisy(fake), training=True))
            g_loss = -tf.reduce_mean(g_fake_scores)
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        return self.end_step({
            "d_loss": d_loss,
            "g_loss": g_loss,
            "ipm": d_ipm,
            **parts,
            "d_real": d_real,
            "d_fake": d_fake,
            "instance_noise": self.instance_noise_std(),
        })


VARIANT = Variant(
    name="mcgan",
    model=McGAN,
    defaults=dict(architecture="dcgan", optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5,
                  g_beta2=0.99, d_beta2=0.99, d_steps=5, clip_value=0.01, mcgan_mode="mean",
                  mcgan_q=2, mcgan_k=16),
    summary="McGAN: mean (and covariance) feature-matching IPM, clipped feature net, "
            "RMSProp(5e-5), n_critic 5",
    reference="Mroueh, Sercu & Goel, McGan: Mean and Covariance Feature Matching GAN, "
              "ICML 2017",
)
