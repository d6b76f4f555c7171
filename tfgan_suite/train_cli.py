"""`python train.py --variant=NAME ...`: flags and wiring only; the logic is in `training`.

Every field of `tfgan_suite.config.Config` is a flag of the same name. A flag left out
takes the variant's default, then the suite's; only flags given on the command line (or in
a `--flagfile`) override anything.
"""

import dataclasses
import sys
import typing

from absl import app, flags, logging

from tfgan_suite import config as config_lib
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error

FLAGS = flags.FLAGS

_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, bool: flags.DEFINE_boolean}


def _base_type(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def define_flags():
    """One flag per Config field, with its help text and the suite default."""
    for field in dataclasses.fields(config_lib.Config):
        define = _DEFINE[_base_type(field.type)]
        suite_default = "automatic" if field.default is None else field.default
        define(field.name, None,
               f"{field.metadata['help']} [suite default: {suite_default}; variants may set "
               f"their own]")


def explicit_settings():
    """The flags the user gave, as a dict for `training.resolve_config`."""
    return {f.name: FLAGS[f.name].value for f in dataclasses.fields(config_lib.Config)
            if FLAGS[f.name].present}


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}; all settings are --flags "
                    "(see --help)")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # absl's default (INFO) floods the console
    # Imported here so that `--help` and flag errors answer before TensorFlow loads.
    from tfgan_suite import training
    from tfgan_suite.data import DataError
    from tfgan_suite.nets import ArchitectureError
    from tfgan_suite.variants import UnknownVariantError

    try:
        cfg = training.resolve_config(explicit_settings())
        result = training.train(cfg)
    except (UnknownVariantError, config_lib.ConfigError, DataError, ArchitectureError) as e:
        usage_error(str(e))
    except training.Interrupted as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(128 + int(e.signum))
    except training.TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"Run directory: {result.run_dir} (view with: tensorboard --logdir "
          f"{result.run_dir})")
    if result.export_path:
        print(f"Exported generator: {result.export_path}")


define_flags()


def run():
    """Console-script and `train.py` entry point."""
    app.run(main, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
    run()
