#!/usr/bin/env python
"""Training throughput and model-FLOP utilisation of a variant on this machine.

    python benchmarks/throughput.py --variant=dcgan --dataset=fashion_mnist --batch_size=64
    python benchmarks/throughput.py --variant=dcgan --jit_compile=true --json_out=dcgan.json
    python benchmarks/throughput.py --variant=dcgan \
        --precision=float32,mixed_bfloat16,mixed_float16
    python benchmarks/throughput.py --variant=dcgan --precision=float32,mixed_bfloat16 \
        --batch_norm=fused,keras
    python benchmarks/throughput.py --variant=dcgan --inter_op_threads=1   # one op at a time

What it does, in order:
  1. Builds the variant as `train.py` does (`training.resolve_config`, `fit_to_data`,
     `build_model`) on the real dataset, and its input pipeline (`data.make_dataset`).
  2. Runs `model.fit` on that pipeline for --warmup + --steps steps; a callback times the
     last --steps (the first step traces, and with --jit_compile=true compiles). The clock
     starts and stops when a step's logs have been read back to Python, as in a real run,
     so the input pipeline and the train function are both inside the timed window; the
     suite's logging/checkpoint callbacks are not.
  3. Counts the FLOPs of one train step with TensorFlow's profiler (traced graph of
     `model.train_step`) and analytically from the layer shapes (`benchmarks/flops.py`).
  4. Times large `tf.linalg.matmul`s (float32, and bfloat16 for reference) for the peak.
  5. Prints a markdown table, and writes --json_out if given.

With several --precision (or --batch_norm) values, steps 1-4 run for each combination in
turn in this one process (a fresh model each, same seed and data), and a last table gives
each one's steps/s and its ratio to the first. `--batch_norm=keras` runs the image nets'
batch norm on Keras's separate ops instead of the fused kernel (`nets/batch_norm.py`).
For each it also counts the Cast ops of the traced step that run, by (from, to) dtype:
where a mixed policy converts between float32 and the compute dtype.

TensorFlow's thread pools are fixed for the process, so --intra_op_threads and
--inter_op_threads (0 = TensorFlow chooses each pool's size from the CPU count) are
compared across invocations, not inside one.

Images/s counts real images consumed: batch_size x d_steps per step (the generator also
makes (d_steps + 1) x batch_size fakes per step, not counted). MFU = model FLOPs per step
(the analytic count when the variant has one, else the profiler's) x steps/s / float32
matmul peak. Other processes on the machine lower every figure: the load average and the
CPU time this process got are printed with them.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error  # noqa: E402

flags.DEFINE_string("variant", "dcgan", "variant to benchmark (the `train.py` names)")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset name, as for `train.py`")
flags.DEFINE_string("data_dir", None, "as for `train.py`")
flags.DEFINE_integer("image_size", None, "as for `train.py`")
flags.DEFINE_integer("batch_size", 64, "global batch size (per player update)")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                  "XLA, as for `train.py` (auto = off on CPU)")
flags.DEFINE_integer("warmup", 10, "untimed steps first (tracing, XLA compilation, caches)")
flags.DEFINE_integer("steps", 50, "timed training steps")
flags.DEFINE_integer("seed", 0, "seed of weights and data order")
flags.DEFINE_integer("peak_size", 4096, "side n of the n x n matmuls that measure the peak")
flags.DEFINE_integer("peak_repeats", 3, "timed matmuls per dtype (after one warm-up); "
                     "the fastest counts")
flags.DEFINE_list("peak_dtypes", ["float32", "bfloat16"],
                  "matmul dtypes to time; float32 is the MFU reference")
flags.DEFINE_list("precision", ["float32"], "training precisions to measure in turn "
                  "(`train.py --precision` values); ratios are to the first")
flags.DEFINE_list("batch_norm", ["fused"], "batch-norm kernels to measure in turn, with each "
                  "precision: fused (the suite's `FusedBatchNormalization`) or keras "
                  "(Keras's separate ops, the same layer with `fused = False`)")
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow's threads inside one op, such as a "
                     "convolution (0 = TensorFlow chooses from the CPU count)")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow's threads running independent ops "
                     "side by side (0 = TensorFlow chooses from the CPU count)")
flags.DEFINE_string("json_out", None, "also write the results to this JSON file (a list "
                    "with one result per precision when several are given)")

FLAGS = flags.FLAGS


def make_step_timer(warmup, steps):
    """A Keras callback recording (wall, CPU) clocks at the end of step `warmup` and each later one.

    `logs` reach `on_train_batch_end` as Python floats, so the step has finished.
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.clocks = []

        def on_train_batch_end(self, batch, logs=None):
            if warmup - 1 <= batch < warmup + steps:
                self.clocks.append((time.perf_counter(), time.process_time()))

    return StepTimer()


