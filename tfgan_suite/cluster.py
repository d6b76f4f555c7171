"""Beyond one machine: the multi-worker and TPU strategies, and what a worker may write.

`--strategy=multi_worker` is `tf.distribute.MultiWorkerMirroredStrategy` over the cluster in
the standard `TF_CONFIG` environment variable, e.g. for worker 1 of 2:

    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                "task": {"type": "worker", "index": 1}}'

What this module adds to TensorFlow's strategy:

- a bounded wait: a worker waits at most `--worker_timeout` seconds for the others at
  start (a watchdog) and in any one collective (`CommunicationOptions`; a lost peer is
  also noticed by TensorFlow's coordination-service heartbeat); either way it fails with
  one line naming the addresses and the TF_CONFIG it read (`ClusterError`), instead of
  hanging;
- each worker's own share of every global batch (`worker_share`): replica r of R (global
  id, worker-major) gets rows [r E / R, (r + 1) E / R) of the global element E, the same
  rows MirroredStrategy gives replica r in one process, so a batch stays a pure function of
  (seed, batch number) and resume stays exact;
- who writes (`is_chief`, `WorkerOutputs`): the chief writes events, config.json,
  checkpoints and the export; every other worker runs the same saves (they may hold
  collective reads) into a temporary directory that is deleted, and writes no events.

`--strategy=tpu` is `tf.distribute.TPUStrategy` through `TPUClusterResolver(--tpu)`;
without a reachable TPU it is a ConfigError (one line, exit status 2). It cannot be tested
on a machine without a TPU.
"""

import json
import os
import select
import shutil
import signal
import socket
import tempfile

import tensorflow as tf

from tfgan_suite.settings import ConfigError

TF_CONFIG = "TF_CONFIG"


class ClusterError(RuntimeError):
    """A worker lost the others or never reached them; the message is one line."""


# ---------------------------------------------------------------------------------------
# TF_CONFIG.

def read_tf_config():
    """The parsed `TF_CONFIG`, checked: a cluster of "host:port" lists and this task in it.

    Raises:
        ConfigError: TF_CONFIG unset, not JSON, or not naming a task of its cluster.
    """
    raw = os.environ.get(TF_CONFIG)
    if not raw:
        raise ConfigError("--strategy=multi_worker reads the cluster from the TF_CONFIG "
                          "environment variable, which is not set (see the README's "
                          "'Several workers' section, or python -m tfgan_suite.launch)")
    try:
        tf_config = json.loads(raw)
    except ValueError as e:
        raise ConfigError(f"TF_CONFIG is not JSON ({e}): {raw}") from None
    cluster = tf_config.get("cluster") if isinstance(tf_config, dict) else None
    task = tf_config.get("task") if isinstance(tf_config, dict) else None
    if (not isinstance(cluster, dict) or not cluster
            or not all(isinstance(v, list) and v and all(isinstance(a, str) and ":" in a
                                                         for a in v)
                       for v in cluster.values())):
        raise ConfigError('TF_CONFIG must hold "cluster": {job: ["host:port", ...]}; '
                          f"read {raw}")
    if (not isinstance(task, dict) or task.get("type") not in cluster
            or not isinstance(task.get("index"), int)
            or not 0 <= task["index"] < len(cluster[task["type"]])):
        raise ConfigError('TF_CONFIG must hold "task": {"type": JOB, "index": I} naming one '
                          f"of its cluster's addresses; read {raw}")
    return tf_config


def task_name(tf_config):
    task = tf_config["task"]
    return f"{task['type']} {task['index']}"


def own_address(tf_config):
    task = tf_config["task"]
    return tf_config["cluster"][task["type"]][task["index"]]


def peer_addresses(tf_config):
    """Every address of the cluster but this task's."""
    own = own_address(tf_config)
    return [a for job in tf_config["cluster"].values() for a in job if a != own]


def cluster_failure(tf_config, what, error=None):
    """The one-line message of a worker that lost (or never reached) the others."""
    return cluster_failure_for(tf_config, what, peer_addresses(tf_config), error)


def cluster_failure_for(tf_config, what, addresses, error=None):
    """`cluster_failure` naming `addresses` (default: every peer)."""
    addresses = addresses or peer_addresses(tf_config)
    detail = ""
    if error is not None:  # its first words: a graph error goes on with a whole traceback
        detail = " ".join(str(getattr(error, "message", error)).split())
        detail = detail.split(" Detected at node")[0].split(" Additional GRPC")[0][:160]
        detail = f" ({type(error).__name__}: {detail})"
    return (f"{task_name(tf_config)} at {own_address(tf_config)} {what} "
            f"{', '.join(addresses)}{detail}; TF_CONFIG="
            f"{json.dumps(tf_config, separators=(',', ':'))}")


# ---------------------------------------------------------------------------------------
# The strategies.

def multi_worker_strategy(timeout):
    """MultiWorkerMirroredStrategy on TF_CONFIG, every wait bounded by `timeout` seconds.

    Must run before anything initialises TensorFlow's devices (`tf.config`, the first op):
    the strategy starts this task's server and blocks until every worker has joined.
    TensorFlow bounds neither that wait (the coordination service's leader waits for the
    others without end) nor lets Python run meanwhile, so a watchdog process
    (`_start_watchdog`) ends this one after `timeout` seconds, with one line on stderr
    naming the addresses that did not answer and the TF_CONFIG read. Every collective of
    the run is bounded by the same timeout (`CommunicationOptions`).

    Raises:
        ConfigError: a bad TF_CONFIG.
    """
    tf_config = read_tf_config()
    joined = _start_watchdog(tf_config, timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(timeout))
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, tf.errors.OpError) as e:
        raise ClusterError(cluster_failure(
            tf_config, f"could not reach within --worker_timeout={timeout} s:", e)) from None
    finally:
        joined()
    return strategy


