"""`python -m tfgan_suite.latent COMMAND --model M --out X.png`: explore an exported
generator's latent space, from the SavedModel alone, as PNG grids.

Commands (DESIGN.md section 8):

    interpolate  rows of z walked between endpoints (--seeds a,b,... or --z_file K x latent_dim
                 .npy), --steps per segment; --method lerp, slerp or both (one row each).
    arithmetic   the DCGAN paper's vector arithmetic (Radford et al. 2016, section 6.3): pick
                 samples of the grid `sample --seed S --num N` draws by index (--concept i,j,k,
                 once per concept), average each concept's z, combine with --weights
                 (default 1,-1,1: A - B + C) and decode. One row per concept (its samples, then
                 its mean decoded), the result last.
    sweep        conditional models: one z per row (--seeds), every label 0..K-1 across.
    neighbours   --num samples of seed --seed, each followed by its --k nearest training
                 images in pixel space, then (after a blank) in the feature space of the
                 shipped classifier (`metrics.feature_nets`, --feature_net): the memorisation
                 check.
    reconstruct  bigan/ali: --num training images x (a --seed permutation) in one row and
                 G(E(x)) below each (the `encode` signature).

Only the serving signatures of DESIGN.md section 5 are used (`serving_default` to decode z,
`encode` for reconstruct); the latent codes follow `latent_codes` (the same z as `sample`
for a seed). Bad input is one line on stderr and exit status 2.
"""

import os
from typing import List, Optional

import numpy as np
from absl import flags

from tfgan_suite import images, latent_codes
from tfgan_suite.cli_utils import define_model_flag, run_main, usage_error

COMMANDS = ("interpolate", "arithmetic", "sweep", "neighbours", "reconstruct")
METHODS = ("both",) + latent_codes.METHODS
GRID_PADDING = 2
_DEFAULT_SEEDS = {"interpolate": [0, 1], "sweep": [0, 1, 2, 3]}


class LatentError(ValueError):
    """A request the model or the flags cannot satisfy (one line: what is wrong, what is accepted)."""


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """This command's flags (called by `run`)."""
    define_model_flag(flag_values)
    f = flag_values
    flags.DEFINE_string("out", None, "PNG file to write.", flag_values=f)
    flags.mark_flags_as_required(["out"], flag_values=f)
    flags.DEFINE_list("seeds", None, "interpolate: endpoint seeds (default 0,1); sweep: one row per "
                      "seed (default 0,1,2,3). Seed s means the z of `sample --num 1 --seed s`.", flag_values=f)
    flags.DEFINE_string("z_file", None, "interpolate: .npy of endpoint z [K >= 2, latent_dim] "
                        "instead of --seeds.", flag_values=f)
    flags.DEFINE_integer("steps", 8, "interpolate: images per segment, endpoints included (>= 2).",
                         flag_values=f)
    flags.DEFINE_enum("method", "both", list(METHODS), "interpolate: lerp, slerp, or both (two rows).",
                      flag_values=f)
    flags.DEFINE_integer("label", None, "interpolate/arithmetic on a conditional model: the class.",
                         flag_values=f)
    flags.DEFINE_integer("seed", 0, "arithmetic: the `sample` grid to pick from; neighbours: the "
                         "samples; reconstruct: which training images.", flag_values=f)
    flags.DEFINE_integer("num", None, "arithmetic: size of the `sample` grid picked from (default 64); "
                         "neighbours/reconstruct: images (default 8).", flag_values=f)
    flags.DEFINE_multi_string("concept", None, "arithmetic: indices into the grid, e.g. 3,17,40; "
                              "give once per concept.", flag_values=f)
    flags.DEFINE_list("weights", None, "arithmetic: one weight per concept (default 1,-1,1 for three).",
                      flag_values=f)
    flags.DEFINE_integer("k", 4, "neighbours: nearest training images per sample and space.", flag_values=f)
    flags.DEFINE_string("dataset", None, "neighbours/reconstruct: training data (default: the model's).",
                        flag_values=f)
    flags.DEFINE_string("data_dir", None, "neighbours/reconstruct: where the dataset is read from.",
                        flag_values=f)
    flags.DEFINE_integer("train_examples", 0, "neighbours: compare with the first N training "
                         "images only (0: all).", flag_values=f)
    flags.DEFINE_string("feature_net", "auto", "neighbours: feature network (auto, fashion_classifier, "
                        "inception_v3).", flag_values=f)


