"""The run configuration: the shared settings, plus the active variant's own parameters.

Why this shape: every run has the settings in `Config` (data, networks, optimisation,
execution, outputs); a knob that only some variants read (`gp_weight`, `began_gamma`,
`irgan_*`, ...) is declared in that variant's `Params` dataclass instead
(`tfgan_suite.settings`). Both kinds are flags of the same name. A run's `config.json`
holds the shared settings, the active variant's parameters and what the data looked like
(`data`: kind, shape, classes), so that

- a run of one variant does not depend on another variant's defaults;
- a run written by an older release resumes: a key this version does not know is ignored
  with a one-line notice, a key the file lacks takes its current default;
- the generator can be rebuilt and exported from the run directory alone.

Precedence: the suite's defaults (here and in each `Params`) <- the variant's defaults
(its paper's values; for 2-D data also its `points_defaults`) <- what the user gave.
A setting that names no known knob, or one that belongs to another variant, is refused.
"""

import dataclasses
import json
import sys
from typing import Optional

from tfgan_suite.precision import PRECISIONS
from tfgan_suite.settings import (ConfigError, at_least, check_fields, one_of,
                                  optional, setting, within)

__all__ = ["Config", "ConfigError", "RESUMABLE", "SHARED", "resolve", "load", "differences",
           "flags_markdown", "param_owners"]

DEFAULT_VARIANT = "dcgan"
_BETA = within(0.0, 1.0, high_open=True)