def time_training(model, dataset, warmup, steps):
    """Runs `fit` for warmup + steps steps.

    Returns:
        (wall seconds, CPU seconds, median wall seconds of one step) over the last `steps`.
    """
    from tfgan_suite import callbacks as cbs

    timer = make_step_timer(warmup, steps)
    before = cbs.model_step(model)
    model.fit(dataset, epochs=1, steps_per_epoch=warmup + steps, callbacks=[timer],
              verbose=0, shuffle=False)
    done = cbs.model_step(model) - before
    if done != warmup + steps or len(timer.clocks) != steps + 1:
        raise RuntimeError(f"fit ran {done} steps, expected {warmup + steps}")
    (wall0, cpu0), (wall1, cpu1) = timer.clocks[0], timer.clocks[-1]
    step_times = sorted(b[0] - a[0] for a, b in zip(timer.clocks, timer.clocks[1:]))
    return wall1 - wall0, cpu1 - cpu0, step_times[len(step_times) // 2]


def matmul_peak(n, dtype, repeats):
    """Speed of an n x n x n `tf.linalg.matmul` in `dtype` (2 n^3 FLOPs each).

    Returns:
        (GFLOP/s of the fastest repeat, GFLOP per CPU-second of the most CPU-efficient
        repeat). The second is what the process got out of the cores it was given, which
        other processes on the machine disturb less than the first.
    """
    import tensorflow as tf

    a = tf.cast(tf.random.stateless_normal([n, n], seed=[1, 2]), dtype)
    b = tf.cast(tf.random.stateless_normal([n, n], seed=[3, 4]), dtype)

    @tf.function
    def product(a, b):
        # One element back to Python forces the whole product to finish.
        return tf.linalg.matmul(a, b)[0, 0]

    product(a, b).numpy()
    wall = cpu = float("inf")
    for _ in range(repeats):
        start = time.perf_counter(), time.process_time()
        product(a, b).numpy()
        wall = min(wall, time.perf_counter() - start[0])
        cpu = min(cpu, time.process_time() - start[1])
    return 2 * n ** 3 / wall / 1e9, 2 * n ** 3 / cpu / 1e9


def cast_ops(graph):
    """{"from->to": count} of the Cast ops of a traced step that run (`flops.live_op_names`)."""
    from benchmarks import flops as flops_lib

    live = flops_lib.live_op_names(graph)
    counts = {}
    for op in graph.get_operations():
        if op.type == "Cast" and op.name in live:
            key = f"{op.get_attr('SrcT').name}->{op.get_attr('DstT').name}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def run_benchmark(precision="float32", batch_norm="fused"):
    """Everything `main` prints for one training precision and batch-norm kernel, as a dict."""
    import keras
    import tensorflow as tf

    from benchmarks import flops as flops_lib
    from benchmarks.runs import build_run
    from tfgan_suite.nets.batch_norm import FusedBatchNormalization

    FusedBatchNormalization.fused = batch_norm == "fused"

    overrides = dict(variant=FLAGS.variant, dataset=FLAGS.dataset,
                     batch_size=FLAGS.batch_size, jit_compile=FLAGS.jit_compile,
                     seed=FLAGS.seed, steps=FLAGS.warmup + FLAGS.steps, precision=precision)
    if FLAGS.data_dir:
        overrides["data_dir"] = FLAGS.data_dir
    if FLAGS.image_size:
        overrides["image_size"] = FLAGS.image_size
    cfg, data, model, dataset = build_run(overrides)

    load_before = os.getloadavg()
    wall, cpu, median_step = time_training(model, dataset, FLAGS.warmup, FLAGS.steps)
    load_after = os.getloadavg()
    steps_per_s = FLAGS.steps / wall

    graph = flops_lib.trace_train_step(model, dataset.element_spec)
    profiled = flops_lib.profiler_flops(graph)
    casts = cast_ops(graph)
    analytic = flops_lib.analytic_step_flops(model, cfg.batch_size)
    model_flops = analytic["total"] if analytic else profiled["live"]

    speeds = {dtype: matmul_peak(FLAGS.peak_size, tf.as_dtype(dtype), FLAGS.peak_repeats)
              for dtype in FLAGS.peak_dtypes}
    peaks = {dtype: wall for dtype, (wall, _) in speeds.items()}
    cpu_peaks = {dtype: per_cpu for dtype, (_, per_cpu) in speeds.items()}
    peak, cpu_peak = peaks.get("float32"), cpu_peaks.get("float32")
    achieved = model_flops * steps_per_s / 1e9
    achieved_per_cpu = model_flops * FLAGS.steps / cpu / 1e9
    return dict(
        variant=cfg.variant, dataset=cfg.dataset, architecture=cfg.architecture,
        precision=cfg.precision, batch_norm=batch_norm, cast_ops=casts,
        data_shape=list(data.shape), batch_size=cfg.batch_size, d_steps=cfg.d_steps,
        jit_compile=cfg.jit_compile, jit_resolved=bool(model.jit_compile),
        warmup=FLAGS.warmup, steps=FLAGS.steps, seconds=wall,
        steps_per_s=steps_per_s, median_steps_per_s=1.0 / median_step,
        images_per_s=steps_per_s * cfg.batch_size * cfg.d_steps,
        cpu_cores_used=cpu / wall,
        profiler_flops=profiled, analytic_flops=_jsonable(analytic),
        model_flops_per_step=model_flops,
        model_flops_source="analytic" if analytic else "profiler",
        achieved_gflops=achieved, peak_gflops=peaks, peak_size=FLAGS.peak_size,
        peak_repeats=FLAGS.peak_repeats,
        mfu=achieved / peak if peak else None,
        achieved_gflop_per_cpu_s=achieved_per_cpu, peak_gflop_per_cpu_s=cpu_peaks,
        mfu_per_cpu_s=achieved_per_cpu / cpu_peak if cpu_peak else None,
        loadavg_before=list(load_before), loadavg_after=list(load_after),
        tensorflow=tf.__version__, keras=keras.__version__, cpu=_cpu_model(),
        onednn=_onednn_enabled(),
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
    )


def format_report(r):
    """The markdown table and the notes under it."""
    jit = f"{r['jit_compile']} ({'on' if r['jit_resolved'] else 'off'})"
    analytic = r["analytic_flops"]
    gflop = (f"{r['profiler_flops']['live'] / 1e9:.3f} / "
             + (f"{analytic['total'] / 1e9:.3f}" if analytic else "n/a"))
    peak = r["peak_gflops"].get("float32")
    peak_text = f"{peak:.1f}" if peak else "n/a"
    mfu_text = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
    header = ("| variant | dataset | batch | jit | steps/s | images/s | "
              "GFLOP/step (profiler / analytic) | achieved GFLOP/s | peak GFLOP/s | MFU |")
    row = (f"| {r['variant']} | {r['dataset']} | {r['batch_size']} | {jit} | "
           f"{r['steps_per_s']:.2f} | {r['images_per_s']:.0f} | {gflop} | "
           f"{r['achieved_gflops']:.1f} | {peak_text} | {mfu_text} |")
    lines = [header, "|" + "---|" * 10, row, ""]
    lines.append(f"- {r['steps']} timed steps after {r['warmup']} warm-up in {r['seconds']:.2f} s "
                 f"(steps/s is the mean; median step: {r['median_steps_per_s']:.2f} steps/s); "
                 f"images = batch_size x d_steps ({r['d_steps']}) real images per step; "
                 f"{r['architecture']} nets on {tuple(r['data_shape'])}.")
    prof = r["profiler_flops"]
    lines.append(f"- profiler: {prof['live'] / 1e9:.4f} GFLOP in ops that run "
                 f"({prof['live_mac'] / 1e9:.4f} in MatMul/Conv, the rest elementwise: "
                 f"norms, activations, losses, Adam); {prof['all'] / 1e9:.4f} counting the "
                 f"unused gradients the runtime prunes"
                 + (f"; {prof['incomplete']} ops skipped for lack of static shapes"
                    if prof["incomplete"] else "") + ".")
    if analytic:
        ratio = prof["live"] / analytic["total"]
        mac_ratio = prof["live_mac"] / analytic["total"]
        lines.append(f"- analytic (MAC layers only): {analytic['total'] / 1e9:.4f} GFLOP; "
                     f"profiler / analytic = {ratio:.4f} (MatMul/Conv only: {mac_ratio:.4f}). "
                     f"Per example: F_G = {analytic['g_forward'] / 1e6:.3f} MFLOP, "
                     f"F_D = {analytic['d_forward'] / 1e6:.3f} MFLOP.")
        for player, name, value in analytic["terms"]:
            lines.append(f"    - {player}: {name}: {value / 1e9:.4f} GFLOP")
    else:
        lines.append("- analytic: n/a (the accounting covers the gan/nsgan/dcgan step only); "
                     "MFU uses the profiler count.")
    casts = ", ".join(f"{k}: {v}" for k, v in r["cast_ops"].items()) or "none"
    lines.append(f"- precision {r['precision']}, batch norm {r.get('batch_norm', 'fused')}; "
                 f"Cast ops in the traced step that run: "
                 f"{casts}.")
    lines.append(f"- matmul peak ({r['peak_size']}^3, best of {r['peak_repeats']}): "
                 + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in r["peak_gflops"].items())
                 + f"; MFU uses float32 and the {r['model_flops_source']} FLOP count.")
    if r["mfu_per_cpu_s"] is not None:
        lines.append(f"- per CPU-second this process got: training "
                     f"{r['achieved_gflop_per_cpu_s']:.1f} GFLOP/CPU-s, float32 matmul "
                     f"{r['peak_gflop_per_cpu_s']['float32']:.1f} GFLOP/CPU-s: "
                     f"{100 * r['mfu_per_cpu_s']:.1f}% (less disturbed by other load than MFU).")
    threads = {k: r.get(k) or "default" for k in ("intra_op_threads", "inter_op_threads")}
    lines.append(f"- TensorFlow threads: intra-op {threads['intra_op_threads']}, inter-op "
                 f"{threads['inter_op_threads']} (default: TensorFlow's choice from the CPU "
                 "count).")
    lines.append(f"- load average (1/5/15 min) before {_loads(r['loadavg_before'])}, after "
                 f"{_loads(r['loadavg_after'])}; this process used {r['cpu_cores_used']:.2f} "
                 f"CPU cores of {os.cpu_count()} while timed.")
    onednn = {True: "on", False: "off", None: "unknown"}[r["onednn"]]
    lines.append(f"- {r['cpu']}; TensorFlow {r['tensorflow']}, Keras {r['keras']}; oneDNN "
                 f"custom ops {onednn} (TF_ENABLE_ONEDNN_OPTS="
                 f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}).")
    return "\n".join(lines)


