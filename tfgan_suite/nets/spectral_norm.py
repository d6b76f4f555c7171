"""Spectral normalisation of a layer's kernel, as in Miyato et al. (2018) and PyTorch.

Why the suite's own wrapper: `keras.layers.SpectralNormalization` overwrites the wrapped
kernel with W / sigma in place during training, so no gradient flows through sigma and the
optimizer's moments act on the normalised weights; for Conv2DTranspose it normalises a
different matrix (KERAS_NOTES, "Spectral normalisation"). Here, as in the paper's Algorithm 1
and in `torch.nn.utils.spectral_norm`, the raw kernel W stays the trainable variable and the
forward pass uses

    W_sn = W / sigma(W),    sigma(W) = u^T W_mat v,

where W_mat is the kernel reshaped to a matrix with the layer's output channels as rows and
(u, v) come from power iteration. u and v are constants for the gradient (stop_gradient), so

    d<G, W_sn>/dW_mat = G_mat / sigma - (<G, W> / sigma^2) u v^T,

the analytic gradient of W / sigma(W) with sigma = u^T W v (the paper's eq. 12).

Which matrix. Keras stores kernels as

    Dense            [in, out]
    Conv2D           [kh, kw, in, out]
    Conv2DTranspose  [kh, kw, out, in]

A transposed convolution is the gradient of a convolution from its output space to its input
space, so Keras keeps the forward convolution's layout [kh, kw, C_fwd_in, C_fwd_out], where
the transposed layer's own output channels (`filters`) are the forward convolution's *input*
channels: axis -2, not -1. The output-channel axis is moved to the front and the rest
flattened, giving W_mat of shape [out, in] (Dense) or [out, kh*kw*in] (both convolutions) -
the matrix PyTorch normalises (`dim=0` for Conv2d/Linear, `dim=1` for ConvTranspose2d, whose
weight is [in, out, kh, kw]). Keras's built-in layer reshapes every kernel to
[-1, kernel.shape[-1]], which for Conv2DTranspose groups the *input* channels as rows and
generally has a different top singular value. Order within the flattened axis does not
change the singular values; only which axis gives the rows does.

The power-iteration state. u (length out) is a non-trainable variable, initialised
N(0, I) / ||.|| from `seed`. Every call with `training=True` runs `power_iterations`
steps v <- W_mat^T u / ||.||, u <- W_mat v / ||.|| starting from the stored u, stores the new u
and uses it (so, as in PyTorch and the official Chainer code, every training-mode forward
pass is one more iteration; over many updates the estimate tracks the largest singular
value). Inference calls read u without changing it and take v = W_mat^T u / ||W_mat^T u||.

Replicas. u is created with `aggregation="only_first_replica"`: every replica starts from
the same u and the same mirrored W, and power iteration does not depend on the data, so
every replica computes the same new u; the first replica's value is stored. Works under
`jit_compile=True` (the update is a plain variable assignment).

Example:

>>> layer = SpectralNormalization(keras.layers.Conv2D(8, 3), seed=0)
>>> y = layer(np.zeros((2, 16, 16, 3), "float32"), training=True)
>>> layer.kernel_matrix().shape            # [out, kh * kw * in]
TensorShape([8, 27])

Reference:
    Miyato, Kataoka, Koyama, Yoshida. "Spectral Normalization for Generative Adversarial
    Networks", ICLR 2018, section 2.1 and Algorithm 1. https://arxiv.org/abs/1802.05957;
    official code github.com/pfnet-research/sngan_projection (Chainer).
"""

import keras
from keras import ops

# The only Keras-internal names used: the StatelessScope that Keras itself uses to run a
# layer with substituted variable values (there is no public getter for the active one).
from keras.src.backend import get_stateless_scope

# Output-channel axis of the kernel, per wrapped layer type (see the module docstring).
_OUTPUT_AXIS = {
    keras.layers.Dense: -1,
    keras.layers.Conv2D: -1,
    keras.layers.Conv2DTranspose: -2,
}


def _output_axis(layer):
    for cls, axis in _OUTPUT_AXIS.items():
        if isinstance(layer, cls):
            return axis
    accepted = ", ".join(cls.__name__ for cls in _OUTPUT_AXIS)
    raise ValueError(f"SpectralNormalization wraps {accepted}; "
                     f"received: layer={type(layer).__name__}")


def _l2_normalize(x, epsilon):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + epsilon)


def kernel_to_matrix(kernel, output_axis):
    """The kernel as a matrix with the output channels as rows: [out, prod(other axes)].

    Args:
        kernel: tensor of any rank >= 2.
        output_axis: axis of `kernel` holding the output channels (-1 for Dense and Conv2D,
            -2 for Conv2DTranspose).

    Returns:
        A tensor of shape [kernel.shape[output_axis], -1].
    """
    rows = kernel.shape[output_axis]
    return ops.reshape(ops.moveaxis(kernel, output_axis, 0), (rows, -1))


