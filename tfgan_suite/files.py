"""Small file helpers shared by training and export."""

import os


def atomic_write_text(path, text):
    """Writes `text` to `path` so that a reader sees the old or the new file, never half."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def atomic_write_bytes(path, data):
    """Writes `data` to `path` so that a reader sees the old or the new file, never half."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
