"""The multi-replica checks: two logical CPUs, MirroredStrategy, one named case per process.

    python -m tests.replica_runner CASE OUT_DIR

runs CASES[CASE](strategy, OUT_DIR) and prints one line `RESULT <json>` with the dict it
returns; tests/test_replicas.py runs each case in a fresh process (`helpers.run_replica_case`)
and asserts on that dict. A fresh process, because the 2 logical CPUs must be configured
before TensorFlow initialises its devices: hence the device set-up above every import below.
One case groups the checks that share a process (start-up costs about 10 s); add a case as
one function and one entry in CASES, and its assertions to tests/test_replicas.py.
"""

import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests import helpers, linear_game  # noqa: E402
from tests.test_ema import expected_ema  # noqa: E402
from tests.test_penalties import mlp_critic  # noqa: E402
from tests.test_wasserstein import (B0, C0, W0, X, GradientPenaltyGAN,  # noqa: E402
                                    linear_pair, one_step)
from tfgan_suite import energy, penalties, training  # noqa: E402
from tfgan_suite.data import make_dataset, recsys  # noqa: E402
from tfgan_suite.nets.spectral_norm import SpectralNormalization  # noqa: E402
from tfgan_suite.variants.gan import GAN  # noqa: E402


# --- helpers shared by the cases -------------------------------------------------------------

def copies(variable):
    """The per-replica copies of a mirrored Keras variable, as numpy arrays."""
    return [c.numpy() for c in variable.value.values]


def copy_gap(variables):
    """Largest difference between the two replicas' copies over `variables`."""
    return max(float(np.max(np.abs(first - second)))
               for first, second in (copies(v) for v in variables))


def finite(variables):
    return bool(all(np.all(np.isfinite(v.numpy())) for v in variables))


def replica_results(strategy, fn, *args):
    """`fn` run on every replica (traced once), its per-replica results as numpy arrays."""
    results = strategy.run(tf.function(fn), args=args)
    return [t.numpy() for t in strategy.experimental_local_results(results)]


# --- the cases: each returns its result dict -------------------------------------------------

def gan_closed_form(strategy, out_dir):
    """The minimax GAN vs the closed form, per-replica z, and nsgan through train()."""
    out = {}
    # 1. One step under 2 replicas equals the closed-form step on the global batch.
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]], np.float32)
    with strategy.scope():
        model = linear_game.build(GAN)
    model.fit(tf.data.Dataset.from_tensors(x).repeat(), steps_per_epoch=1, epochs=1, verbose=0,
              shuffle=False)
    expected = linear_game.expected_after_one_step(x)
    got = linear_game.weights(model)
    out["closed_form_error"] = max(float(np.max(np.abs(np.asarray(got[k]) - expected[k])))
                                   for k in ("w", "c", "b"))

    # 2. Each replica draws its own z.
    a, b = replica_results(strategy, lambda: model.latent(4))
    out["replica_z_differ"] = bool(not np.allclose(a, b))

    # 3. A real run through train() with --strategy=mirrored.
    cfg = training.resolve_config(dict(
        variant="nsgan", strategy="mirrored", steps=4, batch_size=8, d_steps=2, width=8,
        export=False, run_dir=os.path.join(out_dir, "run"), sample_every=2))
    result = training.train(cfg, data=helpers.tiny_points(), verbose=0)
    out["train_steps"] = result.step
    out["d_iterations"] = int(result.model.d_optimizer.iterations.numpy())
    out["finite"] = finite(result.model.generator.weights)
    return out


