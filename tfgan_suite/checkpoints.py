"""Which checkpoint of a run to restore: the newest one that reads back whole.

Why: a checkpoint on disk can be damaged even though the suite never leaves one half
written by itself (a machine that loses power, a full disk, a file truncated or deleted
by hand, a copy that stopped half-way). Restoring such a checkpoint fails deep inside
TensorFlow (`IndexError: Read less bytes than requested`, `DataLossError`,
`NotFoundError`, ...). A run instead falls back to the newest checkpoint that reads back
whole, says so in one line on stderr, and goes on; a run with no readable checkpoint at
all stops with one line (`CheckpointError`) and leaves every file where it is.

How `tf.train.CheckpointManager.save` writes (TF 2.21, seen with strace): the data file
is written under a temporary name in `ckpt-N_temp/` and renamed into place; the
`ckpt-N.index` file is then written in place (not renamed); only after both does the
manager rewrite its state file `checkpoint` (a temporary file renamed over the old one).
Nothing is fsync'ed. So a crash of the training process leaves the state file naming the
previous, complete checkpoint (at worst a damaged, unlisted `ckpt-N.index` lies beside
it); a crash of the machine or a file damaged later can leave the state file naming a
checkpoint whose files are incomplete. That case is what this module handles.

Readable means: the index parses and every tensor reads back with its checksum
(`tf.train.load_checkpoint` + `get_tensor`). Checks run newest first and stop at the
first readable checkpoint, so a resume reads that checkpoint twice (check, restore).

The checkpoints of a run are the ones its state file lists; if the state file is missing
or does not parse, the `ckpt-N.index` files in the directory.

The run that trains (`recover`) moves every damaged checkpoint newer than the one it
restores into `ckpt/damaged/` (kept for inspection, out of the manager's way) and
rewrites the state file to list only the remaining ones, so the manager's later saves
(`ckpt-N` again, the `max_to_keep` rotation) see no trace of them. Readers (`export`,
`restore`) only skip them and change nothing.

    >>> path = recover("runs/dcgan/x/ckpt")   # train: may move damaged ones aside
    note: checkpoint runs/dcgan/x/ckpt/ckpt-30 (IndexError: Read less bytes than
    requested) is unreadable; resuming from ckpt-20 (moved ckpt-30 to
    runs/dcgan/x/ckpt/damaged/)
    >>> path
    'runs/dcgan/x/ckpt/ckpt-20'
"""

import glob
import os
import re
import sys

import tensorflow as tf

from tfgan_suite.files import atomic_write_text
from tfgan_suite.settings import ConfigError

DAMAGED_DIR = "damaged"
STATE_FILE = "checkpoint"  # tf.train.CheckpointManager's list of checkpoints
_INDEX_NAME = re.compile(r"ckpt-([0-9]+)\.index")
_STEP = re.compile(r"-([0-9]+)$")
# A reason is the first line of the error, cut to this many characters.
_REASON_CHARS = 160


class CheckpointError(ConfigError):
    """A run whose checkpoints are all unreadable; the message names each and why."""


