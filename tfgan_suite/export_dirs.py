"""Versioned export directories: write a model atomically, find it again, read its metadata.

Why: TensorFlow Serving polls a model's base directory and loads its highest integer
version, so an export must appear there whole or not at all, and every reader of the
suite's exports (`sample`, `evaluate`, the tests) must pick the same version a server
would. This module is that layout, for any SavedModel the suite writes (a generator in
`serving`, a recommender's scorer in `recsys_serving`); what goes inside is theirs.

Layout (one directory per export; a server picks the highest version):

    <export_base>/<version>/saved_model.pb
                           /variables/
                           /assets.extra/tfgan_suite.json   (metadata, see `read_meta`)

A version is written to `<export_base>/.tmp-<version>-<pid>` and renamed into place
when complete, so a model server polling `<export_base>` never sees half a model, and
a leftover `.tmp-*` directory of an interrupted export is never taken for a version.
An export that fails (disk full, an error while writing) removes its temporary directory;
one that is killed leaves it behind, and the next `write_version` on this machine
removes it (`remove_leftovers`). Either way the previous version stays the highest, and
the next export takes the next number.

    >>> path = write_version("saved_models/dcgan", lambda d: tf.saved_model.save(m, d), meta)
    >>> path, versions("saved_models/dcgan"), resolve_model_dir("saved_models/dcgan")
    ('saved_models/dcgan/3', {1: '1', 2: '2', 3: '3'}, 'saved_models/dcgan/3')
    >>> read_meta("saved_models/dcgan") == meta
    True
"""

import errno
import json
import os
import re
import shutil
import sys
from typing import Callable, Dict

META_DIR = "assets.extra"
META_FILENAME = "tfgan_suite.json"

_VERSION_NAME = re.compile(r"[0-9]+")
_TMP_NAME = re.compile(r"\.tmp-[0-9]+-([0-9]+)")
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_EXPECTED = ("expected a SavedModel directory (with saved_model.pb) or an export "
             "directory with integer version subdirectories such as 1/, 2/")


class ExportError(ValueError):
    """A model could not be exported, or a path does not hold an exported model."""


def versions(export_base: str) -> Dict[int, str]:
    """The versions in `export_base`, as {version: directory name} in increasing order.

    A version is a subdirectory whose name is a non-negative integer ("7" or "007";
    a server reads both as 7, and of two such names the lexically last one is kept).
    Files, other names and temporary `.tmp-*` directories are not versions. A missing
    `export_base` has none.
    """
    try:
        names = os.listdir(export_base)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found = {int(name): name for name in sorted(names)
             if _VERSION_NAME.fullmatch(name) and os.path.isdir(os.path.join(export_base, name))}
    return dict(sorted(found.items()))


def next_version(export_base: str) -> int:
    """1 + the highest version in `export_base`, or 1 if it holds none."""
    return max(versions(export_base), default=0) + 1


def is_saved_model(path: str) -> bool:
    """Whether `path` holds a `saved_model.pb` (or `.pbtxt`)."""
    return any(os.path.isfile(os.path.join(path, name)) for name in _SAVED_MODEL_FILES)


