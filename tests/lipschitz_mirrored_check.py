"""Run in a fresh process: the Lipschitz/IPM variants under MirroredStrategy, 2 logical CPUs.

Prints one JSON line; tests/test_lipschitz_mirrored.py asserts on it.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402
from tests.test_penalties import mlp_critic  # noqa: E402
from tests.test_wasserstein import (B0, C0, W0, X, GradientPenaltyGAN,  # noqa: E402
                                    linear_pair, one_step)
from tfgan_suite import penalties, training  # noqa: E402

out = {}
strategy = training.make_strategy("mirrored")
out["replicas"] = strategy.num_replicas_in_sync

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
def draws():
    real = tf.zeros([4, 2])
    fake = tf.ones([4, 2])
    return model.penalty_points(real, fake)  # x_hat = alpha on the segment [0, 1]

a, b_ = [t.numpy() for t in strategy.experimental_local_results(
    strategy.run(tf.function(draws)))]
out["replica_alpha_differ"] = bool(not np.allclose(a, b_))
out["alpha_per_sample"] = bool(len(np.unique(np.round(a[:, 0], 6))) == 4
                               and np.allclose(a[:, 0], a[:, 1]))

# 3. The penalty stays per sample: the mean of the replicas' penalties on their halves of a
#    batch equals the single-device penalty on the whole batch (nonlinear critic).
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
#    pipeline there), the others through fit (train() at 2 replicas: tests/test_mirrored.py).
from tfgan_suite.data import make_dataset  # noqa: E402

out["variants"] = {}
data = helpers.tiny_points()
for name in ["wgan", "wgan_gp", "lsgan", "hinge", "dragan"]:
    cfg = training.resolve_config(dict(
        variant=name, strategy="mirrored", steps=2, batch_size=8, d_steps=2, width=8,
        export=False, run_dir=f"{sys.argv[1]}/{name}", sample_every=1000, log_every=1,
        instance_noise=0.1 if name in ("lsgan", "hinge", "dragan") else 0.0))
    if name == "wgan":
        m = training.train(cfg, data=data, verbose=0).model
    else:
        m = training.build_model(training.fit_to_data(cfg, data), data, strategy)
        m.fit(make_dataset(data, batch_size=8, batches_per_step=m.batches_per_step, seed=0),
              steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    entry = dict(steps=int(m.step.numpy()), d_iterations=int(m.d_optimizer.iterations.numpy()),
                 finite=bool(all(np.all(np.isfinite(v.numpy()))
                                 for v in m.generator.weights + m.discriminator.weights)))
    if name == "wgan":
        # Clipped, and the same, on both replicas.
        copies = [[r.numpy() for r in strategy.experimental_local_results(v.value)]
                  for v in m.discriminator.trainable_variables]
        entry["max_abs_weight"] = float(max(np.abs(r).max() for c_ in copies for r in c_))
        entry["replicas_equal"] = bool(all(np.array_equal(c_[0], c_[1]) for c_ in copies))
    out["variants"][name] = entry
print("RESULT " + json.dumps(out))
