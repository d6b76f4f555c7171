"""Export a recommender's scorer (IRGAN's generator) as a SavedModel with a `score` signature.

Same layout and guarantees as `tfgan_suite.serving.export_generator`, from the same
parts: a versioned directory written under a temporary name and renamed into place,
with metadata in `assets.extra/tfgan_suite.json` (`export_dirs`), and input checks
inside the graph (`graph_checks`); loadable with plain `tf.saved_model.load`:

    score(user int32 [N]) -> scores float32 [N, num_items]      (also `serving_default`)

A user id outside [0, num_users) or an input of another rank fails with a message naming
the expected input, e.g. "score: user must have shape [N], got [2, 3]".

    >>> scorer = tf.saved_model.load("saved_models/irgan/1").signatures["score"]
    >>> scorer(user=tf.constant([0, 5]))["scores"].shape
    TensorShape([2, 1682])
"""

import keras
import tensorflow as tf

from tfgan_suite import export_dirs, graph_checks

_META_KEYS = ("variant", "dataset", "kind", "num_users", "num_items", "step",
              "tfgan_suite_version")


def export_scorer(scorer: keras.Model, export_base: str, *, meta: dict) -> str:
    """Writes `scorer` (users int [N] -> scores [N, num_items]) as a new version.

    Args:
        scorer: e.g. a `MatrixFactorization`.
        export_base: e.g. `saved_models/irgan`; created if missing.
        meta: JSON-serialisable dict with at least variant, dataset, kind ("recsys"),
            num_users, num_items, step and tfgan_suite_version.

    Returns:
        The new version directory.

    Raises:
        export_dirs.ExportError: incomplete `meta`, or a scorer whose output does not
            match it (the same class as `serving.ExportError`).
    """
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise export_dirs.ExportError(f"`meta` lacks {missing}; it needs {list(_META_KEYS)}")
    num_users, num_items = int(meta["num_users"]), int(meta["num_items"])
    shape = list(scorer(tf.constant([0, num_users - 1], tf.int32)).shape)
    if shape != [2, num_items]:
        raise export_dirs.ExportError(f"the scorer maps user [2] to {shape}, but meta says "
                                      f"num_items={num_items}")

    def save(version_dir):
        module, signatures = _scoring_module(scorer, num_users)
        tf.saved_model.save(module, version_dir, signatures=signatures)

    return export_dirs.write_version(export_base, save, meta)


def _scoring_module(scorer, num_users):
    def score(user):
        checks = [lambda: graph_checks.assert_shape("score: user", user, []),
                  lambda: graph_checks.assert_in_range("score: user", user, num_users)]
        (user,) = graph_checks.after_checks(checks, user)
        user.set_shape([None])
        return {"scores": tf.cast(scorer(user, training=False), tf.float32)}

    fn = tf.function(score, input_signature=[tf.TensorSpec([None], tf.int32, name="user")])
    concrete = fn.get_concrete_function()
    signatures = {"serving_default": concrete, "score": concrete}
    module = tf.Module(name="tfgan_suite_recsys_export")
    module.variables_used = list(concrete.variables)
    return module, signatures


def saved_model_scores(model_dir: str, num_users: int, batch: int = 1024):
    """Every user's scores from an exported `score` signature, NumPy float32 [U, num_items].

    Raises:
        ValueError: the SavedModel cannot be loaded or has no `score` signature.
    """
    import numpy as np

    try:
        loaded = tf.saved_model.load(model_dir)
    except Exception as e:  # Whatever the reason, the directory is not a usable model.
        raise ValueError(f"cannot load the SavedModel: {graph_checks.signature_error_reason(e)}") from None
    if "score" not in loaded.signatures:
        raise ValueError(f"no `score` signature (it has {sorted(loaded.signatures)})")
    score = loaded.signatures["score"]
    return np.concatenate([
        score(user=tf.range(start, min(start + batch, num_users), dtype=tf.int32))["scores"].numpy()
        for start in range(0, num_users, batch)])
