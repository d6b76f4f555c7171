"""`began`: Boundary Equilibrium GAN (Berthelot, Schumm & Metz 2017).

D is an auto-encoder and L(v) = mean |v - D(v)| its L1 reconstruction loss. D minimises
L(x) - k_t L(G(z_D)), G minimises L(G(z_G)), and a proportional controller keeps the
equilibrium E[L(G(z))] = gamma E[L(x)]:

    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1),   k_0 = 0.

One step, as in the paper's training procedure: L(x), L(G(z_D)) and L(G(z_G)) are computed
from one state (theta_D, theta_G, k_t); both players' gradients are taken there and then
both updates are applied (simultaneous, not alternating), and k_{t+1} and M_global use
those same L(x) and L(G(z_G)).

M_global = L(x) + |gamma L(x) - L(G(z_G))| measures convergence: it falls as the samples
improve, and k_t rises from 0 and settles. Both are logged every step (`k_t`,
`m_global`, with `l_real`, `l_fake`, `d_loss`, `g_loss`).

Where this follows or departs from the paper:
- Nets: BEGAN's (`tfgan_suite.nets.began`), built here with `nets.autoencoder`; G ends
  in tanh (the suite's generators all produce [-1, 1]).
- z ~ N(0, I) of size 64 (= h), the suite's latent distribution everywhere (fixed-z
  grids, the SavedModel's `sample` signature); the paper draws U[-1, 1].
- Adam(1e-4) for both players as in the paper; its betas are not given there, beta1 = 0.5
  (and beta2 0.999) as in the widely used reimplementations.
- The learning rate of both players is halved when M_global stalls (the paper), judged
  on window means of `--began_lr_steps` steps (`plateau`), or every `--began_lr_steps`
  steps (`fixed`), or never (`none`). The decay state and k_t are model state
  (checkpointed); the rates themselves live in the optimizers' checkpointed variables,
  so a resumed run continues exactly.
- k_t under several replicas: L(x) and L(G(z)) are all-reduced (mean over replicas), so
  every replica computes the same k_{t+1} and the same learning-rate decision.
- gamma = 1 by default; the paper's 0.5 was chosen for CelebA faces. On Fashion-MNIST
  gamma < 1 collapses onto footwear (measured: gamma 0.5 gives sneakers and ankle boots
  only, FID 673 and recall 0 after 10,000 steps; 0.7 is footwear only at 3,000 steps),
  while gamma 1 draws every class (FID 160 after 10,000 steps). README, "What to expect on
  a CPU", has the runs. `--began_gamma=0.5` gives the paper's setting.
- Width n: the paper uses n = 64 (at 64x64); the default here is 32, which gives
  recognisable Fashion-MNIST garments of every class in 10,000 steps, about an hour on a
  2-core CPU (`--width=64` for the paper's).
- `--d_steps=k` gives k D updates per G update (the paper: 1), each on a fresh real batch:
  the first k - 1 alone, the last one simultaneous with G's, whose state also gives the
  controller its L(x) and L(G(z_G)).

Length: the paper's algorithm has three parts beyond the losses: the k_t controller, the
M_global measure and the learning-rate decay on M_global, with both players updated from
one state; its departures from the paper are listed above.
"""

import dataclasses

import tensorflow as tf

from tfgan_suite import energy, optimizers, settings
from tfgan_suite.nets import autoencoder
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.spec import Variant

LR_SCHEDULES = optimizers.DECAY_SCHEDULES
LR_DECAY = 0.5


def hidden_setting():
    """`--began_hidden`, declared once for the auto-encoder discriminators."""
    return settings.setting(64, "size h of the auto-encoder's embedding (began; ebgan with "
                            "--architecture=began or mlp)", check=settings.at_least(1))


