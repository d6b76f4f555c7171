"""Draw samples from an exported generator and save them as a picture.

    python -m tfgan_suite.sample --model saved_models/began --num 64 --out began.png
                                 [--seed 0] [--label K]
    python -m tfgan_suite.sample --model saved_models/began/3/generator.tflite ...

Why: the quickest look at what a trained model makes, from the deployable artifact
itself. Only `tf.saved_model.load` and the model's `sample` signature are used, so
any model exported by `tfgan_suite.serving` works and no training code is needed.
A `.tflite` file written by `export --tflite` is run by the TFLite interpreter on the
same z the SavedModel's `sample` signature draws for that seed (`tfgan_suite.tflite`).

Image models give a PNG grid (ceil(sqrt(num)) columns, 2-pixel padding). 2-D point
models give `<out stem>.npy` with the [num, 2] samples and a PNG scatter plot at
`--out`. The same --seed draws the same latent vectors on any machine. Usage errors are one
line on stderr and exit status 2.
"""

import os
from typing import Optional

from absl import flags

from tfgan_suite import export_dirs, images
from tfgan_suite.cli_utils import INT64_RANGE, define_model_flag, run_main, usage_error

GRID_PADDING = 2
_INT32_RANGE = (-2**31, 2**31 - 1)


class SampleError(ValueError):
    """The request cannot be served: a bad model path, or flags that do not fit the model."""


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines this command's flags (called by `run`, so importing defines none)."""
    define_model_flag(flag_values)
    flags.DEFINE_integer("num", 64, "Number of samples, >= 1.", flag_values=flag_values)
    flags.DEFINE_string("out", None, "PNG file to write; point models also write <stem>.npy.",
                        flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Sampling seed (int64); the same seed gives the same samples.",
                         flag_values=flag_values)
    flags.DEFINE_integer("label", None, "Class index for a conditional model (required for "
                         "those, rejected otherwise).", flag_values=flag_values)
    flags.mark_flags_as_required(["out"], flag_values=flag_values)


def sample_to_files(model: str, num: int, out: str, *, seed: int = 0,
                    label: Optional[int] = None) -> str:
    """Draws `num` samples from an exported model and writes them to `out`.

    Args:
        model: a SavedModel directory or an export base (highest version used).
        num: number of samples, >= 1.
        out: path of the PNG to write (a grid of images, or a scatter plot of 2-D
            points, which are also saved as `<out stem>.npy`).
        seed: int64 seed of the model's `sample` signature.
        label: class index for conditional models; must be None otherwise.

    Returns:
        A one-line summary of what was written.

    Raises:
        SampleError: with a one-line message saying what is wrong and what is accepted.
    """
    if num < 1:
        raise SampleError(f"--num must be >= 1, got {num}")
    if not out.lower().endswith(".png"):
        raise SampleError(f"--out must name a .png file, got {out!r}")
    if not INT64_RANGE[0] <= seed <= INT64_RANGE[1]:
        raise SampleError(f"--seed must fit in int64, got {seed}")
    if label is not None and not _INT32_RANGE[0] <= label <= _INT32_RANGE[1]:
        raise SampleError(f"--label must be a class index, got {label}")

    if model.lower().endswith(".tflite"):
        return _sample_tflite(model, num, out, seed=seed, label=label)
    model_dir, loaded = load_model(model)
    if "sample" not in loaded.signatures:
        raise SampleError(f"{model_dir} has no `sample` signature (it has {sorted(loaded.signatures)}); "
                          "models exported by tfgan_suite have one")
    sample_fn = loaded.signatures["sample"]

    conditional = "label" in sample_fn.structured_input_signature[1]
    if conditional and label is None:
        raise SampleError(f"{model_dir} is a conditional model: pass --label=K with K in "
                          f"{_class_range(model_dir)}")
    if not conditional and label is not None:
        raise SampleError(f"{model_dir} is unconditional: it takes no --label (got --label={label})")

    import tensorflow as tf

    from tfgan_suite import graph_checks

    inputs = {"num": tf.constant(num, tf.int32), "seed": tf.constant(seed, tf.int64)}
    if conditional:
        inputs["label"] = tf.fill([num], tf.constant(label, tf.int32))
    try:
        result = sample_fn(**inputs)
    except tf.errors.InvalidArgumentError as e:
        what = f"--label={label}" if conditional else "the request"
        raise SampleError(f"the model rejected {what}: {graph_checks.signature_error_reason(e)}") from None

    described = f"from {model_dir} (seed {seed}" + ("" if label is None else f", label {label}") + ")"
    return _write(result, out, num, model_dir, described)


