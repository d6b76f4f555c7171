"""Size, latency and error of each TFLite form of an exported generator, vs its SavedModel.

Usage: python benchmarks/tflite.py --model saved_models/dcgan [--batch 1,64] [--repeats 50]

Converts the model's highest (or given) version with `tfgan_suite.tflite` into a temporary
directory (the export is left untouched), then times, for each batch size, the SavedModel's
`serving_default` and each `.tflite` in `tf.lite.Interpreter` (median of --repeats calls after
3 warm-up calls; both runtimes with their default threads), and
prints a Markdown table with the file sizes and the largest |difference| of `samples` from the
SavedModel's on the same z (seed 0). Prints the CPU model first.
"""

import argparse
import os
import subprocess
import tempfile
import time

import numpy as np


def _cpu() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")


def _median_ms(fn, repeats):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _dir_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", default="1,64")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    import tensorflow as tf

    from tfgan_suite import export_dirs, latent_codes, tflite

    model_dir = export_dirs.resolve_model_dir(args.model)
    print(f"CPU: {_cpu()}; model: {model_dir}")
    serving = tf.saved_model.load(model_dir).signatures["serving_default"]
    with tempfile.TemporaryDirectory() as tmp:
        written = tflite.convert_saved_model(model_dir, tflite.QUANTIZATIONS, out_dir=tmp)
        runners = {form: tflite.TFLiteGenerator(path) for form, path in written.items()}
        latent_dim = runners["none"].latent_dim
        sizes = {form: os.path.getsize(path) for form, path in written.items()}
        print(f"\nSavedModel: {_dir_size(model_dir) / 1024:.0f} KiB on disk (with variables)\n")
        print("| form | file | size (KiB) | batch | latency (ms, median) | max abs diff of samples |")
        print("|---|---|---|---|---|---|")
        for batch in [int(b) for b in args.batch.split(",")]:
            z = latent_codes.seed_z(batch, 0, latent_dim)
            expected = serving(z=tf.constant(z))["samples"].numpy()
            ms = _median_ms(lambda: serving(z=tf.constant(z)), args.repeats)
            print(f"| SavedModel | saved_model.pb + variables | {_dir_size(model_dir) / 1024:.0f} | {batch} "
                  f"| {ms:.2f} | 0 |")
            for form, runner in runners.items():
                diff = np.abs(runner(z)["samples"] - expected).max()
                ms = _median_ms(lambda: runner(z), args.repeats)
                print(f"| {form} | {tflite.filename(form)} | {sizes[form] / 1024:.0f} | {batch} | {ms:.2f} "
                      f"| {diff:.2g} |")


if __name__ == "__main__":
    main()
