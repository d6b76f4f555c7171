"""TFLite copies of an exported generator, and a runner that reads them.

Why: phones and micro-controllers run TFLite, not SavedModels. The conversion takes a
finished SavedModel directory (whatever wrote it, and however atomically), so it composes
with any export path: `python -m tfgan_suite.export --tflite` and `train.py --tflite`
call `convert_saved_model` on the version directory they have just written.

Where the files go: inside the SavedModel version directory, next to `saved_model.pb`:

    saved_models/<variant>/<version>/saved_model.pb
                                    /variables/
                                    /generator.tflite            (float32)
                                    /generator_float16.tflite    (float16 weights)
                                    /generator_dynamic.tflite    (int8 weights, dynamic range)

TensorFlow Serving reads only `saved_model.pb`, `variables/` and `assets*` there and
ignores other files, so the server is not disturbed; the TFLite generator is versioned with
the exact SavedModel it was converted from and its metadata (`assets.extra/tfgan_suite.json`)
is found beside it; a sibling of the version directories would be overwritten by the next
version. Each file is written under a temporary name and renamed into place.

Only the `serving_default` signature is converted (z, and label for conditional models, to
`samples` and `images_uint8`): the `sample` signature draws z with a stateless Philox normal,
which TFLite has no kernel for; `TFLiteGenerator.sample` draws the same z in Python instead.
The graph-side input checks (`tf.debugging.Assert`) are dropped by the converter; the
runner checks shapes and labels itself.
"""

import os
from typing import Dict, Iterable, Optional

QUANTIZATIONS = ("none", "float16", "dynamic")
_FILENAMES = {"none": "generator.tflite", "float16": "generator_float16.tflite",
              "dynamic": "generator_dynamic.tflite"}


def define_flags(flag_values=None) -> None:
    """`--tflite` and `--tflite_quantize`, shared by `export` and `train.py`."""
    from absl import flags

    flag_values = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_boolean("tflite", False, "also write the generator as TFLite inside the exported "
                         "SavedModel version directory (generator.tflite, see tfgan_suite/tflite.py)",
                         flag_values=flag_values)
    flags.DEFINE_list("tflite_quantize", ["none"], "with --tflite: forms to write, a comma-separated "
                      "subset of none (float32, generator.tflite), float16 (generator_float16.tflite), "
                      "dynamic (int8 weights, generator_dynamic.tflite)", flag_values=flag_values)


def summary(written: Dict[str, str]) -> str:
    """One line naming each file written and its size."""
    return "Wrote TFLite: " + ", ".join(f"{path} ({os.path.getsize(path) / 1024:.0f} KiB)"
                                        for path in written.values())


class TFLiteError(ValueError):
    """A TFLite generator cannot be written or used: bad form, missing file, bad input."""


def filename(quantize: str) -> str:
    """The file name of one form: `generator.tflite`, `generator_float16.tflite`, ..."""
    check_quantizations([quantize])
    return _FILENAMES[quantize]


def check_quantizations(forms: Iterable[str]) -> list:
    """Returns `forms` as a list without repeats; raises TFLiteError naming a bad one."""
    forms = list(dict.fromkeys(f.strip() for f in forms))
    bad = [f for f in forms if f not in QUANTIZATIONS]
    if bad or not forms:
        raise TFLiteError(f"--tflite_quantize takes a comma-separated subset of "
                          f"{','.join(QUANTIZATIONS)}; unknown: {','.join(bad) or 'an empty list'}")
    return forms


