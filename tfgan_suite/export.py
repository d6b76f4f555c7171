"""`python -m tfgan_suite.export --run_dir=DIR`: export a run's generator as a SavedModel.

Restores the latest readable checkpoint of the run and writes the generator to
`<export_dir>/<variant>/<version>` exactly as the end of training does; useful for a run
that was interrupted, or trained with `--noexport`. A damaged newer checkpoint is skipped
with a note on stderr and left in place; with none readable, one error line (status 2). A run with the generator EMA
(`--ema_decay`) exports the averaged generator unless `--export_ema=false` (default: the
run's own `--export_ema`, itself true by default); the metadata's `generator` says which.
`--tflite` (with `--tflite_quantize=none,float16,dynamic`) also writes TFLite copies of the
new version inside its directory (`tfgan_suite.tflite`).
"""

from absl import app, flags

from tfgan_suite import tflite
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error

flags.DEFINE_string("run_dir", None, "run directory written by train.py (holds config.json "
                    "and ckpt/)")
flags.DEFINE_string("export_dir", None, "base directory of exports; default: the run's "
                    "--export_dir")
flags.DEFINE_boolean("export_ema", None, "for a run with --ema_decay: export the averaged "
                     "generator (false: the raw G); default: the run's --export_ema")
tflite.define_flags()
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])}")
    if not FLAGS.run_dir:
        usage_error("--run_dir is required: the run directory to export (runs/<variant>/<time>)")
    try:
        forms = tflite.check_quantizations(FLAGS.tflite_quantize)
    except tflite.TFLiteError as e:
        usage_error(str(e))
    from tfgan_suite import training

    from tfgan_suite.checkpoints import CheckpointError

    try:
        cfg, data, model, step = training.restore(FLAGS.run_dir)
    except (training.TrainingError, CheckpointError) as e:
        usage_error(str(e))
    if FLAGS.export_dir:
        cfg = cfg.replace(export_dir=FLAGS.export_dir)
    if FLAGS.export_ema is not None:
        cfg = cfg.replace(export_ema=FLAGS.export_ema)
    path = model.export(cfg, data, step)
    which = model.exported_generator_meta(cfg.export_ema)["generator"]
    kind = "averaged (EMA) generator" if which == "ema" else "generator"
    print(f"Exported the {kind} of {FLAGS.run_dir} at step {step} to {path}")
    if FLAGS.tflite:
        print(tflite.summary(tflite.convert_saved_model(path, forms)))


def run():
    app.run(main, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
    run()
