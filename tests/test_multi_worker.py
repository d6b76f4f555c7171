"""--strategy=multi_worker: worker processes on 127.0.0.1 against one 2-replica process.

Each test starts and stops its own processes (ports picked here, niced, bounded waits).
Two workers with one CPU each must end with the weights of one process with two logical
CPUs at the same global batch (MirroredStrategy, the reference), within TOLERANCE: the
same rows reach the same replica and the same random streams, so only the all-reduce's
summation order may differ. The default suite runs the gan case; the other variants, the
kill-and-resume check and the launcher are marked slow.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Largest absolute difference allowed between a worker's and the reference's weights
# (measured: at most 3e-8 over 8 steps for every case; float32 rounding of the sums).
TOLERANCE = 1e-6
WAIT = 900  # seconds any one launch may take on a shared 2-core machine (seen: 400)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(addresses, index):
    return json.dumps({"cluster": {"worker": addresses},
                       "task": {"type": "worker", "index": index}})


def env_for(tmp_path, config=None, index=0):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    env.pop("TF_CONFIG", None)
    if config is not None:
        env["TF_CONFIG"] = config
        scratch = tmp_path / f"tmp{index}"   # where a worker's temporary directory goes
        scratch.mkdir(exist_ok=True)
        env["TMPDIR"] = str(scratch)
    return env


def start_workers(case, run_dir, out_dir, tmp_path, steps=None, workers=2):
    addresses = [f"127.0.0.1:{p}" for p in free_ports(workers)]
    procs = []
    for i in range(workers):
        cmd = ["nice", "-n", "5", sys.executable, "-m", "tests.multi_worker_runner", case,
               "multi_worker", str(run_dir), str(out_dir / f"w{i}.npz")]
        if steps is not None:
            cmd.append(str(steps))
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env_for(tmp_path,
                                                                 tf_config(addresses, i), i),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    return procs


def finish(procs, timeout=WAIT):
    """Waits for every process (killing all at the deadline); returns [(rc, out, err)]."""
    deadline = time.time() + timeout
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            out, err = p.communicate()
            raise AssertionError(f"a worker did not finish in {timeout} s: {err[-2000:]}")
        results.append((p.returncode, out, err))
    return results


def reference(case, tmp_path, steps=None):
    """The same run in one process with two logical CPUs (--strategy=mirrored)."""
    out = tmp_path / "mirrored.npz"
    cmd = ["nice", "-n", "5", sys.executable, "-m", "tests.multi_worker_runner", case,
           "mirrored", str(tmp_path / "mirrored_run"), str(out)]
    if steps is not None:
        cmd.append(str(steps))
    proc = subprocess.run(cmd, cwd=ROOT, env=env_for(tmp_path), capture_output=True,
                          text=True, timeout=WAIT)
    assert proc.returncode == 0 and "replicas=2" in proc.stdout, proc.stderr[-3000:]
    return dict(np.load(out))


def max_gap(a, b):
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def check_two_workers(case, tmp_path):
    run_dir = tmp_path / "run"
    results = finish(start_workers(case, run_dir, tmp_path, tmp_path))
    for rc, out, err in results:
        assert rc == 0 and "replicas=2" in out, err[-3000:]
    chief = dict(np.load(tmp_path / "w0.npz"))
    want = reference(case, tmp_path)
    gap = max_gap(chief, want)
    assert gap <= TOLERANCE, (case, gap)
    # The weights moved: a run that trained nothing would also "match".
    assert int(chief["state|step"]) == 8
    # The chief alone wrote the run; the other worker's scratch directory is gone.
    events = [f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents")]
    assert len(events) == 1 and os.path.exists(run_dir / "config.json"), os.listdir(run_dir)
    assert sorted(os.listdir(run_dir / "ckpt")) == sorted(
        ["checkpoint"] + [f"ckpt-{s}.{x}" for s in (4, 8)
                          for x in ("index", "data-00000-of-00001")])
    assert os.listdir(tmp_path / "tmp1") == [], os.listdir(tmp_path / "tmp1")
    return chief, want


def test_two_workers_match_two_replicas_gan(tmp_path):
    """gan with d_steps=2 and instance noise: each worker's rows, its random streams (the
    reference's two replicas draw different z and noise, tests/test_replicas.py, so a
    worker using replica id 0 would not match) and the gradient scaling."""
    check_two_workers("gan", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["wgan_gp", "sngan", "began", "cgan", "irgan"])
def test_two_workers_match_two_replicas(case, tmp_path):
    check_two_workers(case, tmp_path)


@pytest.mark.slow
def test_kill_one_worker_and_resume(tmp_path):
    """kill -9 of worker 1 after the step-50 checkpoint: worker 0 fails within the
    timeout naming the lost peer; the same launch again resumes and ends where an
    uninterrupted run ends."""
    run_dir = tmp_path / "run"
    procs = start_workers("gan_long", run_dir, tmp_path, tmp_path)
    deadline = time.time() + WAIT
    try:
        while not os.path.exists(run_dir / "ckpt" / "ckpt-50.index"):
            assert time.time() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.1)
    except AssertionError:
        for p in procs:
            p.kill()
        raise
    procs[1].send_signal(signal.SIGKILL)
    started = time.time()
    (rc0, _, err0), (rc1, _, _) = finish(procs)
    lost_after = time.time() - started
    assert rc1 == -signal.SIGKILL and rc0 == 1, err0[-2000:]
    last = [l for l in err0.splitlines() if "ClusterError" in l][-1]
    assert "lost contact" in last and "TF_CONFIG=" in last, last
    assert lost_after < 90, lost_after     # bounded, well under --worker_timeout=60 + start
    saved = sorted(int(f[5:-6]) for f in os.listdir(run_dir / "ckpt") if f.endswith(".index"))
    assert 50 <= saved[-1] < 1000, saved   # killed mid-run
    lost_at = int(re.search(r"lost contact at step (\d+)", last).group(1))
    assert 0 <= lost_at - saved[-1] <= 50, (lost_at, saved)   # at most one interval lost

    results = finish(start_workers("gan_long", run_dir, tmp_path, tmp_path))
    for rc, out, err in results:
        assert rc == 0 and "Resuming" in out, err[-3000:]
    gap = max_gap(dict(np.load(tmp_path / "w0.npz")), reference("gan_long", tmp_path))
    assert gap <= TOLERANCE, gap


def test_unreachable_worker_fails_in_bounded_time(tmp_path):
    """Worker 1 alone: one line naming worker 0's address and the TF_CONFIG, within
    --worker_timeout plus start-up, not a hang."""
    addresses = [f"127.0.0.1:{p}" for p in free_ports(2)]
    config = tf_config(addresses, 1)
    cmd = ["nice", "-n", "5", sys.executable, "train.py", "--variant=gan", "--dataset=ring8",
           "--strategy=multi_worker", "--worker_timeout=5", "--steps=2", "--export=false",
           f"--run_dir={tmp_path / 'run'}"]
    started = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env_for(tmp_path, config, 1),
                          capture_output=True, text=True, timeout=WAIT)
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
    assert addresses[0] in lines[0] and config.replace(" ", "") in lines[0], lines[0]
    assert time.time() - started < 5 + 120       # start-up on a loaded machine included
    assert not os.path.exists(tmp_path / "run")  # nothing written


def test_tpu_without_tpu_is_a_config_error(monkeypatch):
    """In this process: no --tpu and no TPU_NAME, so the resolver asks no metadata server
    (no network) and fails at once."""
    from tfgan_suite import training
    from tfgan_suite.settings import ConfigError

    for key in ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match="--strategy=tpu found no TPU"):
        training.make_strategy("tpu")


@pytest.mark.slow
def test_tpu_without_tpu_is_one_line_and_status_2(tmp_path):
    env = env_for(tmp_path)
    for key in ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG"):
        env.pop(key, None)
    # No --tpu and no TPU_NAME: the resolver asks no metadata server (no network).
    proc = subprocess.run([sys.executable, "train.py", "--strategy=tpu", "--steps=1",
                           f"--run_dir={tmp_path / 'run'}", "--dataset=ring8"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT)
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "--strategy=tpu found no TPU" in lines[0], lines[0]
    assert not os.path.exists(tmp_path / "run")


def test_replica_shares_are_the_mirrored_blocks():
    """Worker w of W keeps blocks w L .. w L + L - 1 of every element, in order."""
    import tensorflow as tf

    from tfgan_suite.cluster import replica_shares

    rows = np.arange(3 * 8 * 2).reshape(3, 8, 2).astype(np.float32)  # 3 elements of 8 rows
    labels = np.arange(3 * 8).reshape(3, 8)
    ds = tf.data.Dataset.from_tensor_slices((rows, labels))
    for worker in range(2):
        got = list(replica_shares(ds, replicas=4, workers=2, worker=worker))
        want = [(rows[k][r * 2:(r + 1) * 2], labels[k][r * 2:(r + 1) * 2])
                for k in range(3) for r in (2 * worker, 2 * worker + 1)]
        assert len(got) == len(want) == 6
        for (x, y), (wx, wy) in zip(got, want):
            np.testing.assert_array_equal(x.numpy(), wx)
            np.testing.assert_array_equal(y.numpy(), wy)


def test_tf_config_errors_name_the_problem(monkeypatch):
    from tfgan_suite import cluster
    from tfgan_suite.settings import ConfigError

    for raw, words in ((None, "not set"), ("{bad", "not JSON"),
                       ('{"cluster": {"worker": ["a"]}}', '"cluster"'),
                       ('{"cluster": {"worker": ["h:1"]}, "task": {"type": "worker", '
                        '"index": 3}}', '"task"')):
        if raw is None:
            monkeypatch.delenv("TF_CONFIG", raising=False)
        else:
            monkeypatch.setenv("TF_CONFIG", raw)
        with pytest.raises(ConfigError, match=words):
            cluster.read_tf_config()


def test_launcher_flags():
    from tfgan_suite import launch

    out = launch.worker_flags(["--variant=gan", "--steps=3"])
    assert "--strategy=multi_worker" in out and out[:2] == ["--variant=gan", "--steps=3"]
    run_dirs = [f for f in out if f.startswith("--run_dir=runs/gan/")]
    assert len(run_dirs) == 1, out
    assert launch.worker_flags(["--run_dir=r", "--strategy=multi_worker"]) == [
        "--run_dir=r", "--strategy=multi_worker"]
    with pytest.raises(ValueError, match="--strategy=mirrored contradicts"):
        launch.worker_flags(["--strategy=mirrored"])
    assert json.loads(launch.tf_config(["a:1", "b:2"], 1)) == {
        "cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}


@pytest.mark.slow
def test_launcher_runs_two_workers_and_the_chief_exports_once(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    cmd = [sys.executable, "-m", "tfgan_suite.launch", "--workers=2", "--nice=5", "--",
           "--variant=gan", "--dataset=ring8", "--steps=4", "--width=8", "--batch_size=8",
           "--checkpoint_every=2", "--sample_every=2", "--log_every=1",
           f"--run_dir={run_dir}", f"--export_dir={export_dir}"]
    env = env_for(tmp_path)
    env["TMPDIR"] = str(tmp_path / "tmp")
    os.makedirs(env["TMPDIR"])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=WAIT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert os.listdir(export_dir / "gan") == ["1"], os.listdir(export_dir / "gan")
    events = [f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents")]
    assert len(events) == 1 and os.path.exists(run_dir / "config.json")
    assert os.path.exists(run_dir / "ckpt" / "ckpt-4.index")
    assert os.listdir(env["TMPDIR"]) == []      # the other worker's scratch is deleted
    assert proc.stdout.count("Exported generator:") == 1, proc.stdout
