"""One nsgan run on a 2-D mixture with the PacGAN networks, at the paper's settings.

Trains `nsgan` (the non-saturating GAN of the PacGAN authors' code) on ring8 or grid25
with `architecture="pacgan"` and the optimiser, batch and latent of
benchmarks/PROTOCOL_2D.md, for a step budget of one's choice (the protocol's 400,000 steps
are far beyond a CPU check), then measures the SavedModel on 2,500 samples and writes a
JSON line and a PNG of those samples in the mixture's fixed frame.

Usage:
    python -m benchmarks.pacgan_ring --steps=3000 --seed=0 --dataset=ring8 --out=/tmp/pacgan

(from the repository root, so that this checkout's tfgan_suite is imported).

`--pack=M` trains PacGAN-M (D judges M samples at once); the default, 1, is the unpacked
GAN row of PacGAN's Table 1.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import time

# The protocol's settings that differ from the suite's defaults (PROTOCOL_2D.md).
PAPER_SETTINGS = dict(variant="nsgan", architecture="pacgan", latent_dim=2, width=64,
                      d_norm="none", batch_size=100, optimizer="adam", g_lr=1e-4, d_lr=1e-4,
                      g_beta1=0.8, d_beta1=0.8, g_beta2=0.999, d_beta2=0.999, d_steps=1,
                      lr_decay="none")


def cpu_model():
    """The CPU model name from lscpu (or the platform string when lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    return next((line.split(":", 1)[1].strip() for line in out.splitlines()
                 if line.startswith("Model name")), platform.machine())



def machine_line():
    """'N CPUs (model), TensorFlow x, Keras y': the machine line of the quality tables."""
    import keras
    import tensorflow as tf

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}")

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="ring8", choices=("ring8", "grid25"))
    parser.add_argument("--out", default="/tmp/pacgan")
    parser.add_argument("--pack", type=int, default=1, help="PacGAN packing M (1 = off)")
    args = parser.parse_args()

    import numpy as np

    from tfgan_suite import images, training
    from tfgan_suite.data import MIXTURES
    from tfgan_suite.evaluate import evaluate_model
    from tfgan_suite.metrics import evaluation

    work = os.path.join(args.out, f"{args.dataset}_seed{args.seed}")
    shutil.rmtree(work, ignore_errors=True)
    cfg = training.resolve_config(dict(
        PAPER_SETTINGS, dataset=args.dataset, steps=args.steps, seed=args.seed, pack=args.pack,
        run_dir=os.path.join(work, "run"), export_dir=os.path.join(work, "saved_model"),
        export=True, checkpoint_every=args.steps, keep_checkpoints=1,
        sample_every=max(args.steps // 4, 1), log_every=100, eval_every=0))
    start = time.time()
    trained = training.train(cfg, verbose=0)
    train_s = time.time() - start
    result = evaluate_model(trained.export_path, seed=args.seed)

    import tensorflow as tf

    sample_fn = tf.saved_model.load(trained.export_path).signatures["sample"]
    points = evaluation.draw_samples(evaluation.saved_model_sampler(sample_fn, "points"),
                                     evaluation.DEFAULT_POINT_SAMPLES, args.seed)
    png = os.path.join(args.out, f"{args.dataset}_seed{args.seed}_{args.steps}steps.png")
    images.write_png(png, images.rasterize_points(points, modes=MIXTURES[args.dataset][0]))
    line = {key: result.get(key) for key in ("modes_covered", "num_modes",
                                             "high_quality_fraction", "reverse_kl")}
    line.update(dataset=args.dataset, seed=args.seed, steps=args.steps, train_s=round(train_s, 1),
                steps_per_s=round(args.steps / train_s, 1), cpu=cpu_model(),
                cpus=os.cpu_count(), png=png)
    print(json.dumps(line))
    np.save(os.path.splitext(png)[0] + ".npy", points)


if __name__ == "__main__":
    main()
