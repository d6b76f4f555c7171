"""`irgan`: adversarial item recommendation with a policy-gradient generator.

The generator is a retrieval model p_theta(i | u) = softmax(s_theta(u, .) / tau_g) over
all items; the discriminator f_phi(u, i) tells a user's real positives from items the
generator picked. Both score s(u, i) = e_u . e_i + b_i (`MatrixFactorization`). One step,
for a batch of users with their training positives (padded to P, masked):

  D (`d_steps` times, each on its own user batch): for each user, draw as many items as
    the user has positives from softmax(s_theta / tau) (tau = `irgan_temperature`, 0.2;
    the user's positives excluded with `irgan_exclude_positives`) and minimise the sigmoid
    cross-entropy of positives (label 1) and those samples (label 0).
  G: draw 2 items per positive from the mixture q = (1 - lambda) p_theta + lambda
    uniform(positives), reward r = 2 (sigmoid(f_phi) - 0.5) (the released code's;
    `irgan_reward=softplus`: the paper's log(1 + exp(f_phi))), importance weight
    w = p_theta / q, and minimise -mean(log p_theta(i|u) r w) (policy gradient: items are
    discrete, no gradient flows through D).

With `irgan_pretrain_steps` = N, the first N steps instead train both players as plain
matrix factorisation (BPR, one uniform non-positive per positive; `pretrain_step`, which
`GANModel` runs for those steps), as IRGAN's code starts from a pre-trained MF generator;
training MF alone for the whole budget (`irgan_pretrain_steps` >= `steps`) is the MF
baseline with the same seeds and budget. `irgan_schedule=phases` replaces the step above
by IRGAN's released schedule: long D phases and long G phases of one update a step.

Every draw is stateless, seeded by `next_seed()` (per replica, step and draw), so runs
resume exactly. The step has static shapes (users [B], positives [B, P], masks for the
padding) but runs without XLA (see `compile`).

Reference: Wang et al., "IRGAN: A Minimax Game for Unifying Generative and Discriminative
Information Retrieval Models", SIGIR 2017, section 2 and its item-recommendation code.

Length: the paper's algorithm is a policy-gradient generator over discrete items
(sampling, importance weights, rewards) and a pointwise discriminator, with BPR
pretraining, its own input stream, ranking metrics and a `score` export.
"""

import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_suite import optimizers, settings
from tfgan_suite import policy_gradient as pg
from tfgan_suite.nets.matrix_factorization import MatrixFactorization
from tfgan_suite.ranking_losses import bpr, masked_mean, pointwise_bce
from tfgan_suite.variants.base import GANModel
from tfgan_suite.variants.spec import Variant

# Generator samples per training positive of the user (IRGAN's code: 2 * len(pos)).
G_SAMPLES_PER_POSITIVE = 2
# Users scored at once when ranking every user (evaluation, export checks).
SCORE_BATCH = 1024
# `irgan_schedule` values.
SCHEDULES = ("alternate", "phases")


def step_kind(step, pretrain_steps, schedule="alternate", d_phase=1, g_phase=1):
    """What training step `step` (0-based) runs: "pretrain" (BPR for both players),
    "game" (alternate: d_steps D updates then one G update), "d" or "g" (phases: one
    update of that player; D for the first `d_phase` steps of each cycle of
    d_phase + g_phase steps after pretraining, G for the rest)."""
    if step < pretrain_steps:
        return "pretrain"
    if schedule == "alternate":
        return "game"
    return "d" if (step - pretrain_steps) % (d_phase + g_phase) < d_phase else "g"


