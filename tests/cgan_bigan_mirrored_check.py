"""Run in a fresh process: cgan and bigan through `train()` on two logical CPUs.

Prints one JSON line with the results; tests/test_cgan_bigan_mirrored.py asserts on it.
"""

import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402
from tfgan_suite import training  # noqa: E402


def copy_gap(variables):
    """Largest difference between the two replicas' copies of mirrored variables."""
    return max(float(np.max(np.abs(v.value.values[0].numpy() - v.value.values[1].numpy())))
               for v in variables)


out = {}
strategy = training.make_strategy("mirrored")
out["replicas"] = strategy.num_replicas_in_sync
for name, extra in (("cgan", dict(conditioning="projection")),
                    ("bigan", dict(stochastic_encoder=True, latent_dim=4))):
    cfg = training.resolve_config(dict(variant=name, strategy="mirrored", steps=3, batch_size=8,
                                       d_steps=2, width=8, export=False, sample_every=2,
                                       run_dir=os.path.join(sys.argv[1], name), **extra))
    model = training.train(cfg, data=helpers.tiny_points(), verbose=0).model
    players = [model.generator, model.discriminator] + (
        [model.encoder_network] if name == "bigan" else [])
    variables = [v for p in players for v in p.trainable_variables]
    out[name] = {
        "steps": int(model.step.numpy()),
        "d_iterations": int(model.d_optimizer.iterations.numpy()),
        "g_iterations": int(model.g_optimizer.iterations.numpy()),
        "finite": bool(all(np.all(np.isfinite(v.numpy())) for v in variables)),
        "copy_gap": copy_gap(variables),
    }
    if name == "bigan":
        x = tf.constant(np.repeat(helpers.tiny_points().x[:1], 4, 0))
        z = strategy.run(tf.function(lambda: model.encode(x, training=False)))
        a, b = [t.numpy() for t in strategy.experimental_local_results(z)]
        out[name]["replica_eps_differ"] = bool(not np.allclose(a, b))
print("RESULT " + json.dumps(out))
