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
                          "folder:PATH, ring8 or grid25; synthetic_recsys or movielens_100k "
                          "for irgan", "data")
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
    d_spectral_norm: bool = _field(False, "spectral normalisation W/sigma(W) on every layer "
                                   "of the discriminator (Miyato et al. 2018)", "model")
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
    # Lipschitz constraints (WGAN weight clipping, gradient penalties).
    clip_value: float = _field(0.01, "weight clipping c: critic weights are clipped to "
                               "[-c, c] after every critic update (wgan; mcgan's feature "
                               "net)", "lipschitz")
    wgan_critic_schedule: bool = _field(True, "wgan: 100 critic updates for each of the "
                                        "first 25 generator steps and every 500th, else "
                                        "--d_steps (Arjovsky et al.'s code); false: always "
                                        "--d_steps", "lipschitz")
    gp_weight: float = _field(10.0, "weight lambda of the gradient penalty (wgan_gp, "
                              "dragan)", "lipschitz")
    penalty: str = _field("wgan_gp", "gradient penalty of the penalised variants: wgan_gp "
                          "(at random interpolates of real and fake) or dragan (around "
                          "perturbed real data)", "lipschitz")
    # McGAN (Mroueh et al. 2017): the critic's IPM on the feature network's output.
    mcgan_mode: str = _field("mean", "mcgan IPM: mean (feature means), cov (uncentred "
                             "second moments, rank k) or mean_cov (their sum)", "mcgan")
    mcgan_q: int = _field(2, "mcgan mean matching: the IPM is ||mu(P) - mu(Q)||_q; 2 keeps v "
                          "on the unit L2 ball, 1 clips v to [-1, 1]", "mcgan")
    mcgan_k: int = _field(16, "mcgan covariance matching: number k of directions (columns "
                          "of U and V)", "mcgan")
    # IRGAN (Wang et al. 2017): item recommendation, both players score e_u . e_i + b_i.
    irgan_embedding_dim: int = _field(5, "irgan: size of the user and item embeddings of "
                                      "both players", "irgan")
    irgan_g_l2: float = _field(0.0, "irgan: generator L2 weight on the embeddings and biases "
                               "of each update's (user, item) pairs", "irgan")
    irgan_d_l2: float = _field(0.1, "irgan: discriminator L2 weight on the embeddings and "
                               "biases of each update's (user, item) pairs", "irgan")
    irgan_temperature: float = _field(0.2, "irgan: temperature of the generator's softmax "
                                      "when it samples the discriminator's negatives", "irgan")
    irgan_g_temperature: float = _field(1.0, "irgan: temperature of the generator's policy "
                                        "p(i|u) in its policy-gradient step", "irgan")
    irgan_sample_lambda: float = _field(0.2, "irgan: weight of the user's positives in the "
                                        "generator's sampling mixture (importance-weighted); "
                                        "0 = on-policy REINFORCE", "irgan")
    irgan_exclude_positives: bool = _field(False, "irgan: never sample a user's training "
                                           "positives as the discriminator's negatives",
                                           "irgan")
    irgan_pretrain_steps: int = _field(0, "irgan: first steps train both players as plain "
                                       "matrix factorisation (BPR) before the adversarial game",
                                       "irgan")
    irgan_pretrain_lr: Optional[float] = _field(None, "irgan: learning rate of both players "
                                                "during the pretraining steps; default: "
                                                "--g_lr and --d_lr", "irgan")
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
    eval_every: int = _field(0, "steps between sample-quality evaluations logged to "
                             "TensorBoard as eval/<metric>@<eval_samples> (FID, KID, IS, "
                             "PRDC; modes for 2-D data); 0 = off", "outputs")
    eval_samples: Optional[int] = _field(None, "generated samples per --eval_every evaluation; "
                                         "default 2000 for images, 2500 for 2-D data",
                                         "outputs")
    # Conditional and inference variants
    conditioning: str = _field("concat", "cgan: how D sees the label: concat (a learned "
                               "label embedding as extra input feature maps / input "
                               "features) or projection (Miyato & Koyama 2018: inner "
                               "product of an embedding with D's features); G always "
                               "concatenates the embedding to z", "conditional")
    label_embedding_dim: int = _field(16, "cgan: size of the learned label embedding "
                                      "concatenated to z (and to D's input with "
                                      "--conditioning=concat)", "conditional")
    stochastic_encoder: bool = _field(False, "bigan/ali: reparametrised encoder z = mu + "
                                      "sigma * eps (ALI, Dumoulin et al.); false: "
                                      "deterministic z = E(x) (BiGAN)", "conditional")
    # Energy-based variants (Zhao et al. 2017; Berthelot et al. 2017): auto-encoder D.
    began_gamma: float = _field(1.0, "began: diversity ratio gamma = E[L(G(z))] / E[L(x)] "
                                "that the k_t controller holds, in (0, 1] (lower: sharper, "
                                "less varied samples; the paper's 0.5, chosen for faces, "
                                "collapses onto footwear on Fashion-MNIST)", "energy")
    began_lambda_k: float = _field(0.001, "began: gain lambda_k of the k_t controller "
                                   "(k_t starts at 0 and stays in [0, 1])", "energy")
    began_hidden: int = _field(64, "size h of the auto-encoder's embedding (began; ebgan "
                               "with --architecture=began or mlp)", "energy")
    began_lr_schedule: str = _field("plateau", "began: learning-rate decay of both players: "
                                    "plateau (halve when the mean M_global of a window of "
                                    "--began_lr_steps steps is not 1% below the best "
                                    "earlier window), fixed (halve every --began_lr_steps "
                                    "steps) or none", "energy")
    began_lr_steps: int = _field(2000, "began: window (plateau) or period (fixed) of the "
                                 "learning-rate decay, in steps", "energy")
    ebgan_margin: float = _field(0.2, "ebgan: margin m of D's hinge max(0, m - D(G(z))), in "
                                 "the units of the energy (squared error per pixel, images "
                                 "in [-1, 1])", "energy")
    pt_weight: float = _field(0.1, "ebgan: weight lambda_PT of the pull-away term on the "
                              "encoder's codes of the generated batch (0 = off)", "energy")
    ebgan_pretrain_steps: int = _field(0, "ebgan: the first N of --steps train only the "
                                       "auto-encoder, on real data (G frozen), so that D "
                                       "reconstructs well when the game starts", "energy")

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}