class _UnitNormal(keras.initializers.Initializer):
    """N(0, I) scaled to unit L2 norm, deterministic for an integer seed."""

    def __init__(self, seed=None, epsilon=1e-12):
        self._normal = keras.initializers.RandomNormal(seed=seed)
        self.epsilon = epsilon

    def __call__(self, shape, dtype=None):
        return _l2_normalize(self._normal(shape, dtype=dtype), self.epsilon)


@keras.saving.register_keras_serializable(package="tfgan_suite")
class SpectralNormalization(keras.layers.Wrapper):
    """Wraps a Dense, Conv2D or Conv2DTranspose layer so that it computes with W / sigma(W).

    The wrapped layer keeps its raw kernel as its trainable variable; this wrapper only adds
    the non-trainable power-iteration vector `u` and swaps the kernel the layer sees in
    `call` for the normalised one (through a `keras.StatelessScope`, the mechanism Keras
    uses to run a layer with substituted variable values), so the layer's own computation
    (bias, activation, padding, dtype policy) is unchanged.

    Args:
        layer: a `keras.layers.Dense`, `Conv2D` or `Conv2DTranspose`.
        power_iterations: power-iteration steps per training call (>= 1; the paper uses 1).
        epsilon: added to vector norms before dividing.
        seed: int seed of u's N(0, I) initialisation; None draws one from Keras's global
            seed (deterministic after `keras.utils.set_random_seed`).
        **kwargs: base layer arguments (name, dtype, ...); dtype defaults to the wrapped
            layer's dtype policy.

    Call arguments:
        inputs: the wrapped layer's input.
        training: True updates u (one more power-iteration step); False/None reads it.

    Returns:
        The wrapped layer's output computed with the normalised kernel.

    Reference: Miyato et al., ICLR 2018, Algorithm 1.
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, seed=None, **kwargs):
        kwargs.setdefault("dtype", layer.dtype_policy)
        # The power iteration and sigma stay in the kernel's float32 under a mixed policy;
        # the wrapped layer still casts its inputs and the normalised kernel itself.
        kwargs.setdefault("autocast", False)
        super().__init__(layer, **kwargs)
        self.output_axis = _output_axis(layer)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) \
                or power_iterations < 1:
            raise ValueError("`power_iterations` must be an integer >= 1. "
                             f"Received: power_iterations={power_iterations}")
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon}")
        self.power_iterations = power_iterations
        self.epsilon = float(epsilon)
        self.seed = seed

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self.layer.kernel
        if not isinstance(kernel, keras.Variable):
            raise ValueError(f"{self.layer.name}: the kernel must be a plain variable "
                             "(no LoRA or quantization) to be spectrally normalised")
        self.u = self.add_weight(
            name="u", shape=(kernel.shape[self.output_axis],),
            initializer=_UnitNormal(self.seed, self.epsilon), dtype=kernel.dtype,
            trainable=False, aggregation="only_first_replica")
        self.built = True

    def kernel_matrix(self):
        """The raw kernel W as the matrix W_mat that is normalised, [out, -1]."""
        return kernel_to_matrix(ops.convert_to_tensor(self.layer.kernel), self.output_axis)

    def power_iteration(self, w_mat, u):
        """`power_iterations` steps from u; returns the new (u, v), unit vectors."""
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(u, w_mat), self.epsilon)          # W^T u
            u = _l2_normalize(ops.matmul(w_mat, v), self.epsilon)          # W v
        return u, v

    def normalized_kernel(self, training=False):
        """W / sigma(W) in the kernel's own layout; `training=True` also updates u.

        Returns:
            (kernel, sigma): the normalised kernel and the sigma estimate u^T W_mat v.
        """
        kernel = ops.convert_to_tensor(self.layer.kernel)
        w_mat = kernel_to_matrix(kernel, self.output_axis)
        u = ops.convert_to_tensor(self.u)
        if training:
            u, v = self.power_iteration(w_mat, u)
            self.u.assign(u)
        else:
            v = _l2_normalize(ops.matmul(u, w_mat), self.epsilon)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(u * ops.matmul(w_mat, v))
        return kernel / sigma, sigma

    def call(self, inputs, training=None):
        kernel, _ = self.normalized_kernel(training=bool(training))
        # Run the wrapped layer with its kernel variable reading as `kernel`. An enclosing
        # StatelessScope (Keras's stateless_call) keeps its own substitutions.
        outer = get_stateless_scope()
        scope = keras.StatelessScope([(self.layer.kernel, kernel)],
                                     initialize_variables=False)
        if outer is not None:
            scope.state_mapping = {**outer.state_mapping, **scope.state_mapping}
        with scope:
            return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(power_iterations=self.power_iterations, epsilon=self.epsilon,
                      seed=self.seed)
        return config


def maybe_wrap(layer, enabled):
    """`layer` wrapped in SpectralNormalization (named `<layer name>_sn`) if `enabled`.

    For the architecture modules: `x = maybe_wrap(keras.layers.Dense(...), sn)(x)`.
    """
    if not enabled:
        return layer
    return SpectralNormalization(layer, name=f"{layer.name}_sn")