@dataclasses.dataclass
class Config:
    """Every setting of a training run. Field names are the `train.py` flag names; the
    active variant's parameters are read as attributes too (`cfg.gp_weight`)."""

    # What to train.
    variant: str = setting(DEFAULT_VARIANT, "GAN variant to train (see the README's variant "
                           "table)", group="model")
    # Data.
    dataset: str = setting("fashion_mnist", "fashion_mnist, a TFDS image dataset name, "
                           "folder:PATH, ring8 or grid25; synthetic_recsys or movielens_100k "
                           "for irgan", group="data")
    data_dir: Optional[str] = setting(None, "directory with the Fashion-MNIST IDX files or a "
                                      "prepared TFDS data directory", group="data")
    image_size: Optional[int] = setting(None, "resize images to this size (28, 32 or 64 for "
                                        "the dcgan nets); default: the data's own (folder: "
                                        "64)", check=optional(at_least(1)), group="data")
    # Networks.
    architecture: Optional[str] = setting(None, "network family: dcgan, began, mlp or pacgan (2-D); default: the "
                                          "variant's for images, mlp for 2-D data",
                                          group="model")
    width: int = setting(64, "base channel count (DCGAN's ngf/ndf); hidden units scale with "
                         "it", check=at_least(1), group="model")
    d_norm: Optional[str] = setting(None, "discriminator normalisation: batch, layer or none; "
                                    "default: the variant's, else batch for images and none "
                                    "for 2-D data",
                                    check=optional(one_of("batch", "layer", "none")),
                                    group="model")
    g_norm: Optional[str] = setting(None, "generator normalisation: batch or none (no batch "
                                    "norm in G, as in WGAN-GP's section 5); default: the "
                                    "architecture's (batch for dcgan, pacgan and mlp images)",
                                    check=optional(one_of("batch", "none")), group="model")
    d_spectral_norm: bool = setting(False, "spectral normalisation W/sigma(W) on every layer "
                                    "of the discriminator (Miyato et al. 2018)", group="model")
    latent_dim: int = setting(64, "size of the latent vector z", check=at_least(1),
                              group="model")
    pack: int = setting(1, "PacGAN packing M: D judges M samples at once, all real or all "
                        "fake, joined along features (2-D) or channels (images); 1 = off",
                        check=at_least(1), group="model")
    # Optimisation. Each player has its own optimizer.
    steps: int = setting(10000, "generator updates in the whole run (each after d_steps "
                         "discriminator updates)", check=at_least(1), group="optimisation")
    batch_size: int = setting(64, "global batch size, split across replicas",
                              check=at_least(1), group="optimisation")
    d_steps: int = setting(1, "discriminator updates per generator update (k in Goodfellow "
                           "et al.), each on a fresh real batch", check=at_least(1),
                           group="optimisation")
    optimizer: str = setting("adam", "optimizer of both players: adam, rmsprop or sgd",
                             check=one_of("adam", "rmsprop", "sgd"), group="optimisation")
    lr_decay: str = setting("none", "learning-rate schedule of both players: none "
                            "(constant) or linear (to 0 at --steps)",
                            check=one_of("none", "linear"), group="optimisation")
    g_lr: float = setting(2e-4, "generator learning rate", check=at_least(0),
                          group="optimisation")
    d_lr: float = setting(2e-4, "discriminator learning rate", check=at_least(0),
                          group="optimisation")
    g_beta1: float = setting(0.5, "generator Adam beta1 (SGD: momentum)", check=_BETA,
                             group="optimisation")
    d_beta1: float = setting(0.5, "discriminator Adam beta1 (SGD: momentum)", check=_BETA,
                             group="optimisation")
    g_beta2: float = setting(0.999, "generator Adam beta2 (RMSProp: rho)", check=_BETA,
                             group="optimisation")
    d_beta2: float = setting(0.999, "discriminator Adam beta2 (RMSProp: rho)", check=_BETA,
                             group="optimisation")
    # Instance noise (Sonderby et al. 2017).
    instance_noise: float = setting(0.0, "std of Gaussian noise added to D's real and fake "
                                    "inputs, annealed linearly to 0 (0 = off)",
                                    check=at_least(0), group="optimisation")
    instance_noise_steps: Optional[int] = setting(None, "steps over which instance noise "
                                                  "anneals to 0; default: --steps",
                                                  check=optional(at_least(1)),
                                                  group="optimisation")
    # Generator EMA (tfgan_suite.ema). Off by default: every result measured in the README
    # and benchmarks/ is the raw generator's, and none has been measured with an average
    # yet; an EMA-off run is exactly the run of before (no extra variable or operation).
    # When on, the start of 1,000 steps (a tenth of a default run) keeps the first,
    # fast-moving weights out of the average; d = 0.999 then averages over about the last
    # 1 / (1 - d) = 1,000 steps, short enough for the suite's 10,000-20,000-step CPU runs.
    ema_decay: float = setting(0.0, "decay d of a generator EMA, ema = d ema + (1 - d) G "
                               "after every generator update, shown in TensorBoard beside G "
                               "and exported; 0 = off (try 0.999)",
                               check=within(0.0, 1.0, high_open=True), group="optimisation")
    ema_start: int = setting(1000, "with --ema_decay: the EMA equals G up to this step and "
                             "averages from there on", check=at_least(0),
                             group="optimisation")
    # Reproducibility and execution.
    seed: int = setting(0, "seed of weights, data order and every random draw",
                        group="execution")
    jit_compile: str = setting("auto", "XLA: auto (on for a single GPU/TPU, off on CPU and "
                               "with several replicas), true or false",
                               check=one_of("auto", "true", "false"), group="execution")
    precision: str = setting("float32", "dtype policy of both players: float32, "
                             "mixed_bfloat16 or mixed_float16 (float16 scales both players' "
                             "losses); losses, penalties and logs stay float32",
                             check=one_of(*PRECISIONS), group="execution")
    strategy: str = setting("default", "tf.distribute strategy: default (one device), "
                            "mirrored (all local GPUs, else all logical CPUs), multi_worker "
                            "(MultiWorkerMirroredStrategy over the workers of TF_CONFIG; the "
                            "chief writes the outputs) or tpu (TPUStrategy on --tpu)",
                            check=one_of("default", "mirrored", "multi_worker", "tpu"),
                            group="execution")
    tpu: Optional[str] = setting(None, "with --strategy=tpu: the TPU's name or grpc:// "
                                 "address for TPUClusterResolver; default: the local or "
                                 "environment-configured TPU", group="execution")
    worker_timeout: int = setting(600, "with --strategy=multi_worker: seconds a worker waits "
                                  "for the others (at start, and in any one all-reduce) "
                                  "before it fails naming the cluster; must exceed the "
                                  "longest pause of the chief (evaluation, export)",
                                  check=at_least(1), group="execution")
    intra_op_threads: int = setting(0, "TensorFlow threads inside one op (0 = its default, "
                                    "one per core; 2-D data: 1, its ops being too small to "
                                    "split); set by train.py before TensorFlow starts",
                                    check=at_least(0), group="execution")
    inter_op_threads: int = setting(0, "TensorFlow threads running independent ops side by "
                                    "side (0 = its default, one per core)",
                                    check=at_least(0), group="execution")
    steps_per_execution: Optional[int] = setting(
        None, "training steps per call into the traced step (Keras steps_per_execution); "
        "callbacks run between calls, so --steps, --log_every, --checkpoint_every, "
        "--sample_every and --eval_every must be multiples of it; default: for 2-D data on "
        "one device the largest divisor of them up to 100, else 1",
        check=optional(at_least(1)), group="execution")
    # Outputs.
    run_dir: Optional[str] = setting(None, "run directory (TensorBoard logs, config.json, "
                                     "ckpt/); an existing one is resumed; default: "
                                     "runs/<variant>/<timestamp>", group="outputs")
    export_dir: str = setting("saved_models", "the generator is exported to "
                              "<export_dir>/<variant>/<version>", group="outputs")
    export: bool = setting(True, "export the generator as a SavedModel at the end",
                           group="outputs")
    export_ema: bool = setting(True, "with --ema_decay: export the EMA generator (false: "
                               "the raw G); the export's metadata says which", group="outputs")
    export_features: bool = setting(False, "also export D's features (pooled activations "
                                    "of its conv blocks) as the `features` signature, for "
                                    "the linear probe (evaluate --probe)", group="outputs")
    checkpoint_every: int = setting(1000, "steps between checkpoints (also written on "
                                    "SIGINT/SIGTERM and at the end)", check=at_least(1),
                                    group="outputs")
    keep_checkpoints: int = setting(3, "checkpoints kept on disk", check=at_least(1),
                                    group="outputs")
    sample_every: int = setting(500, "steps between fixed-z sample grids in TensorBoard",
                                check=at_least(1), group="outputs")
    log_every: int = setting(10, "steps between scalar logs in TensorBoard",
                             check=at_least(1), group="outputs")
    eval_every: int = setting(0, "steps between sample-quality evaluations logged to "
                              "TensorBoard as eval/<metric>@<eval_samples> (FID, KID, IS, "
                              "PRDC; modes for 2-D data); 0 = off",
                              check=lambda n, v: None if v >= 0 else
                              f"--{n} must be >= 0 (0 = off); got {v}", group="outputs")
    eval_samples: Optional[int] = setting(None, "generated samples per --eval_every "
                                          "evaluation; default 2000 for images, 2500 for "
                                          "2-D data", check=optional(at_least(10)),
                                          group="outputs")

    # Not flags. The active variant's parameters (its `Params`), the data a run resolved
    # to (`DataSpec.as_dict()`, filled by `training.fit_to_data`), and the names the user
    # gave explicitly (None: all of them, as for a Config built in Python).
    params: object = dataclasses.field(default=None)
    data: Optional[dict] = dataclasses.field(default=None)
    explicit: Optional[frozenset] = dataclasses.field(default=None, compare=False,
                                                      repr=False)

    def __post_init__(self):
        check_fields(self)
        if self.params is None:
            self.params = _variant(self.variant).params()

    def __getattr__(self, name):
        # Only reached when normal lookup fails: the active variant's parameters.
        params = self.__dict__.get("params")
        if params is not None and name in params.names():
            return getattr(params, name)
        raise AttributeError(f"{type(self).__name__} of --variant="
                             f"{self.__dict__.get('variant')} has no setting {name!r}")

    def replace(self, **changes):
        """A copy with `changes` applied, shared settings and parameters alike."""
        own = {k: v for k, v in changes.items() if k not in SHARED and k in _FIELDS}
        params = {k: v for k, v in changes.items() if k not in SHARED and k not in _FIELDS}
        if params:
            own["params"] = dataclasses.replace(self.params, **params)
        shared = {k: v for k, v in changes.items() if k in SHARED}
        return dataclasses.replace(self, **shared, **own)

    def settings(self):
        """{flag name: value} of the shared settings and the variant's parameters."""
        values = {name: getattr(self, name) for name in SHARED}
        values.update(self.params.as_dict())
        return values

    def to_json(self):
        return json.dumps(dict(self.settings(), data=self.data), indent=2, sort_keys=True)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