def format_comparison(results):
    """One row per (precision, batch-norm kernel): steps/s (mean and median step), steps
    per CPU-second this process got (less disturbed by other load on a shared machine), and
    both ratios to the first row."""
    def per_cpu(r):
        return r["steps_per_s"] / r["cpu_cores_used"]

    base = results[0]
    first = f"{base['precision']}, {base.get('batch_norm', 'fused')} BN"
    lines = [f"| precision | batch norm | steps/s | median-step steps/s | images/s | "
             f"steps/CPU-s | MFU | steps/s vs {first} | steps/CPU-s vs {first} |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "n/a"
        lines.append(f"| {r['precision']} | {r.get('batch_norm', 'fused')} | "
                     f"{r['steps_per_s']:.2f} | "
                     f"{r['median_steps_per_s']:.2f} | {r['images_per_s']:.0f} | "
                     f"{per_cpu(r):.2f} | {mfu} | "
                     f"{r['steps_per_s'] / base['steps_per_s']:.2f}x | "
                     f"{per_cpu(r) / per_cpu(base):.2f}x |")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}; all settings are --flags")
    if FLAGS.warmup < 1:
        usage_error(f"--warmup must be >= 1 (the first step traces); got {FLAGS.warmup}")
    for name in ("steps", "batch_size", "peak_size", "peak_repeats"):
        if FLAGS[name].value < 1:
            usage_error(f"--{name} must be >= 1; got {FLAGS[name].value}")
    for name in ("intra_op_threads", "inter_op_threads"):
        if FLAGS[name].value < 0:
            usage_error(f"--{name} must be >= 0 (0 = TensorFlow's default); "
                        f"got {FLAGS[name].value}")
    import tensorflow as tf

    # Thread pools are fixed when TensorFlow first runs an op, so this comes before any.
    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    from tfgan_suite import config as config_lib
    from tfgan_suite.data import DataError
    from tfgan_suite.nets import ArchitectureError
    from tfgan_suite.variants import UnknownVariantError

    from tfgan_suite.precision import PRECISIONS

    wrong = [p for p in FLAGS.precision if p not in PRECISIONS]
    if wrong or not FLAGS.precision:
        usage_error(f"--precision={','.join(FLAGS.precision)} is not accepted; give one or "
                    f"more of: {', '.join(PRECISIONS)}")
    import keras

    wrong = [k for k in FLAGS.batch_norm if k not in ("fused", "keras")]
    if wrong or not FLAGS.batch_norm:
        usage_error(f"--batch_norm={','.join(FLAGS.batch_norm)} is not accepted; give one or "
                    "both of: fused, keras")
    results = []
    for precision, batch_norm in [(p, k) for p in FLAGS.precision for k in FLAGS.batch_norm]:
        keras.backend.clear_session()
        try:
            results.append(run_benchmark(precision, batch_norm))
        except (UnknownVariantError, config_lib.ConfigError, DataError,
                ArchitectureError) as e:
            usage_error(str(e))
        print(format_report(results[-1]) + "\n")
    if len(results) > 1:
        print(format_comparison(results))
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(results[0] if len(results) == 1 else results, f, indent=2)
            f.write("\n")


def _jsonable(analytic):
    if analytic is None:
        return None
    out = dict(analytic)
    out["terms"] = [list(t) for t in analytic["terms"]]
    out["g_layers"] = [l._asdict() for l in analytic["g_layers"]]
    out["d_layers"] = [l._asdict() for l in analytic["d_layers"]]
    return out


def _loads(loads):
    return "/".join(f"{x:.2f}" for x in loads)


def _onednn_enabled():
    """Whether TensorFlow runs oneDNN kernels (its default depends on the CPU's features)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} x {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags_or_exit)
