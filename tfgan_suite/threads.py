"""TensorFlow's thread pools for a run: `--intra_op_threads` and `--inter_op_threads`.

Both pools are process-wide and fixed when TensorFlow first runs an op, so `train.py`, whose
process is one run's alone, calls `apply` before anything touches the runtime;
`training.train` leaves the pools of the process it is called in (a notebook, a test
session, a benchmark, which call `apply` themselves if they want the run's). On the
2-D mixtures every op is a matmul of at most 64 x 256 x 256: splitting one across cores
costs more in synchronisation than it saves, and one thread per op (with independent ops
side by side on the other cores) trains the plain ring8 run about 10 % faster
(benchmarks/README.md, "2-D speed"), hence that data's default of 1.
"""

from absl import logging


def apply(intra_op, inter_op):
    """Sets TensorFlow's pools to `intra_op` and `inter_op` threads; 0 keeps its default.

    In a process where TensorFlow has already run (a notebook, a test session, a second
    run), the pools cannot change: they are kept, with a warning naming what was asked
    and what is in use, since threads change speed and not results.

    Returns:
        (intra_op, inter_op) in use afterwards, 0 meaning TensorFlow's default.
    """
    import tensorflow as tf

    threading = tf.config.threading
    pools = (("intra-op", intra_op, threading.get_intra_op_parallelism_threads,
              threading.set_intra_op_parallelism_threads),
             ("inter-op", inter_op, threading.get_inter_op_parallelism_threads,
              threading.set_inter_op_parallelism_threads))
    for name, wanted, get, set_ in pools:
        if not wanted or get() == wanted:
            continue
        try:
            set_(wanted)
        except RuntimeError:
            current = get() or "TensorFlow's default"
            logging.warning("%s threads stay %s: TensorFlow already ran in this process, "
                            "so --%s_threads=%d cannot apply (set it before TensorFlow "
                            "starts, as train.py does)", name, current,
                            name.replace("-", "_"), wanted)
    return threading.get_intra_op_parallelism_threads(), \
        threading.get_inter_op_parallelism_threads()
