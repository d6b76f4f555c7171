"""The done-checks of cgan and bigan on ring8, through `train()` and the exported SavedModels.

    python -m tests.cgan_bigan_quality_check OUT_DIR [--cgan_steps=500] [--bigan_steps=1000]

1. cgan (defaults, label = mode index): the exported model, loaded in a fresh TensorFlow-only
   process, is asked for 500 samples of each label k via `sample`; we report the fraction
   whose nearest ring mode is k (chance: 1/8).
2. bigan, deterministic (BiGAN) and with --stochastic_encoder (ALI), defaults but
   --latent_dim=2 (as ALI's mixture experiment): `recon_error` as logged to TensorBoard
   early (mean of the logs at steps <= 50) and late (mean over the last 100 steps); then,
   in the fresh process, `encode` -> `serving_default` on 2,000 held-out ring8 points: mean
   squared reconstruction error and the fraction reconstructed on the right mode.

Prints one JSON line, `RESULT {...}`; tests/test_cgan_bigan_quality.py asserts on it.
"""

import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tfgan_suite import training
from tfgan_suite.data.mixtures import MIXTURES, sample_mixture

FRESH = r'''
import json, sys
sys.modules["tfgan_suite"] = None  # the suite must not be needed
import numpy as np, tensorflow as tf
cgan_path, data_path = sys.argv[1:3]
d = np.load(data_path)
means, points, modes = d["means"], d["points"], d["modes"]
nearest = lambda x: np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
cgan = tf.saved_model.load(cgan_path)
per_label = []
for k in range(len(means)):
    x = cgan.signatures["sample"](num=tf.constant(500), seed=tf.constant(100 + k, tf.int64),
                                  label=tf.fill([500], k))["samples"].numpy()
    per_label.append(float(np.mean(nearest(x) == k)))
out = {"cgan_per_label_accuracy": per_label, "origin_baseline_mse": float(np.mean(points ** 2))}
for name, path in zip(("bigan", "ali"), sys.argv[3:]):
    model = tf.saved_model.load(path)
    z = model.signatures["encode"](points=tf.constant(points))["z"]
    recon = model.signatures["serving_default"](z=z)["samples"].numpy()
    out[name] = {"z_shape": list(z.shape),
                 "heldout_recon_mse": float(np.mean((points - recon) ** 2)),
                 "heldout_mode_agreement": float(np.mean(nearest(recon) == modes))}
print("RESULT " + json.dumps(out))
'''


def logged_scalars(run_dir, tag):
    values = {}
    for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return dict(sorted(values.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--cgan_steps", type=int, default=500)
    parser.add_argument("--bigan_steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    common = dict(dataset="ring8", seed=args.seed, checkpoint_every=10000, sample_every=500,
                  log_every=10, export_dir=os.path.join(args.out_dir, "saved_models"))
    cgan = training.train(training.resolve_config(dict(
        variant="cgan", steps=args.cgan_steps,
        run_dir=os.path.join(args.out_dir, "runs", "cgan"), **common)), verbose=0)
    logged, exports = {}, []
    for name, stochastic in (("bigan", False), ("ali", True)):
        result = training.train(training.resolve_config(dict(
            variant=name, steps=args.bigan_steps, latent_dim=2, stochastic_encoder=stochastic,
            run_dir=os.path.join(args.out_dir, "runs", name), **common)), verbose=0)
        recon = logged_scalars(result.run_dir, "train/recon_error")
        steps, values = np.array(list(recon)), np.array(list(recon.values()))
        logged[name] = dict(recon_error_early=float(values[steps <= 50].mean()),
                            recon_error_late=float(values[steps > args.bigan_steps - 100].mean()),
                            export=result.export_path)
        exports.append(result.export_path)

    points, modes = sample_mixture("ring8", 2000, seed=7, split="test")
    data_path = os.path.join(args.out_dir, "ring8_test.npz")
    np.savez(data_path, means=MIXTURES["ring8"][0], points=points, modes=modes)
    proc = subprocess.run([sys.executable, "-c", FRESH, cgan.export_path, data_path] + exports,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.exit(proc.stderr[-3000:])
    out = json.loads(lines[-1][len("RESULT "):])
    for name in logged:
        out[name].update(logged[name])
    out.update(cgan_steps=args.cgan_steps, bigan_steps=args.bigan_steps, seed=args.seed,
               cgan_export=cgan.export_path)
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
