"""Export a trained generator as a SavedModel that TensorFlow Serving can load.

Why: a trained GAN is only useful if its generator can be run elsewhere. The export
contains the generator (never the training wrapper; the discriminator only when its
features are asked for, `features=`), and it is
loadable with plain `tf.saved_model.load` in a process that has TensorFlow but not
tfgan_suite. This module holds what is particular to a generator: its metadata
schema, the check that the networks fit it, and the signatures below. The other parts
of an export are shared with `recsys_serving`: where it goes and how it is written
(`export_dirs`: a new integer version under the variant's directory, written under a
temporary name and renamed into place, with the metadata file) and the input checks
inside the signatures (`graph_checks`). The names readers have always imported from
here (`resolve_model_dir`, `read_meta`, `ExportError`, `signature_error_reason`,
`META_DIR`, `META_FILENAME`) are re-exported from those modules.

Signatures (DESIGN.md §5):

    serving_default(z float32 [N, latent_dim] (, label int32 [N]))
        -> samples float32: images in [0, 1] NHWC, or 2-D points as generated
           images_uint8 uint8 NHWC = round(samples * 255) (image models only)
    sample(num int32 [], seed int64 [] (, label int32 [num]))
        -> same outputs for z = stateless_normal([num, latent_dim], seed=[seed, 0],
           alg="philox"): a given seed gives the same samples in any process.
    encode(images float32 [N, H, W, C] in [0, 1]) -> z   (only when an encoder is given;
        a points model takes `points` [N, D] instead of `images`)
    features(images float32 [N, H, W, C] in [0, 1]) -> features float32 [N, F]
        (only when a feature network is given, e.g. a discriminator's pooled conv
        activations, `tfgan_suite.nets.features`; image models only)

The inputs are declared with their shapes (z [None, latent_dim], label [None], images
[None, *data_shape]), so `saved_model_cli show` and TF Serving's metadata show the
contract, and Python callers get an error naming the expected TensorSpec. Clients that do
not check static shapes (TF Serving's C++ session) meet `tf.debugging.Assert` ops inside
the graph instead: "serving_default: z must have shape [N, 64], got [2, 3]". The expected
shapes are also in the metadata file.
"""

import json
from typing import Optional

import keras
import tensorflow as tf

from tfgan_suite import export_dirs, graph_checks
from tfgan_suite.export_dirs import META_DIR, META_FILENAME, ExportError, read_meta, resolve_model_dir
from tfgan_suite.graph_checks import signature_error_reason

__all__ = ["export_generator", "ExportError", "read_meta", "resolve_model_dir",
           "signature_error_reason", "META_DIR", "META_FILENAME"]

# Required metadata keys and their JSON types (bool is rejected where int is meant).
_META_TYPES = {
    "variant": str,
    "dataset": str,
    "latent_dim": int,
    "kind": str,
    "data_shape": (list, tuple),
    "num_classes": (int, type(None)),
    "step": int,
    "tfgan_suite_version": str,
}
_DATA_RANK = {"image": 3, "points": 1}
# Optional: which generator an export holds (a run with the generator EMA exports the
# averaged one by default).
_GENERATORS = ("raw", "ema")


def export_generator(generator: keras.Model, export_base: str, *, meta: dict,
                     encoder: Optional[keras.Model] = None,
                     features: Optional[keras.Model] = None) -> str:
    """Writes `generator` as a new SavedModel version under `export_base`.

    The new version is 1 + the largest integer subdirectory of `export_base` (1 if
    there is none). The generator runs in inference mode (`training=False`, so batch
    normalisation uses its moving statistics).

    Args:
        generator: maps z float32 [N, latent_dim] to float32 [N, *data_shape]: images
            in [-1, 1] NHWC (tanh) or points in data coordinates. A conditional
            generator (`meta["num_classes"]` not None) is called as
            `generator([z, label])` with label int32 [N].
        export_base: the variant's export directory, e.g. `saved_models/began`;
            created if missing.
        meta: JSON-serialisable dict with at least `variant` (str), `dataset` (str),
            `latent_dim` (int), `kind` ("image" or "points"), `data_shape` (list, e.g.
            [28, 28, 1] or [2]), `num_classes` (int or None), `step` (int) and
            `tfgan_suite_version` (str); optionally `generator`, "ema" (the averaged
            generator of `--ema_decay`, with `ema_decay` and `ema_start`) or "raw".
            Written to `assets.extra/tfgan_suite.json`.
        encoder: optional (BiGAN) network mapping data as the generator produces it
            ([-1, 1] images, or points) to z [N, latent_dim]; exported as the
            `encode` signature, whose input is `images` in [0, 1] (rescaled inside)
            or `points`.
        features: optional network mapping images as the generator produces them
            ([-1, 1]) to features [N, F] (`tfgan_suite.nets.features`); exported as the
            `features` signature, input `images` in [0, 1], output `features`. It only
            adds a signature (and the network's variables): the others are unchanged.
            `meta` then records `feature_dim` and, if given, `features_of`.

    Returns:
        The path of the new version directory, `export_base/<version>`.

    Raises:
        ExportError: `meta` is incomplete or the networks do not match it.

    Example:
        >>> path = export_generator(g, "saved_models/dcgan", meta={..., "latent_dim": 64})
        >>> tf.saved_model.load(path).signatures["sample"](
        ...     num=tf.constant(16), seed=tf.constant(0, tf.int64))["images_uint8"].shape
        TensorShape([16, 28, 28, 1])
    """
    meta = _checked_meta(meta)
    _check_network_shapes(generator, encoder, meta)
    if features is not None:
        meta["feature_dim"] = _check_feature_shapes(features, meta)

    def save(version_dir):
        module, signatures = _serving_module(generator, encoder, meta, features)
        tf.saved_model.save(module, version_dir, signatures=signatures)

    return export_dirs.write_version(export_base, save, meta)


