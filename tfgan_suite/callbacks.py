"""Keras callbacks that make a long GAN run safe and visible.

Each has one job. Their order in the list matters and is fixed by `training.train`:
`DivergenceGuard` runs first, so no later callback checkpoints or exports weights that
have already gone non-finite.
"""

import math
import signal

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import precision


def model_step(model):
    return int(model.step.numpy())


def log_value(value):
    """A step's logged value as a float: a scalar, or the one element of the shape-[1]
    logs of a multi-worker run (`variants.base.step_logs`)."""
    return float(np.asarray(value).item())


class StopAtStep(keras.callbacks.Callback):
    """Ends `fit` exactly when the model's step counter reaches `last_step`.

    Why: a resumed run starts mid-epoch, so epochs cannot be used to count steps.
    """

    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch, logs=None):
        if model_step(self.model) >= self.last_step:
            self.model.stop_training = True


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite value among the step's logs.

    Sets `diverged` to (step, name, value); `Checkpointer` then refuses to save, so the
    last checkpoint on disk is the last good one.

    Under float16 (`--precision=mixed_float16`) a step whose loss scaler skipped an update
    (a player's loss scale fell since the last check) changed no weight, so its non-finite
    values (a gradient penalty's overflowing inner gradient) are not a divergence, as long
    as every loss scale is still >= `precision.MIN_LOSS_SCALE`.
    """

    def __init__(self):
        super().__init__()
        self.diverged = None
        self._loss_scales = None

    def on_train_begin(self, logs=None):
        self._loss_scales = precision.loss_scales(self.model)

    def on_train_batch_end(self, batch, logs=None):
        scales = precision.loss_scales(self.model)
        skipped = (bool(scales) and self._loss_scales is not None
                   and any(now < before for now, before in zip(scales, self._loss_scales))
                   and min(scales) >= precision.MIN_LOSS_SCALE)
        self._loss_scales = scales
        for name, value in (logs or {}).items():
            value = log_value(value)
            if not math.isfinite(value) and not skipped:
                self.diverged = (model_step(self.model), name, value)
                self.model.stop_training = True
                return


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint every `every` steps, on SIGINT/SIGTERM, and at the end.

    `tf.train.CheckpointManager` writes the checkpoint files first and only then
    rewrites its state file `checkpoint` (atomically), so a crash of this process
    mid-write leaves the previous checkpoint as the latest one. Nothing is fsync'ed: after
    a crash of the machine the latest checkpoint can be damaged, and a resume falls back
    to the newest readable one (`checkpoints`, which has the details). A signal only sets
    a flag; the save happens between two steps, where the weights are consistent.
    `handle_signals=False` leaves signals alone (several workers, which must all save at
    the same steps).
    """

    def __init__(self, manager, every, guard, handle_signals=True):
        super().__init__()
        self.manager = manager
        self.every = every
        self.guard = guard
        self.handle_signals = handle_signals
        self.signal_received = None
        self._previous_handlers = {}

    def _handle(self, signum, frame):
        self.signal_received = signum

    def on_train_begin(self, logs=None):
        if not self.handle_signals:
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous_handlers[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals stay with the caller
                pass

    def on_train_end(self, logs=None):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()
        self.save()

    def save(self):
        """Saves unless training diverged or this step is already saved."""
        if self.guard.diverged is not None:
            return None
        step = model_step(self.model)
        latest = self.manager.latest_checkpoint
        if latest is not None and latest.endswith(f"-{step}"):
            return latest
        return self.manager.save(checkpoint_number=step)

    def on_train_batch_end(self, batch, logs=None):
        if self.guard.diverged is not None:
            return
        if self.signal_received is not None:
            self.save()
            self.model.stop_training = True
        elif model_step(self.model) % self.every == 0:
            self.save()


class ScalarLogger(keras.callbacks.Callback):
    """Writes every value the step returns, and both learning rates, to TensorBoard.

    Every `every` steps, at the model's own step (so resumed runs continue the curves).
    """

    def __init__(self, writer, every):
        super().__init__()
        self.writer = writer
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        step = model_step(self.model)
        if step % self.every != 0:
            return
        with self.writer.as_default(), tf.summary.record_if(True):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"train/{name}", log_value(value), step=step)
            for player in ("g", "d"):
                optimizer = getattr(self.model, f"{player}_optimizer")
                lr = float(np.asarray(optimizer.learning_rate))
                tf.summary.scalar(f"learning_rate/{player}", lr, step=step)


class PeriodicImage(keras.callbacks.Callback):
    """Logs one image under `tag` at the start, every `every` steps and at an early end.

    Subclasses say what to draw in `make_image()`: a uint8 image [H, W, C], or None when
    the model's output is not finite (a diverged model, which DivergenceGuard reports).
    """

    tag = None

    def __init__(self, writer, every):
        super().__init__()
        self.writer = writer
        self.every = every

    def make_image(self):
        raise NotImplementedError

    def write(self):
        image = self.make_image()
        if image is None:
            return
        with self.writer.as_default(), tf.summary.record_if(True):
            tf.summary.image(self.tag, image[None], step=model_step(self.model))
        self.writer.flush()

    def on_train_begin(self, logs=None):
        self.write()

    def on_train_batch_end(self, batch, logs=None):
        if model_step(self.model) % self.every == 0:
            self.write()

    def on_train_end(self, logs=None):
        if self.model.stop_training and model_step(self.model) % self.every != 0:
            self.write()


class SampleGrid(PeriodicImage):
    """Logs G's samples for a fixed z every `every` steps (and at the start and end).

    A fixed z shows how the same latent points evolve, which is what a person watches
    in TensorBoard's image tab. `render` turns a batch of samples into one uint8 image
    [H, W, C] (a grid for images, a scatter plot for 2-D points). `samples/fixed_z` is
    always the raw G, the generator being trained; with `ema`, the grid is the averaged
    generator's (`model.generate(..., ema=True)`), tagged `samples/fixed_z_ema`.
    """

    tag = "samples/fixed_z"
    ema_tag = "samples/fixed_z_ema"
    # Samples in the grid (images) and in the scatter plot (2-D points).
    GRID_SAMPLES = 64
    SCATTER_SAMPLES = 1024

    def __init__(self, writer, every, z, render, labels=None, ema=False):
        super().__init__(writer, every)
        self.z = z
        self.labels = labels
        self.render = render
        self.ema = bool(ema)
        if self.ema:
            self.tag = self.ema_tag

    @classmethod
    def for_model(cls, model, cfg, data, writer, ema=False):
        """The grid of a run: a fixed z from the run's seed (labels cycling through the
        classes for a conditional model), drawn every `--sample_every` steps; `ema`: of
        the averaged generator, with the same z."""
        from tfgan_suite import images

        num = cls.GRID_SAMPLES if data.kind == "image" else cls.SCATTER_SAMPLES
        z = tf.random.stateless_normal([num, cfg.latent_dim], seed=[cfg.seed, 0x5EED])
        labels = (tf.range(num, dtype=tf.int32) % data.num_classes if model.conditional
                  else None)
        if data.kind == "image":
            render = lambda s: images.tile_images(images.to_uint8((s + 1.0) / 2.0))  # noqa: E731
        else:  # framed by the mixture's true modes, marked, when they are known
            from tfgan_suite.data import MIXTURES

            modes = MIXTURES[data.name][0] if data.name in MIXTURES else None
            render = lambda s: images.rasterize_points(s, modes=modes)  # noqa: E731
        return cls(writer, cfg.sample_every, z, render, labels=labels, ema=ema)

    def make_image(self):
        samples = np.asarray(self.model.generate(self.z, self.labels, ema=self.ema))
        return self.render(samples) if np.all(np.isfinite(samples)) else None


class ReconstructionGrid(PeriodicImage):
    """Logs real examples next to their reconstructions G(E(x)) every `every` steps.

    For models with an encoder (`bigan`): `model.reconstruct(x)` maps data (as the
    pipeline scales it) to G(E(x)). Images: `num` (real, reconstruction) pairs side by
    side, four pairs per row. 2-D points: the first `num_points` real points (left) and
    their reconstructions (right), on the same axes. Logged as `samples/reconstructions`
    at the start, every `every` steps and at an early end, like `SampleGrid`.

    Args:
        writer: tf.summary writer.
        every: steps between grids.
        data: the training ArrayData; its first examples are the fixed real inputs.
        num: image pairs shown.
        num_points: points shown for 2-D data.
    """

    tag = "samples/reconstructions"

    def __init__(self, writer, every, data, num=32, num_points=1024):
        super().__init__(writer, every)
        self.kind = data.kind
        if data.kind == "image":
            self.real = data.x[:num].astype(np.float32) / 127.5 - 1.0
        else:
            self.real = data.x[:num_points].astype(np.float32)

    def render(self, real, recon):
        from tfgan_suite import images

        if self.kind == "image":
            pairs = np.stack([real, recon], axis=1).reshape((-1,) + real.shape[1:])
            return images.tile_images(np.clip((pairs + 1.0) / 2.0, 0.0, 1.0), columns=8)
        lim = 1.5 * float(np.max(np.abs(real)))
        bounds = (-lim, lim, -lim, lim)
        left = images.rasterize_points(real, size=384, bounds=bounds)
        right = images.rasterize_points(recon, size=384, bounds=bounds)
        gap = np.full((left.shape[0], 4, 3), 128, np.uint8)
        return np.concatenate([left, gap, right], axis=1)

    def make_image(self):
        recon = np.asarray(self.model.reconstruct(tf.constant(self.real)))
        return self.render(self.real, recon) if np.all(np.isfinite(recon)) else None


class PeriodicEval(keras.callbacks.Callback):
    """Measures the model every `every` steps and at the end, and logs the scalars.

    At the model's own step (so resumed runs continue the curves), at most once per step:
    `measure()` returns (result, {tag: value}), or None when the model is not finite (a
    diverged model, which DivergenceGuard reports; nothing is logged). `history` keeps
    (step, result) of every evaluation for callers and tests; the scalars go to
    TensorBoard under `record_if(True)`, which the TensorBoard callback's `update_freq`
    would otherwise filter.

    Args:
        writer: a `tf.summary` writer, or None (history only).
        every: steps between evaluations (>= 1).
    """

    def __init__(self, writer, every):
        super().__init__()
        if every < 1:
            raise ValueError(f"`every` must be >= 1. Received: every={every}")
        self.writer = writer
        self.every = int(every)
        self.last_step = None
        self.history = []

    def measure(self):
        """(result, {tag: scalar}) of the model now, or None if it is not finite."""
        raise NotImplementedError

    def evaluate(self):
        """Measures and logs at the current step; returns the result (None: skipped)."""
        step = model_step(self.model)
        if step == self.last_step:
            return None
        self.last_step = step
        measured = self.measure()
        if measured is None:
            return None
        result, scalars = measured
        self.history.append((step, result))
        if self.writer is not None:
            with self.writer.as_default(), tf.summary.record_if(True):
                for tag, value in scalars.items():
                    tf.summary.scalar(tag, value, step=step)
            self.writer.flush()
        return result

    def on_train_batch_end(self, batch, logs=None):
        if model_step(self.model) % self.every == 0:
            self.evaluate()

    def on_train_end(self, logs=None):
        self.evaluate()


class RankingEval(PeriodicEval):
    """Logs the generator's (and discriminator's) P@k and NDCG@k on the test split (irgan).

    Every `every` steps and at the end, as `eval/P@5`, ... (generator, the recommender
    IRGAN reports) and `eval_discriminator/P@5`, ...; with the generator EMA also
    `eval_ema/P@5`, ... (the averaged generator); `history` keeps (step, generator
    metrics). The model gives every user's scores with `model.scores(player=...)`.

    Args:
        writer, every: as `PeriodicEval`'s.
        data: the `RecsysData` whose train positives are excluded from the ranking and
            whose test positives are the relevant items.
    """

    PLAYERS = (("generator", "eval"), ("discriminator", "eval_discriminator"))

    def __init__(self, writer, every, data):
        super().__init__(writer, every)
        self.data = data

    def measure(self):
        from tfgan_suite.metrics.ranking import ranking_metrics

        results = {}
        players = self.PLAYERS
        if getattr(self.model, "ema_generator", None) is not None:
            players += (("ema_generator", "eval_ema"),)
        for player, prefix in players:
            scores = self.model.scores(player=player)
            if not np.all(np.isfinite(scores)):
                return None
            results[prefix] = ranking_metrics(scores, self.data.train_positives,
                                              self.data.test_positives)
        scalars = {f"{prefix}/{name}": value for prefix, metrics in results.items()
                   for name, value in metrics.items() if name != "num_users"}
        return results["eval"], scalars