def lipschitz(strategy, out_dir):
    """wgan, wgan_gp, lsgan, hinge, dragan: the GP step in closed form, alpha, per-sample GP."""
    out = {}
    # 1. One WGAN-GP step on 2 replicas equals the closed form on the global batch.
    lr, lam = 0.01, 10.0
    with strategy.scope():
        model = linear_pair(GradientPenaltyGAN, lr, gp_weight=lam)
    w, c, b, logs = one_step(model)
    norm = np.linalg.norm(W0)
    expected_w = W0 - lr * (B0 - X.mean(0) + 2 * lam * (norm - 1) * W0 / norm)
    out["gp_closed_form_error"] = float(max(np.abs(w - expected_w).max(), abs(c - C0),
                                            np.abs(b - (B0 + lr * expected_w)).max()))

    # 2. Replicas draw different alpha (and DRAGAN noise), each one per sample.
    #    x_hat = alpha on the segment [0, 1].
    a, b_ = replica_results(strategy, lambda: model.penalty_points(tf.zeros([4, 2]),
                                                                   tf.ones([4, 2])))
    out["replica_alpha_differ"] = bool(not np.allclose(a, b_))
    out["alpha_per_sample"] = bool(len(np.unique(np.round(a[:, 0], 6))) == 4
                                   and np.allclose(a[:, 0], a[:, 1]))

    # 3. The penalty stays per sample: the mean of the replicas' penalties on their halves of
    #    a batch equals the single-device penalty on the whole batch (nonlinear critic).
    with strategy.scope():
        critic = mlp_critic()
    x_hat = tf.random.stateless_normal([8, 3], seed=[4, 2])
    single = [float(v) for v in penalties.gradient_penalty(critic, x_hat, weight=lam)]
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(x_hat))
    per_replica = strategy.run(
        tf.function(lambda x: penalties.gradient_penalty(critic, x, weight=lam)),
        args=(next(iter(dist)),))
    halves = [[float(v) for v in strategy.experimental_local_results(t)] for t in per_replica]
    out["gp_per_sample_error"] = float(max(abs(np.mean(halves[0]) - single[0]),
                                           abs(np.mean(halves[1]) - single[1])))
    out["gp_halves_differ"] = bool(abs(halves[0][0] - halves[0][1]) > 1e-4)

    # 4. Every variant trains at 2 replicas: wgan through train() (its schedule reaches the
    #    pipeline there), the others through fit (train() at 2 replicas: gan_closed_form).
    out["variants"] = {}
    data = helpers.tiny_points()
    for name in ["wgan", "wgan_gp", "lsgan", "hinge", "dragan"]:
        cfg = training.resolve_config(dict(
            variant=name, strategy="mirrored", steps=2, batch_size=8, d_steps=2, width=8,
            export=False, run_dir=os.path.join(out_dir, name), sample_every=1000, log_every=1,
            instance_noise=0.1 if name in ("lsgan", "hinge", "dragan") else 0.0))
        if name == "wgan":
            m = training.train(cfg, data=data, verbose=0).model
        else:
            m = training.build_model(training.fit_to_data(cfg, data), data, strategy)
            m.fit(make_dataset(data, batch_size=8, batches_per_step=m.batches_per_step, seed=0),
                  steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
        entry = dict(steps=int(m.step.numpy()),
                     d_iterations=int(m.d_optimizer.iterations.numpy()),
                     finite=finite(m.generator.weights + m.discriminator.weights))
        if name == "wgan":
            # Clipped, and the same, on both replicas.
            replicas = [copies(v) for v in m.discriminator.trainable_variables]
            entry["max_abs_weight"] = float(max(np.abs(r).max() for c_ in replicas for r in c_))
            entry["replicas_equal"] = bool(all(np.array_equal(c_[0], c_[1]) for c_ in replicas))
        out["variants"][name] = entry
    return out


def sn_mcgan(strategy, out_dir):
    """SpectralNormalization's u on both copies, sngan and mcgan through train()."""
    out = {}
    # 1. A training call with different inputs per replica: u is the single-device
    # power-iteration update, the same on both copies (it does not depend on the data).
    with strategy.scope():
        layer = SpectralNormalization(keras.layers.Dense(5), seed=0)
        layer.build((None, 3))
    u0 = layer.u.numpy().astype(np.float64)
    w = layer.layer.kernel.numpy().T.astype(np.float64)
    v = w.T @ u0 / np.linalg.norm(w.T @ u0)
    expected_u = w @ v / np.linalg.norm(w @ v)
    inputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.fill([2, 3], float(ctx.replica_id_in_sync_group + 1)))
    strategy.run(tf.function(lambda x: layer(x, training=True)), args=(inputs,))
    a, b = copies(layer.u)
    out["sn_u_copies_equal"] = bool(np.array_equal(a, b))
    out["sn_u_error"] = float(np.max(np.abs(a - expected_u)))

    # 2. sngan and mcgan (mean_cov, so v, U and V all train) through train().
    for name, extra in [("sngan", {}), ("mcgan", {"mcgan_mode": "mean_cov", "mcgan_k": 4})]:
        cfg = training.resolve_config(dict(
            variant=name, strategy="mirrored", steps=3, batch_size=8, d_steps=2, width=8,
            export=False, sample_every=2, run_dir=os.path.join(out_dir, name), **extra))
        result = training.train(cfg, data=helpers.tiny_points(), verbose=0)
        model = result.model
        res = {"steps": result.step, "d_iterations": int(model.d_optimizer.iterations.numpy()),
               "finite": finite(model.weights),
               "copy_gap": copy_gap(model.discriminator.weights)}
        if name == "sngan":
            us = [l.u for l in model.discriminator.layers
                  if isinstance(l, SpectralNormalization)]
            res["u_copy_gap"] = copy_gap(us)
        else:
            critic = model.discriminator
            res["max_abs_phi"] = max(float(np.max(np.abs(v.numpy())))
                                     for v in critic.features.trainable_variables)
            res["orthonormal_error"] = max(
                float(np.max(np.abs(m.numpy().T @ m.numpy() - np.eye(4))))
                for m in (critic.cov_u, critic.cov_v))
            res["v_norm"] = float(np.linalg.norm(critic.mean_v.numpy()))
        out[name] = res
    return out


