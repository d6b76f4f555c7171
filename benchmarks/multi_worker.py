#!/usr/bin/env python
"""Steps/s, images/s and all-reduce time of --strategy=multi_worker with 1 and 2 workers.

    python benchmarks/multi_worker.py                       # dcgan, Fashion-MNIST, batch 64
    python benchmarks/multi_worker.py --workers=1,2 --steps=60 --json_out=mw.json

For each worker count W it starts W processes on 127.0.0.1 (TF_CONFIG of a W-worker
cluster; W = 1 is the same code path with one replica), each of which:
  1. builds the run as `train.py --strategy=multi_worker` does (`training.make_strategy`,
     `build_model`, the worker's share of every global batch via `cluster.worker_share`);
  2. runs `model.fit` for --warmup + --steps steps; a callback times the last --steps
     (wall clock, from the end of one step's logs to the end of the last one's);
  3. times --allreduce_repeats all-reduces, across every replica, of two float32 tensors of
     the sizes of D's and of G's trainable weights: what one step with d_steps = 1 sums
     (the gradients of one D update and of one G update);
and worker 0 prints its figures. Images/s counts real images of the global batch per
step. On a 2-core machine two workers share the cores, so the 2-worker figure shows the
overhead of the cluster, not a speed-up. The load average is printed beside each figure.
"""

import json
import os
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # noqa: E402

from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error  # noqa: E402

flags.DEFINE_string("variant", "dcgan", "variant to measure")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset, as for train.py")
flags.DEFINE_integer("batch_size", 64, "global batch size")
flags.DEFINE_list("workers", ["1", "2"], "worker counts to measure")
flags.DEFINE_integer("warmup", 10, "untimed steps first (tracing)")
flags.DEFINE_integer("steps", 60, "timed steps")
flags.DEFINE_integer("allreduce_repeats", 50, "timed all-reduces")
flags.DEFINE_integer("nice", 0, "niceness of the worker processes")
flags.DEFINE_string("json_out", None, "also write the results to this JSON file")
flags.DEFINE_integer("worker_index", None, "internal: run as this worker of TF_CONFIG")
FLAGS = flags.FLAGS


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_worker():
    """One worker: fit timed, then all-reduces timed; worker 0 prints RESULT <json>."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfgan_suite import cluster, data as data_lib, training

    cfg = training.resolve_config(dict(variant=FLAGS.variant, dataset=FLAGS.dataset,
                                       batch_size=FLAGS.batch_size, strategy="multi_worker",
                                       export=False))
    strategy = training.make_strategy("multi_worker", worker_timeout=300)
    data = data_lib.load(cfg.dataset, seed=cfg.seed)
    cfg = training.fit_to_data(cfg, data)
    keras.utils.set_random_seed(cfg.seed)
    model = training.build_model(cfg, data, strategy)
    dataset = cluster.worker_share(strategy, lambda: model.make_dataset(cfg, data, 0))
    marks = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 >= FLAGS.warmup:
                float(np.asarray(logs["g_loss"]).item())  # the step has finished
                marks.append(time.perf_counter())

    load_before = os.getloadavg()[0]
    model.fit(dataset, steps_per_epoch=FLAGS.warmup + FLAGS.steps, epochs=1, verbose=0,
              shuffle=False, callbacks=[Timer()])
    seconds = marks[-1] - marks[0]
    steps = len(marks) - 1

    sizes = [sum(int(np.prod(v.shape)) for v in net.trainable_variables)
             for net in (model.discriminator, model.generator)]

    @tf.function
    def all_reduce():
        def step():
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce("SUM", [tf.ones([n]) for n in sizes])
        return strategy.run(step)

    for _ in range(5):
        all_reduce()
    start = time.perf_counter()
    for _ in range(FLAGS.allreduce_repeats):
        out = all_reduce()
    float(strategy.experimental_local_results(out[0])[0][0])
    reduce_ms = (time.perf_counter() - start) / FLAGS.allreduce_repeats * 1e3
    if cluster.is_chief(strategy):
        result = dict(workers=strategy.num_replicas_in_sync, steps=steps,
                      steps_per_s=steps / seconds,
                      images_per_s=steps / seconds * cfg.batch_size * cfg.d_steps,
                      allreduce_ms=reduce_ms, d_params=sizes[0], g_params=sizes[1],
                      load=[load_before, os.getloadavg()[0]])
        print("RESULT " + json.dumps(result), flush=True)


def measure(workers):
    addresses = [f"127.0.0.1:{p}" for p in free_ports(workers)]
    procs = []
    for index in range(workers):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}))
        cmd = [sys.executable, os.path.abspath(__file__), f"--worker_index={index}",
               f"--variant={FLAGS.variant}", f"--dataset={FLAGS.dataset}",
               f"--batch_size={FLAGS.batch_size}", f"--warmup={FLAGS.warmup}",
               f"--steps={FLAGS.steps}", f"--allreduce_repeats={FLAGS.allreduce_repeats}"]
        if FLAGS.nice:
            cmd = ["nice", "-n", str(FLAGS.nice)] + cmd
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=1200)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a worker failed: statuses {[p.returncode for p in procs]}")
    line = [l for l in outs[0].splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}")
    if FLAGS.worker_index is not None:
        run_worker()
        return
    counts = [int(w) for w in FLAGS.workers]
    results = [measure(w) for w in counts]
    print(f"{FLAGS.variant} on {FLAGS.dataset}, global batch {FLAGS.batch_size}, "
          f"{FLAGS.steps} timed steps after {FLAGS.warmup}")
    print("| workers | steps/s | images/s | all-reduce ms/step (D+G grads) | load avg |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['steps_per_s']:.2f} | {r['images_per_s']:.0f} | "
              f"{r['allreduce_ms']:.2f} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags_or_exit)