@dataclasses.dataclass(frozen=True)
class BEGANParams(settings.Params):
    began_gamma: float = settings.setting(
        1.0, "diversity ratio gamma = E[L(G(z))] / E[L(x)] that the k_t controller holds, "
        "in (0, 1] (lower: sharper, less varied samples; the paper's 0.5, chosen for faces, "
        "collapses onto footwear on Fashion-MNIST)", check=settings.within(0.0, 1.0, low_open=True))
    began_lambda_k: float = settings.setting(
        0.001, "gain lambda_k of the k_t controller (k_t starts at 0 and stays in [0, 1])",
        check=settings.at_least(0))
    began_hidden: int = hidden_setting()
    began_lr_schedule: str = settings.setting(
        "plateau", "learning-rate decay of both players: plateau (halve when the mean "
        "M_global of a window of --began_lr_steps steps is not 1% below the best earlier "
        "window), fixed (halve every --began_lr_steps steps) or none",
        check=settings.one_of(*LR_SCHEDULES))
    began_lr_steps: int = settings.setting(
        2000, "window (plateau) or period (fixed) of the learning-rate decay, in steps",
        check=settings.at_least(1))


def check_auto_encoder_settings(cfg):
    """Refuses the options of classifier discriminators, which an auto-encoder D lacks.

    Raises:
        ConfigError: --instance_noise or --d_spectral_norm was set.
    """
    if cfg.instance_noise:
        raise settings.ConfigError(
            f"--instance_noise is for classifier discriminators; {cfg.variant} has an "
            "auto-encoder discriminator: leave it at 0")
    if cfg.d_spectral_norm:
        raise settings.ConfigError(
            f"--d_spectral_norm is not implemented for the auto-encoder discriminator of "
            f"{cfg.variant}")


def auto_encoder_players(cfg, data):
    """(generator, auto-encoder discriminator) of `began` and `ebgan`, after refusing the
    classifier-only options (`check_auto_encoder_settings`)."""
    check_auto_encoder_settings(cfg)
    return autoencoder.build_players(
        cfg.architecture, data_shape=data.shape, latent_dim=cfg.latent_dim,
        width=cfg.width, hidden=cfg.began_hidden, norm=cfg.d_norm, g_norm=cfg.g_norm)