SHARED = tuple(f.name for f in dataclasses.fields(Config) if f.metadata.get("group"))

# Settings that may change when a run is resumed: they do not change the model or its
# training trajectory, only how long it runs and what it writes.
RESUMABLE = frozenset({
    "steps", "run_dir", "export_dir", "export", "export_ema", "export_features",
    "checkpoint_every",
    "keep_checkpoints", "sample_every", "log_every", "data_dir", "jit_compile", "eval_every",
    "eval_samples", "steps_per_execution", "tpu", "worker_timeout", "intra_op_threads",
    "inter_op_threads",
})


# Shared settings that differ on the 2-D mixtures, under each variant's `points_defaults`.
# Chosen by measurement (benchmarks/mixtures.py, its SEARCH_GRID and tables): with nsgan,
# z in R^2, 256 hidden units (width 128), Adam at 1e-3 falling linearly to 0 and batch 64,
# 20,000 steps cover 8/8 ring modes and 25/25 grid modes at over 90 % high quality; the
# image defaults (latent 64, 128 units, 2e-4, no decay) cover 1/8 of the ring. A 2-D step
# is about a millisecond, so scalars every 100 steps (which lets 100 steps run per call,
# see --steps_per_execution) still give 200 points per run. Its ops are too small to split
# across cores: one thread per op is faster (tfgan_suite/threads.py).
POINTS_DEFAULTS = dict(steps=20000, log_every=100, latent_dim=2, width=128, g_lr=1e-3,
                       d_lr=1e-3, lr_decay="linear", batch_size=64, intra_op_threads=1)


