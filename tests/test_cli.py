"""train.py and `python -m tfgan_suite.export` as a user runs them (subprocesses)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)


def run(args, cwd, timeout=300):
    return subprocess.run([sys.executable, os.path.join(ROOT, "train.py")] + args, cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("error:")]


@pytest.mark.parametrize("args, expected", [
    (["--variant=began_typo"], "unknown variant 'began_typo'; accepted: "),
    (["--dataset=no_such_data"], "Accepted: fashion_mnist, ring8, grid25, folder:PATH"),
    (["--steps=0"], "--steps must be >= 1; got 0"),
    (["--jit_compile=maybe"], "use one of: auto, true, false"),
    (["--intra_op_threads=-1"], "--intra_op_threads must be >= 0; got -1"),
    (["--strategy=parameter_server"], "use one of: default, mirrored, multi_worker, tpu"),
    (["--precision=float64"], "use one of: float32, mixed_bfloat16, mixed_float16"),
    (["--variant=irgan", "--precision=mixed_bfloat16"], "it trains in float32 only"),
    (["--no_such_flag=1"], "Unknown command line flag 'no_such_flag'"),
    (["--steps=abc"], "--steps=abc"),
    (["--dataset=ring8", "--architecture=dcgan"], "pass --architecture=mlp"),
    (["--g_norm=layer"], "--g_norm=layer is not accepted; use one of: batch, none"),
    (["--dataset=ring8", "--g_norm=batch"], "has no batch norm; g_norm accepts 'none'"),
    (["stray"], "unexpected arguments stray"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expected):
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and expected in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("ckpt"))


def test_train_exports_a_model_that_serves_without_tfgan_suite(tmp_path):
    proc = run(["--variant=nsgan", "--dataset=ring8", "--steps=30", "--batch_size=32",
                "--checkpoint_every=10", "--sample_every=10", "--seed=3"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = list((tmp_path / "runs" / "nsgan").iterdir())
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["variant"], config["steps"], config["architecture"]) == ("nsgan", 30, "mlp")
    assert sorted(p.name for p in (run_dir / "ckpt").glob("*.index")) == [
        "ckpt-10.index", "ckpt-20.index", "ckpt-30.index"]
    assert (tmp_path / "saved_models" / "nsgan" / "1" / "saved_model.pb").exists()
    # The exported model serves from a process that never imports tfgan_suite.
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "m = tf.saved_model.load('saved_models/nsgan/1')\n"
        "out = m.signatures['sample'](num=tf.constant(64), seed=tf.constant(5, tf.int64))\n"
        "z = np.random.default_rng(0).standard_normal((3, 2)).astype('float32')\n"  # 2-D: z in R^2
        "out2 = m.signatures['serving_default'](z=tf.constant(z))\n"
        "assert 'tfgan_suite' not in sys.modules\n"
        "print(out['samples'].shape, out2['samples'].shape)\n")
    served = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True, text=True, timeout=120)
    assert served.returncode == 0, served.stderr[-2000:]
    assert "(64, 2) (3, 2)" in served.stdout


def test_sigint_checkpoints_and_the_same_command_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = ["--variant=nsgan", "--dataset=ring8", "--steps=200000", "--batch_size=16",
            f"--run_dir={run_dir}", "--checkpoint_every=100000", "--noexport"]
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py")] + args,
                            cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Wait until training is under way (the first TensorBoard events are written).
    deadline = time.time() + 120
    while time.time() < deadline and not list(run_dir.glob("events.out.tfevents.*")):
        time.sleep(0.5)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, stderr[-2000:]
    assert "interrupted at step" in stderr and "--run_dir" in stderr
    step = int(stderr.split("interrupted at step ")[1].split(";")[0])
    assert step > 0 and (run_dir / "ckpt" / f"ckpt-{step}.index").exists()
    # The same command with a smaller --steps finishes from there.
    resumed = run(args[:2] + [f"--steps={step + 5}"] + args[3:], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resuming {run_dir} from step {step}" in resumed.stdout
    assert (run_dir / "ckpt" / f"ckpt-{step + 5}.index").exists()


def test_export_cli_rebuilds_from_a_run(tmp_path):
    run_dir = tmp_path / "run"
    proc = run(["--variant=gan", "--dataset=ring8", "--steps=5", f"--run_dir={run_dir}",
                "--noexport"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    exported = subprocess.run(
        [sys.executable, "-m", "tfgan_suite.export", f"--run_dir={run_dir}",
         f"--export_dir={tmp_path / 'out'}"], cwd=ROOT, env=ENV, capture_output=True,
        text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr[-2000:]
    meta = json.loads((tmp_path / "out" / "gan" / "1" / "assets.extra" /
                       "tfgan_suite.json").read_text())
    assert (meta["variant"], meta["step"], meta["kind"], meta["latent_dim"]) == (
        "gan", 5, "points", 2)   # 2-D runs default to z in R^2
    untrained = subprocess.run(
        [sys.executable, "-m", "tfgan_suite.export", f"--run_dir={run_dir}", "--untrained",
         f"--export_dir={tmp_path / 'out'}"], cwd=ROOT, env=ENV, capture_output=True,
        text=True, timeout=120)
    assert untrained.returncode == 0, untrained.stderr[-2000:]
    meta = json.loads((tmp_path / "out" / "gan_untrained" / "1" / "assets.extra" /
                       "tfgan_suite.json").read_text())
    assert (meta["variant"], meta["step"], meta["untrained"]) == ("gan", 0, True)
    missing = subprocess.run([sys.executable, "-m", "tfgan_suite.export",
                              f"--run_dir={tmp_path / 'nothing'}"], cwd=ROOT, env=ENV,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no config.json" in missing.stderr