def load_model(model: str):
    """Loads the SavedModel that `--model` names (a version directory, or an export base
    whose highest version is used, as TF Serving would).

    Returns:
        (model_dir, the object `tf.saved_model.load` returns).

    Raises:
        SampleError: one line naming what is wrong with the path and what is accepted.
    """
    parent, name = os.path.split(os.path.normpath(model))
    if not os.path.exists(model) and name.isdigit() and export_dirs.versions(parent):
        raise SampleError(f"--model: {parent} has no version {name}; it has versions "
                          f"{', '.join(map(str, export_dirs.versions(parent)))} (or pass {parent} for the highest)")
    if not os.path.isdir(model):
        problem = "is not a directory" if os.path.exists(model) else "does not exist"
        raise SampleError(f"--model: {model} {problem}; expected a SavedModel directory "
                          "(with saved_model.pb) or an export directory with version subdirectories")
    # Imported here so that the checks above answer at once, without loading TensorFlow.
    import tensorflow as tf

    from tfgan_suite import graph_checks

    try:
        model_dir = export_dirs.resolve_model_dir(model)
    except export_dirs.ExportError as e:
        raise SampleError(f"--model: {e}") from None
    try:
        loaded = tf.saved_model.load(model_dir)
    except Exception as e:  # Whatever the reason, the directory is not a usable model.
        raise SampleError(f"cannot load the SavedModel in {model_dir}: "
                          f"{graph_checks.signature_error_reason(e)}") from None
    return model_dir, loaded


def _sample_tflite(path: str, num: int, out: str, *, seed: int, label: Optional[int]) -> str:
    """`sample_to_files` for a `.tflite` generator: the same z as the SavedModel's `sample`
    signature draws for `seed`, decoded by the TFLite interpreter."""
    from tfgan_suite import tflite

    try:
        generator = tflite.TFLiteGenerator(path)
    except tflite.TFLiteError as e:
        raise SampleError(f"--model: {e}") from None
    if generator.conditional and label is None:
        k = generator.num_classes
        raise SampleError(f"{path} is a conditional model: pass --label=K with K in "
                          + (f"[0, {k})" if k else "[0, num_classes)"))
    if not generator.conditional and label is not None:
        raise SampleError(f"{path} is unconditional: it takes no --label (got --label={label})")
    try:
        result = generator.sample(num, seed, None if label is None else [label] * num)
    except tflite.TFLiteError as e:
        raise SampleError(f"the model rejected the request: {e}") from None
    described = f"from {path} (seed {seed}" + ("" if label is None else f", label {label}") + ")"
    return _write(result, out, num, os.path.dirname(os.path.abspath(path)), described)


def _write(result: dict, out: str, num: int, model_dir: str, described: str) -> str:
    """Writes a grid (image models) or a scatter plot and .npy (2-D models) to `out`."""
    import numpy as np

    try:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        if "images_uint8" in result:
            batch = np.asarray(result["images_uint8"])
            grid = images.tile_images(batch, padding=GRID_PADDING)
            images.write_png(out, grid)
            _, height, width, channels = batch.shape
            return (f"wrote {out}: {num} samples of {height}x{width}x{channels} {described} "
                    f"as a {grid.shape[0]}x{grid.shape[1]} grid")
        points = np.asarray(result["samples"])
        if points.ndim != 2 or points.shape[1] != 2:
            raise SampleError(f"{model_dir} makes samples of shape {list(points.shape)}; this command "
                              "draws images (an `images_uint8` output) or 2-D points [num, 2]")
        npy_path = os.path.splitext(out)[0] + ".npy"
        np.save(npy_path, points)
        images.write_png(out, images.rasterize_points(points, modes=_mixture_modes(model_dir)))
        return f"wrote {out} and {npy_path}: {num} 2-D points {described}"
    except OSError as e:
        raise SampleError(f"cannot write {out}: {e.strerror or e}") from None


def _mixture_modes(model_dir: str):
    """The true mode centres of the mixture the model was trained on (ring8, grid25), or
    None when its metadata names no known mixture: the plot then frames the points."""
    from tfgan_suite.data import MIXTURES

    try:
        dataset = export_dirs.read_meta(model_dir).get("dataset")
    except export_dirs.ExportError:
        return None
    return MIXTURES[dataset][0] if dataset in MIXTURES else None


def _class_range(model_dir: str) -> str:
    """"[0, K)" from the model's metadata, or a generic phrase when there is none."""
    try:
        num_classes = export_dirs.read_meta(model_dir).get("num_classes")
    except export_dirs.ExportError:
        num_classes = None
    return f"[0, {num_classes})" if isinstance(num_classes, int) else "[0, num_classes)"


def main(argv) -> None:
    if len(argv) > 1:
        usage_error(f"unexpected arguments {argv[1:]}; use flags, e.g. --model DIR --num 64 --out grid.png")
    values = flags.FLAGS
    try:
        print(sample_to_files(values.model, values.num, values.out, seed=values.seed, label=values.label))
    except SampleError as e:
        usage_error(str(e))


def run() -> None:
    """Console entry point (`tfgan-sample`, `python -m tfgan_suite.sample`)."""
    run_main(main, define_flags)


if __name__ == "__main__":
    run()
