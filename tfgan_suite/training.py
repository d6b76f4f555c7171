"""Training a variant from a Config: the library behind `train.py`.

`train(cfg)` does, in order: resolve the run directory (resuming when it holds a
checkpoint), seed everything, load the data, build and compile the variant under the
chosen `tf.distribute` strategy, restore the last checkpoint, run `fit` with the callbacks
that log, checkpoint and guard the run, and export the generator as a SavedModel.

Exact resume: the model's step counter, both optimizers and all variant state are in the
checkpoint; the input pipeline is a pure function of (seed, batch number) and restarts at
the restored step; every random draw inside the step is a stateless function of (seed,
replica, step, draw). So N steps, a resume and N more steps reproduce 2N steps in one go.
"""

import dataclasses
import datetime
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import callbacks as cbs
from tfgan_suite import config as config_lib
from tfgan_suite import data as data_lib
from tfgan_suite import images, nets, optimizers, variants
from tfgan_suite.files import atomic_write_text

# Steps per Keras "epoch": the progress bar prints one line per epoch.
EPOCH_STEPS = 500
# Samples in the fixed-z grid (images) and scatter plot (2-D points).
GRID_SAMPLES = 64
SCATTER_SAMPLES = 1024


class TrainingError(RuntimeError):
    """A run that could not complete; the message says why and what is kept."""


class Diverged(TrainingError):
    """A loss or statistic became NaN/Inf; the last good checkpoint is kept."""


class Interrupted(TrainingError):
    """SIGINT/SIGTERM: a checkpoint was written and the run can be resumed."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum


@dataclasses.dataclass
class Result:
    """What a finished `train` call produced."""

    config: config_lib.Config
    run_dir: str
    step: int
    model: object
    export_path: str = None


def resolve_config(overrides):
    """Config from the variant's defaults and the user's explicit settings.

    `architecture` stays None unless the user chose one: the variant's choice applies to
    images only and is filled in by `fit_to_data` once the data is known.
    """
    variant = variants.get(overrides.get("variant", config_lib.Config.variant))
    overrides = dict(overrides, variant=variant.name)
    defaults = dict(variant.defaults)
    if data_lib.is_2d(overrides.get("dataset", config_lib.Config.dataset)):
        defaults.update(variant.points_defaults)
    cfg = config_lib.resolve(defaults, overrides)
    if "architecture" not in overrides:
        cfg = dataclasses.replace(cfg, architecture=None)
    return cfg


def fit_to_data(cfg, data):
    """Fills the settings that depend on the data (architecture, norm, schedules).

    Unless the user chose, images get the variant's architecture and 2-D data the MLP;
    an explicit choice that does not fit the data is refused by the net builders.
    """
    kinds = variants.get(cfg.variant).model.data_kinds
    if data.kind not in kinds:
        raise config_lib.ConfigError(
            f"--variant={cfg.variant} trains on {' or '.join(kinds)} data; dataset "
            f"{data.name!r} is {data.kind} data")
    if model_owns_data(data):  # no networks to choose: the variant builds its own
        return dataclasses.replace(cfg, instance_noise_steps=cfg.instance_noise_steps or cfg.steps)
    changes = {}
    if cfg.architecture is None:
        if data.kind == "image":
            changes["architecture"] = (variants.get(cfg.variant).defaults.get("architecture")
                                       or nets.default_architecture("image"))
        else:
            changes["architecture"] = nets.default_architecture(data.kind)
    if cfg.d_norm is None:
        changes["d_norm"] = "batch" if data.kind == "image" else "none"
    if cfg.instance_noise_steps is None:
        changes["instance_noise_steps"] = cfg.steps
    return dataclasses.replace(cfg, **changes)


_STRATEGIES = {}


def make_strategy(name):
    """The tf.distribute strategy for `--strategy`, one per process.

    Reused across calls: two MirroredStrategy objects in one process allocate the same
    collective keys and their all-reduces abort with shape mismatches (seen when `train`
    runs twice in a notebook).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if name not in _STRATEGIES:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
            _STRATEGIES[name] = tf.distribute.MirroredStrategy(devices)
        return _STRATEGIES[name]
    raise config_lib.ConfigError(
        f"--strategy={name} is not accepted; use one of: default, mirrored")


def resolve_jit(setting, strategy):
    """`--jit_compile` to a bool: auto = XLA on a single GPU/TPU only.

    On CPU, oneDNN beats XLA for these nets; with several replicas XLA fails
    (KERAS_NOTES), so `true` is refused there.
    """
    replicas = strategy.num_replicas_in_sync
    if setting == "true":
        if replicas > 1:
            raise config_lib.ConfigError(
                f"--jit_compile=true does not work with {replicas} replicas; "
                "use --jit_compile=auto or false with --strategy=mirrored")
        return True
    if setting == "false":
        return False
    accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    return replicas == 1 and bool(accelerators)