def defaults_for(variant, points):
    """The defaults a run of `variant` starts from, before the user's settings: the
    variant's own, and on 2-D data `POINTS_DEFAULTS` and then its `points_defaults`."""
    if not points:
        return dict(variant.defaults)
    return {**variant.defaults, **POINTS_DEFAULTS, **variant.points_defaults}


def _variant(name):
    from tfgan_suite import variants

    return variants.get(name)


def param_owners():
    """{parameter name: [variants that take it]}, in registry order."""
    from tfgan_suite import variants

    owners = {}
    for name, variant in variants.REGISTRY.items():
        for param in variant.params.names():
            owners.setdefault(param, []).append(name)
    return owners


def resolve(overrides, *, points=False):
    """Builds a Config: suite defaults <- the variant's defaults <- user overrides.

    Args:
        overrides: dict of setting -> value the user gave explicitly (flags or Python).
        points: the data is a 2-D mixture: the variant's `points_defaults` apply too.

    Raises:
        UnknownVariantError: `variant` names no registered variant.
        ConfigError: an unknown setting, another variant's parameter, or a bad value.
    """
    variant = _variant(overrides.get("variant", DEFAULT_VARIANT))
    defaults = defaults_for(variant, points)
    _refuse_unknown(variant, defaults, "the defaults of --variant=" + variant.name)
    _refuse_unknown(variant, overrides, "settings")
    values = {**defaults, **overrides, "variant": variant.name}
    return _build(variant, values, explicit=frozenset(overrides))


def _build(variant, values, *, explicit):
    own = set(variant.params.names())
    shared = {k: v for k, v in values.items() if k in SHARED}
    params = variant.params(**{k: v for k, v in values.items() if k in own})
    return Config(**shared, params=params, explicit=explicit)


