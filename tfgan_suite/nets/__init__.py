"""Generator and discriminator networks, chosen by architecture name.

Variants never build layers themselves: they ask this module for a generator
and a discriminator by name, so any objective runs on any architecture that
fits the data. Arguments are checked here, once, with one-line messages that
say what was wrong and what is accepted; the architecture modules only build.

Adding an architecture: write a module with `generator(data_shape, latent_dim,
width, name)` and `discriminator(data_shape, width, norm, name)`, then add one
line to `_REGISTRY`. Its discriminator also takes `spectral_norm`: wrap
each Conv2D/Dense in `spectral_norm.maybe_wrap`.

Example:

>>> g = build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=64)
>>> d = build_discriminator("dcgan", data_shape=(28, 28, 1), norm="layer")
>>> d(g(keras.random.normal((8, 64), seed=0))).shape
TensorShape([8, 1])
"""

import collections
import numbers

from tfgan_suite import packing
from tfgan_suite.nets import dcgan
from tfgan_suite.nets import mlp
from tfgan_suite.nets import pacgan
from tfgan_suite.nets.spectral_norm import SpectralNormalization


class ArchitectureError(ValueError):
    """An architecture name, data shape or network option that cannot be built."""


_Architecture = collections.namedtuple(
    "_Architecture", ["generator", "discriminator", "kinds"]
)

# name -> builders and the data kinds they accept: "image", "points" (2-D points (2,)),
# "packed_points" (a discriminator that also takes M points packed along the features,
# data_shape (2 * M,), as in PacGAN).
_REGISTRY = {
    "dcgan": _Architecture(dcgan.generator, dcgan.discriminator, ("image",)),
    "mlp": _Architecture(mlp.generator, mlp.discriminator, ("image", "points")),
    "pacgan": _Architecture(pacgan.generator, pacgan.discriminator,
                            ("points", "packed_points")),
}

ARCHITECTURES = tuple(_REGISTRY)
NORMS = ("batch", "layer", "none")
# Generator normalisation: DCGAN's batch norm, or none (WGAN-GP section 5's no-BN G).
G_NORMS = ("batch", "none")
IMAGE_SIZES = (28, 32, 64)
IMAGE_CHANNELS = (1, 3)

_DEFAULTS = {"image": "dcgan", "points": "mlp"}


def default_architecture(kind):
    """Returns the architecture a variant uses when none is requested.

    Args:
        kind: "image" or "points" (2-D mixtures).

    Returns:
        "dcgan" for images, "mlp" for points.
    """
    if kind not in _DEFAULTS:
        raise ArchitectureError(
            f"kind must be one of {_quoted(_DEFAULTS)}; got {kind!r}"
        )
    return _DEFAULTS[kind]


def generator_has_batch_norm(architecture, data_shape):
    """Whether `architecture`'s generator for `data_shape` has batch norm to keep or drop
    (dcgan and pacgan always; mlp for images only, its 2-D generator has none)."""
    return architecture in ("dcgan", "pacgan") or (architecture == "mlp"
                                                   and len(tuple(data_shape)) == 3)


def check_g_norm(architecture, data_shape, norm):
    """Refuses a generator normalisation `architecture` cannot build (one line, what is
    accepted); None means the architecture's own."""
    if norm is None:
        return
    if not isinstance(norm, str) or norm not in G_NORMS:
        raise ArchitectureError(f"g_norm must be one of {_quoted(G_NORMS)}; got {norm!r}")
    if norm == "batch" and not generator_has_batch_norm(architecture, data_shape):
        raise ArchitectureError(
            f"the {architecture} generator for data of shape {tuple(data_shape)} has no "
            "batch norm; g_norm accepts 'none' for it, or leave it unset")


def build_generator(architecture, *, data_shape, latent_dim, width=64, norm=None,
                    name="generator"):
    """Builds a generator that maps latent vectors to examples.

    Images come out through tanh, so in [-1, 1] like the data pipeline's
    images; 2-D points come out linear, in data coordinates. The output layer
    is float32 so the model is usable under a mixed-precision policy.

    Args:
        architecture: one of `ARCHITECTURES`.
        data_shape: shape of one example without batch: (H, W, C) with
            H == W in (28, 32, 64) and C in (1, 3), or (2,) for points.
        latent_dim: size of z.
        width: network width; for dcgan the channels of the last hidden block
            (ngf), deeper blocks use 2x, 4x, 8x.
        norm: None (the architecture's own: batch norm in dcgan, pacgan and the mlp
            image generator), "batch", or "none" (no batch norm anywhere in G, biased
            layers instead: the generator WGAN-GP's section 5 trains and clipping fails on).
        name: model name.

    Returns:
        A functional `keras.Model` from float32 [N, latent_dim] to float32
        [N, *data_shape].

    Raises:
        ArchitectureError: for an unknown architecture, a data shape it cannot
            build, a non-positive `latent_dim` / `width`, or a `norm` it has not.
    """
    spec = _lookup(architecture)
    data_shape = _check_data_shape(architecture, spec, data_shape)
    latent_dim = _check_positive("latent_dim", latent_dim)
    width = _check_positive("width", width)
    check_g_norm(architecture, data_shape, norm)
    return spec.generator(data_shape, latent_dim, width, name, batch_norm=norm != "none")