def _start_watchdog(tf_config, timeout):
    """Forks a process that ends this one unless the returned function is called within
    `timeout` seconds (it prints the one-line reason first). A process, not a thread: the
    thread would wait for the interpreter lock, which TensorFlow holds while it waits."""
    read_end, write_end = os.pipe()
    parent = os.getpid()
    child = os.fork()
    if child == 0:  # the watchdog: only plain Python from here on
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            silent = [a for a in peer_addresses(tf_config) if not _answers(a)]
            what = (f"could not reach within --worker_timeout={timeout} s:" if silent else
                    f"found no cluster within --worker_timeout={timeout} s at")
            os.write(2, f"error: {cluster_failure_for(tf_config, what, silent)}\n".encode())
            try:  # SIGKILL: TensorFlow's wait does not return to Python for SIGTERM
                os.kill(parent, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(0)
    os.close(read_end)

    def joined():
        os.close(write_end)  # the watchdog's select returns: it exits
        os.waitpid(child, 0)

    return joined


def _answers(address, wait=1.0):
    """True if something accepts TCP connections at "host:port"."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=wait):
            return True
    except (OSError, ValueError):
        return False


def tpu_strategy(name):
    """TPUStrategy on the TPU `name` (None: the one TPU_NAME or the environment names).

    Raises:
        ConfigError: no TPU is reachable (one line; `train.py` exits with status 2).
    """
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, NotImplementedError, tf.errors.OpError) as e:
        first = " ".join(str(e).split())[:200]
        where = f"--tpu={name}" if name else "no --tpu given and TPU_NAME unset"
        raise ConfigError(f"--strategy=tpu found no TPU ({where}: {type(e).__name__}: "
                          f"{first}); use --strategy=default or mirrored here") from None


def is_tpu(strategy):
    return isinstance(strategy, tf.distribute.TPUStrategy)


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """True for the task that writes the run's outputs: "chief" if the cluster has one,
    else worker 0; True for every single-process strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not is_multi_worker(strategy) or resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    jobs = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in jobs


def task_id(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    return 0 if resolver is None or resolver.task_id is None else int(resolver.task_id)


# ---------------------------------------------------------------------------------------
# Input.

def replica_shares(dataset, replicas, worker, workers):
    """This worker's part of every global element, one element per local replica.

    Element k of `dataset` (tensors of E rows, E divisible by `replicas`) is cut into
    `replicas` consecutive blocks of E / replicas rows; worker w of W, holding replicas
    w L .. w L + L - 1 (L = replicas / W), yields its L blocks in order, which
    `distribute_datasets_from_function` hands to its local replicas in turn.
    """
    local = replicas // workers
    first = worker * local

    def blocks(t):
        rows = t.shape[0]
        if rows is not None:
            shape = [replicas, rows // replicas] + list(t.shape[1:])
        else:
            shape = tf.concat([[replicas, -1], tf.shape(t)[1:]], axis=0)
        return tf.reshape(t, shape)[first:first + local]

    def split(*parts):
        out = tuple(blocks(t) for t in parts)
        return tf.data.Dataset.from_tensor_slices(out if len(out) > 1 else out[0])

    return dataset.flat_map(split).prefetch(tf.data.AUTOTUNE)


def worker_share(strategy, make_dataset):
    """The distributed input of a multi-worker run: each worker builds the global stream
    (`make_dataset()`, a pure function of seed and batch number) and keeps its replicas'
    blocks of every element (`replica_shares`); nothing is auto-sharded."""

    def dataset_fn(context):
        return replica_shares(make_dataset(), context.num_replicas_in_sync,
                              context.input_pipeline_id, context.num_input_pipelines)

    return strategy.distribute_datasets_from_function(dataset_fn)


# ---------------------------------------------------------------------------------------
# Outputs.

class WorkerOutputs:
    """Where this task writes: the run's own directories on the chief, a temporary
    directory (deleted by `cleanup`) on every other worker.

    The other workers still save checkpoints and export, at the same steps as the chief
    (TensorFlow's multi-worker pattern: a save may read variables through collectives, so
    every worker takes part), but into that temporary directory; they write no events and
    no config.json.
    """

    def __init__(self, strategy, run_dir, export_dir):
        self.chief = is_chief(strategy)
        self.scratch = None
        if self.chief:
            self.ckpt_dir, self.export_dir = os.path.join(run_dir, "ckpt"), export_dir
        else:
            self.scratch = tempfile.mkdtemp(prefix=f"tfgan-worker{task_id(strategy)}-")
            self.ckpt_dir = os.path.join(self.scratch, "ckpt")
            self.export_dir = os.path.join(self.scratch, "export")

    def summary_writer(self, run_dir):
        if self.chief:
            return tf.summary.create_file_writer(run_dir)
        return tf.summary.create_noop_writer()

    def cleanup(self):
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
