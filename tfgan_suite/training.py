"""Training a variant from a Config: the library behind `train.py`.

`train(cfg)` does, in order: resolve the run directory (resuming when it holds a
checkpoint), seed everything, load the data, build and compile the variant under the
chosen `tf.distribute` strategy, restore the last checkpoint, run `fit` with the callbacks
that log, checkpoint and guard the run, and export the generator as a SavedModel.

Exact resume: the model's step counter, both optimizers, all variant state and the
generator EMA (`--ema_decay`) are in the checkpoint; the input pipeline is a pure function
of (seed, batch number) and restarts at the restored step; every random draw inside the
step is a stateless function of (seed, replica, step, draw). So N steps, a resume and N
more steps reproduce 2N steps in one go.
"""

import dataclasses
import datetime
import json
import math
import os
import sys

import keras
import tensorflow as tf

from tfgan_suite import callbacks as cbs
from tfgan_suite import checkpoints, cluster
from tfgan_suite import config as config_lib
from tfgan_suite import data as data_lib
from tfgan_suite import ema, nets, optimizers, precision, variants
from tfgan_suite.files import atomic_write_text

# Steps per Keras "epoch": the progress bar prints one line per epoch.
EPOCH_STEPS = 500
# The most steps `--steps_per_execution` chooses by itself (2-D data): 100 per call trains
# 2.1-2.4x as fast as 1 (benchmarks/mixtures_speed.py); larger counts were not measured.
AUTO_STEPS_PER_EXECUTION = 100


class TrainingError(RuntimeError):
    """A run that could not complete; the message says why and what is kept."""


class Diverged(TrainingError):
    """A loss or statistic became NaN/Inf; the last good checkpoint is kept."""


class ExportFailed(TrainingError):
    """Training finished and its checkpoint is kept, but writing the SavedModel failed."""


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

    `architecture` stays None unless the user chose one: which network family applies
    depends on the data, and is filled in by `fit_to_data` once the data is known.
    """
    dataset = overrides.get("dataset", config_lib.Config.dataset)
    cfg = config_lib.resolve(overrides, points=data_lib.is_2d(dataset))
    if "architecture" not in overrides:
        cfg = dataclasses.replace(cfg, architecture=None)
    return cfg


def fit_to_data(cfg, data):
    """Resolves every setting that depends on the data, in this one place.

    Unless the user chose: images get the variant's architecture, 2-D data its 2-D one
    (else the MLP); D's normalisation is batch norm for images and none for 2-D data;
    instance noise anneals over the whole run. The data's kind, shape and classes are
    recorded (`cfg.data`), so the run's model can be rebuilt without its data. An explicit
    choice that does not fit the data is refused by the net builders.
    """
    variant = variants.get(cfg.variant)
    kinds = variant.model.data_kinds
    if data.kind not in kinds:
        raise config_lib.ConfigError(
            f"--variant={cfg.variant} trains on {' or '.join(kinds)} data; dataset "
            f"{data.name!r} is {data.kind} data")
    if cfg.pack > 1 and not variant.model.packable:
        packers = [name for name, v in variants.REGISTRY.items() if v.model.packable]
        raise config_lib.ConfigError(
            f"--pack={cfg.pack} does not apply to --variant={cfg.variant}: its discriminator "
            f"does not judge samples alone; packing works with {', '.join(packers)}")
    if cfg.lr_decay != "none" and variant.model.drives_learning_rate:
        raise config_lib.ConfigError(
            f"--lr_decay={cfg.lr_decay} does not apply to --variant={cfg.variant}: it sets "
            "its learning rates itself; use --lr_decay=none")
    precision.check_variant(cfg.precision, variant.model, cfg.variant)
    changes = dict(data=data_lib.DataSpec.of(data).as_dict())
    if cfg.instance_noise_steps is None:
        changes["instance_noise_steps"] = cfg.steps
    if data.kind in ("image", "points"):
        if cfg.architecture is None:
            own = variant.defaults if data.kind == "image" else variant.points_defaults
            changes["architecture"] = own.get("architecture") or nets.default_architecture(
                data.kind)
        if cfg.d_norm is None:
            changes["d_norm"] = "batch" if data.kind == "image" else "none"
    return dataclasses.replace(cfg, **changes)


_STRATEGIES = {}


def make_strategy(name, *, tpu=None, worker_timeout=600):
    """The tf.distribute strategy for `--strategy`, one per process.

    Reused across calls: two MirroredStrategy objects in one process allocate the same
    collective keys and their all-reduces abort with shape mismatches (seen when `train`
    runs twice in a notebook). `multi_worker` reads TF_CONFIG and waits for the other
    workers (at most `worker_timeout` s); `tpu` connects to the TPU `tpu`
    (`tfgan_suite.cluster`). Both must be made before anything initialises devices.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _STRATEGIES:
        if name == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
            _STRATEGIES[name] = tf.distribute.MirroredStrategy(devices)
        elif name == "multi_worker":
            _STRATEGIES[name] = cluster.multi_worker_strategy(worker_timeout)
        elif name == "tpu":
            _STRATEGIES[name] = cluster.tpu_strategy(tpu)
        else:
            raise config_lib.ConfigError(f"--strategy={name} is not accepted; use one of: "
                                         "default, mirrored, multi_worker, tpu")
    return _STRATEGIES[name]