def build_model(cfg, data, strategy=None):
    """The compiled variant for `cfg` and `data`, its variables under `strategy`."""
    strategy = strategy or tf.distribute.get_strategy()
    variant = variants.get(cfg.variant)
    with strategy.scope():
        model = variant.model.create(cfg, data)
        model.compile(
            d_optimizer=optimizers.make(cfg.optimizer, learning_rate=cfg.d_lr,
                                        beta1=cfg.d_beta1, beta2=cfg.d_beta2),
            g_optimizer=optimizers.make(cfg.optimizer, learning_rate=cfg.g_lr,
                                        beta1=cfg.g_beta1, beta2=cfg.g_beta2),
            jit_compile=resolve_jit(cfg.jit_compile, strategy))
    return model


def checkpoint_manager(model, run_dir, keep):
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    return tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "ckpt"),
                                      max_to_keep=keep, checkpoint_name="ckpt")


def default_run_dir(variant):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", variant, stamp)


def has_checkpoint(run_dir):
    return tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt")) is not None


def _resume_config(cfg, run_dir):
    """The requested config checked against the one saved in `run_dir`."""
    saved = config_lib.load(os.path.join(run_dir, "config.json"))
    # Settings left to their automatic value keep what the run resolved them to.
    filled = {name: getattr(saved, name) for name in ("architecture", "d_norm", "instance_noise_steps")
              if getattr(cfg, name) is None}
    cfg = dataclasses.replace(cfg, **filled)
    changed = config_lib.differences(saved, cfg)
    if changed:
        detail = "; ".join(f"{n}: saved {getattr(saved, n)!r}, now {getattr(cfg, n)!r}"
                           for n in changed)
        raise config_lib.ConfigError(
            f"--run_dir={run_dir} holds a run with other settings ({detail}); "
            "resume with the same settings or choose a new --run_dir")
    return cfg


def render_samples(kind):
    """A function: generator output batch -> one uint8 image [H, W, C] for TensorBoard."""
    if kind == "image":
        return lambda samples: images.tile_images(images.to_uint8((samples + 1.0) / 2.0))
    return lambda samples: images.rasterize_points(samples)


def model_owns_data(data):
    """True for recommendation data (irgan): the model brings its own input stream,
    metrics callbacks and export (its `make_dataset`, `training_callbacks` and `export`);
    images and 2-D points use the suite's pipeline, sample grid and generator export."""
    return data.kind == "recsys"


def export_model(model, cfg, data, step):
    """Writes the generator to <export_dir>/<variant>/<version>; returns the path."""
    from tfgan_suite import __version__, serving

    if model_owns_data(data):
        return model.export(cfg, data, step)
    meta = dict(variant=cfg.variant, dataset=cfg.dataset, latent_dim=cfg.latent_dim,
                kind=data.kind, data_shape=list(data.shape),
                num_classes=data.num_classes if model.conditional else None,
                step=int(step), tfgan_suite_version=__version__)
    return serving.export_generator(model.generator,
                                    os.path.join(cfg.export_dir, cfg.variant), meta=meta,
                                    encoder=getattr(model, "encoder", None))