# Settings that may change when a run is resumed: they do not change the model or its
# training trajectory, only how long it runs and what it writes.
RESUMABLE = frozenset({
    "steps", "run_dir", "export_dir", "export", "checkpoint_every", "keep_checkpoints",
    "sample_every", "log_every", "data_dir", "jit_compile", "eval_every", "eval_samples",
})

_CHOICES = {
    "jit_compile": ("auto", "true", "false"),
    "strategy": ("default", "mirrored"),
    "optimizer": ("adam", "rmsprop", "sgd"),
    "penalty": ("wgan_gp", "dragan"),
    "mcgan_mode": ("mean", "cov", "mean_cov"),
    "conditioning": ("concat", "projection"),
    "began_lr_schedule": ("plateau", "fixed", "none"),
}
_OPTIONAL_CHOICES = {"d_norm": ("batch", "layer", "none")}
_POSITIVE = ("steps", "batch_size", "d_steps", "latent_dim", "width", "checkpoint_every",
             "keep_checkpoints", "sample_every", "log_every", "mcgan_k",
             "label_embedding_dim", "began_hidden", "began_lr_steps")
_NON_NEGATIVE = ("instance_noise", "g_lr", "d_lr", "gp_weight", "began_lambda_k", "pt_weight",
                 "ebgan_pretrain_steps")


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
    if cfg.eval_every < 0:
        raise ConfigError(f"--eval_every must be >= 0 (0 = off); got {cfg.eval_every}")
    if cfg.eval_samples is not None and cfg.eval_samples < 10:
        raise ConfigError(f"--eval_samples must be >= 10; got {cfg.eval_samples}")
    if not cfg.clip_value > 0:
        raise ConfigError(f"--clip_value must be > 0; got {cfg.clip_value}")
    if cfg.mcgan_q not in (1, 2):
        raise ConfigError(f"--mcgan_q={cfg.mcgan_q} is not accepted; use one of: 1, 2")
    if not 0.0 < cfg.began_gamma <= 1.0:
        raise ConfigError(f"--began_gamma must be in (0, 1]; got {cfg.began_gamma}")
    if not cfg.ebgan_margin > 0:
        raise ConfigError(f"--ebgan_margin must be > 0; got {cfg.ebgan_margin}")
    _validate_irgan(cfg)
    return cfg


def _validate_irgan(cfg):
    if cfg.irgan_embedding_dim < 1:
        raise ConfigError(f"--irgan_embedding_dim must be >= 1; got {cfg.irgan_embedding_dim}")
    for name in ("irgan_g_l2", "irgan_d_l2", "irgan_pretrain_steps"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name} must be >= 0; got {getattr(cfg, name)}")
    for name in ("irgan_temperature", "irgan_g_temperature"):
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name} must be > 0; got {getattr(cfg, name)}")
    if cfg.irgan_pretrain_lr is not None and not cfg.irgan_pretrain_lr > 0:
        raise ConfigError(f"--irgan_pretrain_lr must be > 0; got {cfg.irgan_pretrain_lr}")
    if not 0.0 <= cfg.irgan_sample_lambda < 1.0:
        raise ConfigError(f"--irgan_sample_lambda must be in [0, 1); got {cfg.irgan_sample_lambda}")


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


def flags_markdown():
    """The README's flag reference, one table per group, generated from the fields.

    `python -m tfgan_suite.config` prints it; a test keeps README.md equal to it.
    """
    groups = {}
    for field in dataclasses.fields(Config):
        groups.setdefault(field.metadata["group"], []).append(field)
    lines = []
    for group, fields in groups.items():
        lines += [f"#### {group}", "", "| flag | suite default | meaning |", "|---|---|---|"]
        for field in fields:
            default = "auto" if field.default is None else field.default
            lines.append(f"| `--{field.name}` | `{default}` | {field.metadata['help']} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(flags_markdown())