def convert_bytes(model_dir: str, quantize: str = "none") -> bytes:
    """Converts the `serving_default` signature of the SavedModel in `model_dir` to TFLite.

    Args:
        model_dir: a SavedModel directory (holding `saved_model.pb`).
        quantize: "none" (float32), "float16" (weights stored as float16, computed in
            float32) or "dynamic" (weights stored as int8, dynamic-range quantisation).

    Returns:
        The flatbuffer contents.
    """
    import tensorflow as tf

    check_quantizations([quantize])
    converter = tf.lite.TFLiteConverter.from_saved_model(model_dir, signature_keys=["serving_default"])
    if quantize in ("float16", "dynamic"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def convert_saved_model(model_dir: str, quantize: Iterable[str] = ("none",),
                        out_dir: Optional[str] = None) -> Dict[str, str]:
    """Writes one TFLite file per form in `quantize` for the SavedModel in `model_dir`.

    Args:
        model_dir: a finished SavedModel directory, e.g. `saved_models/dcgan/3`.
        quantize: forms among `QUANTIZATIONS`.
        out_dir: where to write; default `model_dir` (see the module docstring).

    Returns:
        {form: path written}.

    Raises:
        TFLiteError: an unknown form, or `model_dir` holds no SavedModel.
    """
    from tfgan_suite import export_dirs
    from tfgan_suite.files import atomic_write_bytes

    forms = check_quantizations(quantize)
    if not export_dirs.is_saved_model(model_dir):
        raise TFLiteError(f"{model_dir} holds no saved_model.pb; convert a SavedModel version directory")
    out_dir = model_dir if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for form in forms:
        path = os.path.join(out_dir, _FILENAMES[form])
        atomic_write_bytes(path, convert_bytes(model_dir, form))
        written[form] = path
    return written


class TFLiteGenerator:
    """Runs a `.tflite` generator written by `convert_saved_model`.

    Args:
        path: the `.tflite` file.

    Attributes:
        latent_dim: size of z.
        conditional: whether the model takes a `label` input.
        outputs: output names (`samples`, and `images_uint8` for image models).
        meta: the SavedModel metadata found beside the file (dict), or None.

    Example:
        >>> g = TFLiteGenerator("saved_models/dcgan/1/generator.tflite")
        >>> g(np.zeros([4, g.latent_dim], np.float32))["samples"].shape
        (4, 28, 28, 1)
    """

    def __init__(self, path: str):
        import warnings

        import tensorflow as tf

        from tfgan_suite import export_dirs

        if not os.path.isfile(path):
            raise TFLiteError(f"{path} does not exist; expected a .tflite file written by "
                              "`python -m tfgan_suite.export --tflite`")
        with warnings.catch_warnings():  # tf.lite.Interpreter warns that it moves to LiteRT
            warnings.simplefilter("ignore")
            try:
                self._interpreter = tf.lite.Interpreter(model_path=path)
            except (ValueError, RuntimeError) as e:
                raise TFLiteError(f"cannot read {path} as a TFLite model: {e}") from None
        signatures = self._interpreter.get_signature_list()
        if "serving_default" not in signatures:
            raise TFLiteError(f"{path} has no serving_default signature (it has {sorted(signatures)}); "
                              "files written by tfgan_suite.tflite have one")
        self._runner = self._interpreter.get_signature_runner("serving_default")
        inputs = self._runner.get_input_details()
        if "z" not in inputs:
            raise TFLiteError(f"{path} takes {sorted(inputs)}, not z; it is not a tfgan_suite generator")
        self.path = path
        self.latent_dim = int(inputs["z"]["shape_signature"][-1])
        self.conditional = "label" in inputs
        self.outputs = sorted(self._runner.get_output_details())
        try:
            self.meta = export_dirs.read_meta(os.path.dirname(os.path.abspath(path)))
        except export_dirs.ExportError:
            self.meta = None

    @property
    def num_classes(self) -> Optional[int]:
        value = (self.meta or {}).get("num_classes")
        return value if isinstance(value, int) else None

    def __call__(self, z, label=None) -> dict:
        """Decodes z float32 [N, latent_dim] (with label int32 [N] if conditional)."""
        import numpy as np

        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise TFLiteError(f"z must have shape [N, {self.latent_dim}], got {list(z.shape)}")
        inputs = {"z": z}
        if self.conditional:
            if label is None:
                raise TFLiteError(f"{self.path} is a conditional model: it needs a label per row of z")
            label = np.asarray(label, np.int32).reshape(-1)
            if label.shape[0] != z.shape[0]:
                raise TFLiteError(f"label must have shape [{z.shape[0]}] (one per row of z), "
                                  f"got {list(label.shape)}")
            k = self.num_classes
            if k is not None and (label.min() < 0 or label.max() >= k):
                raise TFLiteError(f"label must be in [0, {k}), got {sorted(set(label.tolist()))}")
            inputs["label"] = label
        elif label is not None:
            raise TFLiteError(f"{self.path} is unconditional: it takes no label")
        return {name: np.asarray(value) for name, value in self._runner(**inputs).items()}

    def sample(self, num: int, seed: int, label=None) -> dict:
        """What the SavedModel's `sample` signature returns for (num, seed, label)."""
        from tfgan_suite import latent_codes

        return self(latent_codes.seed_z(num, seed, self.latent_dim), label)
