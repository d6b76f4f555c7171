"""Run in a fresh process: SpectralNormalization, sngan and mcgan on two logical CPUs.

Prints one JSON line with the results; tests/test_sngan_mcgan.py asserts on it.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402
from tfgan_suite import training  # noqa: E402
from tfgan_suite.nets.spectral_norm import SpectralNormalization  # noqa: E402


def copies(variable):
    """The per-replica copies of a mirrored Keras variable, as numpy arrays."""
    return [c.numpy() for c in variable.value.values]


def max_copy_gap(variables):
    """Largest difference between the two replicas' copies over `variables`."""
    gaps = []
    for variable in variables:
        first, second = copies(variable)
        gaps.append(float(np.max(np.abs(first - second))))
    return max(gaps)


out = {}
strategy = training.make_strategy("mirrored")
out["replicas"] = strategy.num_replicas_in_sync

# 1. A training call with different inputs per replica: u is the single-device power-iteration
# update, the same on both copies (it does not depend on the data).
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
for name, data, extra in [("sngan", helpers.tiny_points(), {}),
                          ("mcgan", helpers.tiny_points(), {"mcgan_mode": "mean_cov",
                                                            "mcgan_k": 4})]:
    cfg = training.resolve_config(dict(variant=name, strategy="mirrored", steps=3, batch_size=8,
                                       d_steps=2, width=8, export=False, sample_every=2,
                                       run_dir=f"{sys.argv[1]}/{name}", **extra))
    result = training.train(cfg, data=data, verbose=0)
    model = result.model
    res = {"steps": result.step, "d_iterations": int(model.d_optimizer.iterations.numpy()),
           "finite": bool(all(np.all(np.isfinite(v.numpy())) for v in model.weights))}
    d_vars = model.discriminator.weights
    res["copy_gap"] = max_copy_gap(d_vars)
    if name == "sngan":
        us = [l.u for l in model.discriminator.layers if isinstance(l, SpectralNormalization)]
        res["u_copy_gap"] = max_copy_gap(us)
    else:
        critic = model.discriminator
        res["max_abs_phi"] = max(float(np.max(np.abs(v.numpy())))
                                 for v in critic.features.trainable_variables)
        res["orthonormal_error"] = max(
            float(np.max(np.abs(m.numpy().T @ m.numpy() - np.eye(4))))
            for m in (critic.cov_u, critic.cov_v))
        res["v_norm"] = float(np.linalg.norm(critic.mean_v.numpy()))
    out[name] = res
print("RESULT " + json.dumps(out))