def listed(ckpt_dir):
    """The checkpoints of `ckpt_dir` as path prefixes, oldest first.

    Those the state file `checkpoint` lists (its latest last); when it is missing or does
    not parse, every `ckpt-N` with an index file, in step order. A listed checkpoint whose
    files are gone is still listed: it is a damaged one, not none.
    """
    state = tf.train.get_checkpoint_state(ckpt_dir)  # None: missing or unparseable
    if state is not None and state.model_checkpoint_path:
        paths = [p for p in state.all_model_checkpoint_paths
                 if p != state.model_checkpoint_path]
        return paths + [state.model_checkpoint_path]
    try:
        names = os.listdir(ckpt_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    steps = sorted(int(m.group(1)) for m in map(_INDEX_NAME.fullmatch, names) if m)
    return [os.path.join(ckpt_dir, f"ckpt-{step}") for step in steps]


def unreadable_reason(path):
    """None if the checkpoint `path` reads back whole, else "ErrorType: first line"."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as e:  # any failure to read is a damaged checkpoint; it is reported
        lines = str(e).strip().splitlines() or [""]
        reason = lines[0][:_REASON_CHARS] + ("..." if len(lines[0]) > _REASON_CHARS else "")
        return f"{type(e).__name__}: {reason}"
    return None


def newest_readable(ckpt_dir):
    """(path, skipped): the newest readable checkpoint and the newer unreadable ones.

    `skipped` is [(path, reason)], newest first; `path` is None when `ckpt_dir` holds
    checkpoints (`listed`) but none is readable, or none at all.
    """
    skipped = []
    for path in reversed(listed(ckpt_dir)):
        reason = unreadable_reason(path)
        if reason is None:
            return path, skipped
        skipped.append((path, reason))
    return None, skipped


def latest(ckpt_dir, *, purpose="restoring"):
    """The checkpoint to read, without changing anything (export, evaluation).

    Prints one note on stderr when it skips damaged checkpoints; None when `ckpt_dir`
    holds no checkpoint at all.

    Raises:
        CheckpointError: checkpoints exist but none is readable.
    """
    path, skipped = newest_readable(ckpt_dir)
    _report(ckpt_dir, path, skipped, purpose, moved=None)
    return path


def recover(ckpt_dir, *, purpose="resuming from"):
    """The checkpoint a training run restores; damaged newer ones are moved aside.

    Each skipped checkpoint's files (`ckpt-N.index`, `ckpt-N.data-*`) move to
    `ckpt_dir/damaged/` (an older damaged copy of the same name there is replaced), and
    the state file is rewritten to list the checkpoints left, the restored one last, so
    a `tf.train.CheckpointManager` made afterwards saves and rotates as if the damaged
    ones had never been written. A missing or unparseable state file is rewritten the
    same way (a manager would otherwise see no checkpoint and start the run over).
    Nothing changes when nothing is wrong, nor when no checkpoint is readable.

    Returns:
        The path prefix to restore, or None when `ckpt_dir` holds no checkpoint.

    Raises:
        CheckpointError: checkpoints exist but none is readable.
    """
    path, skipped = newest_readable(ckpt_dir)
    moved = None
    if path is not None and skipped:
        moved = os.path.join(ckpt_dir, DAMAGED_DIR)
        os.makedirs(moved, exist_ok=True)
        for bad, _ in skipped:
            for name in glob.glob(glob.escape(bad) + ".*"):
                os.replace(name, os.path.join(moved, os.path.basename(name)))
    _report(ckpt_dir, path, skipped, purpose, moved)
    if path is not None and (skipped or tf.train.get_checkpoint_state(ckpt_dir) is None):
        if not skipped:
            print(f"note: {os.path.join(ckpt_dir, STATE_FILE)} is missing or unreadable; "
                  f"rewritten from the checkpoint files, {purpose} {os.path.basename(path)}",
                  file=sys.stderr)
        _rewrite_state(ckpt_dir, path, {bad for bad, _ in skipped})
    return path


def _rewrite_state(ckpt_dir, path, dropped):
    """Lists `path` as the latest checkpoint, the older ones kept, `dropped` left out.

    The state file is the text form of TensorFlow's `CheckpointState`, written the way
    the manager writes it (names relative to `ckpt_dir`, their save times, replaced
    atomically); `tf.train.get_checkpoint_state` reads it back.
    """
    keep = [p for p in listed(ckpt_dir)
            if p not in dropped and _step(p) < _step(path)] + [path]
    old = tf.train.get_checkpoint_state(ckpt_dir)
    stamps = dict(zip(old.all_model_checkpoint_paths, old.all_model_checkpoint_timestamps)
                  ) if old is not None else {}
    lines = [f'model_checkpoint_path: "{os.path.basename(path)}"']
    lines += [f'all_model_checkpoint_paths: "{os.path.basename(p)}"' for p in keep]
    if all(p in stamps for p in keep):
        lines += [f"all_model_checkpoint_timestamps: {stamps[p]!r}" for p in keep]
    if old is not None and old.last_preserved_timestamp:
        lines.append(f"last_preserved_timestamp: {old.last_preserved_timestamp!r}")
    atomic_write_text(os.path.join(ckpt_dir, STATE_FILE), "\n".join(lines) + "\n")


def _step(path):
    match = _STEP.search(path)
    return int(match.group(1)) if match else -1


def _report(ckpt_dir, path, skipped, purpose, moved):
    if not skipped:
        return
    if path is None:
        detail = "; ".join(f"{os.path.basename(p)}: {reason}" for p, reason in skipped)
        raise CheckpointError(
            f"{ckpt_dir} holds no readable checkpoint ({detail}); nothing was changed. "
            f"Restore the files from a copy, or move {ckpt_dir} away to start the run over")
    names = ", ".join(f"{p} ({reason})" for p, reason in skipped)
    verb = "is" if len(skipped) == 1 else "are"
    noun = "checkpoint" if len(skipped) == 1 else "checkpoints"
    note = f"note: {noun} {names} {verb} unreadable; {purpose} {os.path.basename(path)}"
    if moved:
        note += (f" (moved {', '.join(os.path.basename(p) for p, _ in skipped)} "
                 f"to {moved}/)")
    print(note, file=sys.stderr)