class ExportedGenerator:
    """An exported generator seen through its serving signatures (nothing from training).

    Args:
        model: a SavedModel version directory or an export base (see `sample.load_model`).
    """

    def __init__(self, model: str):
        from tfgan_suite import export_dirs, sample

        try:
            self.model_dir, loaded = sample.load_model(model)
        except sample.SampleError as e:
            raise LatentError(str(e)) from None
        self._serving = loaded.signatures.get("serving_default")
        if self._serving is None:
            raise LatentError(f"{self.model_dir} has no serving_default signature (it has "
                              f"{sorted(loaded.signatures)}); models exported by tfgan_suite have one")
        self._encode = loaded.signatures.get("encode")
        specs = self._serving.structured_input_signature[1]
        self.latent_dim = int(specs["z"].shape[-1])
        self.conditional = "label" in specs
        self.signatures = sorted(loaded.signatures)
        try:
            self.meta = export_dirs.read_meta(self.model_dir)
        except export_dirs.ExportError:
            self.meta = {}
        if "images_uint8" not in self._serving.structured_outputs:
            raise LatentError(f"{self.model_dir} makes 2-D points, not images; the latent tools "
                              "draw image grids of image models")

    @property
    def num_classes(self) -> Optional[int]:
        k = self.meta.get("num_classes")
        return k if isinstance(k, int) and not isinstance(k, bool) else None

    def check_z(self, z: np.ndarray, source: str) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise LatentError(f"{source}: z must have shape [K, {self.latent_dim}] for {self.model_dir} "
                              f"(latent_dim {self.latent_dim}), got {list(z.shape)}")
        return z

    def check_label(self, label: Optional[int]) -> Optional[int]:
        if not self.conditional:
            if label is not None:
                raise LatentError(f"{self.model_dir} is unconditional: it takes no --label (got {label})")
            return None
        k = self.num_classes
        if label is None:
            raise LatentError(f"{self.model_dir} is a conditional model: pass --label=K with K in "
                              + (f"[0, {k})" if k else "[0, num_classes)"))
        if k is not None and not 0 <= label < k:
            raise LatentError(f"--label={label} is out of range: {self.model_dir} has labels [0, {k})")
        return label

    def decode(self, z, label=None) -> np.ndarray:
        """uint8 images [N, H, W, C] for z [N, latent_dim] (label: int or [N] ints)."""
        import tensorflow as tf

        z = self.check_z(z, "decode")
        kwargs = {"z": tf.constant(z)}
        if self.conditional:
            labels = np.broadcast_to(np.asarray(label, np.int32), [len(z)])
            kwargs["label"] = tf.constant(labels)
        return self._serving(**kwargs)["images_uint8"].numpy()

    def require_encode(self) -> None:
        if self._encode is None:
            raise LatentError(f"reconstruct needs an `encode` signature (bigan/ali exports); "
                              f"{self.model_dir} has only {self.signatures}")

    def encode(self, images01: np.ndarray) -> np.ndarray:
        """z [N, latent_dim] for float images [N, H, W, C] in [0, 1]."""
        import tensorflow as tf

        self.require_encode()
        return self._encode(images=tf.constant(images01, tf.float32))["z"].numpy()


def _blank(like: np.ndarray) -> np.ndarray:
    return np.full(like.shape[1:], 255, np.uint8)


def _grid(rows: List[List[np.ndarray]]) -> np.ndarray:
    """Rows of single images (uint8 [H, W, C]) as one grid; short rows padded with blanks."""
    columns = max(len(r) for r in rows)
    cells = [cell for r in rows for cell in r + [_blank(r[0][None])] * (columns - len(r))]
    return images.tile_images(np.stack(cells), columns=columns, padding=GRID_PADDING)