class BEGAN(GANModel):
    """Auto-encoder D with the k_t equilibrium controller.

    Parameters (`BEGANParams`):
        began_gamma: diversity ratio in (0, 1]; lower gives sharper, less varied samples.
        began_lambda_k: gain of the k_t controller (>= 0).
        began_lr_schedule: "plateau", "fixed" or "none" (see the module docstring).
        began_lr_steps: window (plateau) or period (fixed) of the decay, in steps.

    Reference: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative
    Adversarial Networks", arXiv:1703.10717, 2017, section 3.
    """

    Params = BEGANParams
    drives_learning_rate = True   # --lr_decay is refused (GANModel)

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.k_t = self.add_state("k_t")
        # Plateau schedule: the running sum of M_global over the current window, and the
        # best (lowest) window mean so far.
        self.m_window_sum = self.add_state("m_window_sum")
        self.m_best = self.add_state("m_best", initial=float("inf"))

    @classmethod
    def create(cls, cfg, data):
        return cls(*auto_encoder_players(cfg, data), **cls.model_kwargs(cfg))

    def reconstruction_loss(self, x):
        """L(x) over this replica's batch: the batch mean of the per-sample L1 error."""
        return tf.reduce_mean(energy.l1_energy(x, self.discriminator(x, training=True)))

    def train_step(self, data):
        """Both players' gradients from one state (theta_D, theta_G, k_t), then both updates.

        The paper's eq. 4 defines L_D, L_G and k_{t+1} of step t on one state, from which
        theta_D and theta_G are updated simultaneously (the widely used TensorFlow
        implementations run both updates and k's in one graph evaluation). So L(x),
        L(G(z_D)) and L(G(z_G)) are evaluated before either player moves; only
        with `--d_steps=k > 1` do the first k - 1 D updates run before, each on its own
        real batch, and the last one is the simultaneous one.
        """
        real, _ = self.unpack(data)
        batch_size = tf.shape(real)[0] // self.d_steps
        k = tf.convert_to_tensor(self.k_t)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        batches = self.real_batches(real)

        # --d_steps > 1: the extra D updates, L_D = L(x) - k_t L(G(z_D)).
        for real_batch, _ in batches[:-1]:
            fake = self.generator(self.latent(batch_size), training=True)
            with tf.GradientTape() as tape:
                d_loss = energy.began_d_loss(self.reconstruction_loss(real_batch),
                                             self.reconstruction_loss(fake), k)
            self.minimize(self.d_optimizer, tape, d_loss, d_vars)

        # One state for everything below: L_D = L(x) - k_t L(G(z_D)), L_G = L(G(z_G)).
        fake_d = self.generator(self.latent(batch_size), training=True)
        with tf.GradientTape() as d_tape:
            l_real = self.reconstruction_loss(batches[-1][0])
            l_fake_d = self.reconstruction_loss(fake_d)
            d_loss = energy.began_d_loss(l_real, l_fake_d, k)
        with tf.GradientTape() as g_tape:
            g_loss = self.reconstruction_loss(self.generator(self.latent(batch_size),
                                                             training=True))
        d_grads = self.replica_gradients(d_tape, d_loss, d_vars, self.d_optimizer)
        g_grads = self.replica_gradients(g_tape, g_loss, g_vars, self.g_optimizer)
        with tf.control_dependencies([d_loss, g_loss]):   # see GANModel.minimize
            self.d_optimizer.apply(d_grads, d_vars)
            self.g_optimizer.apply(g_grads, g_vars)

        # The controller on the global means of that state, identical on every replica.
        l_real_all, l_fake_all = tf.distribute.get_replica_context().all_reduce(
            "mean", [l_real, g_loss])
        k_next, m_global = energy.began_control(k, l_real_all, l_fake_all,
                                                self.params.began_gamma,
                                                self.params.began_lambda_k)
        self.k_t.assign(k_next)
        self.update_learning_rates(m_global)

        return self.end_step({
            "d_loss": d_loss,
            "g_loss": g_loss,
            "l_real": l_real_all,
            "l_fake": l_fake_all,
            "k_t": k_next,
            "m_global": m_global,
        })

    def update_learning_rates(self, m_global):
        """Halves both learning rates at the end of a window when the schedule says so.

        Runs every step (no Python branch on tensors): `optimizers.window_decay` decides
        on the window's M_global; the factor is 0.5 or 1 and the rates are reassigned.
        """
        schedule, window = self.params.began_lr_schedule, self.params.began_lr_steps
        if schedule == "none":
            return
        decay, window_sum, best = optimizers.window_decay(
            schedule, step=self.step, value=m_global, window=window,
            window_sum=self.m_window_sum, best=self.m_best)
        if schedule == "plateau":
            self.m_window_sum.assign(window_sum)
            self.m_best.assign(best)
        optimizers.scale_learning_rates((self.d_optimizer, self.g_optimizer),
                                        tf.where(decay, LR_DECAY, 1.0))


VARIANT = Variant(
    name="began",
    model=BEGAN,
    defaults=dict(architecture="began", width=32, latent_dim=64, d_norm="none",
                  batch_size=16, optimizer="adam", g_lr=1e-4, d_lr=1e-4, g_beta1=0.5,
                  d_beta1=0.5, g_beta2=0.999, d_beta2=0.999, steps=10000),
    # BEGAN decays its rates itself (--began_lr_decay), so not the shared linear decay.
    points_defaults=dict(lr_decay="none"),
    summary="auto-encoder D with L1 reconstruction loss, k_t equilibrium control "
            "(gamma 1, lambda_k 0.001), M_global logged, Adam 1e-4 halved when "
            "M_global stalls",
    reference="Berthelot, Schumm & Metz, BEGAN: Boundary Equilibrium Generative "
              "Adversarial Networks, 2017",
)