def _refuse_unknown(variant, items, source):
    owners = param_owners()
    own = set(variant.params.names())
    unknown = sorted(k for k in items if k not in SHARED and k not in own and k not in owners)
    if unknown:
        raise ConfigError(f"unknown setting(s) in {source}: {', '.join(unknown)}")
    foreign = sorted(k for k in items if k not in SHARED and k not in own)
    if foreign:
        detail = "; ".join(f"--{k} (a setting of {', '.join(owners[k])})" for k in foreign)
        raise ConfigError(f"--variant={variant.name} does not take {detail}")


def load(path):
    """Reads a run's `config.json`, also one written by an older release.

    Keys of other variants (older releases saved every variant's knobs) are dropped; a key
    no variant knows is dropped with a one-line notice on stderr; a setting the file lacks
    takes its current default (the variant's, for the saved dataset's kind).
    """
    from tfgan_suite.data import is_2d

    with open(path) as f:
        items = json.load(f)
    data = items.pop("data", None)
    variant = _variant(items.get("variant", DEFAULT_VARIANT))
    own = set(variant.params.names())
    unknown = sorted(k for k in items if k not in SHARED and k not in own
                     and k not in param_owners())
    if unknown:
        print(f"note: {path}: ignoring setting(s) this version does not know: "
              f"{', '.join(unknown)}", file=sys.stderr)
    kept = {k: v for k, v in items.items() if k in SHARED or k in own}
    points = is_2d(kept.get("dataset", Config.dataset))
    defaults = defaults_for(variant, points)
    # Every release saved all its shared settings, so a shared one the file lacks did not
    # exist then: it takes its field default, the behaviour of that time (--lr_decay=none,
    # no EMA), not a newer 2-D or variant default that would change a resumed run.
    unknown_then = {f.name: f.default for f in dataclasses.fields(Config)
                    if f.name in SHARED and f.name not in kept and f.name in defaults}
    values = {**defaults, **unknown_then, **kept, "variant": variant.name}
    cfg = _build(variant, values, explicit=frozenset(kept))
    return dataclasses.replace(cfg, data=data)


def differences(saved, requested, names=None):
    """Settings (of `names`, default all) that differ and may not change on resume."""
    if names is None:
        if saved.variant != requested.variant:
            return ["variant"]
        names = list(SHARED) + list(saved.params.names())
    return [n for n in names
            if n not in RESUMABLE and getattr(saved, n) != getattr(requested, n, None)]


def flags_markdown():
    """The README's flag reference, generated from the declarations.

    One table per group of shared settings, then one table of the variants' own
    parameters, each with the variants that take it and their defaults.
    `python -m tfgan_suite.config` prints it; a test keeps README.md equal to it.
    """
    from tfgan_suite import variants

    groups = {}
    for name in SHARED:
        groups.setdefault(_FIELDS[name].metadata["group"], []).append(_FIELDS[name])
    lines = []
    for group, fields in groups.items():
        lines += [f"#### {group}", "", "| flag | suite default | meaning |", "|---|---|---|"]
        for field in fields:
            default = "auto" if field.default is None else field.default
            lines.append(f"| `--{field.name}` | `{default}` | {field.metadata['help']} |")
        lines.append("")
    lines += ["#### variant parameters", "",
              "Each is taken only by the variants listed (another variant refuses it).", "",
              "| flag | variants (default) | meaning |", "|---|---|---|"]
    for param, names in param_owners().items():
        field = {f.name: f for f in dataclasses.fields(variants.get(names[0]).params)}[param]
        defaults = ", ".join(f"{n} (`{_default_of(n, param)}`)" for n in names)
        lines.append(f"| `--{param}` | {defaults} | {field.metadata['help']} |")
    lines.append("")
    return "\n".join(lines)


def _default_of(variant_name, param):
    variant = _variant(variant_name)
    if param in variant.defaults:
        value = variant.defaults[param]
    else:
        value = getattr(variant.params(), param)
    return "auto" if value is None else value


if __name__ == "__main__":
    print(flags_markdown())