def resolve_jit(setting, strategy):
    """`--jit_compile` to a bool: auto = XLA on a single GPU/TPU only.

    On CPU, oneDNN beats XLA for these nets; with several replicas XLA fails
    (KERAS_NOTES), so `true` is refused there.
    """
    replicas = strategy.num_replicas_in_sync
    if cluster.is_tpu(strategy):  # a TPU runs compiled programs only
        if setting == "false":
            raise config_lib.ConfigError("--jit_compile=false does not work with "
                                         "--strategy=tpu; use auto or true")
        return True
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
    """The compiled variant for `cfg` (fitted to `data`), its variables under `strategy`."""
    cfg = fit_to_data(cfg, data)
    strategy = strategy or tf.distribute.get_strategy()
    variant = variants.get(cfg.variant)
    with strategy.scope():
        with precision.policy_scope(cfg.precision):  # the players take its dtype policy
            model = variant.model.create(cfg, data)
        d_optimizer, g_optimizer = (
            optimizers.make(cfg.optimizer, beta1=beta1, beta2=beta2,
                            learning_rate=optimizers.decayed_rate(lr, cfg.lr_decay,
                                                                  model.step, cfg.steps))
            for lr, beta1, beta2 in ((cfg.d_lr, cfg.d_beta1, cfg.d_beta2),
                                     (cfg.g_lr, cfg.g_beta1, cfg.g_beta2)))
        model.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                      jit_compile=resolve_jit(cfg.jit_compile, strategy))
    return model


def checkpoint_manager(model, run_dir, keep):
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    return tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "ckpt"),
                                      max_to_keep=keep, checkpoint_name="ckpt")


def restore_checkpoint(manager, model, *, partial=False, path=None):
    """Restores `manager`'s latest checkpoint (or `path`) into `model` (see `build_model`).

    Every object of the model must be in the checkpoint (`partial`: only those it holds are
    read, for export and evaluation), except the averaged generator: a checkpoint written
    without one (an older release, or a run without the EMA) restores everything else,
    and the averaged copy starts from the restored G, as it does at step 0.
    """
    path = path or manager.latest_checkpoint
    averaged = getattr(model, "ema_generator", None)
    held = {name.split("/")[0] for name, _ in tf.train.list_variables(path)}
    if averaged is not None and "ema_generator" not in held:
        items = {k: v for k, v in model.checkpoint_items().items() if k != "ema_generator"}
        checkpoint = tf.train.Checkpoint(**items)
        print(f"note: {path} holds no generator EMA; it starts from the restored generator",
              file=sys.stderr)
    else:
        checkpoint, averaged = manager.checkpoint, None
    status = checkpoint.restore(path)
    if partial:
        status.expect_partial()
    else:
        status.assert_existing_objects_matched()
    if averaged is not None:
        ema.assign_weights(averaged, model.generator)


def default_run_dir(variant):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", variant, stamp)


def checkpoint_dir(run_dir):
    return os.path.join(run_dir, "ckpt")


def has_checkpoint(run_dir):
    """Whether `run_dir` holds checkpoints, readable or not (a damaged one is not none)."""
    return bool(checkpoints.listed(checkpoint_dir(run_dir)))