def _ints(values, name: str) -> List[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise LatentError(f"{name} takes comma-separated integers, got {','.join(values)}") from None


def _seed_zs(g: ExportedGenerator, seeds) -> np.ndarray:
    return np.concatenate([latent_codes.seed_z(1, s, g.latent_dim) for s in seeds])


def interpolate(g: ExportedGenerator, v) -> List[List[np.ndarray]]:
    label = g.check_label(v.label)
    if v.steps < 2:
        raise LatentError(f"--steps must be >= 2 (endpoints included), got {v.steps}")
    if v.z_file:
        try:
            zs = np.load(v.z_file)
        except (OSError, ValueError) as e:
            raise LatentError(f"--z_file: cannot read {v.z_file} as a .npy array: {e}") from None
        zs = g.check_z(zs, f"--z_file {v.z_file}")
        if len(zs) < 2:
            raise LatentError(f"--z_file: need at least 2 endpoint rows, got {len(zs)}")
    else:
        seeds = _ints(v.seeds or _DEFAULT_SEEDS["interpolate"], "--seeds")
        if len(seeds) < 2:
            raise LatentError(f"--seeds needs at least 2 endpoints, got {seeds}")
        zs = _seed_zs(g, seeds)
    methods = latent_codes.METHODS if v.method == "both" else (v.method,)
    return [list(g.decode(latent_codes.interpolate(zs, v.steps, m), label)) for m in methods]


def arithmetic(g: ExportedGenerator, v) -> List[List[np.ndarray]]:
    label = g.check_label(v.label)
    num = 64 if v.num is None else v.num
    if num < 1:
        raise LatentError(f"--num must be >= 1, got {num}")
    if not v.concept:
        raise LatentError("arithmetic needs --concept=i,j,... once per concept (indices into the "
                          f"grid of `sample --seed {v.seed} --num {num}`)")
    concepts = [_ints(c.split(","), "--concept") for c in v.concept]
    for c in concepts:
        bad = [i for i in c if not 0 <= i < num]
        if bad or not c:
            raise LatentError(f"--concept={','.join(map(str, c))}: indices must be in [0, {num}) "
                              f"(the grid of --num {num}), got {bad or 'none'}")
    if v.weights is None:
        if len(concepts) != 3:
            raise LatentError(f"--weights is needed for {len(concepts)} concepts (the default 1,-1,1 "
                              "is for three: A - B + C)")
        weights = [1.0, -1.0, 1.0]
    else:
        try:
            weights = [float(w) for w in v.weights]
        except ValueError:
            raise LatentError(f"--weights takes comma-separated numbers, got {','.join(v.weights)}") from None
        if len(weights) != len(concepts):
            raise LatentError(f"--weights needs one weight per concept: {len(concepts)} concepts, "
                              f"{len(weights)} weights")
    z = latent_codes.seed_z(num, v.seed, g.latent_dim)
    chosen = [z[c] for c in concepts]
    means = np.stack([c.mean(axis=0) for c in chosen]).astype(np.float32)
    result = latent_codes.combine(chosen, weights)[None]
    rows = [list(g.decode(c, label)) + [g.decode(m[None], label)[0]] for c, m in zip(chosen, means)]
    return rows + [list(g.decode(result, label))]


def sweep(g: ExportedGenerator, v) -> List[List[np.ndarray]]:
    if not g.conditional:
        raise LatentError(f"sweep needs a conditional model (cgan); {g.model_dir} takes no label")
    k = g.num_classes
    if k is None:
        raise LatentError(f"{g.model_dir} records no num_classes in its metadata; sweep needs it")
    seeds = _ints(v.seeds or _DEFAULT_SEEDS["sweep"], "--seeds")
    zs = _seed_zs(g, seeds)
    return [list(g.decode(np.repeat(z[None], k, axis=0), np.arange(k))) for z in zs]


def _training_images(g: ExportedGenerator, v) -> np.ndarray:
    from tfgan_suite import data

    name = v.dataset or g.meta.get("dataset")
    if not name:
        raise LatentError(f"{g.model_dir} records no dataset; pass --dataset")
    try:
        loaded = data.load(name, split="train", data_dir=v.data_dir,
                           image_size=None if name == "fashion_mnist" else g.meta.get("data_shape", [None])[0])
    except data.DataError as e:
        raise LatentError(f"--dataset {name}: {e}") from None
    x = loaded.x if not v.train_examples else loaded.x[:v.train_examples]
    shape = list(x.shape[1:])
    if loaded.kind != "image" or shape != list(g.meta.get("data_shape", shape)):
        raise LatentError(f"--dataset {name} holds data of shape {shape}; {g.model_dir} makes "
                          f"{g.meta.get('data_shape')}")
    return x


def neighbours(g: ExportedGenerator, v) -> List[List[np.ndarray]]:
    from tfgan_suite.metrics import feature_nets

    num = 8 if v.num is None else v.num
    if num < 1 or v.k < 1:
        raise LatentError(f"--num and --k must be >= 1, got --num={num} --k={v.k}")
    label = None
    if g.conditional:
        label = np.arange(num) % g.num_classes if g.num_classes else np.zeros(num, np.int32)
    samples = g.decode(latent_codes.seed_z(num, v.seed, g.latent_dim), label)
    train = _training_images(g, v)
    if v.k > len(train):
        raise LatentError(f"--k={v.k} exceeds the {len(train)} training images compared")
    pixel_idx, pixel_d = latent_codes.nearest_neighbours(samples / 255.0, train / 255.0, v.k)
    try:
        net = feature_nets.get(v.feature_net, samples.shape[1:])
    except feature_nets.FeatureNetError as e:
        raise LatentError(f"--feature_net: {e}") from None
    feat_idx, feat_d = latent_codes.nearest_neighbours(net(samples)[0], net(train)[0], v.k)
    print(f"nearest training image per sample (of {len(train)}): pixel L2 "
          f"{', '.join(f'{d:.2f}' for d in pixel_d[:, 0])}; {net.name} feature L2 "
          f"{', '.join(f'{d:.2f}' for d in feat_d[:, 0])}")
    blank = _blank(samples)
    return [[s] + list(train[p]) + [blank] + list(train[f])
            for s, p, f in zip(samples, pixel_idx, feat_idx)]


def reconstruct(g: ExportedGenerator, v) -> List[List[np.ndarray]]:
    g.require_encode()
    num = 8 if v.num is None else v.num
    if num < 1:
        raise LatentError(f"--num must be >= 1, got {num}")
    train = _training_images(g, v)
    pick = np.random.default_rng(v.seed).permutation(len(train))[:num]
    x = train[pick]
    z = g.encode(x.astype(np.float32) / 255.0)
    return [list(x), list(g.decode(z, None))]


_RUN = {"interpolate": interpolate, "arithmetic": arithmetic, "sweep": sweep,
        "neighbours": neighbours, "reconstruct": reconstruct}


def run_command(command: str, v) -> str:
    """Runs one command with flag values `v` and writes its grid; returns a summary line."""
    if command not in _RUN:
        raise LatentError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    if not v.out.lower().endswith(".png"):
        raise LatentError(f"--out must name a .png file, got {v.out!r}")
    g = ExportedGenerator(v.model)
    grid = _grid(_RUN[command](g, v))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(v.out)), exist_ok=True)
        images.write_png(v.out, grid)
    except OSError as e:
        raise LatentError(f"cannot write {v.out}: {e.strerror or e}") from None
    return f"wrote {v.out}: {command} of {g.model_dir} as a {grid.shape[0]}x{grid.shape[1]} grid"


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    if len(argv) != 2:
        usage_error(f"expected one command ({', '.join(COMMANDS)}) before the flags, got "
                    f"{argv[1:] or 'none'}; e.g. python -m tfgan_suite.latent interpolate --model DIR --out walk.png")
    try:
        print(run_command(argv[1], flag_values))
    except LatentError as e:
        usage_error(str(e))


def run() -> None:
    """Console entry point (`python -m tfgan_suite.latent`)."""
    run_main(main, define_flags)


if __name__ == "__main__":
    run()