def energy_began_ebgan(strategy, out_dir):
    """began and ebgan: k_t from the global L(x), the halved learning rates, ebgan's phases.

    L(x) and L(G(z_G)) are computed outside the step, from the state before it (the
    simultaneous update), so k_1 is checked against an independent value.
    """
    out = {}
    data = helpers.tiny_images(n=16)

    # 1. began, one step: k_1 must come from the GLOBAL L(x) (all-reduced), not from
    # replica 0's half of the batch, and L(x) and L(G(z_G)) both from the state before the
    # step (D and G update simultaneously). lambda_k = 1 makes the differences large;
    # k_0 = 0.2 keeps k_1 inside (0, 1). G's first kernel is zeroed (its bias random), so
    # G(z) is one image for every z and L(G(z_G)) can be computed here without knowing
    # which z the replicas drew.
    k0 = 0.2
    cfg = training.fit_to_data(training.resolve_config(dict(
        variant="began", strategy="mirrored", batch_size=8, width=4, latent_dim=8,
        began_hidden=8, began_lambda_k=1.0, export=False)), data)
    keras.utils.set_random_seed(cfg.seed)
    model = training.build_model(cfg, data, strategy)
    model.k_t.assign(k0)
    project_kernel, project_bias = model.generator.trainable_variables[:2]
    assert project_kernel.path.endswith("kernel") and project_bias.path.endswith("bias")
    project_kernel.assign(np.zeros(project_kernel.shape, np.float32))
    project_bias.assign(np.random.default_rng(0).normal(size=project_bias.shape)
                        .astype(np.float32))
    real = next(iter(make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)))
    per_sample = energy.l1_energy(real, model.discriminator(real, training=True)).numpy()
    out["l_real_global"] = float(per_sample.mean())
    out["l_real_halves"] = [float(per_sample[:4].mean()), float(per_sample[4:].mean())]
    fake = model.generator(tf.random.normal([4, cfg.latent_dim], seed=1), training=True)
    out["g_constant"] = float(np.abs(fake.numpy() - fake.numpy()[:1]).max())
    out["l_fake_global"] = float(tf.reduce_mean(
        energy.l1_energy(fake, model.discriminator(fake, training=True))))
    history = model.fit(make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed),
                        steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    out["began_logs"] = logs
    out["k_t_copies"] = [float(c) for c in copies(model.k_t)]
    out["k_expected_global"] = min(1.0, max(0.0, k0 + cfg.began_gamma * out["l_real_global"]
                                            - out["l_fake_global"]))

    # 2. began through train(): 4 steps, the learning rate halved every 2 (assigned in the
    # step).
    cfg = training.resolve_config(dict(
        variant="began", strategy="mirrored", steps=4, batch_size=8, width=4, latent_dim=8,
        began_hidden=8, began_lr_schedule="fixed", began_lr_steps=2, export=False,
        sample_every=2, run_dir=os.path.join(out_dir, "began")))
    result = training.train(cfg, data=data, verbose=0)
    m = result.model
    out["began_train"] = {
        "steps": result.step,
        "finite": finite(m.generator.weights + m.discriminator.weights),
        "lr_g": [float(c) for c in copies(m.g_optimizer._learning_rate)],
        "lr_d": float(m.d_optimizer.learning_rate.numpy()),
        "k_t_copies": [float(c) for c in copies(m.k_t)],
        "d_copy_gap": copy_gap(m.discriminator.weights),
    }

    # 3. ebgan through train(), 1 pretraining step then 2 adversarial ones.
    cfg = training.resolve_config(dict(
        variant="ebgan", strategy="mirrored", steps=3, batch_size=8, width=4, latent_dim=8,
        ebgan_pretrain_steps=1, export=False, sample_every=2,
        run_dir=os.path.join(out_dir, "ebgan")))
    result = training.train(cfg, data=data, verbose=0)
    m = result.model
    out["ebgan_train"] = {
        "steps": result.step,
        "d_iterations": int(m.d_optimizer.iterations.numpy()),
        "g_iterations": int(m.g_optimizer.iterations.numpy()),
        "finite": finite(m.generator.weights + m.discriminator.weights),
    }
    return out


