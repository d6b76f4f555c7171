"""The run configuration: one commented set of defaults, overridden by a variant, then by the user.

Why one dataclass: every knob of a run is named once, with its default and its meaning, in
this file. A variant lists only what differs from these defaults (its paper's
hyper-parameters); the command line lists only what differs from the variant. Unknown keys
are rejected, so a typo in a flag file or a variant's defaults fails loudly instead of being
ignored. The resolved configuration is written to `config.json` in the run directory and is
all that is needed to rebuild the model later (resume, export).
"""

import dataclasses
import json
from typing import Optional


def _field(default, help, group):
    return dataclasses.field(default=default, metadata={"help": help, "group": group})


@dataclasses.dataclass
class Config:
    """Every setting of a training run. Field names are the `train.py` flag names."""

    # What to train.
    variant: str = _field("dcgan", "GAN variant to train (see the README's variant table)", "model")
    loss: str = _field("non_saturating", "adversarial loss pair from tfgan_suite.losses "
                       "(default: the variant's)", "model")
    # Data.
    dataset: str = _field("fashion_mnist", "fashion_mnist, a TFDS image dataset name, "
                          "folder:PATH, ring8 or grid25", "data")
    data_dir: Optional[str] = _field(None, "directory with the Fashion-MNIST IDX files or a "
                                     "prepared TFDS data directory", "data")
    image_size: Optional[int] = _field(None, "resize images to this size (28, 32 or 64 for "
                                       "the dcgan nets); default: the data's own (folder: 64)",
                                       "data")
    # Networks.
    architecture: Optional[str] = _field(None, "network family: dcgan or mlp; default: the "
                                         "variant's for images, mlp for 2-D data", "model")
    width: int = _field(64, "base channel count (DCGAN's ngf/ndf); hidden units scale with it",
                        "model")
    d_norm: Optional[str] = _field(None, "discriminator normalisation: batch, layer or none; "
                                   "default: the variant's, else batch for images and none "
                                   "for 2-D data", "model")
    latent_dim: int = _field(64, "size of the latent vector z", "model")
    # Optimisation. Each player has its own optimizer.
    steps: int = _field(10000, "generator updates in the whole run (each after d_steps "
                        "discriminator updates)", "optimisation")
    batch_size: int = _field(64, "global batch size, split across replicas", "optimisation")
    d_steps: int = _field(1, "discriminator updates per generator update (k in Goodfellow "
                          "et al.), each on a fresh real batch", "optimisation")
    optimizer: str = _field("adam", "optimizer of both players: adam, rmsprop or sgd",
                            "optimisation")
    g_lr: float = _field(2e-4, "generator learning rate", "optimisation")
    d_lr: float = _field(2e-4, "discriminator learning rate", "optimisation")
    g_beta1: float = _field(0.5, "generator Adam beta1 (SGD: momentum)", "optimisation")
    d_beta1: float = _field(0.5, "discriminator Adam beta1 (SGD: momentum)", "optimisation")
    g_beta2: float = _field(0.999, "generator Adam beta2 (RMSProp: rho)", "optimisation")
    d_beta2: float = _field(0.999, "discriminator Adam beta2 (RMSProp: rho)", "optimisation")
    # Instance noise (Sonderby et al. 2017).
    instance_noise: float = _field(0.0, "std of Gaussian noise added to D's real and fake "
                                   "inputs, annealed linearly to 0 (0 = off)", "optimisation")
    instance_noise_steps: Optional[int] = _field(None, "steps over which instance noise "
                                                 "anneals to 0; default: --steps",
                                                 "optimisation")
    # Reproducibility and execution.
    seed: int = _field(0, "seed of weights, data order and every random draw", "execution")
    jit_compile: str = _field("auto", "XLA: auto (on for a single GPU/TPU, off on CPU and "
                              "with several replicas), true or false", "execution")
    strategy: str = _field("default", "tf.distribute strategy: default (one device) or "
                           "mirrored (all local GPUs, else all logical CPUs)", "execution")
    # Outputs.
    run_dir: Optional[str] = _field(None, "run directory (TensorBoard logs, config.json, "
                                    "ckpt/); an existing one is resumed; default: "
                                    "runs/<variant>/<timestamp>", "outputs")
    export_dir: str = _field("saved_models", "the generator is exported to "
                             "<export_dir>/<variant>/<version>", "outputs")
    export: bool = _field(True, "export the generator as a SavedModel at the end", "outputs")
    checkpoint_every: int = _field(1000, "steps between checkpoints (also written on "
                                   "SIGINT/SIGTERM and at the end)", "outputs")
    keep_checkpoints: int = _field(3, "checkpoints kept on disk", "outputs")
    sample_every: int = _field(500, "steps between fixed-z sample grids in TensorBoard",
                               "outputs")
    log_every: int = _field(10, "steps between scalar logs in TensorBoard", "outputs")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}

