"""Training precision (`--precision`): the Keras dtype policy of both players, and loss
scaling for float16.

Why a module of its own: three places must agree on what a precision means — building the
players (their layers take the dtype policy when they are made), compiling (float16 wraps
each player's optimizer in a `keras.optimizers.LossScaleOptimizer`) and the divergence guard
(a float16 update skipped by the loss scaler is not a divergence).

- `float32`: everything in float32, the suite's behaviour before this setting existed.
- `mixed_bfloat16`: the players compute in bfloat16 with float32 variables; bfloat16 has
  float32's exponent range, so no loss scaling.
- `mixed_float16`: the players compute in float16 with float32 variables; both optimizers
  are loss-scaled (dynamic scale, halved and the update skipped when a gradient overflows,
  doubled after `dynamic_growth_steps` finite ones).

What stays float32 under every policy: the networks' last layers (D's logits, G's samples,
encoder codes; `tfgan_suite.nets`), hence every loss, penalty, energy, k_t and logged
value; the spectral-norm power iteration (`SpectralNormalization` does not autocast); the
gradient norm of the gradient penalty; the SavedModel signatures (`tfgan_suite.serving`).

The policy is global in Keras. `policy_scope` sets it only while the players are built and
puts the previous one back afterwards, so nothing built later in the process (a feature
network, a second run in the same test process) inherits it; a layer keeps the policy it
was built with.
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Below this loss scale a float16 gradient that still overflows is a divergence, not a
# scale to lower (`DivergenceGuard`): the unscaled gradient itself is not finite.
MIN_LOSS_SCALE = 1.0


@contextlib.contextmanager
def policy_scope(precision):
    """Sets the global Keras dtype policy to `precision` inside the block, and restores the
    previous one on the way out (also after an exception).

    Example:
    >>> with policy_scope("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(4)
    >>> layer.compute_dtype, keras.config.dtype_policy().name
    ('bfloat16', 'float32')
    """
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {', '.join(PRECISIONS)}. "
                         f"Received: precision={precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def loss_scaled(precision):
    """True where the optimizers need loss scaling: float16 only."""
    return precision == "mixed_float16"


def wrap_optimizer(optimizer, precision):
    """`optimizer` in a LossScaleOptimizer under float16; `optimizer` itself otherwise.

    Keras's `compile` wraps only `model.optimizer` (and only when the model's own policy is
    float16), never a second optimizer: each player's is wrapped here.
    """
    if not loss_scaled(precision) or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def loss_scale(optimizer):
    """The current loss scale of a LossScaleOptimizer (a float32 variable), else None."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.dynamic_scale
    return None


def loss_scales(model):
    """[D's, G's] current loss scales as floats; [] for a model without loss scaling."""
    scales = [loss_scale(getattr(model, name, None)) for name in ("d_optimizer", "g_optimizer")]
    return [float(s.numpy()) for s in scales if s is not None]


def check_variant(precision, model_class, variant_name):
    """Refuses a mixed precision for a variant that trains in float32 only (irgan), with
    a one-line message; returns nothing when the pair is fine."""
    from tfgan_suite.settings import ConfigError

    if precision != "float32" and not model_class.mixed_precision:
        raise ConfigError(f"--precision={precision} does not apply to --variant="
                          f"{variant_name}: it trains in float32 only; use "
                          "--precision=float32")