def train(cfg, *, data=None, verbose="auto"):
    """Trains (or resumes) the run described by `cfg`.

    Args:
        cfg: a Config (see `resolve_config`).
        data: an ArrayData to train on instead of loading `cfg.dataset` (tests, notebooks).
        verbose: Keras `fit` verbosity; "auto": a progress bar on a terminal, one line
            per epoch of EPOCH_STEPS steps otherwise (logs, CI).

    Returns:
        A Result.

    Raises:
        ConfigError, DataError: bad settings or data (nothing is written).
        Diverged: NaN/Inf; the last good checkpoint is kept.
        Interrupted: SIGINT/SIGTERM; a checkpoint of the current step was written.
    """
    run_dir = cfg.run_dir or default_run_dir(cfg.variant)
    resuming = has_checkpoint(run_dir)
    if resuming:
        cfg = _resume_config(cfg, run_dir)

    strategy = make_strategy(cfg.strategy)
    replicas = strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise config_lib.ConfigError(
            f"--batch_size={cfg.batch_size} must be a multiple of the {replicas} replicas")

    if data is None:
        data = data_lib.load(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size,
                             seed=cfg.seed)
    cfg = fit_to_data(cfg, data)
    cfg = dataclasses.replace(cfg, run_dir=run_dir)
    evaluator = make_evaluator(cfg, data)

    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg, data, strategy)
    manager = checkpoint_manager(model, run_dir, cfg.keep_checkpoints)
    if resuming:
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    os.makedirs(run_dir, exist_ok=True)
    atomic_write_text(os.path.join(run_dir, "config.json"), cfg.to_json())

    start = cbs.model_step(model)
    if start >= cfg.steps:
        print(f"{run_dir} is already at step {start} of --steps={cfg.steps}; nothing to train.")
        return Result(cfg, run_dir, start, model)
    if resuming:
        print(f"Resuming {run_dir} from step {start}.")

    if model_owns_data(data):
        dataset = model.make_dataset(cfg, data, start)
    else:
        dataset = data_lib.make_dataset(data, batch_size=cfg.batch_size,
                                        batches_per_step=model.batches_per_step,
                                        seed=cfg.seed, start_batch=start,
                                        with_labels=model.conditional)
    writer = tf.summary.create_file_writer(run_dir)
    _write_hparams(writer, cfg)
    guard = cbs.DivergenceGuard()
    checkpointer = cbs.Checkpointer(manager, cfg.checkpoint_every, guard)
    callback_list = [
        guard,  # first: nothing below may save or log past a divergence
        cbs.StopAtStep(cfg.steps),
        checkpointer,
        cbs.ScalarLogger(writer, cfg.log_every),
    ]
    if model_owns_data(data):
        callback_list += model.training_callbacks(cfg, data, writer)
    else:
        fixed = fixed_inputs(cfg, data, model)
        callback_list.append(cbs.SampleGrid(writer, cfg.sample_every, fixed["z"],
                                            render_samples(data.kind),
                                            labels=fixed.get("labels")))
    if getattr(model, "encoder", None) is not None:  # bigan: real/reconstruction pairs
        callback_list.append(cbs.ReconstructionGrid(writer, cfg.sample_every, data))
    if evaluator is not None:
        from tfgan_suite.metrics.evaluation import EvalCallback

        callback_list.append(EvalCallback(writer, cfg.eval_every, evaluator,
                                          num_classes=data.num_classes))
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    epoch_steps = min(EPOCH_STEPS, cfg.steps)
    model.fit(dataset, epochs=-(-cfg.steps // epoch_steps), initial_epoch=start // epoch_steps,
              steps_per_epoch=epoch_steps, callbacks=callback_list, verbose=verbose,
              shuffle=False)
    writer.close()
    step = cbs.model_step(model)

    if guard.diverged is not None:
        at, name, value = guard.diverged
        kept = manager.latest_checkpoint or "none (no checkpoint had been written yet)"
        raise Diverged(f"training diverged at step {at}: {name} = {value}; stopped. "
                       f"Last good checkpoint kept: {kept}")
    if checkpointer.signal_received is not None:
        raise Interrupted(f"interrupted at step {step}; checkpoint written to "
                          f"{manager.latest_checkpoint}. Resume with the same command "
                          f"and --run_dir={run_dir}", checkpointer.signal_received)

    result = Result(cfg, run_dir, step, model)
    if cfg.export:
        result.export_path = export_model(model, cfg, data, step)
    return result


def make_evaluator(cfg, data):
    """The metrics set-up of `--eval_every` (None when off): feature network and reference
    statistics of the training images, or the 2-D mixture's modes. Built before anything is
    written, so a missing feature network is a ConfigError. Recommendation data: None (the
    model's `training_callbacks` rank items instead)."""
    if not cfg.eval_every or model_owns_data(data):
        return None
    from tfgan_suite.metrics import evaluation

    try:
        return evaluation.training_evaluator(data, cfg.eval_samples, seed=cfg.seed)
    except ValueError as e:  # FeatureNetError, or 2-D data without known modes.
        raise config_lib.ConfigError(f"--eval_every={cfg.eval_every}: {e}") from None


def fixed_inputs(cfg, data, model):
    """The fixed z (and labels) whose samples TensorBoard shows as training goes."""
    num = GRID_SAMPLES if data.kind == "image" else SCATTER_SAMPLES
    z = tf.random.stateless_normal([num, cfg.latent_dim], seed=[cfg.seed, 0x5EED])
    out = {"z": z}
    if model.conditional:
        out["labels"] = tf.range(num, dtype=tf.int32) % data.num_classes
    return out


def _write_hparams(writer, cfg):
    """The run's settings in TensorBoard's HParams tab."""
    from tensorboard.plugins.hparams import api as hp

    values = {k: (v if isinstance(v, (bool, int, float, str)) else str(v))
              for k, v in dataclasses.asdict(cfg).items()}
    with writer.as_default():
        hp.hparams(values, trial_id=os.path.basename(os.path.normpath(cfg.run_dir)))
    writer.flush()


def restore(run_dir):
    """The model of a run, restored from its latest checkpoint (for export, evaluation).

    Returns:
        (cfg, data, model, step)
    """
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise TrainingError(f"{run_dir} has no config.json: not a tfgan_suite run directory")
    cfg = config_lib.load(path)
    if not has_checkpoint(run_dir):
        raise TrainingError(f"{run_dir} has no checkpoint under {run_dir}/ckpt")
    data = data_lib.load(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size,
                         seed=cfg.seed)
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg, data)
    manager = checkpoint_manager(model, run_dir, cfg.keep_checkpoints)
    manager.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    return cfg, data, model, cbs.model_step(model)
