"""`python -m tfgan_suite.export --run_dir=DIR`: export a run's generator as a SavedModel.

Restores the latest readable checkpoint of the run and writes the generator to
`<export_dir>/<variant>/<version>` exactly as the end of training does; useful for a run
that was interrupted, or trained with `--noexport`. A damaged newer checkpoint is skipped
with a note on stderr and left in place; with none readable, one error line (status 2). A run with the generator EMA
(`--ema_decay`) exports the averaged generator unless `--export_ema=false` (default: the
run's own `--export_ema`, itself true by default); the metadata's `generator` says which.
`--tflite` (with `--tflite_quantize=none,float16,dynamic`) also writes TFLite copies of the
new version inside its directory (`tfgan_suite.tflite`).

`--export_features` adds D's features as the `features` signature (for `evaluate --probe`).
`--untrained` exports the networks as the run started them (its seed, step 0, no
checkpoint read) to `<export_dir>/<variant>_untrained/<version>`: the random-features
baseline of the linear probe, the same architecture without training.
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
flags.DEFINE_boolean("export_features", None, "also export D's features as the `features` "
                     "signature (evaluate --probe); default: the run's --export_features")
flags.DEFINE_boolean("untrained", False, "export the networks at initialisation (step 0, from "
                     "the run's seed, no checkpoint read) to <export_dir>/<variant>_untrained: "
                     "the linear probe's random-features baseline")
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
    from tfgan_suite import settings, training

    from tfgan_suite.checkpoints import CheckpointError

    try:
        cfg, data, model, step = training.restore(FLAGS.run_dir, untrained=FLAGS.untrained)
    except (training.TrainingError, CheckpointError) as e:
        usage_error(str(e))
    if FLAGS.export_dir:
        cfg = cfg.replace(export_dir=FLAGS.export_dir)
    if FLAGS.export_ema is not None:
        cfg = cfg.replace(export_ema=FLAGS.export_ema)
    if FLAGS.export_features is not None:
        cfg = cfg.replace(export_features=FLAGS.export_features)
    try:
        path = export_run(model, cfg, data, step, untrained=FLAGS.untrained)
    except (settings.ConfigError, ValueError) as e:
        usage_error(str(e))
    which = model.exported_generator_meta(cfg.export_ema)["generator"]
    kind = "averaged (EMA) generator" if which == "ema" else "generator"
    state = "untrained networks" if FLAGS.untrained else f"{kind} of {FLAGS.run_dir} at step {step}"
    extra = " with D's `features`" if cfg.export_features else ""
    print(f"Exported the {state}{extra} to {path}")
    if FLAGS.tflite:
        print(tflite.summary(tflite.convert_saved_model(path, forms)))


def export_run(model, cfg, data, step, *, untrained=False):
    """`model.export`; `untrained`: to `<export_dir>/<variant>_untrained`, with
    `untrained: true` in the metadata (whose `variant` stays the run's)."""
    if not untrained:
        return model.export(cfg, data, step)
    import os

    if data.kind not in ("image", "points"):
        raise ValueError(f"--untrained exports image and 2-D generators; this run's data is "
                         f"{data.kind}")
    return model.export(cfg, data, step, untrained=True,
                        export_base=os.path.join(cfg.export_dir, f"{cfg.variant}_untrained"))
def run():
    app.run(main, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
    run()