def _checked_meta(meta: dict) -> dict:
    """Validates `meta` and returns a copy with `data_shape` as a list of ints."""
    if not isinstance(meta, dict):
        raise ExportError(f"`meta` must be a dict. Received: {type(meta).__name__}")
    missing = sorted(set(_META_TYPES) - set(meta))
    if missing:
        raise ExportError(f"`meta` lacks {missing}; it needs {sorted(_META_TYPES)}")
    for key, types in _META_TYPES.items():
        value = meta[key]
        if not isinstance(value, types) or (isinstance(value, bool) and types is not str):
            raise ExportError(f"`meta[{key!r}]` has the wrong type. Received: {key}={value!r}")
    meta = dict(meta, data_shape=list(meta["data_shape"]))
    if meta["latent_dim"] < 1:
        raise ExportError(f"`latent_dim` must be >= 1. Received: latent_dim={meta['latent_dim']}")
    if meta["kind"] not in _DATA_RANK:
        raise ExportError(f"`kind` must be one of {sorted(_DATA_RANK)}. Received: kind={meta['kind']!r}")
    shape = meta["data_shape"]
    if (len(shape) != _DATA_RANK[meta["kind"]]
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)):
        expected = "[H, W, C]" if meta["kind"] == "image" else "[D]"
        raise ExportError(f"`data_shape` must be {expected} with positive ints for kind={meta['kind']!r}. "
                          f"Received: data_shape={shape}")
    if meta.get("generator", "raw") not in _GENERATORS:
        raise ExportError(f"`generator` must be one of {list(_GENERATORS)}. Received: "
                          f"generator={meta['generator']!r}")
    if meta["num_classes"] is not None and meta["num_classes"] < 1:
        raise ExportError(f"`num_classes` must be None or >= 1. Received: num_classes={meta['num_classes']}")
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ExportError(f"`meta` is not JSON-serialisable: {e}") from None
    return meta


def _check_network_shapes(generator: keras.Model, encoder: Optional[keras.Model], meta: dict) -> None:
    """Runs the networks on a batch of 2 and checks their shapes against `meta`."""
    latent_dim, data_shape = meta["latent_dim"], meta["data_shape"]
    z = tf.zeros([2, latent_dim])
    inputs = z if meta["num_classes"] is None else [z, tf.zeros([2], tf.int32)]
    described = (f"z [2, {latent_dim}]" if meta["num_classes"] is None
                 else f"[z [2, {latent_dim}], label [2]]")
    try:
        output = generator(inputs, training=False)
    except Exception as e:  # Any failure here means the network does not fit `meta`.
        raise ExportError(f"the generator cannot be called on {described}: "
                          f"{signature_error_reason(e)}") from e
    if list(getattr(output, "shape", [])) != [2] + data_shape:
        raise ExportError(f"the generator maps {described} to shape {list(getattr(output, 'shape', []))}, "
                          f"but meta says data_shape={data_shape} (expected [2, {', '.join(map(str, data_shape))}])")
    if encoder is None:
        return
    try:
        code = encoder(tf.zeros([2] + data_shape), training=False)
    except Exception as e:
        raise ExportError(f"the encoder cannot be called on data of shape {[2] + data_shape}: "
                          f"{signature_error_reason(e)}") from e
    if list(getattr(code, "shape", [])) != [2, latent_dim]:
        raise ExportError(f"the encoder maps data of shape {[2] + data_shape} to "
                          f"{list(getattr(code, 'shape', []))}, expected [2, {latent_dim}]")


def _check_feature_shapes(features: keras.Model, meta: dict) -> int:
    """Runs the feature network on a batch of 2 images; returns its feature size F."""
    if meta["kind"] != "image":
        raise ExportError(f"a `features` signature is for image models; this one is "
                          f"kind={meta['kind']!r}")
    shape = [2] + meta["data_shape"]
    try:
        out = features(tf.zeros(shape), training=False)
    except Exception as e:
        raise ExportError(f"the feature network cannot be called on images of shape {shape}: "
                          f"{signature_error_reason(e)}") from e
    out_shape = list(getattr(out, "shape", []))
    if len(out_shape) != 2 or out_shape[0] != 2 or not out_shape[1]:
        raise ExportError(f"the feature network maps images of shape {shape} to {out_shape}, "
                          "expected [2, F]")
    return int(out_shape[1])