# Settings that may change when a run is resumed: they do not change the model or its
# training trajectory, only how long it runs and what it writes.
RESUMABLE = frozenset({
    "steps", "run_dir", "export_dir", "export", "checkpoint_every", "keep_checkpoints",
    "sample_every", "log_every", "data_dir", "jit_compile",
})

_CHOICES = {
    "jit_compile": ("auto", "true", "false"),
    "strategy": ("default", "mirrored"),
    "optimizer": ("adam", "rmsprop", "sgd"),
}
_OPTIONAL_CHOICES = {"d_norm": ("batch", "layer", "none")}
_POSITIVE = ("steps", "batch_size", "d_steps", "latent_dim", "width", "checkpoint_every",
             "keep_checkpoints", "sample_every", "log_every")
_NON_NEGATIVE = ("instance_noise", "g_lr", "d_lr")


class ConfigError(ValueError):
    """A setting has a value that is not accepted; the message says which are."""


def validate(cfg):
    """Checks every value of `cfg`; raises ConfigError naming the first bad one."""
    for name, choices in _CHOICES.items():
        value = getattr(cfg, name)
        if value not in choices:
            raise ConfigError(
                f"--{name}={value} is not accepted; use one of: {', '.join(choices)}")
    for name, choices in _OPTIONAL_CHOICES.items():
        value = getattr(cfg, name)
        if value is not None and value not in choices:
            raise ConfigError(
                f"--{name}={value} is not accepted; use one of: {', '.join(choices)}")
    for name in _POSITIVE:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"--{name} must be >= 1; got {getattr(cfg, name)}")
    for name in _NON_NEGATIVE:
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name} must be >= 0; got {getattr(cfg, name)}")
    for name in ("g_beta1", "d_beta1", "g_beta2", "d_beta2"):
        if not 0.0 <= getattr(cfg, name) < 1.0:
            raise ConfigError(f"--{name} must be in [0, 1); got {getattr(cfg, name)}")
    if cfg.instance_noise_steps is not None and cfg.instance_noise_steps < 1:
        raise ConfigError(
            f"--instance_noise_steps must be >= 1; got {cfg.instance_noise_steps}")
    if cfg.image_size is not None and cfg.image_size < 1:
        raise ConfigError(f"--image_size must be >= 1; got {cfg.image_size}")
    return cfg


def resolve(variant_defaults, overrides):
    """Builds a Config: dataclass defaults <- the variant's defaults <- user overrides.

    Args:
        variant_defaults: dict of field -> value from the variant's file.
        overrides: dict of field -> value the user gave explicitly (flags or Python).

    Returns:
        A validated Config.

    Raises:
        ConfigError: for an unknown key or a value out of range.
    """
    values = {}
    for source, items in (("variant defaults", variant_defaults), ("settings", overrides)):
        unknown = sorted(set(items) - set(FIELDS))
        if unknown:
            raise ConfigError(f"unknown setting(s) in {source}: {', '.join(unknown)}")
        values.update(items)
    return validate(Config(**values))


def load(path):
    """Reads a `config.json` written by a run; unknown keys are an error."""
    with open(path) as f:
        items = json.load(f)
    unknown = sorted(set(items) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return validate(Config(**items))


def differences(saved, requested):
    """Fields whose values differ between two configs and may not change on resume."""
    return [name for name in FIELDS
            if name not in RESUMABLE and getattr(saved, name) != getattr(requested, name)]
