"""Run in a fresh process: irgan through `train()` on two logical CPUs.

Prints one JSON line with the results; tests/test_irgan_mirrored.py asserts on it.
"""

import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tfgan_suite import training  # noqa: E402
from tfgan_suite.data import recsys  # noqa: E402

data = recsys.simulate(num_users=60, num_items=80, num_interactions=1500, min_per_user=5,
                       max_per_user=60, seed=0, name="tiny_recsys")
strategy = training.make_strategy("mirrored")
out = {"replicas": strategy.num_replicas_in_sync}
# One pretraining (BPR) step, then two adversarial steps: both phases run replicated.
cfg = training.resolve_config(dict(
    variant="irgan", strategy="mirrored", steps=3, irgan_pretrain_steps=1, batch_size=8,
    d_steps=2, g_lr=1e-3, d_lr=1e-3, eval_every=0, seed=3, export=False,
    run_dir=os.path.join(sys.argv[1], "irgan")))
model = training.train(cfg, data=data, verbose=0).model
variables = model.generator.trainable_variables + model.discriminator.trainable_variables
out.update(
    steps=int(model.step.numpy()),
    d_iterations=int(model.d_optimizer.iterations.numpy()),
    g_iterations=int(model.g_optimizer.iterations.numpy()),
    finite=bool(all(np.all(np.isfinite(v.numpy())) for v in variables)),
    copy_gap=max(float(np.max(np.abs(v.value.values[0].numpy() - v.value.values[1].numpy())))
                 for v in variables),
)

# The same user batch on both replicas: D's negatives come from each replica's own stream.
users = tf.constant(np.arange(4, dtype=np.int32))
positives = tf.constant(np.tile(np.arange(6, dtype=np.int32), (4, 1)))
counts = tf.constant(np.full(4, 6, np.int32))


@tf.function
def draw():
    return model.sample_negatives(model.with_masks(users, positives, counts))


a, b = [t.numpy() for t in strategy.experimental_local_results(strategy.run(draw))]
out["replica_negatives_differ"] = bool(not np.array_equal(a, b))
print("RESULT " + json.dumps(out))
