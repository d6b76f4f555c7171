#!/usr/bin/env python
"""Where a training step's time goes: TensorFlow's profiler over a few steps, summarised.

    python benchmarks/profile_step.py                                  # dcgan, float32
    python benchmarks/profile_step.py --precision=mixed_bfloat16 --json_out=bf16.json
    python benchmarks/profile_step.py --variant=nsgan --dataset=ring8 --batch_size=64

What it does, in order:
  1. Builds the run as `train.py` would (`benchmarks/runs.py`) and trains --warmup steps.
  2. Times --steps steps twice without the profiler: on the suite's input pipeline and on
     one cached batch repeated (no pipeline work). Their difference, over the first, is the
     input pipeline's share of the step; the two are run --repeats times, alternating, and
     the fastest of each are compared (the least disturbed by other work).
  3. Traces --steps more steps with `tf.profiler.experimental` and reads the trace
     (`*.xplane.pb`) back: every TensorFlow op that ran, with its thread and duration.
  4. Sums op time by category (`category`): convolutions, matmuls, batch norm, the
     optimizer's update, casts, the input pipeline's ops, everything else (activations,
     losses, random numbers, reductions). "No op running" is the part of the profiled
     wall time in which no compute thread ran an op: Python, Keras's step loop, the
     executor's scheduling and the callbacks.
  5. Prints a markdown table and writes --json_out if given.

The profiler adds its own overhead (a few % of op time); the category shares are read from
the trace, the speeds from the unprofiled runs of step 2.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error  # noqa: E402

flags.DEFINE_string("variant", "dcgan", "variant to profile (the `train.py` names)")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset name, as for `train.py`")
flags.DEFINE_integer("batch_size", 64, "global batch size (per player update)")
flags.DEFINE_string("precision", "float32", "training precision, as for `train.py`")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"], "as for `train.py`")
flags.DEFINE_integer("warmup", 10, "untimed steps first (tracing, compilation, caches)")
flags.DEFINE_integer("steps", 30, "steps per timed run and in the profiled window")
flags.DEFINE_integer("repeats", 5, "timed runs per input (pipeline, cached batch)")
flags.DEFINE_integer("seed", 0, "seed of weights and data order")
flags.DEFINE_string("json_out", None, "also write the results to this JSON file")
FLAGS = flags.FLAGS

from benchmarks.trace_summary import CATEGORIES, read_trace, summarize_xspace  # noqa: E402


def timed_fit(model, dataset, steps):
    """Wall seconds of `fit` for `steps` steps (the logs are read back, so all finished)."""
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - start


def input_share(model, dataset, steps, repeats):
    """(fastest s on the pipeline, fastest s on a cached batch, share) over `repeats` pairs.

    The fastest of several runs, not the median: on a shared virtual machine some runs are
    slowed by other work (their times cluster at a slower value), and the fastest run is
    the one least disturbed.
    """
    from benchmarks.runs import cached_batches

    cached = cached_batches(dataset)
    timed_fit(model, cached, 2)  # its own iterator's first steps
    real, fixed = [], []
    for _ in range(repeats):
        real.append(timed_fit(model, dataset, steps))
        fixed.append(timed_fit(model, cached, steps))
    real_s, fixed_s = min(real), min(fixed)
    return real_s, fixed_s, (real_s - fixed_s) / real_s


def run():
    import keras
    import tensorflow as tf

    from benchmarks.pacgan_ring import cpu_model
    from benchmarks.runs import build_run

    cfg, data, model, dataset = build_run(dict(
        variant=FLAGS.variant, dataset=FLAGS.dataset, batch_size=FLAGS.batch_size,
        precision=FLAGS.precision, jit_compile=FLAGS.jit_compile, seed=FLAGS.seed,
        steps=FLAGS.warmup + (2 * FLAGS.repeats + 1) * FLAGS.steps + 2))
    # One step per call, so the trace shows one Keras step-function call per step.
    model.steps_per_execution = 1
    load_before = os.getloadavg()
    timed_fit(model, dataset, FLAGS.warmup)
    real_s, fixed_s, share = input_share(model, dataset, FLAGS.steps, FLAGS.repeats)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        profiled_s = timed_fit(model, dataset, FLAGS.steps)
        tf.profiler.experimental.stop()
        summary = summarize_xspace(read_trace(logdir))
    return dict(
        variant=cfg.variant, dataset=cfg.dataset, batch_size=cfg.batch_size,
        precision=cfg.precision, jit=bool(model.jit_compile), steps=FLAGS.steps,
        repeats=FLAGS.repeats, steps_per_s=FLAGS.steps / real_s,
        cached_steps_per_s=FLAGS.steps / fixed_s, input_share=share,
        profiled_s=profiled_s, profile=summary, cpu=cpu_model(), cpus=os.cpu_count(),
        loadavg_before=list(load_before), loadavg_after=list(os.getloadavg()),
        tensorflow=tf.__version__, keras=keras.__version__)


def format_report(r, top=12):
    """The markdown tables of one profile."""
    p = r["profile"]
    per_step = 1e3 / max(p["windows"], 1)
    op_s = p["op_s"] or 1.0
    lines = [f"{r['variant']} on {r['dataset']}, batch {r['batch_size']}, {r['precision']}, "
             f"XLA {'on' if r['jit'] else 'off'}; {r['cpu']} ({r['cpus']} CPUs), TensorFlow "
             f"{r['tensorflow']}, Keras {r['keras']}; load average before "
             f"{r['loadavg_before'][0]:.2f}, after {r['loadavg_after'][0]:.2f}.", "",
             f"- unprofiled: {r['steps_per_s']:.2f} steps/s on the input pipeline, "
             f"{r['cached_steps_per_s']:.2f} on one cached batch (fastest of "
             f"{r['repeats']} x {r['steps']} steps): input pipeline share "
             f"{100 * r['input_share']:.1f} % of the step.",
             f"- profiled window: {p['windows']} step calls, {p['window_s'] * per_step:.1f} ms "
             f"per step of wall time; ops ran {p['op_s'] * per_step:.1f} ms per step summed "
             f"over threads; some op was running "
             f"{100 * p['busy_s'] / max(p['window_s'], 1e-12):.1f} "
             f"% of the wall time, none {100 * p['idle_s'] / max(p['window_s'], 1e-12):.1f} %.",
             f"- the input pipeline: the step waited {p['input_wait_s'] * per_step:.2f} ms per "
             f"step for its batch ({100 * p['input_wait_s'] / max(p['window_s'], 1e-12):.1f} % "
             f"of the profiled wall time); its background threads ran "
             f"{p['pipeline_thread_s'] * per_step:.2f} ms of ops per step beside the step.", "",
             "| category | ms per step (summed over threads) | share of op time |",
             "|---|---:|---:|"]
    for name in CATEGORIES:
        seconds = p["by_category"][name]
        lines.append(f"| {name} | {seconds * per_step:.2f} | {100 * seconds / op_s:.1f} % |")
    lines += ["", "| op type | ms per step | share of op time |", "|---|---:|---:|"]
    for op_type, seconds in list(p["by_type"].items())[:top]:
        lines.append(f"| `{op_type}` | {seconds * per_step:.2f} | {100 * seconds / op_s:.1f} % |")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}; all settings are --flags")
    for name in ("warmup", "steps", "repeats", "batch_size"):
        if FLAGS[name].value < 1:
            usage_error(f"--{name} must be >= 1; got {FLAGS[name].value}")
    from tfgan_suite import config as config_lib
    from tfgan_suite.data import DataError
    from tfgan_suite.variants import UnknownVariantError

    try:
        result = run()
    except (UnknownVariantError, config_lib.ConfigError, DataError) as e:
        usage_error(str(e))
    print(format_report(result))
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags_or_exit)