def write_version(export_base: str, save: Callable[[str], None], meta: dict) -> str:
    """Writes a new version of a model under `export_base`, all at once or not at all.

    Args:
        export_base: e.g. `saved_models/dcgan`; created if missing.
        save: writes the SavedModel into the directory it is given (which does not
            exist yet), e.g. `lambda d: tf.saved_model.save(module, d, signatures=...)`.
        meta: JSON-serialisable dict, written to `assets.extra/tfgan_suite.json`
            (indented, keys sorted) beside the SavedModel.

    Returns:
        The new version directory, `export_base/<version>`, where version is
        `next_version(export_base)` at the moment of the rename.

    Raises:
        Whatever `save` raises; the temporary directory is removed first, so a
        failed export leaves nothing in `export_base`.
    """
    os.makedirs(export_base, exist_ok=True)
    remove_leftovers(export_base)
    tmp_dir = os.path.join(export_base, f".tmp-{next_version(export_base)}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        save(tmp_dir)
        os.makedirs(os.path.join(tmp_dir, META_DIR), exist_ok=True)
        with open(os.path.join(tmp_dir, META_DIR, META_FILENAME), "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.write("\n")
        return _publish(tmp_dir, export_base)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def remove_leftovers(export_base: str) -> list:
    """Removes the `.tmp-<version>-<pid>` directories of exports that did not finish.

    A directory is a leftover when no process with its pid runs on this machine (the
    export was killed, or its machine restarted); one whose process still runs may be an
    export in progress and is left alone. Assumes the exports to `export_base` run on one
    machine: a pid written by another host sharing the directory means nothing here.
    Each removal is one note on stderr.

    Returns:
        The names removed.
    """
    removed = []
    try:
        names = sorted(os.listdir(export_base))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for name in names:
        match = _TMP_NAME.fullmatch(name)
        if not match or _process_runs(int(match.group(1))):
            continue
        shutil.rmtree(os.path.join(export_base, name), ignore_errors=True)
        removed.append(name)
        print(f"note: removed {os.path.join(export_base, name)}, left by an export that "
              "did not finish", file=sys.stderr)
    return removed


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover: this process is not writing it now
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # none with that pid (or none possible)
        return False
    except PermissionError:  # it exists, run by another user
        return True
    return True


def resolve_model_dir(path: str) -> str:
    """Returns the SavedModel directory that `path` designates.

    Args:
        path: a SavedModel directory (holding `saved_model.pb`), or an export base
            with integer version subdirectories, in which case the highest version
            is used, as TensorFlow Serving would. Other entries (such as a leftover
            `.tmp-*` directory of an interrupted export) are ignored.

    Returns:
        The SavedModel directory.

    Raises:
        ExportError: with a one-line message when `path` is neither.
    """
    if not os.path.exists(path):
        raise ExportError(f"{path} does not exist; {_EXPECTED}")
    if not os.path.isdir(path):
        raise ExportError(f"{path} is not a directory; {_EXPECTED}")
    if is_saved_model(path):
        return path
    found = versions(path)
    if not found:
        raise ExportError(f"{path} holds no saved_model.pb and no version subdirectories; {_EXPECTED}")
    latest = os.path.join(path, found[max(found)])
    if not is_saved_model(latest):
        raise ExportError(f"{latest} (the highest version in {path}) holds no saved_model.pb")
    return latest


def read_meta(model_dir: str) -> dict:
    """Reads the metadata written by `write_version`.

    Args:
        model_dir: a SavedModel directory or an export base (see `resolve_model_dir`).

    Returns:
        The `meta` dict given at export time.

    Raises:
        ExportError: no readable `assets.extra/tfgan_suite.json` (e.g. the SavedModel
            was not written by tfgan_suite).
    """
    model_dir = resolve_model_dir(model_dir)
    path = os.path.join(model_dir, META_DIR, META_FILENAME)
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise ExportError(f"{model_dir} has no {META_DIR}/{META_FILENAME}; "
                          "it was not exported by tfgan_suite") from None
    except (OSError, ValueError) as e:
        raise ExportError(f"cannot read {path}: {e}") from None
    if not isinstance(meta, dict):
        raise ExportError(f"{path} does not hold a JSON object")
    return meta


def _publish(tmp_dir: str, export_base: str) -> str:
    """Renames the finished `tmp_dir` to the next free version directory.

    `os.rename` is atomic and fails when the target is a non-empty directory, so if
    another process claims the same version first we take the next one.
    """
    for _ in range(100):
        target = os.path.join(export_base, str(next_version(export_base)))
        try:
            os.rename(tmp_dir, target)
            return target
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    raise ExportError(f"could not claim a free version directory in {export_base}")
