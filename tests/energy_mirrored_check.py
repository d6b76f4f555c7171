"""Run in a fresh process: began and ebgan on two logical CPUs (MirroredStrategy).

Prints one JSON line with the results; tests/test_energy_mirrored.py asserts on it.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402
from tfgan_suite import energy, training  # noqa: E402
from tfgan_suite.data import make_dataset  # noqa: E402


def copies(variable):
    """The per-replica copies of a mirrored Keras variable, as numpy arrays."""
    return [c.numpy() for c in variable.value.values]


out = {}
strategy = training.make_strategy("mirrored")
out["replicas"] = strategy.num_replicas_in_sync
data = helpers.tiny_images(n=16)

# 1. began, one step: k_1 must come from the GLOBAL L(x) (all-reduced), not from replica 0's
# half of the batch, and L(x) and L(G(z_G)) both from the state before the step (D and G
# update simultaneously). lambda_k = 1 makes the differences large; k_0 = 0.2 keeps k_1
# inside (0, 1). G's first kernel is zeroed (its bias random), so G(z) is one image for
# every z and L(G(z_G)) can be computed here without knowing which z the replicas drew.
K0 = 0.2
cfg = training.fit_to_data(training.resolve_config(dict(
    variant="began", strategy="mirrored", batch_size=8, width=4, latent_dim=8,
    began_hidden=8, began_lambda_k=1.0, export=False)), data)
keras.utils.set_random_seed(cfg.seed)
model = training.build_model(cfg, data, strategy)
model.k_t.assign(K0)
project_kernel, project_bias = model.generator.trainable_variables[:2]
assert project_kernel.path.endswith("kernel") and project_bias.path.endswith("bias")
project_kernel.assign(np.zeros(project_kernel.shape, np.float32))
project_bias.assign(np.random.default_rng(0).normal(size=project_bias.shape).astype(np.float32))
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
out["k_expected_global"] = min(1.0, max(0.0, K0 + cfg.began_gamma * out["l_real_global"]
                                        - out["l_fake_global"]))

# 2. began through train(): 4 steps, the learning rate halved every 2 (assigned in the step).
cfg = training.resolve_config(dict(
    variant="began", strategy="mirrored", steps=4, batch_size=8, width=4, latent_dim=8,
    began_hidden=8, began_lr_schedule="fixed", began_lr_steps=2, export=False,
    sample_every=2, run_dir=f"{sys.argv[1]}/began"))
result = training.train(cfg, data=data, verbose=0)
m = result.model
out["began_train"] = {
    "steps": result.step,
    "finite": bool(all(np.all(np.isfinite(v.numpy()))
                       for v in m.generator.weights + m.discriminator.weights)),
    "lr_g": [float(c) for c in copies(m.g_optimizer._learning_rate)],
    "lr_d": float(m.d_optimizer.learning_rate.numpy()),
    "k_t_copies": [float(c) for c in copies(m.k_t)],
    "d_copy_gap": max(float(np.max(np.abs(a - b)))
                      for a, b in (copies(v) for v in m.discriminator.weights)),
}

# 3. ebgan through train(), 1 pretraining step then 2 adversarial ones.
cfg = training.resolve_config(dict(
    variant="ebgan", strategy="mirrored", steps=3, batch_size=8, width=4, latent_dim=8,
    ebgan_pretrain_steps=1, export=False, sample_every=2, run_dir=f"{sys.argv[1]}/ebgan"))
result = training.train(cfg, data=data, verbose=0)
m = result.model
out["ebgan_train"] = {
    "steps": result.step,
    "d_iterations": int(m.d_optimizer.iterations.numpy()),
    "g_iterations": int(m.g_optimizer.iterations.numpy()),
    "finite": bool(all(np.all(np.isfinite(v.numpy()))
                       for v in m.generator.weights + m.discriminator.weights)),
}
print("RESULT " + json.dumps(out))