def cgan_bigan(strategy, out_dir):
    """cgan (projection) and bigan (stochastic encoder) through train(); ALI's noise."""
    out = {}
    for name, extra in (("cgan", dict(conditioning="projection")),
                        ("bigan", dict(stochastic_encoder=True, latent_dim=4))):
        cfg = training.resolve_config(dict(
            variant=name, strategy="mirrored", steps=3, batch_size=8, d_steps=2, width=8,
            export=False, sample_every=2, run_dir=os.path.join(out_dir, name), **extra))
        model = training.train(cfg, data=helpers.tiny_points(), verbose=0).model
        players = [model.generator, model.discriminator] + (
            [model.encoder_network] if name == "bigan" else [])
        variables = [v for p in players for v in p.trainable_variables]
        out[name] = {
            "steps": int(model.step.numpy()),
            "d_iterations": int(model.d_optimizer.iterations.numpy()),
            "g_iterations": int(model.g_optimizer.iterations.numpy()),
            "finite": finite(variables),
            "copy_gap": copy_gap(variables),
        }
        if name == "bigan":
            x = tf.constant(np.repeat(helpers.tiny_points().x[:1], 4, 0))
            a, b = replica_results(strategy, lambda: model.encode(x, training=False))
            out[name]["replica_eps_differ"] = bool(not np.allclose(a, b))
    return out