def _serving_module(generator: keras.Model, encoder: Optional[keras.Model], meta: dict,
                    features: Optional[keras.Model] = None):
    """Builds the object to save (it tracks the networks' variables) and its signatures."""
    latent_dim, data_shape = meta["latent_dim"], meta["data_shape"]
    num_classes, is_image = meta["num_classes"], meta["kind"] == "image"

    def outputs(z, label):
        network_input = z if label is None else [z, label]
        x = tf.cast(generator(network_input, training=False), tf.float32)
        if not is_image:
            return {"samples": x}
        samples = tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)
        images_uint8 = tf.cast(tf.clip_by_value(tf.round(samples * 255.0), 0.0, 255.0), tf.uint8)
        return {"samples": samples, "images_uint8": images_uint8}

    def label_checks(name, label, expected_length, length_name, note=""):
        """Checks label: rank 1 with `expected_length()` entries, each in [0, num_classes)."""
        def length_check():
            length = expected_length()
            ok = tf.logical_and(tf.equal(tf.rank(label), 1), tf.equal(tf.size(label), length))
            return graph_checks.assert_true(ok, [f"{name}: label must have shape [{length_name}] = [",
                                                 tf.strings.as_string(length), f"]{note}, got ",
                                                 graph_checks.format_ints(tf.shape(label))])
        return [length_check, lambda: graph_checks.assert_in_range(f"{name}: label", label, num_classes)]

    def serving_default(z, label=None):
        checks = [lambda: graph_checks.assert_shape("serving_default: z", z, [latent_dim])]
        if label is not None:
            checks += label_checks("serving_default", label, lambda: tf.shape(z)[0], "N",
                                   " (one per row of z)")
        z, label = graph_checks.after_checks(checks, z, label)
        z.set_shape([None, latent_dim])
        if label is not None:
            label.set_shape([None])
        return outputs(z, label)

    def sample(num, seed, label=None):
        checks = [lambda: graph_checks.assert_true(tf.greater_equal(num, 1),
                                                   ["sample: num must be >= 1, got ",
                                                    tf.strings.as_string(num)])]
        if label is not None:
            checks += label_checks("sample", label, lambda: num, "num")
        num, label = graph_checks.after_checks(checks, num, label)
        if label is not None:
            label.set_shape([None])
        z = tf.random.stateless_normal(tf.stack([num, latent_dim]),
                                       seed=tf.stack([seed, tf.constant(0, tf.int64)]),
                                       dtype=tf.float32, alg="philox")
        return outputs(z, label)

    # Signature input keys are the TensorSpec names.
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    label_spec = tf.TensorSpec([None], tf.int32, name="label")
    num_spec = tf.TensorSpec([], tf.int32, name="num")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    if num_classes is None:
        serving_fn = tf.function(lambda z: serving_default(z), input_signature=[z_spec])
        sample_fn = tf.function(lambda num, seed: sample(num, seed),
                                input_signature=[num_spec, seed_spec])
    else:
        serving_fn = tf.function(serving_default, input_signature=[z_spec, label_spec])
        sample_fn = tf.function(sample, input_signature=[num_spec, seed_spec, label_spec])
    signatures = {"serving_default": serving_fn.get_concrete_function(),
                  "sample": sample_fn.get_concrete_function()}

    def data_signature(name, network, output):
        """`name`(images in [0, 1] or points) -> {output: network(data as G makes it)}."""
        data_name = "images" if is_image else "points"

        def fn(data):
            (data,) = graph_checks.after_checks(
                [lambda: graph_checks.assert_shape(f"{name}: {data_name}", data, data_shape)], data)
            data.set_shape([None] + data_shape)
            network_input = data * 2.0 - 1.0 if is_image else data  # images: [0, 1] -> [-1, 1]
            return {output: tf.cast(network(network_input, training=False), tf.float32)}

        return tf.function(fn, input_signature=[
            tf.TensorSpec([None] + list(data_shape), tf.float32, name=data_name)]
        ).get_concrete_function()

    if encoder is not None:
        signatures["encode"] = data_signature("encode", encoder, "z")
    if features is not None:
        signatures["features"] = data_signature("features", features, "features")

    # The module tracks the tf.Variables the traced signatures capture (not the Keras
    # models nor their keras.Variable wrappers): the SavedModel then holds no Keras
    # objects, and graph-mode loaders (TF Serving, `saved_model_cli run`) restore
    # every variable a signature reads.
    module = tf.Module(name="tfgan_suite_export")
    module.variables_used = _unique(v for fn in signatures.values() for v in fn.variables)
    return module, signatures


def _unique(items) -> list:
    """`items` without repeats (by identity), in first-seen order."""
    seen, result = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            result.append(item)
    return result
