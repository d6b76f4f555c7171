"""SpectralNormalization against numpy: SVD, the analytic gradient of W/sigma(W), the layer
ops with the normalised kernel; u's updates, checkpoints, config; SN discriminators."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import nets
from tfgan_suite.nets.spectral_norm import SpectralNormalization

# (layer factory, input shape, output-channel axis of the kernel)
LAYERS = {
    "dense": (lambda: keras.layers.Dense(7), (4, 5), -1),
    "conv2d": (lambda: keras.layers.Conv2D(6, 3, strides=2, padding="same"), (2, 8, 8, 4), -1),
    "conv2d_transpose": (lambda: keras.layers.Conv2DTranspose(6, 4, strides=2, padding="same"),
                         (2, 5, 5, 3), -2),
}


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np_matrix(kernel, axis):
    """The matrix with output channels as rows, written out per layout."""
    kernel = np.asarray(kernel, np.float64)
    if kernel.ndim == 2:                                   # Dense [in, out]
        return kernel.T
    kh, kw, a, b = kernel.shape
    if axis == -1:                                         # Conv2D [kh, kw, in, out]
        return kernel.transpose(3, 0, 1, 2).reshape(b, kh * kw * a)
    return kernel.transpose(2, 0, 1, 3).reshape(a, kh * kw * b)   # ConvT [kh, kw, out, in]


def _from_np_matrix(mat, kernel_shape, axis):
    if len(kernel_shape) == 2:
        return mat.T
    kh, kw, a, b = kernel_shape
    if axis == -1:
        return mat.reshape(b, kh, kw, a).transpose(1, 2, 3, 0)
    return mat.reshape(a, kh, kw, b).transpose(1, 2, 0, 3)


def _normalize(x):
    return x / np.linalg.norm(x)


def _built(name, seed=3):
    make, shape, axis = LAYERS[name]
    layer = SpectralNormalization(make(), seed=seed)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer(x)
    # Kernels with a clear gap between the top singular values: power iteration converges
    # well within 50 steps (Glorot kernels of these sizes can have a tiny gap).
    kernel = layer.layer.kernel
    mat = np.random.default_rng(1).standard_normal(_np_matrix(kernel.numpy(), axis).shape)
    mat[0] *= 4.0
    layer.layer.kernel.assign(_from_np_matrix(mat, kernel.shape, axis).astype("float32"))
    return layer, x, axis


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matrix_layout_puts_output_channels_in_rows(name):
    layer, _, axis = _built(name)
    kernel = layer.layer.kernel.numpy()
    np.testing.assert_array_equal(layer.kernel_matrix().numpy(), _np_matrix(kernel, axis))
    assert layer.kernel_matrix().shape[0] == (7 if name == "dense" else 6)


def test_conv_transpose_normalises_a_different_matrix_than_keras_builtin():
    layer, _, _ = _built("conv2d_transpose")
    kernel = layer.layer.kernel.numpy()                     # [4, 4, out=6, in=3]
    ours = np.linalg.svd(_np_matrix(kernel, -2), compute_uv=False)[0]
    builtin = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    assert abs(ours - builtin) > 1e-2 * ours


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_top_singular_value_of_normalised_kernel_is_one(name):
    layer, x, axis = _built(name)
    for _ in range(50):
        layer(x, training=True)
    kernel, sigma = layer.normalized_kernel()
    w_sn = _np_matrix(kernel.numpy(), axis)
    np.testing.assert_allclose(np.linalg.svd(w_sn, compute_uv=False)[0], 1.0, atol=1e-3)
    top = np.linalg.svd(_np_matrix(layer.layer.kernel.numpy(), axis), compute_uv=False)[0]
    np.testing.assert_allclose(float(sigma), top, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("training", [False, True])
def test_gradient_is_that_of_w_over_sigma_with_u_v_fixed(name, training):
    layer, x, axis = _built(name)
    for _ in range(3):
        layer(x, training=True)
    kernel = layer.layer.kernel
    w = _np_matrix(kernel.numpy(), axis)
    u = layer.u.numpy().astype(np.float64)
    v = _normalize(w.T @ u)
    if training:                       # one power-iteration step first, then u, v fixed
        u = _normalize(w @ v)
    sigma = u @ w @ v
    g = np.random.default_rng(5).standard_normal(w.shape)
    g_kernel = tf.constant(_from_np_matrix(g, kernel.shape, axis), tf.float32)

    with tf.GradientTape() as tape:
        w_sn, _ = layer.normalized_kernel(training=training)
        loss = tf.reduce_sum(g_kernel * w_sn)
    grad = _np_matrix(tape.gradient(loss, kernel.value).numpy(), axis)

    expected = g / sigma - (np.sum(g * w) / sigma**2) * np.outer(u, v)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np_matrix(w_sn.numpy(), axis), w / sigma, rtol=1e-5, atol=1e-6)


def test_dense_output_and_its_gradient_use_the_normalised_kernel():
    layer, x, _ = _built("dense")
    layer.layer.bias.assign(np.linspace(-1, 1, 7).astype("float32"))
    w, b = layer.layer.kernel.numpy().astype(np.float64), layer.layer.bias.numpy()
    u = layer.u.numpy().astype(np.float64)
    v = _normalize(w @ u)              # W_mat = kernel^T, so W_mat^T u = kernel u
    sigma = u @ w.T @ v
    g_out = np.random.default_rng(2).standard_normal((4, 7))
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(tf.constant(g_out, tf.float32) * y)
    np.testing.assert_allclose(y.numpy(), x @ (w / sigma) + b, rtol=1e-5, atol=1e-5)
    g = (x.astype(np.float64).T @ g_out).T            # dL/dW_sn as a matrix [out, in]
    expected = g / sigma - (np.sum(g * w.T) / sigma**2) * np.outer(u, v)
    grad = tape.gradient(loss, layer.layer.kernel.value).numpy()
    np.testing.assert_allclose(grad.T, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["conv2d", "conv2d_transpose"])
def test_conv_outputs_equal_tf_nn_ops_with_the_normalised_kernel(name):
    layer, x, _ = _built(name)
    kernel, _ = layer.normalized_kernel()
    y = layer(x).numpy()
    if name == "conv2d":
        ref = tf.nn.conv2d(x, kernel, strides=2, padding="SAME")
    else:
        ref = tf.nn.conv2d_transpose(x, kernel, output_shape=(2, 10, 10, 6), strides=2,
                                     padding="SAME")
    np.testing.assert_allclose(y, ref.numpy() + layer.layer.bias.numpy(), rtol=1e-5, atol=1e-5)


def test_u_updates_in_training_calls_only_and_under_xla():
    layer, x, _ = _built("conv2d")
    u0 = layer.u.numpy().copy()
    np.testing.assert_allclose(np.linalg.norm(u0), 1.0, rtol=1e-6)
    for _ in range(3):
        layer(x)
        layer(x, training=False)
    np.testing.assert_array_equal(layer.u.numpy(), u0)
    layer(x, training=True)
    u1 = layer.u.numpy().copy()
    assert not np.allclose(u1, u0)
    w = layer.kernel_matrix().numpy().astype(np.float64)
    np.testing.assert_allclose(u1, _normalize(w @ _normalize(w.T @ u0)), rtol=1e-5, atol=1e-6)

    # The same training call under XLA gives the same u and output as in eager mode.
    step = tf.function(lambda t: layer(t, training=True), jit_compile=True)
    y = step(tf.constant(x))
    u2 = layer.u.numpy().copy()
    np.testing.assert_allclose(u2, _normalize(w @ _normalize(w.T @ u1)), rtol=1e-5, atol=1e-6)
    layer.u.assign(u1)
    np.testing.assert_allclose(y.numpy(), layer(x, training=True).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.u.numpy(), u2, rtol=1e-6, atol=1e-7)


def test_checkpoint_restores_u(tmp_path):
    layer, x, _ = _built("dense")
    layer(x, training=True)
    saved_u = layer.u.numpy().copy()
    path = tf.train.Checkpoint(layer=layer).save(str(tmp_path / "ckpt"))
    for _ in range(3):
        layer(x, training=True)
    assert not np.allclose(layer.u.numpy(), saved_u)
    tf.train.Checkpoint(layer=layer).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(layer.u.numpy(), saved_u)


def test_config_round_trip_and_seeded_u():
    layer = SpectralNormalization(keras.layers.Conv2DTranspose(4, 3, name="up"),
                                  power_iterations=2, seed=11, name="up_sn")
    layer.build((None, 6, 6, 2))
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, SpectralNormalization)
    assert (clone.power_iterations, clone.seed, clone.name) == (2, 11, "up_sn")
    assert clone.layer.get_config() == layer.layer.get_config()
    assert clone.built
    np.testing.assert_array_equal(clone.u.numpy(), layer.u.numpy())   # same seed, same u


def test_functional_discriminator_config_round_trip():
    d = nets.build_discriminator("mlp", data_shape=(2,), width=4, norm="none",
                                 spectral_norm=True)
    clone = keras.Model.from_config(d.get_config())
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in d.layers]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(keras.layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="wraps Dense, Conv2D, Conv2DTranspose"):
        SpectralNormalization(keras.layers.LayerNormalization())


# ------------------------------------------------------ build_discriminator(spectral_norm)


@pytest.mark.parametrize("architecture, data_shape, expected", [
    ("dcgan", (28, 28, 1), ["down1", "down2", "logits"]),
    ("dcgan", (32, 32, 3), ["down1", "down2", "down3", "logits"]),
    ("mlp", (2,), ["hidden1", "hidden2", "logits"]),
    ("mlp", (28, 28, 1), ["hidden1", "hidden2", "logits"]),
])
def test_spectral_norm_wraps_every_conv_and_dense_of_d(architecture, data_shape, expected):
    plain = nets.build_discriminator(architecture, data_shape=data_shape, width=4, norm="none")
    d = nets.build_discriminator(architecture, data_shape=data_shape, width=4, norm="none",
                                 spectral_norm=True)
    wrapped = [l for l in d.layers if isinstance(l, SpectralNormalization)]
    assert [l.layer.name for l in wrapped] == expected
    assert [l.name for l in wrapped] == [f"{n}_sn" for n in expected]
    assert not any(isinstance(l, (keras.layers.Dense, keras.layers.Conv2D)) for l in d.layers)
    assert [v.shape for v in d.trainable_variables] == [v.shape
                                                         for v in plain.trainable_variables]
    assert len(d.non_trainable_variables) == len(expected)             # one u per layer
    assert all(not isinstance(l, SpectralNormalization) for l in plain.layers)

    # One XLA-compiled training call moves every u (but the logits layer's: with one output
    # row, u = +-1 and sigma = ||w|| exactly).
    x = np.random.default_rng(0).standard_normal((3, *data_shape)).astype("float32")
    before = [l.u.numpy().copy() for l in wrapped]
    step = tf.function(lambda t: d(t, training=True), jit_compile=True)
    assert step(tf.constant(x)).shape == (3, 1)
    assert all(not np.allclose(l.u.numpy(), u) for l, u in zip(wrapped[:-1], before))
    logits = wrapped[-1]
    np.testing.assert_allclose(np.abs(logits.u.numpy()), [1.0], rtol=1e-6)
    np.testing.assert_allclose(float(logits.normalized_kernel()[1]),
                               np.linalg.norm(logits.layer.kernel.numpy()), rtol=1e-5)


def test_spectral_norm_argument_is_checked():
    with pytest.raises(nets.ArchitectureError, match="spectral_norm must be True or False"):
        nets.build_discriminator("mlp", data_shape=(2,), spectral_norm="yes")