def irgan(strategy, out_dir):
    """irgan through train() (BPR pretraining, then adversarial); per-replica negatives."""
    data = recsys.simulate(num_users=60, num_items=80, num_interactions=1500, min_per_user=5,
                           max_per_user=60, seed=0, name="tiny_recsys")
    # One pretraining (BPR) step, then two adversarial steps: both phases run replicated.
    cfg = training.resolve_config(dict(
        variant="irgan", strategy="mirrored", steps=3, irgan_pretrain_steps=1, batch_size=8,
        d_steps=2, g_lr=1e-3, d_lr=1e-3, eval_every=0, seed=3, export=False,
        run_dir=os.path.join(out_dir, "irgan")))
    model = training.train(cfg, data=data, verbose=0).model
    variables = model.generator.trainable_variables + model.discriminator.trainable_variables
    out = dict(
        steps=int(model.step.numpy()),
        d_iterations=int(model.d_optimizer.iterations.numpy()),
        g_iterations=int(model.g_optimizer.iterations.numpy()),
        finite=finite(variables),
        copy_gap=copy_gap(variables),
    )

    # The same user batch on both replicas: D's negatives come from each replica's own
    # stream.
    users = tf.constant(np.arange(4, dtype=np.int32))
    positives = tf.constant(np.tile(np.arange(6, dtype=np.int32), (4, 1)))
    counts = tf.constant(np.full(4, 6, np.int32))
    a, b = replica_results(
        strategy, lambda: model.sample_negatives(model.with_masks(users, positives, counts)))
    out["replica_negatives_differ"] = bool(not np.array_equal(a, b))
    return out


class ConstantGAN(GAN):
    """The linear game with z = 0: G(z) = b for every z, so that no step depends on which z
    a replica draws, and 1 and 2 replicas play the same game on the same global batch."""

    def latent(self, batch_size):
        return tf.zeros([batch_size, self.latent_dim])


class CopiesRecorder(keras.callbacks.Callback):
    """Every replica's copy of G's and of the averaged G's weights, after every step."""

    def __init__(self, model):
        super().__init__()
        self.g, self.ema = [self.read(model.generator)], [self.read(model.ema_generator)]

    @staticmethod
    def read(network):
        return [copies(v) for v in network.weights]

    def on_train_batch_end(self, batch, logs=None):
        self.g.append(self.read(self.model.generator))
        self.ema.append(self.read(self.model.ema_generator))


def ema_replicas(strategy, out_dir):
    """The generator EMA at 2 replicas: equal to 1 replica's on a game that does not depend
    on the replica count; with batch norm, each replica's copy averages its own G copy."""
    out = {}
    decay, start, steps = 0.5, 1, 4
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]], np.float32)
    averages = []
    for scope in (None, strategy):   # one device (the default strategy), then 2 replicas
        if scope is None:
            model = linear_game.build(ConstantGAN, ema_decay=decay, ema_start=start)
        else:
            with scope.scope():
                model = linear_game.build(ConstantGAN, ema_decay=decay, ema_start=start)
        model.fit(tf.data.Dataset.from_tensors(x).repeat(), steps_per_epoch=steps, epochs=1,
                  verbose=0, shuffle=False)
        averages.append(model)
    one, two = averages
    out["one_vs_two_gap"] = max(float(np.max(np.abs(a.numpy() - b.numpy())))
                                for a, b in zip(one.ema_generator.weights,
                                                two.ema_generator.weights))
    out["g_one_vs_two_gap"] = max(float(np.max(np.abs(a.numpy() - b.numpy())))
                                  for a, b in zip(one.generator.weights, two.generator.weights))
    out["ema_moved"] = float(np.max(np.abs(two.ema_generator.weights[-1].numpy()
                                           - two.generator.weights[-1].numpy())))
    out["ema_copy_gap"] = copy_gap(two.ema_generator.weights)

    # dcgan's G (batch norm) on images: each replica's copy against the recursion of its G.
    data = helpers.tiny_images(n=32)
    cfg = training.fit_to_data(training.resolve_config(dict(
        variant="dcgan", strategy="mirrored", batch_size=8, width=4, latent_dim=8,
        ema_decay=decay, ema_start=start, export=False)), data)
    keras.utils.set_random_seed(cfg.seed)
    model = training.build_model(cfg, data, strategy)
    recorder = CopiesRecorder(model)
    model.fit(model.make_dataset(cfg, data, 0), steps_per_epoch=3, epochs=1, verbose=0,
              shuffle=False, callbacks=[recorder])
    paths = [w.path for w in model.generator.weights]
    error = 0.0
    for replica in range(2):
        history = [[w[replica] for w in step] for step in recorder.g]
        want = expected_ema(history, decay, start)
        got = [w[replica] for w in recorder.ema[-1]]
        error = max([error] + [float(np.max(np.abs(g - w))) for g, w in zip(got, want)])
    out["bn_recursion_error"] = error
    trainable = [v for v in model.ema_generator.weights
                 if not v.path.endswith(("moving_mean", "moving_variance"))]
    stats = [v for v in model.generator.weights
             if v.path.endswith(("moving_mean", "moving_variance"))]
    out["bn_layers"] = len(stats) // 2
    out["ema_trainable_copy_gap"] = copy_gap(trainable)
    out["g_stats_copy_gap"] = copy_gap(stats)   # > 0: each replica keeps its own
    out["finite"] = finite(model.ema_generator.weights)
    out["paths_paired"] = paths == [w.path for w in model.ema_generator.weights]
    return out