def build_discriminator(architecture, *, data_shape, width=64, norm="batch",
                        spectral_norm=False, pack=1, name="discriminator"):
    """Builds a discriminator (or critic) that maps examples to raw logits.

    There is no sigmoid: the losses take logits, and Wasserstein critics need
    the unbounded score. `norm="layer"` (or "none") is for critics trained
    with a gradient penalty, which is defined per example and breaks under
    batch norm's coupling of the examples in a batch.

    Args:
        architecture: one of `ARCHITECTURES`.
        data_shape: as for `build_generator`; architectures that pack (pacgan) also
            take (2 * M,), M >= 2 points of a packed sample concatenated along the
            features (PacGAN): `data_shape=(2 * pack,)`.
        width: network width; for dcgan the channels of the first conv (ndf).
        norm: "batch" (DCGAN), "layer" or "none"; applied on every hidden
            layer except the first.
        spectral_norm: wrap every Conv2D and Dense (the logits layer too) in
            `SpectralNormalization` (Miyato et al. 2018); usually with
            `norm="none"`, as in SNGAN.
        pack: PacGAN packing M: the network takes M examples joined along the last axis
            (`tfgan_suite.packing`), [N, ..., M * C]; `data_shape` stays one example's.
        name: model name.

    Returns:
        A functional `keras.Model` from [N, *data_shape] (packed: the last axis M times
        larger) to float32 [N, 1].

    Raises:
        ArchitectureError: for an unknown architecture or norm, a data shape
            the architecture cannot build, or a non-positive `width`.
    """
    spec = _lookup(architecture)
    data_shape = _check_data_shape(architecture, spec, data_shape, packed=True)
    width = _check_positive("width", width)
    if not isinstance(norm, str) or norm not in NORMS:
        raise ArchitectureError(f"norm must be one of {_quoted(NORMS)}; got {norm!r}")
    if not isinstance(spectral_norm, bool):
        raise ArchitectureError(f"spectral_norm must be True or False; got {spectral_norm!r}")
    pack = _check_positive("pack", pack)
    return spec.discriminator(packing.packed_shape(data_shape, pack), width, norm, name,
                              spectral_norm=spectral_norm)


def _quoted(names):
    return ", ".join(repr(n) for n in names)


def _lookup(architecture):
    if not isinstance(architecture, str) or architecture not in _REGISTRY:
        raise ArchitectureError(
            f"unknown architecture {architecture!r}; accepted: {_quoted(ARCHITECTURES)}"
        )
    return _REGISTRY[architecture]


def _check_positive(arg, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ArchitectureError(f"`{arg}` must be a positive integer; got {arg}={value!r}")
    return int(value)


def _check_data_shape(architecture, spec, data_shape, packed=False):
    """Returns `data_shape` as a tuple of ints, or raises ArchitectureError.

    `packed`: the shape is a discriminator's input, which may be (2 * M,) for an
    architecture of kind "packed_points".
    """
    sizes = "28x28, 32x32 and 64x64 images with 1 or 3 channels"
    accepted = sizes + (", or 2-D points (2,)" if "points" in spec.kinds else "")
    try:
        shape = tuple(data_shape)
        ok = all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in shape)
    except TypeError:
        ok = False
    if not ok:
        raise ArchitectureError(
            f"data_shape must be a tuple of ints without the batch axis; got {data_shape!r}"
        )
    shape = tuple(int(d) for d in shape)

    if "image" not in spec.kinds:
        return _check_points_shape(architecture, spec, shape, packed)
    if shape == (2,):
        if "points" not in spec.kinds:
            raise ArchitectureError(
                f"the {architecture} architecture builds image networks; got 2-D points "
                f"{shape}: pass --architecture=mlp"
            )
        return shape
    if len(shape) != 3:
        raise ArchitectureError(
            f"the {architecture} architecture supports {accepted}; got {shape}"
        )
    height, width, channels = shape
    if height != width or height not in IMAGE_SIZES:
        raise ArchitectureError(
            f"the {architecture} architecture supports {accepted}; got {shape}: "
            "pass --image_size=28, 32 or 64"
        )
    if channels not in IMAGE_CHANNELS:
        raise ArchitectureError(
            f"the {architecture} architecture supports {accepted}; got {shape}: "
            "convert the images to 1 (grayscale) or 3 (RGB) channels"
        )
    return shape


def _check_points_shape(architecture, spec, shape, packed):
    """`shape` for an architecture that builds 2-D point networks only."""
    can_pack = packed and "packed_points" in spec.kinds
    accepted = "2-D points (2,)" + (" or M packed points (2 * M,)" if can_pack else "")
    if len(shape) == 1 and shape[0] >= 2 and shape[0] % 2 == 0 and (shape[0] == 2 or can_pack):
        return shape
    if len(shape) == 1 and shape[0] % 2 == 0 and "packed_points" in spec.kinds and not packed:
        raise ArchitectureError(
            f"the {architecture} generator makes single 2-D points, data_shape (2,); got "
            f"{shape}: pack only the discriminator's input")
    hint = (": pass --architecture=dcgan or mlp for images" if len(shape) == 3 else "")
    raise ArchitectureError(
        f"the {architecture} architecture builds networks for {accepted} only; got {shape}{hint}")