def _resume_config(cfg, run_dir):
    """The run saved in `run_dir`, with what may change on resume taken from `cfg`.

    A setting the user gave (`cfg.explicit`; every one for a Config built in Python) must
    match the saved run, unless it is one of `RESUMABLE` (steps, outputs, ...); a setting
    left out keeps the saved run's value, so a default that changed in a newer release does
    not stop an older run from resuming.
    """
    saved = config_lib.load(os.path.join(run_dir, "config.json"))
    given = (lambda name: True) if cfg.explicit is None else cfg.explicit.__contains__
    if given("variant") and saved.variant != cfg.variant:
        changed = ["variant"]
    else:
        names = [n for n in config_lib.SHARED + saved.params.names()
                 if given(n) and getattr(cfg, n, None) is not None]
        changed = config_lib.differences(saved, cfg, names) if names else []
    if changed:
        detail = "; ".join(f"{n}: saved {getattr(saved, n)!r}, now {getattr(cfg, n)!r}"
                           for n in changed)
        raise config_lib.ConfigError(
            f"--run_dir={run_dir} holds a run with other settings ({detail}); "
            "resume with the same settings or choose a new --run_dir")
    return dataclasses.replace(saved, explicit=cfg.explicit,
                               **{n: getattr(cfg, n) for n in config_lib.RESUMABLE})


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
        checkpoints.CheckpointError (a ConfigError): resuming a run none of whose
            checkpoints is readable (nothing is changed). A damaged latest checkpoint is
            skipped with a note: the run resumes from the newest readable one
            (`checkpoints.recover`).
        Diverged: NaN/Inf; the last good checkpoint is kept.
        Interrupted: SIGINT/SIGTERM; a checkpoint of the current step was written.
        ExportFailed: the run finished but its export did not; the previous export
            version stays the highest (`export_dirs.write_version`).
    """
    run_dir = cfg.run_dir or default_run_dir(cfg.variant)
    resuming = has_checkpoint(run_dir)
    if resuming:
        cfg = _resume_config(cfg, run_dir)

    strategy = make_strategy(cfg.strategy, tpu=cfg.tpu, worker_timeout=cfg.worker_timeout)
    replicas = strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise config_lib.ConfigError(
            f"--batch_size={cfg.batch_size} must be a multiple of the {replicas} replicas")
    if (cfg.batch_size // replicas) % cfg.pack:
        raise config_lib.ConfigError(
            f"--batch_size={cfg.batch_size} must give each of the {replicas} replica(s) a "
            f"multiple of --pack={cfg.pack} samples")

    if data is None:
        data = data_lib.load(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size,
                             seed=cfg.seed)
    cfg = dataclasses.replace(fit_to_data(cfg, data), run_dir=run_dir)

    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg, data, strategy)
    evaluator = model.make_evaluator(cfg, data)  # may refuse the settings: nothing written yet
    if cfg.export and cfg.export_features:
        model.check_export_features(data)  # may refuse the settings: nothing written yet
    if resuming and cluster.is_chief(strategy):
        # Past damaged checkpoints, which are moved aside (or CheckpointError).
        path = checkpoints.recover(checkpoint_dir(run_dir))
    elif resuming:  # another worker reads what the chief reads, and moves nothing
        path = checkpoints.latest(checkpoint_dir(run_dir), purpose="resuming from")
    manager = checkpoint_manager(model, run_dir, cfg.keep_checkpoints)
    if resuming:
        restore_checkpoint(manager, model, path=path)
    start = cbs.model_step(model)
    if start < cfg.steps:  # may refuse the settings: nothing written yet
        model.steps_per_execution = execution_steps(cfg, data, model, start, replicas)
    # Only the chief writes the run's outputs; another worker saves into a scratch directory.
    outputs = cluster.WorkerOutputs(strategy, run_dir, cfg.export_dir)
    try:
        return _train_from(cfg, data, model, strategy, manager, outputs, start, resuming,
                           evaluator, verbose)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
            tf.errors.CancelledError, tf.errors.AbortedError) as e:
        if not cluster.is_multi_worker(strategy):
            raise
        raise cluster.ClusterError(cluster.cluster_failure(
            cluster.read_tf_config(), f"lost contact at step {cbs.model_step(model)} with",
            e) + f". Launch all workers again to resume from {manager.latest_checkpoint}"
        ) from None
    finally:
        outputs.cleanup()


def _train_from(cfg, data, model, strategy, manager, outputs, start, resuming, evaluator,
                verbose):
    """`train` from the restored step on: config.json, `fit` with its callbacks, export."""
    run_dir = cfg.run_dir
    if outputs.chief:
        os.makedirs(run_dir, exist_ok=True)
        atomic_write_text(os.path.join(run_dir, "config.json"), cfg.to_json())

    if start >= cfg.steps:
        print(f"{run_dir} is already at step {start} of --steps={cfg.steps}; nothing to train.")
        result = Result(cfg, run_dir, start, model)
        if cfg.export and exported_step(run_dir) != start:
            print(f"{run_dir} has no export of step {start} (an earlier export failed, or "
                  "the run predates export.json); exporting it now.")
            result.export_path = _export_outputs(model, cfg, data, start, manager, outputs)
        return result
    if resuming:
        print(f"Resuming {run_dir} from step {start}.")

    if cluster.is_multi_worker(strategy):  # each worker reads its own share of every batch
        dataset = cluster.worker_share(strategy, lambda: model.make_dataset(cfg, data, start))
    else:
        dataset = model.make_dataset(cfg, data, start)
    writer = outputs.summary_writer(run_dir)
    if outputs.chief:
        _write_hparams(writer, cfg)
    saver = manager
    if not outputs.chief:
        saver = tf.train.CheckpointManager(manager.checkpoint, outputs.ckpt_dir, max_to_keep=1,
                                           checkpoint_name="ckpt")
    guard = cbs.DivergenceGuard()
    # Several workers must save at the same steps: a signal reaching one of them would not,
    # so there a signal stops the worker like a crash (the run resumes from the last save).
    checkpointer = cbs.Checkpointer(saver, cfg.checkpoint_every, guard,
                                    handle_signals=not cluster.is_multi_worker(strategy))
    callback_list = [
        guard,  # first: nothing below may save or log past a divergence
        cbs.StopAtStep(cfg.steps),
        checkpointer,
        cbs.ScalarLogger(writer, cfg.log_every),
    ] + (model.training_callbacks(cfg, data, writer, evaluator) if outputs.chief else [])
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
        result.export_path = _export_outputs(model, cfg, data, step, manager, outputs)
    return result


EXPORT_RECORD = "export.json"


def _export_outputs(model, cfg, data, step, manager, outputs):
    """The chief's export (`_export`), or on another worker the same export into its
    scratch directory, which is deleted (every worker takes part in saving); returns the
    chief's version path, None on another worker."""
    if outputs.chief:
        return _export(model, cfg, data, step, manager, cfg.run_dir)
    model.export(dataclasses.replace(cfg, export_dir=outputs.export_dir), data, step)
    return None


