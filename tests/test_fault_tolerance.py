"""Faults on one machine: damaged checkpoints and exports that stop half-way.

The reference for a resume past a damaged checkpoint is an uninterrupted run of the same
seed and steps (resume is exact: tests/test_training.py), so a run that restored a
half-read or mixed checkpoint ends with other weights; the step it resumed from is read
from its own output line, and the files left on disk are listed.
"""

import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import checkpoints, export_dirs, training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 8  # the reference run; the damaged one stops at 6 with checkpoints 2, 4, 6


def cfg_for(run_dir, **overrides):
    settings = dict(variant="nsgan", width=8, latent_dim=4, batch_size=8, steps=STEPS,
                    checkpoint_every=2, keep_checkpoints=5, log_every=2, sample_every=100,
                    lr_decay="none", seed=5, run_dir=str(run_dir), export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def all_state(model):
    """Every number a resumed run must reproduce: weights, optimizer slots, step."""
    values = [v.numpy() for v in model.generator.weights + model.discriminator.weights]
    values += [v.numpy() for v in model.g_optimizer.variables + model.d_optimizer.variables]
    values.append(model.step.numpy())
    return values


def assert_same_state(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def data():
    return helpers.tiny_points(n=64)


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """The state after STEPS uninterrupted steps."""
    result = training.train(cfg_for(tmp_path_factory.mktemp("straight") / "run"), data=data,
                            verbose=0)
    tf.keras.backend.clear_session()
    return all_state(result.model)


@pytest.fixture(scope="module")
def stopped(data, tmp_path_factory):
    """A run stopped at step 6 (checkpoints 2, 4, 6), to copy and damage."""
    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    training.train(cfg_for(run_dir, steps=6), data=data, verbose=0)
    tf.keras.backend.clear_session()
    return run_dir


@pytest.fixture
def run_dir(stopped, tmp_path):
    shutil.copytree(stopped, tmp_path / "run")
    return tmp_path / "run"


def ckpt(run_dir, step):
    return os.path.join(str(run_dir), "ckpt", f"ckpt-{step}")


def data_file(run_dir, step):
    (path,) = glob.glob(ckpt(run_dir, step) + ".data-*")
    return path


def truncate_data(run_dir, step):
    path = data_file(run_dir, step)
    os.truncate(path, os.path.getsize(path) // 2)


def garble_index(run_dir, step):
    with open(ckpt(run_dir, step) + ".index", "r+b") as f:
        f.write(b"\x00garbage" * 8)


def delete_index(run_dir, step):
    os.remove(ckpt(run_dir, step) + ".index")


def delete_data(run_dir, step):
    os.remove(data_file(run_dir, step))


def flip_a_byte(run_dir, step):
    path = data_file(run_dir, step)
    content = bytearray(open(path, "rb").read())
    content[len(content) // 2] ^= 0xFF
    open(path, "wb").write(bytes(content))


def listing(run_dir):
    """Every file under the run's ckpt/, with its size."""
    root = os.path.join(str(run_dir), "ckpt")
    return {os.path.relpath(os.path.join(d, n), root): os.path.getsize(os.path.join(d, n))
            for d, _, names in os.walk(root) for n in names}


@pytest.mark.parametrize("damage, skipped, start, error", [
    ([(truncate_data, 6)], [6], 4, "IndexError: Read less bytes than requested"),
    ([(garble_index, 6), (delete_data, 4)], [6, 4], 2, "ckpt-4.data-00000-of-00001"),
    ([(delete_index, 6)], [6], 4, "NotFoundError"),
    ([(flip_a_byte, 6)], [6], 4, "Checksum does not match"),
], ids=["truncated-data", "garbled-index-and-missing-data", "missing-index", "flipped-byte"])
def test_resume_falls_back_to_the_newest_readable_checkpoint(
        run_dir, data, straight, capfd, damage, skipped, start, error):
    for make, step in damage:
        make(run_dir, step)
    damaged_files = sorted(os.path.basename(p) for step in skipped
                           for p in glob.glob(ckpt(run_dir, step) + ".*"))
    result = training.train(cfg_for(run_dir), data=data, verbose=0)
    out, err = capfd.readouterr()
    notes = [line for line in err.splitlines() if line.startswith("note: checkpoint")]
    assert len(notes) == 1, err
    for step in skipped:
        assert f"{ckpt(run_dir, step)} (" in notes[0]
    assert error in notes[0]
    assert notes[0].split("; ")[-1].startswith(f"resuming from ckpt-{start} ")
    assert f"Resuming {run_dir} from step {start}." in out
    # The weights are those of the uninterrupted run: it resumed from `start` exactly.
    assert result.step == STEPS
    assert_same_state(all_state(result.model), straight)

    # The damaged files are kept aside; the manager's list is the healthy and new ones,
    # and the checkpoints written again at the skipped steps read back whole.
    moved = sorted(os.listdir(os.path.join(str(run_dir), "ckpt", checkpoints.DAMAGED_DIR)))
    assert moved == damaged_files
    state = tf.train.get_checkpoint_state(os.path.join(str(run_dir), "ckpt"))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        f"ckpt-{s}" for s in range(2, STEPS + 1, 2)]
    assert state.model_checkpoint_path == ckpt(run_dir, STEPS)
    for step in range(2, STEPS + 1, 2):
        assert checkpoints.unreadable_reason(ckpt(run_dir, step)) is None, step
    tf.keras.backend.clear_session()


def test_a_damaged_state_file_is_rebuilt_from_the_checkpoint_files(run_dir, data, straight,
                                                                   capfd):
    state_file = os.path.join(str(run_dir), "ckpt", checkpoints.STATE_FILE)
    with open(state_file, "w") as f:
        f.write("model_checkpoint_path: {{{ not a proto")
    # Without the fix, tf.train.CheckpointManager sees no checkpoint and starts over.
    result = training.train(cfg_for(run_dir), data=data, verbose=0)
    out, err = capfd.readouterr()
    assert "is missing or unreadable; rewritten from the checkpoint files, resuming from " \
           "ckpt-6" in err
    assert f"Resuming {run_dir} from step 6." in out
    assert_same_state(all_state(result.model), straight)
    tf.keras.backend.clear_session()


def test_no_readable_checkpoint_is_one_clear_error_and_changes_nothing(run_dir, data):
    for step in (2, 4, 6):
        truncate_data(run_dir, step)
    before = listing(run_dir)
    with pytest.raises(checkpoints.CheckpointError) as info:
        training.train(cfg_for(run_dir), data=data, verbose=0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{run_dir}/ckpt holds no readable checkpoint (ckpt-6: "
                              "IndexError: Read less bytes than requested; ckpt-4: ")
    assert listing(run_dir) == before
    # Through the export command: one line on stderr, exit status 2, no traceback.
    proc = subprocess.run([sys.executable, "-m", "tfgan_suite.export", f"--run_dir={run_dir}",
                           f"--export_dir={run_dir.parent / 'exports'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {message}"]
    assert "Traceback" not in proc.stderr
    tf.keras.backend.clear_session()


def test_restore_for_export_skips_a_damaged_checkpoint_and_moves_nothing(run_dir, capfd):
    truncate_data(run_dir, 6)
    before = listing(run_dir)
    _, _, model, step = training.restore(str(run_dir))
    err = capfd.readouterr().err
    assert step == 4
    assert f"note: checkpoint {ckpt(run_dir, 6)} (IndexError: Read less bytes than " \
           "requested) is unreadable; restoring ckpt-4\n" in err
    assert listing(run_dir) == before
    # The weights are those of ckpt-4, read with TensorFlow's own checkpoint reader (the
    # G optimizer holds G's trainable variables, in order).
    reader = tf.train.load_checkpoint(ckpt(run_dir, 4))
    weights = model.generator.trainable_weights
    assert weights
    for i, weight in enumerate(weights):
        saved = reader.get_tensor(f"g_optimizer/_trainable_variables/{i}/.ATTRIBUTES/"
                                  "VARIABLE_VALUE")
        np.testing.assert_array_equal(weight.numpy(), saved)
    tf.keras.backend.clear_session()


# ---- exports ---------------------------------------------------------------------------

def load_sample(version_dir, seed=3):
    """The `sample` signature's points for (num=5, seed), from a fresh load of the export."""
    sample = tf.saved_model.load(version_dir).signatures["sample"]
    return sample(num=tf.constant(5), seed=tf.constant(seed, tf.int64))["samples"].numpy()


def test_a_failed_export_keeps_the_previous_version_and_the_next_one_succeeds(
        tmp_path, data, monkeypatch):
    export_base = tmp_path / "exports" / "nsgan"
    first = training.train(cfg_for(tmp_path / "run", steps=2, export=True,
                                   export_dir=str(tmp_path / "exports")), data=data, verbose=0)
    assert first.export_path == str(export_base / "1")
    v1 = load_sample(first.export_path)
    tf.keras.backend.clear_session()

    real_save = tf.saved_model.save
    written = []

    def save_then_fail(obj, export_dir, **kwargs):
        real_save(obj, export_dir, **kwargs)  # the files are written ...
        written.extend(os.listdir(export_dir))
        raise OSError(28, "No space left on device")  # ... and then the disk is full

    monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
    with pytest.raises(training.ExportFailed) as info:
        training.train(cfg_for(tmp_path / "run", steps=4, export=True,
                               export_dir=str(tmp_path / "exports")), data=data, verbose=0)
    assert "saved_model.pb" in written
    message = str(info.value)
    assert "\n" not in message
    assert "training finished at step 4" in message and "No space left on device" in message
    assert f"python -m tfgan_suite.export --run_dir={tmp_path / 'run'}" in message
    assert "Run the same command again" in message
    # What a server loads is still version 1, whole; nothing else is in the directory.
    assert os.listdir(export_base) == ["1"]
    assert export_dirs.resolve_model_dir(str(export_base)) == str(export_base / "1")
    np.testing.assert_array_equal(
        load_sample(export_dirs.resolve_model_dir(str(export_base))), v1)
    tf.keras.backend.clear_session()

    # Exporting again (the command the message names) publishes version 2, of step 4.
    monkeypatch.setattr(tf.saved_model, "save", real_save)
    cfg, spec, model, step = training.restore(str(tmp_path / "run"))
    assert step == 4
    path = model.export(cfg, spec, step)
    assert path == str(export_base / "2")
    assert export_dirs.resolve_model_dir(str(export_base)) == path
    assert export_dirs.read_meta(str(export_base))["step"] == 4
    # Version 2 holds the step-4 generator: the same seed gives other points.
    assert not np.allclose(load_sample(path), v1)
    tf.keras.backend.clear_session()


def test_the_same_command_again_exports_a_run_whose_export_failed(tmp_path, data,
                                                                  monkeypatch, capfd):
    export_base = tmp_path / "exports" / "nsgan"
    settings = dict(steps=2, export=True, export_dir=str(tmp_path / "exports"))

    def failing_save(obj, export_dir, **kwargs):
        raise OSError(28, "No space left on device")

    real_save = tf.saved_model.save
    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(training.ExportFailed):
        training.train(cfg_for(tmp_path / "run", **settings), data=data, verbose=0)
    assert not os.path.exists(export_base / "1")
    assert training.exported_step(str(tmp_path / "run")) is None
    tf.keras.backend.clear_session()

    monkeypatch.setattr(tf.saved_model, "save", real_save)
    capfd.readouterr()
    again = training.train(cfg_for(tmp_path / "run", **settings), data=data, verbose=0)
    out = capfd.readouterr().out
    assert "nothing to train" in out and "has no export of step 2" in out
    assert again.export_path == str(export_base / "1")
    assert export_dirs.read_meta(str(export_base))["step"] == 2
    assert training.exported_step(str(tmp_path / "run")) == 2
    tf.keras.backend.clear_session()

    # Exported once: a third run of the command trains and exports nothing.
    third = training.train(cfg_for(tmp_path / "run", **settings), data=data, verbose=0)
    assert third.export_path is None and os.listdir(export_base) == ["1"]
    tf.keras.backend.clear_session()


KILLED_EXPORT = """
import os, sys, time
from tfgan_suite import export_dirs

def save(d):
    os.makedirs(os.path.join(d, "variables"))
    open(os.path.join(d, "saved_model.pb"), "wb").write(b"half")
    print("WRITING", d, flush=True)
    time.sleep(600)

export_dirs.write_version(sys.argv[1], save, {})
"""


def test_a_killed_export_is_not_a_version_and_the_next_export_cleans_up(tmp_path, capfd):
    base = tmp_path / "nsgan"
    real = export_dirs.write_version(str(base), lambda d: tf.saved_model.save(tf.Module(), d),
                                     {"step": 1})
    assert real == str(base / "1")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_EXPORT, str(base)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITING"), line
        proc.kill()  # SIGKILL: no cleanup runs
    finally:
        proc.wait(timeout=60)
    leftover = f".tmp-2-{proc.pid}"
    assert sorted(os.listdir(base)) == [leftover, "1"]
    # A server (highest integer version) and the suite's readers still see version 1.
    assert export_dirs.versions(str(base)) == {1: "1"}
    assert export_dirs.next_version(str(base)) == 2
    assert export_dirs.resolve_model_dir(str(base)) == real
    tf.saved_model.load(export_dirs.resolve_model_dir(str(base)))

    # The next export removes the leftover (its process is gone) and takes version 2.
    second = export_dirs.write_version(str(base), lambda d: tf.saved_model.save(tf.Module(), d),
                                       {"step": 2})
    assert second == str(base / "2")
    assert sorted(os.listdir(base)) == ["1", "2"]
    assert f"note: removed {base / leftover}, left by an export that did not finish" in \
        capfd.readouterr().err
    assert export_dirs.read_meta(str(base)) == {"step": 2}


def test_a_temporary_directory_of_a_running_export_is_left_alone(tmp_path):
    base = tmp_path / "nsgan"
    running = base / f".tmp-1-{os.getppid()}"  # a live process: maybe an export in progress
    running.mkdir(parents=True)
    assert export_dirs.remove_leftovers(str(base)) == []
    assert running.is_dir()
    assert export_dirs.versions(str(base)) == {}
