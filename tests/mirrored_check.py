"""Run in a fresh process: two logical CPUs, MirroredStrategy vs the closed form.

Prints one JSON line with the results; tests/test_mirrored.py asserts on it.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tests import helpers, linear_game  # noqa: E402
from tfgan_suite import training  # noqa: E402
from tfgan_suite.variants.gan import GAN  # noqa: E402

out = {}
strategy = training.make_strategy("mirrored")  # the one train() uses too
out["replicas"] = strategy.num_replicas_in_sync

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
z = strategy.run(tf.function(lambda: model.latent(4)))
a, b = [t.numpy() for t in strategy.experimental_local_results(z)]
out["replica_z_differ"] = bool(not np.allclose(a, b))

# 3. A real run through train() with --strategy=mirrored.
cfg = training.resolve_config(dict(variant="nsgan", strategy="mirrored", steps=4, batch_size=8,
                                   d_steps=2, width=8, export=False, run_dir=sys.argv[1],
                                   sample_every=2))
result = training.train(cfg, data=helpers.tiny_points(), verbose=0)
out["train_steps"] = result.step
out["d_iterations"] = int(result.model.d_optimizer.iterations.numpy())
out["finite"] = bool(all(np.all(np.isfinite(v.numpy())) for v in result.model.generator.weights))
print("RESULT " + json.dumps(out))
