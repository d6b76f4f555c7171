#!/usr/bin/env python
"""How fast a 2-D run trains, at several steps per call (`--steps_per_execution`).

    python benchmarks/mixtures_speed.py                       # nsgan, ring8, 20,000 steps
    python benchmarks/mixtures_speed.py --variant=wgan_gp --counts=1,100 --steps=5000
    python benchmarks/mixtures_speed.py --counts=100 --intra_op_threads=0   # TF's default pools
    python benchmarks/mixtures_speed.py --counts=100 --command=false \
        --forms=fused+together,keras+per_step,fused+together,keras+per_step

A 2-D step does little arithmetic (two small MLPs on a batch of 64 points), so its time is
mostly the cost of one call into the traced step and of the callbacks after it; running k
steps per call divides that cost by k. For each count this trains the run `train.py`
would (the plain command's settings, export off) in this process, and reports the time
of `training.train` (tracing and callbacks included; TensorFlow's import and start-up are
not) and its steps/s. Then it times the plain command itself,
`python train.py --variant=V --dataset=D` with export off, as a user runs it, start-up
included. TensorFlow's thread pools are the run's (`--intra_op_threads`, 1 on 2-D data, and
`--inter_op_threads`) unless the flags here set others, for every count and the command.
`--forms` repeats every count with other forms of the step, in the order given: ADAM+FETCH,
ADAM `fused` (the suite's `optimizers.FusedAdam`, one op per variable update) or `keras`
(Keras's own Adam ops), FETCH `together` (the suite's: one input element per call holds the
call's steps, `GANModel.steps_per_element`) or `per_step` (Keras's loop, one element per
step); list forms twice, alternating, to see the run-to-run noise beside the difference.
Counts are measured one after another in one run, so their ratios compare;
other processes on the machine slow every figure (the load average is printed).

Output: a markdown table on stdout, and --json_out if given.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # noqa: E402

from benchmarks.pacgan_ring import cpu_model  # noqa: E402

flags.DEFINE_string("variant", "nsgan", "variant, as for `train.py`")
flags.DEFINE_enum("dataset", "ring8", ["ring8", "grid25"], "2-D mixture")
flags.DEFINE_integer("steps", None, "steps per run; default: the plain command's")
flags.DEFINE_list("counts", ["1", "10", "100"], "steps per call to compare")
flags.DEFINE_boolean("command", True, "also time the plain `train.py` command")
flags.DEFINE_integer("command_runs", 1, "times the plain command is timed, one after another")
flags.DEFINE_integer("intra_op_threads", None, "TensorFlow's threads inside one op, as "
                     "train.py's flag (0 = TensorFlow's default); default: the run's")
flags.DEFINE_integer("inter_op_threads", None, "TensorFlow's threads running independent ops "
                     "side by side, as train.py's flag; default: the run's")
flags.DEFINE_list("forms", ["fused+together"], "forms of the step to time, in order: "
                  "ADAM+FETCH, ADAM fused or keras, FETCH together or per_step")
flags.DEFINE_string("json_out", None, "also write the results to this JSON file")
FLAGS = flags.FLAGS


def time_train(overrides):
    """Seconds of one `training.train` of the run `overrides` describes, and its steps."""
    import keras

    from tfgan_suite import training

    with tempfile.TemporaryDirectory() as tmp:
        cfg = training.resolve_config(dict(overrides, run_dir=os.path.join(tmp, "run"),
                                           export=False))
        start = time.perf_counter()
        result = training.train(cfg, verbose=0)
        seconds = time.perf_counter() - start
    keras.backend.clear_session()
    return seconds, result.step, result.model.steps_per_execution


def time_command(variant, dataset, steps, thread_flags):
    """Wall seconds of `python train.py --variant --dataset` (export off), start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, os.path.join(ROOT, "train.py"), f"--variant={variant}",
                f"--dataset={dataset}", f"--run_dir={tmp}/run", "--export=false"]
        if steps is not None:
            argv.append(f"--steps={steps}")
        argv += [f"--{name}={value}" for name, value in thread_flags.items()]
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - start


