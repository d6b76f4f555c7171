"""One training run of a named case, as one worker of a cluster or as one 2-replica process.

    python -m tests.multi_worker_runner CASE MODE RUN_DIR OUT.npz [STEPS]

MODE `multi_worker`: this process is the worker that TF_CONFIG names (one CPU), and trains
with --strategy=multi_worker; MODE `mirrored`: one process with two logical CPUs trains
with --strategy=mirrored, the reference at the same global batch. Either way the run goes
through `training.train` and the final weights of every network and the model's state
(step, k_t, ...) are written to OUT.npz; tests/test_multi_worker.py compares the files.
STEPS overrides the case's --steps (a resumed run finishes at the same step).
"""

import os
import sys

import tensorflow as tf

if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[2] == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu,
                                               [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402

# Every case: 8 steps at a global batch of 8 (4 rows per replica), checkpoints every 4.
COMMON = dict(steps=8, batch_size=8, width=8, export=False, checkpoint_every=4,
              sample_every=4, log_every=2, seed=3)

CASES = {
    "gan": dict(variant="gan", d_steps=2, instance_noise=0.1),
    "wgan_gp": dict(variant="wgan_gp", d_steps=2),
    "sngan": dict(variant="sngan", d_steps=2),
    "began": dict(variant="began", latent_dim=8, began_hidden=8, width=4),
    "cgan": dict(variant="cgan", conditioning="projection"),
    "dcgan": dict(variant="dcgan", width=4, latent_dim=8),
    "irgan": dict(variant="irgan", irgan_pretrain_steps=2, d_steps=2, eval_every=0),
    # Long enough to be killed mid-run: 1,000 steps, a checkpoint every 50.
    "gan_long": dict(variant="gan", d_steps=2, steps=1000, checkpoint_every=50, log_every=50,
                     sample_every=1000),
}


def case_data(case):
    from tfgan_suite.data import recsys

    if case == "irgan":
        return recsys.simulate(num_users=60, num_items=80, num_interactions=1500,
                               min_per_user=5, max_per_user=60, seed=0, name="tiny_recsys")
    if case in ("began", "dcgan"):
        return helpers.tiny_images(n=32)
    return helpers.tiny_points()


def state_arrays(model):
    """Every weight of every network of the model, and its checkpointed scalars."""
    out = {}
    for name, item in model.checkpoint_items().items():
        if name == "state":
            for key, var in item.items():
                out[f"state/{key}"] = np.asarray(var.numpy())
        elif hasattr(item, "weights") and not name.endswith("optimizer"):
            for i, w in enumerate(item.weights):
                out[f"{name}/{i}/{w.path}"] = np.asarray(w.numpy())
    return out


def main(argv):
    if len(argv) not in (4, 5) or argv[0] not in CASES:
        sys.exit("usage: python -m tests.multi_worker_runner CASE MODE RUN_DIR OUT.npz [STEPS]; "
                 f"CASE is one of {', '.join(CASES)}")
    case, mode, run_dir, out = argv[:4]
    import keras

    keras.config.disable_traceback_filtering()  # a failing worker shows where
    from tfgan_suite import training

    settings = dict(COMMON, **CASES[case], strategy=mode, run_dir=run_dir, worker_timeout=60)
    if len(argv) == 5:
        settings["steps"] = int(argv[4])
    cfg = training.resolve_config(settings)
    result = training.train(cfg, data=case_data(case), verbose=0)
    arrays = state_arrays(result.model)
    np.savez(out, **{k.replace("/", "|"): v for k, v in arrays.items()})
    print(f"RESULT step={result.step} replicas="
          f"{result.model.distribute_strategy.num_replicas_in_sync}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(sys.argv[1:])
