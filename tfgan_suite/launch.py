"""`python -m tfgan_suite.launch --workers=N -- TRAIN_FLAGS`: N workers on this machine.

Starts N `train.py` processes with `--strategy=multi_worker`, each with the TF_CONFIG of
one worker of a cluster on 127.0.0.1 (ports picked free here unless `--port` gives the
first of N consecutive ones), all with the same `--run_dir` (picked here when the flags
give none, so every worker agrees on it). Worker 0 is the chief. When a worker fails, the
others are stopped and the launcher exits with that worker's status; running the same
command with the printed `--run_dir` resumes from the last checkpoint.

    python -m tfgan_suite.launch --workers=2 -- --variant=dcgan --steps=2000

This is for one machine (trying the multi-worker path, tests, benchmarks); on a cluster
every machine runs `train.py` itself with its own TF_CONFIG (README, "Several workers").
"""

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time

from absl import app, flags

from tfgan_suite import config
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error

FLAGS = flags.FLAGS
# Seconds the other workers get to stop after one failed, before they are killed.
STOP_GRACE = 10


def define_flags():
    flags.DEFINE_integer("workers", 2, "worker processes to start (>= 1)")
    flags.DEFINE_integer("port", None, "first of --workers consecutive ports on 127.0.0.1; "
                         "default: free ports picked by the launcher")
    flags.DEFINE_integer("nice", 0, "niceness of the workers (0-19), e.g. on a shared "
                         "machine")


def free_ports(count):
    """`count` ports on 127.0.0.1 that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(addresses, index):
    """The TF_CONFIG of worker `index` of a cluster of `addresses`."""
    return json.dumps({"cluster": {"worker": list(addresses)},
                       "task": {"type": "worker", "index": index}})


def worker_flags(train_flags):
    """The train flags every worker gets: --strategy=multi_worker and one --run_dir.

    Raises:
        ValueError: a flag that contradicts the launch (another --strategy).
    """
    names = {f.split("=", 1)[0] for f in train_flags if f.startswith("--")}
    out = list(train_flags)
    for f in train_flags:
        if f.startswith("--strategy=") and f != "--strategy=multi_worker":
            raise ValueError(f"{f} contradicts the launch; the launcher runs "
                             "--strategy=multi_worker (or leave --strategy out)")
    if "--strategy" not in names:
        out.append("--strategy=multi_worker")
    if "--run_dir" not in names:  # training.default_run_dir's layout, without importing TF
        variant = next((f.split("=", 1)[1] for f in train_flags
                        if f.startswith("--variant=")), config.DEFAULT_VARIANT)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out.append(f"--run_dir={os.path.join('runs', variant, stamp)}")
    return out


def launch(workers, train_flags, *, port=None, niceness=0, env=None):
    """Runs `workers` train.py processes to the end; returns the exit status (0: all
    finished; else the first failing worker's, after the others were stopped)."""
    ports = list(range(port, port + workers)) if port else free_ports(workers)
    addresses = [f"127.0.0.1:{p}" for p in ports]
    flags_ = worker_flags(train_flags)
    run_dir = next(f.split("=", 1)[1] for f in flags_ if f.startswith("--run_dir="))
    print(f"Launching {workers} worker(s) on {', '.join(addresses)}; run directory "
          f"{run_dir} (worker 0 is the chief)", flush=True)
    procs = []
    for index in range(workers):
        cmd = [sys.executable, "-m", "tfgan_suite.train_cli"] + flags_
        if niceness:
            cmd = ["nice", "-n", str(niceness)] + cmd
        procs.append(subprocess.Popen(cmd, env=dict(env if env is not None else os.environ,
                                                    TF_CONFIG=tf_config(addresses, index))))
    try:
        return _wait(procs)
    except KeyboardInterrupt:
        _stop(procs)
        return 128 + signal.SIGINT


def _wait(procs):
    while True:
        codes = [p.poll() for p in procs]
        failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            index, code = failed[0]
            print(f"error: worker {index} exited with status {code}; stopping the others. "
                  "Run the same command (same --run_dir) to resume from the last "
                  "checkpoint", file=sys.stderr, flush=True)
            _stop(procs)
            return code if code > 0 else 128 - code
        if all(c == 0 for c in codes):
            return 0
        time.sleep(0.2)


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + STOP_GRACE
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv):
    train_flags = argv[1:]
    if FLAGS.workers < 1:
        usage_error(f"--workers must be >= 1; got {FLAGS.workers}")
    if not 0 <= FLAGS.nice <= 19:
        usage_error(f"--nice must be in 0..19; got {FLAGS.nice}")
    stray = [a for a in train_flags if not a.startswith("--")]
    if stray:
        usage_error(f"unexpected arguments {' '.join(stray)}; give train.py's flags after "
                    "--, e.g. python -m tfgan_suite.launch --workers=2 -- --variant=dcgan")
    try:
        code = launch(FLAGS.workers, train_flags, port=FLAGS.port, niceness=FLAGS.nice)
    except ValueError as e:
        usage_error(str(e))
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    define_flags()
    app.run(main, flags_parser=parse_flags_or_exit)