@dataclasses.dataclass(frozen=True)
class IRGANParams(settings.Params):
    irgan_embedding_dim: int = settings.setting(
        5, "size of the user and item embeddings of both players", check=settings.at_least(1))
    irgan_g_l2: float = settings.setting(
        0.0, "generator L2 weight on the embeddings and biases of each update's (user, item) "
        "pairs", check=settings.at_least(0))
    irgan_d_l2: float = settings.setting(
        0.1, "discriminator L2 weight on the embeddings and biases of each update's (user, "
        "item) pairs", check=settings.at_least(0))
    irgan_temperature: float = settings.setting(
        0.2, "temperature of the generator's softmax when it samples the discriminator's "
        "negatives", check=settings.above(0))
    irgan_g_temperature: float = settings.setting(
        1.0, "temperature of the generator's policy p(i|u) in its policy-gradient step",
        check=settings.above(0))
    irgan_sample_lambda: float = settings.setting(
        0.2, "weight of the user's positives in the generator's sampling mixture "
        "(importance-weighted); 0 = on-policy REINFORCE",
        check=settings.within(0.0, 1.0, high_open=True))
    irgan_exclude_positives: bool = settings.setting(
        False, "never sample a user's training positives as the discriminator's negatives")
    irgan_pretrain_steps: int = settings.setting(
        0, "first steps train both players as plain matrix factorisation (BPR) before the "
        "adversarial game", check=settings.at_least(0))
    irgan_pretrain_lr: Optional[float] = settings.setting(
        None, "learning rate of both players during the pretraining steps; default: --g_lr "
        "and --d_lr", check=settings.optional(settings.above(0)))
    irgan_reward: str = settings.setting(
        "sigmoid", "generator's reward for an item D scores f: sigmoid = 2 sigmoid(f) - 1 "
        "(IRGAN's released code), softplus = log(1 + exp(f)) (the paper's eq. 5)",
        check=settings.one_of(*pg.REWARDS))
    irgan_schedule: str = settings.setting(
        "alternate", "adversarial steps: alternate = d_steps D updates then one G update "
        "each step; phases = each step one update, irgan_d_phase D steps then "
        "irgan_g_phase G steps, repeated (IRGAN's released code)",
        check=settings.one_of(*SCHEDULES))
    irgan_d_phase: int = settings.setting(
        50, "with irgan_schedule=phases: D steps of each phase", check=settings.at_least(1))
    irgan_g_phase: int = settings.setting(
        50, "with irgan_schedule=phases: G steps of each phase", check=settings.at_least(1))
    irgan_game_optimizer: Optional[str] = settings.setting(
        None, "optimizer of both players in the adversarial steps (at --g_lr and --d_lr); "
        "sgd = plain SGD, no momentum (IRGAN's released code); default: --optimizer, the "
        "pretraining's", check=settings.optional(settings.one_of("adam", "rmsprop", "sgd")))