def _export(model, cfg, data, step, manager, run_dir):
    """Exports the finished run and records it in `<run_dir>/export.json` (step, path), so
    that running the same command again exports a run whose export failed; returns the
    version's path.

    Raises:
        ExportFailed: the previous export version stays the highest
            (`export_dirs.write_version`); the record is left as it was.
    """
    try:
        path = model.export(cfg, data, step)
    except Exception as e:  # disk full, ...: the previous version stays the served one
        first = (str(e).strip().splitlines() or [""])[0]
        raise ExportFailed(
            f"training finished at step {step} (checkpoint kept in "
            f"{manager.latest_checkpoint}) but the export to {cfg.export_dir} failed "
            f"({type(e).__name__}: {first}); no new version was published. Run the same "
            f"command again, or: python -m tfgan_suite.export --run_dir={run_dir}") from e
    atomic_write_text(os.path.join(run_dir, EXPORT_RECORD),
                      json.dumps({"step": int(step), "path": path}) + "\n")
    return path


def exported_step(run_dir):
    """The step of the run's last successful export (`export.json`), or None."""
    try:
        with open(os.path.join(run_dir, EXPORT_RECORD)) as f:
            return int(json.load(f)["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def execution_steps(cfg, data, model, start=0, replicas=1):
    """Steps per call into the traced step (`--steps_per_execution`), checked or chosen.

    Callbacks (logs, checkpoints, sample grids, evaluations, the stop at --steps) run only
    between calls, at the model's step, so every interval, the step a run resumes from,
    the Keras epoch and the pretraining phase must end on a call boundary. The steps are
    the same whatever the count: one call of k steps runs the same k `train_step`s.
    Automatic (None): 1, except for 2-D data on one device (a 2-D step is per-call
    overhead more than arithmetic), where it is the largest divisor of all of those up
    to AUTO_STEPS_PER_EXECUTION.

    Raises:
        ConfigError: a given count that an interval is not a multiple of, or that the
            variant or the strategy does not support.
    """
    bounds = {"--steps": cfg.steps, "--log_every": cfg.log_every,
              "--checkpoint_every": cfg.checkpoint_every, "--sample_every": cfg.sample_every,
              "--eval_every": cfg.eval_every, "the step the run resumes from": start,
              "the Keras epoch": min(EPOCH_STEPS, cfg.steps),
              "the pretraining steps": model.pretrain_steps}
    bounds = {name: value for name, value in bounds.items() if value}
    chosen = cfg.steps_per_execution
    if chosen is None:
        if data.kind != "points" or replicas > 1 or not model.multi_step_execution:
            return 1
        common = math.gcd(*bounds.values())
        return max(k for k in range(1, AUTO_STEPS_PER_EXECUTION + 1) if common % k == 0)
    if chosen == 1:
        return 1
    if not model.multi_step_execution:
        raise config_lib.ConfigError(
            f"--steps_per_execution={chosen} does not apply to --variant={cfg.variant}: it "
            "runs its own train function (use 1, or leave it unset)")
    if replicas > 1:
        raise config_lib.ConfigError(
            f"--steps_per_execution={chosen} needs one device; with {replicas} replicas "
            "use 1 (or leave it unset)")
    wrong = [f"{name}={value}" for name, value in bounds.items() if value % chosen]
    if wrong:
        raise config_lib.ConfigError(
            f"--steps_per_execution={chosen} must divide {', '.join(wrong)}; choose a "
            "common divisor, or leave it unset")
    return chosen


def _write_hparams(writer, cfg):
    """The run's settings in TensorBoard's HParams tab."""
    from tensorboard.plugins.hparams import api as hp

    values = {k: (v if isinstance(v, (bool, int, float, str)) else str(v))
              for k, v in cfg.settings().items()}
    with writer.as_default():
        hp.hparams(values, trial_id=os.path.basename(os.path.normpath(cfg.run_dir)))
    writer.flush()


def restore(run_dir, *, untrained=False):
    """The model of a run, restored from its latest readable checkpoint (export, evaluation).

    The model is rebuilt from the `data` record of the run's `config.json`; only a run
    written by a release before that record loads its dataset again to learn the shapes.
    `untrained`: no checkpoint is read (none is needed): the networks as the run started
    them, from its seed (step 0), the random-features baseline of the linear probe.

    Returns:
        (cfg, data, model, step); `data` is a `DataSpec` or, for such an older run, the
        loaded dataset.

    Raises:
        TrainingError: not a run directory, or one without checkpoints.
        checkpoints.CheckpointError: none of its checkpoints is readable. Damaged ones
            are skipped with a note and left in place (`checkpoints.latest`).
    """
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise TrainingError(f"{run_dir} has no config.json: not a tfgan_suite run directory")
    cfg = config_lib.load(path)
    if not untrained and not has_checkpoint(run_dir):
        raise TrainingError(f"{run_dir} has no checkpoint under {run_dir}/ckpt")
    if cfg.data is not None:
        data = data_lib.DataSpec(**cfg.data)
    else:
        data = data_lib.load(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size,
                             seed=cfg.seed)
    cfg = fit_to_data(cfg, data)
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg, data)
    if not untrained:
        manager = checkpoint_manager(model, run_dir, cfg.keep_checkpoints)
        path = checkpoints.latest(checkpoint_dir(run_dir), purpose="restoring")
        restore_checkpoint(manager, model, partial=True, path=path)
    return cfg, data, model, cbs.model_step(model)