def parse_form(form):
    """`ADAM+FETCH` -> (adam, fetch); app.UsageError (exit status 2) for anything else."""
    adam, _, fetch = form.partition("+")
    if adam not in ("fused", "keras") or fetch not in ("together", "per_step"):
        raise app.UsageError(f"--forms: {form!r} is not ADAM+FETCH with ADAM fused or keras "
                             "and FETCH together or per_step (e.g. fused+together)", exitcode=2)
    return adam, fetch


def main(argv):
    del argv
    forms = [parse_form(form) for form in FLAGS.forms]
    if FLAGS.command_runs < 1:
        raise app.UsageError(f"--command_runs must be >= 1. Received: {FLAGS.command_runs}",
                             exitcode=2)
    import tensorflow as tf

    thread_flags = {name: FLAGS[name].value for name in ("intra_op_threads", "inter_op_threads")
                    if FLAGS[name].value is not None}
    base = dict(variant=FLAGS.variant, dataset=FLAGS.dataset, **thread_flags)
    from tfgan_suite import threads, training

    # As train.py does, before TensorFlow starts: the run's pools, for every count.
    run_cfg = training.resolve_config(base)
    threads.apply(run_cfg.intra_op_threads, run_cfg.inter_op_threads)
    if FLAGS.steps is not None:
        base["steps"] = FLAGS.steps
    from tfgan_suite.optimizers import FusedAdam
    from tfgan_suite.variants.base import GANModel

    rows = []
    for adam, fetch in forms:
        FusedAdam.fused, GANModel.fetch_steps_together = adam == "fused", fetch == "together"
        for count in [int(c) for c in FLAGS.counts]:
            seconds, steps, used = time_train(dict(base, steps_per_execution=count))
            rows.append(dict(form=f"{adam}+{fetch}", steps_per_execution=used, steps=steps,
                             train_s=round(seconds, 2), steps_per_s=round(steps / seconds, 1)))
    FusedAdam.fused = GANModel.fetch_steps_together = True
    # The pools the runs used (0 = TensorFlow's default), set by the first run.
    intra_op = tf.config.threading.get_intra_op_parallelism_threads()
    inter_op = tf.config.threading.get_inter_op_parallelism_threads()
    command_s = [time_command(FLAGS.variant, FLAGS.dataset, FLAGS.steps, thread_flags)
                 for _ in range(FLAGS.command_runs)] if FLAGS.command else None
    report = dict(variant=FLAGS.variant, dataset=FLAGS.dataset, cpu=cpu_model(),
                  intra_op_threads=intra_op, inter_op_threads=inter_op,
                  cpus=os.cpu_count(), load_average=os.getloadavg(), rows=rows,
                  command_s=None if command_s is None else [round(t, 1) for t in command_s])
    print(f"{FLAGS.variant} on {FLAGS.dataset}; CPU: {report['cpu']} ({report['cpus']} "
          f"logical CPUs), load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"TensorFlow threads: intra-op {intra_op or 'default'}, inter-op "
          f"{inter_op or 'default'}")
    print("| form | steps per call | steps | train() s | steps/s | vs first row |")
    print("|---|---:|---:|---:|---:|---:|")
    first = rows[0]["steps_per_s"]
    for row in rows:
        print(f"| {row['form']} | {row['steps_per_execution']} | {row['steps']:,} | "
              f"{row['train_s']} | {row['steps_per_s']:,} | "
              f"{row['steps_per_s'] / first:.2f}x |")
    if command_s is not None:
        print(f"\nThe plain command (`python train.py --variant={FLAGS.variant} "
              f"--dataset={FLAGS.dataset} --export=false`), start-up included: "
              f"{', '.join(f'{t:.1f}' for t in command_s)} s")
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    app.run(main)