class IRGAN(GANModel):
    """IRGAN for item recommendation (pointwise discriminator).

    Schedules (`irgan_schedule`): "alternate" makes `d_steps` D updates and one G update
    in every adversarial step; "phases" follows IRGAN's released code, where D trains for
    many updates against a fixed generator, then G for many updates against a fixed D:
    each step makes one update, `irgan_d_phase` D steps then `irgan_g_phase` G steps,
    repeated until `--steps` (so the budget in steps is the same as the MF baseline's).
    The release runs 15 cycles of 100 D epochs (over all positives, 16 pairs an update)
    and 50 G epochs (one user an update), plain SGD at 0.001 for both, starting from a
    separately trained MF; `irgan_game_optimizer=sgd` gives the plain SGD here.

    Args:
        generator, discriminator: `MatrixFactorization` scorers of the same sizes.
        **kwargs: `GANModel`'s (seed, d_steps, ...); the parameters are `IRGANParams`:
            the sampling temperature of D's negatives and of G's policy, the weight of the
            positives in G's sampling mixture, excluding positives from D's negatives, the
            players' L2 weights, the BPR pretraining steps and their learning rate, the
            reward, the schedule and the game's optimizer.

    Example:
        >>> model = IRGAN.create(cfg, data)       # data: tfgan_suite.data.RecsysData
        >>> model.fit(model.make_dataset(cfg, data, 0), steps_per_epoch=100)
        >>> model.scores().shape                  # every user's scores for every item
        (943, 1682)
    """

    data_kinds = ("recsys",)
    Params = IRGANParams
    drives_learning_rate = True   # --lr_decay is refused (GANModel)
    mixed_precision = False       # its policy-gradient G and MF players: float32 only

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if (generator.num_users, generator.num_items) != (discriminator.num_users,
                                                          discriminator.num_items):
            raise ValueError("the generator and discriminator score different user/item sets")
        self.num_users, self.num_items = generator.num_users, generator.num_items

    @property
    def pretrain_steps(self):
        """`irgan_pretrain_steps`: GANModel runs `pretrain_step` (BPR) for those steps."""
        return self.params.irgan_pretrain_steps

    @classmethod
    def create(cls, cfg, data):
        if data.kind != "recsys":
            raise settings.ConfigError(
                f"--variant=irgan needs recommendation data (--dataset=synthetic_recsys or "
                f"movielens_100k); {data.name!r} is {data.kind} data")
        if cfg.instance_noise:
            raise settings.ConfigError("--instance_noise does not apply to irgan (its "
                                         "discriminator reads user and item ids)")
        if cfg.irgan_schedule == "phases" and cfg.d_steps != 1:
            raise settings.ConfigError(
                f"--d_steps={cfg.d_steps} does not apply to --irgan_schedule=phases (each step "
                "makes one update; set D's share with --irgan_d_phase); use --d_steps=1")
        players = [MatrixFactorization(data.num_users, data.num_items,
                                       dim=cfg.irgan_embedding_dim, name=name)
                   for name in ("generator", "discriminator")]
        return cls(*players, **cls.model_kwargs(cfg))

    def compile(self, *, d_optimizer, g_optimizer, jit_compile=False, **kwargs):
        """As GANModel's, always without XLA; with `irgan_pretrain_lr`, each optimizer runs
        at that rate for the pretraining steps' updates and at its own rate afterwards
        (`optimizers.with_initial_rate`, counted in the optimizer's own iterations).

        XLA is off because item sampling has no good XLA form: StatelessMultinomial has no
        XLA kernel for int64 seeds, XLA's categorical sampler and inverse-CDF sampling
        with searchsorted materialise [users, samples, items] tensors (50x slower here).
        """
        if jit_compile:
            logging.warning("irgan runs without XLA (--jit_compile ignored): its item "
                            "sampling has no efficient XLA kernel")
        # With `irgan_game_optimizer`, the adversarial steps get optimizers of their own
        # at the players' rates (--d_lr, --g_lr); the given ones serve the pretraining.
        game = self.params.irgan_game_optimizer
        self.d_game_optimizer = self.g_game_optimizer = None
        if game is not None:
            d_cfg, g_cfg = d_optimizer.get_config(), g_optimizer.get_config()
            self.d_game_optimizer, self.g_game_optimizer = (
                optimizers.make(game, learning_rate=float(c["learning_rate"]),
                                beta1=0.0 if game == "sgd" else c.get("beta_1", 0.9),
                                beta2=c.get("beta_2", c.get("rho", 0.999)))
                for c in (d_cfg, g_cfg))
            self.d_game_optimizer.build(self.discriminator.trainable_variables)
            self.g_game_optimizer.build(self.generator.trainable_variables)
        rate = self.params.irgan_pretrain_lr
        if self.pretrain_steps and rate is not None:  # D: d_steps updates a step, G: one
            d_optimizer = optimizers.with_initial_rate(d_optimizer, rate,
                                                       self.pretrain_steps * self.d_steps)
            g_optimizer = optimizers.with_initial_rate(g_optimizer, rate, self.pretrain_steps)
        super().compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, jit_compile=False,
                        **kwargs)

    @property
    def game_optimizers(self):
        """(D's, G's) optimizer in the adversarial steps."""
        return (self.d_game_optimizer or self.d_optimizer,
                self.g_game_optimizer or self.g_optimizer)

    def checkpoint_items(self):
        """GANModel's, and the game's own optimizers when `irgan_game_optimizer` is set."""
        items = super().checkpoint_items()
        if self.d_game_optimizer is not None:
            items.update(d_game_optimizer=self.d_game_optimizer,
                         g_game_optimizer=self.g_game_optimizer)
        return items

    def make_train_function(self, force=False):
        """GANModel's, except with `irgan_schedule=phases`: then each step is picked in
        Python from the step counter (`step_kind`), one traced function per kind, so no
        update sits in a `tf.cond` and a resumed run picks what the uninterrupted one did.
        """
        if self.params.irgan_schedule != "phases":
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        if self.steps_per_execution != 1:
            raise ValueError("irgan_schedule=phases picks its step per call: "
                             "`steps_per_execution` must be 1. Received: "
                             f"steps_per_execution={self.steps_per_execution}")
        steps = {"pretrain": self._make_function(self.pretrain_step),
                 "d": self._make_function(self.d_phase_step),
                 "g": self._make_function(self.g_phase_step)}
        p = self.params

        def train_function(iterator):
            kind = step_kind(int(self.step.numpy()), self.pretrain_steps, p.irgan_schedule,
                             p.irgan_d_phase, p.irgan_g_phase)
            return steps[kind](iterator)

        self.train_function = train_function
        return train_function

    # ----------------------------------------------------------------------------------
    # The step.

    def train_step(self, data):
        """The game: `d_steps` D updates (each on its user batch), then G's on the last."""
        d_opt, g_opt = self.game_optimizers
        for batch in self.user_batches(data):
            with tf.GradientTape() as tape:
                d_loss, d_real, d_fake = self._d_adversarial(batch)
            self.minimize(d_opt, tape, d_loss, self.discriminator.trainable_variables)

        # The generator learns on the last user batch, against the updated discriminator.
        with tf.GradientTape() as tape:
            g_loss, reward = self._g_adversarial(batch)
        self.minimize(g_opt, tape, g_loss, self.generator.trainable_variables)
        return self.end_step(self._logs(d_loss, g_loss, reward, d_real, d_fake, 0.0))

    def d_phase_step(self, data):
        """A step of a D phase (`irgan_schedule=phases`): one D update; G's loss and
        reward are measured after it, for the curves only (no update)."""
        (batch,) = self.user_batches(data)
        with tf.GradientTape() as tape:
            d_loss, d_real, d_fake = self._d_adversarial(batch)
        self.minimize(self.game_optimizers[0], tape, d_loss,
                      self.discriminator.trainable_variables)
        g_loss, reward = self._g_adversarial(batch)
        return self.end_step(self._logs(d_loss, g_loss, reward, d_real, d_fake, 0.0))

    def g_phase_step(self, data):
        """A step of a G phase (`irgan_schedule=phases`): one G update; D's loss is
        measured before it, for the curves only (no update)."""
        (batch,) = self.user_batches(data)
        d_loss, d_real, d_fake = self._d_adversarial(batch)
        with tf.GradientTape() as tape:
            g_loss, reward = self._g_adversarial(batch)
        self.minimize(self.game_optimizers[1], tape, g_loss,
                      self.generator.trainable_variables)
        return self.end_step(self._logs(d_loss, g_loss, reward, d_real, d_fake, 0.0))

    def pretrain_step(self, data):
        """Matrix factorisation: BPR for D on each user batch and for G on the last.

        The game's diagnostics (`d_real`, `d_fake`, `reward`) are measured after the
        updates on the last batch, for the curves only (no gradient).
        """
        for batch in self.user_batches(data):
            with tf.GradientTape() as tape:
                d_loss = self._bpr(self.discriminator, self.params.irgan_d_l2, batch)
            self.minimize(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = self._bpr(self.generator, self.params.irgan_g_l2, batch)
        self.minimize(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        _, d_real, d_fake = self._d_adversarial(batch)
        _, reward = self._g_adversarial(batch)
        return self.end_step(self._logs(d_loss, g_loss, reward, d_real, d_fake, 1.0))

    def _logs(self, d_loss, g_loss, reward, d_real, d_fake, pretraining):
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "reward": reward,   # mean reward of G's samples
            "d_real": d_real,   # mean sigmoid(f_phi) on positives
            "d_fake": d_fake,   # ... and on G's samples
            "pretraining": pretraining,
        }

    def user_batches(self, data):
        """The step's `d_steps` user batches, each with its masks (`with_masks`)."""
        users, positives, counts = data
        split = zip(*(tf.split(t, self.d_steps) if self.d_steps > 1 else [t]
                      for t in (users, positives, counts)))
        return [self.with_masks(*batch) for batch in split]

    def with_masks(self, users, positives, counts):
        """Adds the masks of a user batch: valid positives [B, P] and the positive
        matrix [B, num_items] (1.0 at each user's training positives)."""
        valid = tf.sequence_mask(counts, tf.shape(positives)[1])
        rows = tf.broadcast_to(tf.range(tf.shape(positives)[0])[:, None], tf.shape(positives))
        # Padding entries scatter 0.0 onto item 0, so they change nothing.
        matrix = tf.scatter_nd(tf.stack([rows, positives], axis=-1), tf.cast(valid, tf.float32),
                               [tf.shape(positives)[0], self.num_items])
        return dict(users=users, positives=positives, counts=counts, valid=valid,
                    matrix=matrix)

    def sample_negatives(self, b):
        """D's negatives: P items per user from softmax(s_G / tau) (the first counts[u]
        are used), never a training positive with `exclude_positives`. int32 [B, P]."""
        logits = tf.stop_gradient(self.generator(b["users"])) / self.params.irgan_temperature
        exclude = b["matrix"] > 0.5 if self.params.irgan_exclude_positives else None
        return pg.sample(logits, positives_width(b), self.next_seed(), exclude)

    def _d_adversarial(self, b):
        """D's sigmoid cross-entropy: positives vs. as many samples of softmax(s_G / tau)."""
        negatives = self.sample_negatives(b)
        real_logits = self.discriminator.pair_scores(b["users"], b["positives"])
        fake_logits = self.discriminator.pair_scores(b["users"], negatives)
        loss = pointwise_bce(real_logits, fake_logits, b["valid"]) + self.params.irgan_d_l2 * 0.5 * (
            self.discriminator.l2_penalty(b["users"], b["positives"], b["valid"])
            + self.discriminator.l2_penalty(b["users"], negatives, b["valid"]))
        return (loss, masked_mean(tf.sigmoid(real_logits), b["valid"]),
                masked_mean(tf.sigmoid(fake_logits), b["valid"]))

    def _g_adversarial(self, b):
        """G's importance-weighted policy gradient with D's reward."""
        log_p = tf.nn.log_softmax(self.generator(b["users"]) / self.params.irgan_g_temperature)
        proposal = tf.stop_gradient(pg.mixture_with_positives(
            tf.exp(log_p), b["matrix"], b["counts"], self.params.irgan_sample_lambda))
        num_samples = G_SAMPLES_PER_POSITIVE * positives_width(b)
        items = pg.sample(tf.math.log(tf.maximum(proposal, 1e-30)), num_samples,
                          self.next_seed())
        valid = tf.sequence_mask(G_SAMPLES_PER_POSITIVE * b["counts"], num_samples)
        weights = pg.importance_weights(log_p, proposal, items)
        rewards = tf.stop_gradient(pg.discriminator_reward(
            self.discriminator.pair_scores(b["users"], items), self.params.irgan_reward))
        loss = pg.reinforce_loss(tf.gather(log_p, items, batch_dims=1), rewards, weights, valid)
        loss += self.params.irgan_g_l2 * self.generator.l2_penalty(b["users"], items, valid)
        return loss, masked_mean(rewards, valid)

    def _bpr(self, net, l2, b):
        """BPR: -log sigmoid(s(u, pos) - s(u, neg)), with one uniformly drawn item per
        positive; pairs whose draw is a training positive of the user are left out."""
        negatives = tf.random.stateless_uniform(tf.shape(b["positives"]), self.next_seed(),
                                                minval=0, maxval=self.num_items, dtype=tf.int32)
        valid = tf.logical_and(b["valid"],
                               tf.gather(b["matrix"], negatives, batch_dims=1) < 0.5)
        loss = bpr(net.pair_scores(b["users"], b["positives"]),
                   net.pair_scores(b["users"], negatives), valid)
        return loss + l2 * 0.5 * (net.l2_penalty(b["users"], b["positives"], valid)
                                  + net.l2_penalty(b["users"], negatives, valid))

    # ----------------------------------------------------------------------------------
    # Outside training: the input stream, the metrics callback, scores and export.

    def make_dataset(self, cfg, data, start_step):
        """User batches (`d_steps` of them per step) from step `start_step` on."""
        from tfgan_suite.data.recsys import make_user_dataset

        return make_user_dataset(data, batch_size=cfg.batch_size * self.d_steps,
                                 seed=cfg.seed, start_batch=start_step)

    def make_evaluator(self, cfg, data):
        """None: the ranking metrics need no set-up (`training_callbacks` ranks items)."""
        return None

    def training_callbacks(self, cfg, data, writer, evaluator):
        """P@k/NDCG@k on the test split every `--eval_every` steps (and at the end)."""
        from tfgan_suite.callbacks import RankingEval

        return [RankingEval(writer, cfg.eval_every, data)] if cfg.eval_every else []

    def scores(self, users=None, player="generator"):
        """s(u, i) of every item for `users` (default: all), NumPy float32 [N, num_items];
        `player`: "generator", "discriminator" or "ema_generator" (the averaged one)."""
        net = getattr(self, player)
        users = np.arange(self.num_users) if users is None else np.asarray(users)
        return np.concatenate([np.asarray(net(tf.constant(users[i:i + SCORE_BATCH], tf.int32)))
                               for i in range(0, len(users), SCORE_BATCH)])

    def export(self, cfg, data, step):
        """The generator (the averaged one by default, with the generator EMA) as a
        SavedModel with a `score` signature; returns its path."""
        from tfgan_suite import __version__, recsys_serving

        meta = dict(variant=cfg.variant, dataset=cfg.dataset, kind="recsys", step=int(step),
                    num_users=self.num_users, num_items=self.num_items, data_seed=cfg.seed,
                    tfgan_suite_version=__version__,
                    **self.exported_generator_meta(cfg.export_ema))
        return recsys_serving.export_scorer(self.generator_for(cfg.export_ema),
                                            os.path.join(cfg.export_dir, cfg.variant), meta=meta)


def positives_width(b):
    """P, the padded width of the batch's positives (static)."""
    return b["positives"].shape[1]


VARIANT = Variant(
    name="irgan",
    model=IRGAN,
    # IRGAN's code uses plain SGD (lr 0.001) on one user (G) or 16 pairs (D) per update
    # and a separately pre-trained MF generator; here both players use Adam on batches of
    # 64 users, the MF pretraining at 0.01 and a slow generator afterwards (at higher
    # rates its policy gradient quickly undoes the pretraining; benchmarks/irgan_quality.py).
    defaults=dict(dataset="synthetic_recsys", optimizer="adam", g_lr=1e-4, d_lr=1e-3,
                  g_beta1=0.9, d_beta1=0.9, batch_size=64, steps=2000,
                  irgan_pretrain_steps=1000, irgan_pretrain_lr=0.01, eval_every=250,
                  checkpoint_every=500),
    summary="IRGAN item recommendation: policy-gradient generator over items, pointwise "
            "discriminator (--dataset=synthetic_recsys|movielens_100k)",
    reference="Wang et al., IRGAN: A Minimax Game for Unifying Generative and "
              "Discriminative Information Retrieval Models, SIGIR 2017",
)
