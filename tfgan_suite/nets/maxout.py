"""Maxout activation: the maximum over groups of consecutive features.

Why: PacGAN's and ALI's toy discriminators are maxout networks (Goodfellow et al.
2013). A maxout unit is the largest of `num_pieces` linear pieces, so a maxout hidden
layer of `units` units is a Dense layer of `units * num_pieces` features followed by this
layer. Keeping the Dense separate lets `spectral_norm.maybe_wrap` wrap it like any other
Dense.

Example:

>>> x = keras.ops.convert_to_tensor([[1., 5., 2., -1., -3., 0.]])
>>> Maxout(num_pieces=3)(x)     # groups (1, 5, 2) and (-1, -3, 0)
<tf.Tensor: shape=(1, 2), ..., numpy=array([[5., 0.]], dtype=float32)>

Reference:
    Goodfellow et al. "Maxout Networks", ICML 2013. https://arxiv.org/abs/1302.4389
"""

import keras


@keras.saving.register_keras_serializable(package="tfgan_suite")
class Maxout(keras.layers.Layer):
    """Maps [..., units * num_pieces] to [..., units]: unit j is the max of features
    j * num_pieces ... (j + 1) * num_pieces - 1 (consecutive features form a unit, as in
    Blocks' `LinearMaxout`, the layer of the PacGAN authors' code).

    Args:
        num_pieces: linear pieces per unit, >= 1 (1 is the identity).
        **kwargs: `keras.layers.Layer` arguments (name, dtype).

    Raises:
        ValueError: for `num_pieces` < 1, or (when built) a last axis that is not a
            multiple of `num_pieces`.
    """

    def __init__(self, num_pieces, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_pieces, bool) or not isinstance(num_pieces, int) or num_pieces < 1:
            raise ValueError(f"`num_pieces` must be an integer >= 1. Received: num_pieces={num_pieces!r}")
        self.num_pieces = num_pieces

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None or features % self.num_pieces:
            raise ValueError(
                f"Maxout's input needs a last axis that is a multiple of num_pieces={self.num_pieces}. "
                f"Received: input_shape={tuple(input_shape)}")
        self.units = features // self.num_pieces

    def call(self, inputs):
        shape = keras.ops.shape(inputs)
        grouped = keras.ops.reshape(inputs, (*shape[:-1], self.units, self.num_pieces))
        return keras.ops.max(grouped, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.num_pieces)

    def get_config(self):
        return {**super().get_config(), "num_pieces": self.num_pieces}