def precision_replicas(strategy, out_dir):
    """Mixed precision under --strategy=mirrored: dcgan (batch norm) and wgan_gp (the
    gradient penalty's nested tape) train a few steps in each policy on 2 replicas, stay
    finite, keep float32 variables, and keep the replicas' trainable copies equal (the
    all-reduced update, loss-scaled under float16, is the same on both)."""
    out = {}
    data = helpers.tiny_images(n=32)
    for precision in ("mixed_bfloat16", "mixed_float16"):
        for variant in ("dcgan", "wgan_gp"):
            cfg = training.resolve_config(dict(
                variant=variant, strategy="mirrored", precision=precision, steps=3,
                batch_size=8, width=4, latent_dim=8, d_steps=2, export=False,
                run_dir=os.path.join(out_dir, f"{variant}_{precision}"), sample_every=3))
            result = training.train(cfg, data=data, verbose=0)
            model = result.model
            players = model.generator.trainable_weights + model.discriminator.trainable_weights
            key = f"{variant}_{precision}"
            out[key + "_steps"] = result.step
            out[key + "_finite"] = finite(model.generator.weights + model.discriminator.weights)
            out[key + "_float32_vars"] = all(v.dtype == "float32" for v in players)
            out[key + "_copy_gap"] = copy_gap(players)
            out[key + "_policy"] = model.generator.layers[1].dtype_policy.name
            if precision == "mixed_float16":
                out[key + "_scales"] = [float(model.d_optimizer.dynamic_scale.numpy()),
                                        float(model.g_optimizer.dynamic_scale.numpy())]
    return out


CASES = {
    "gan_closed_form": gan_closed_form,
    "lipschitz": lipschitz,
    "sn_mcgan": sn_mcgan,
    "energy": energy_began_ebgan,
    "cgan_bigan": cgan_bigan,
    "irgan": irgan,
    "ema": ema_replicas,
    "precision": precision_replicas,
}


def main(argv):
    if len(argv) != 2 or argv[0] not in CASES:
        sys.exit(f"usage: python -m tests.replica_runner CASE OUT_DIR; CASE is one of: "
                 f"{', '.join(CASES)}. Received: {' '.join(argv)!r}")
    case, out_dir = argv
    strategy = training.make_strategy("mirrored")  # the one train() uses too
    out = {"replicas": strategy.num_replicas_in_sync, **CASES[case](strategy, out_dir)}
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
