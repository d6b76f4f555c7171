"""`--intra_op_threads` / `--inter_op_threads`: TensorFlow's pools, set before it starts."""

import os
import subprocess
import sys

import tensorflow as tf
from absl.testing import absltest

from tfgan_suite import config as config_lib
from tfgan_suite import threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)


def test_two_d_data_defaults_to_one_thread_per_op_and_images_keep_tensorflows_pools():
    points = config_lib.resolve(dict(variant="nsgan", dataset="ring8"), points=True)
    images = config_lib.resolve(dict(variant="dcgan", dataset="fashion_mnist"), points=False)
    assert (points.intra_op_threads, points.inter_op_threads) == (1, 0)
    assert (images.intra_op_threads, images.inter_op_threads) == (0, 0)
    chosen = config_lib.resolve(dict(variant="nsgan", dataset="ring8", intra_op_threads=0),
                                points=True)
    assert chosen.intra_op_threads == 0


def test_a_fresh_process_gets_the_pools_it_asks_for():
    # Read back through TensorFlow's own getters, in a process where nothing ran before.
    script = ("import tensorflow as tf\n"
              "from tfgan_suite import threads\n"
              "print(threads.apply(1, 3))\n"
              "tf.constant(1.0) + 1.0\n"
              "print(tf.config.threading.get_intra_op_parallelism_threads(),"
              " tf.config.threading.get_inter_op_parallelism_threads())\n")
    proc = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:2] == ["(1, 3)", "1 3"]


def test_zero_leaves_tensorflows_default_in_a_fresh_process():
    script = ("from tfgan_suite import threads\nprint(threads.apply(0, 0))\n")
    proc = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(0, 0)"


def test_a_process_where_tensorflow_ran_keeps_its_pools_and_says_so():
    tf.constant(1.0) + 1.0  # the runtime is up: its pools are fixed
    before = (tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads())
    wanted = before[0] + 5
    with absltest.mock.patch.object(threads.logging, "warning") as warning:
        assert threads.apply(wanted, 0) == before
    assert warning.call_count == 1
    message = warning.call_args[0][0] % warning.call_args[0][1:]
    assert f"--intra_op_threads={wanted} cannot apply" in message
    with absltest.mock.patch.object(threads.logging, "warning") as warning:
        assert threads.apply(before[0] or 0, 0) == before  # what is in use: nothing to say
    assert warning.call_count == 0


def _pools_train_py_sets(*args):
    """The pools in place when `train.py ARGS` reaches `training.train` (stubbed to print
    them), read through TensorFlow's getters in that process."""
    script = ("import sys\n"
              "import tensorflow as tf\n"
              "from tfgan_suite import training, train_cli\n"
              "def report(cfg):\n"
              "    t = tf.config.threading\n"
              "    print('pools', t.get_intra_op_parallelism_threads(),"
              " t.get_inter_op_parallelism_threads())\n"
              "    sys.exit(0)\n"
              "training.train = report\n"
              f"sys.argv = ['train.py'] + {list(args)!r}\n"
              "train_cli.run()\n")
    proc = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if line.startswith("pools")]


def test_train_py_sets_the_runs_pools_before_training():
    assert _pools_train_py_sets("--variant=nsgan", "--dataset=ring8") == ["pools 1 0"]
    assert _pools_train_py_sets("--variant=dcgan") == ["pools 0 0"]
    assert _pools_train_py_sets("--variant=dcgan", "--intra_op_threads=2",
                                "--inter_op_threads=3") == ["pools 2 3"]
