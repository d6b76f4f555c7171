"""`python train.py --variant=NAME ...`: flags and wiring only; the logic is in `training`.

Every shared setting (`tfgan_suite.config.Config`) and every variant's own parameter (its
`Params`) is a flag of the same name. A flag left out takes the variant's default, then
the suite's; only flags given on the command line (or in a `--flagfile`) override anything,
and a variant refuses another variant's parameter. `--tflite` and `--tflite_quantize` (not
settings of the run: they act on its export) also write TFLite copies of the export.
"""

import dataclasses
import sys
import typing

from absl import app, flags, logging

from tfgan_suite import config as config_lib
from tfgan_suite import threads, tflite
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error

FLAGS = flags.FLAGS

_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, bool: flags.DEFINE_boolean}


def _base_type(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def _declarations():
    """(field, note on its default) of every flag: the shared settings, then each variant
    parameter once, with the variants that take it."""
    from tfgan_suite import variants

    shared = {f.name: f for f in dataclasses.fields(config_lib.Config)}
    out = []
    for name in config_lib.SHARED:
        field = shared[name]
        default = "automatic" if field.default is None else field.default
        out.append((field, f"suite default: {default}; variants may set their own"))
    for param, owners in config_lib.param_owners().items():
        field = {f.name: f for f in dataclasses.fields(variants.get(owners[0]).params)}[param]
        out.append((field, f"{', '.join(owners)} only"))
    return out


def define_flags():
    """One flag per setting, with its help text and where its default comes from."""
    for field, note in _declarations():
        define = _DEFINE[_base_type(field.type)]
        define(field.name, None, f"{field.metadata['help']} [{note}]")


def explicit_settings():
    """The flags the user gave, as a dict for `training.resolve_config`."""
    return {field.name: FLAGS[field.name].value for field, _ in _declarations()
            if FLAGS[field.name].present}


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}; all settings are --flags "
                    "(see --help)")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # absl's default (INFO) floods the console
    try:
        forms = tflite.check_quantizations(FLAGS.tflite_quantize)
    except tflite.TFLiteError as e:
        usage_error(str(e))
    if FLAGS.tflite and FLAGS["export"].present and not FLAGS.export:
        usage_error("--tflite converts the exported SavedModel; it cannot be combined with --noexport")
    from tfgan_suite import cluster, training
    from tfgan_suite.data import DataError
    from tfgan_suite.nets import ArchitectureError
    from tfgan_suite.variants import UnknownVariantError

    try:
        cfg = training.resolve_config(explicit_settings())
        # The process is this run's alone: its thread pools, before TensorFlow starts.
        threads.apply(cfg.intra_op_threads, cfg.inter_op_threads)
        result = training.train(cfg)
    except (UnknownVariantError, config_lib.ConfigError, DataError, ArchitectureError) as e:
        usage_error(str(e))
    except training.Interrupted as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(128 + int(e.signum))
    except (training.TrainingError, cluster.ClusterError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"Run directory: {result.run_dir} (view with: tensorboard --logdir "
          f"{result.run_dir})")
    if result.export_path:
        print(f"Exported generator: {result.export_path}")
        if FLAGS.tflite:
            print(tflite.summary(tflite.convert_saved_model(result.export_path, forms)))
    elif FLAGS.tflite:
        print("note: --tflite wrote nothing: this run exported no SavedModel", file=sys.stderr)


define_flags()
tflite.define_flags()


def run():
    """Console-script and `train.py` entry point."""
    app.run(main, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
    run()
