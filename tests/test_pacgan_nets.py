"""Tests for the PacGAN 2-D networks (tfgan_suite.nets.pacgan) and the Maxout layer.

Sizes and parameter counts are written out by hand from the authors' network
description (benchmarks/PROTOCOL_2D.md), not read back from the code under test.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import nets
from tfgan_suite.nets.maxout import Maxout


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _layers(model, cls):
    return [layer for layer in model.layers if type(layer) is cls]


# ----------------------------------------------------------------- Maxout


def test_maxout_matches_numpy_reference():
    x = np.random.default_rng(0).standard_normal((7, 3, 12)).astype("float32")
    got = Maxout(num_pieces=4)(x).numpy()
    expected = np.empty((7, 3, 3), np.float32)
    for j in range(3):  # unit j = max of features 4j, 4j+1, 4j+2, 4j+3
        expected[..., j] = np.max(x[..., 4 * j: 4 * j + 4], axis=-1)
    np.testing.assert_array_equal(got, expected)


def test_maxout_hand_example_and_identity():
    x = np.array([[1.0, 5.0, 2.0, -1.0, -3.0, 0.0]], np.float32)
    np.testing.assert_array_equal(Maxout(3)(x).numpy(), [[5.0, 0.0]])
    np.testing.assert_array_equal(Maxout(2)(x).numpy(), [[5.0, 2.0, 0.0]])
    np.testing.assert_array_equal(Maxout(1)(x).numpy(), x)


def test_maxout_gradient_goes_to_the_winning_piece_only():
    x = tf.constant([[1.0, 5.0, 2.0, -1.0, -3.0, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(Maxout(3)(x) * tf.constant([[2.0, 3.0]]))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[0, 2, 0, 0, 0, 3]])


def test_maxout_errors_and_config():
    with pytest.raises(ValueError, match="num_pieces=0"):
        Maxout(0)
    with pytest.raises(ValueError, match="multiple of num_pieces=5"):
        Maxout(5)(np.zeros((2, 12), np.float32))
    layer = Maxout(5, name="m")
    assert Maxout.from_config(layer.get_config()).num_pieces == 5


# --------------------------------------------------------------- networks


def test_generator_layer_stack_at_reference_width():
    g = nets.build_generator("pacgan", data_shape=(2,), latent_dim=2, width=64)
    dense = _layers(g, keras.layers.Dense)
    assert [d.units for d in dense] == [400, 400, 400, 400, 2]
    assert [d.use_bias for d in dense] == [False, False, False, False, True]
    assert len(_layers(g, keras.layers.BatchNormalization)) == 4
    assert len(_layers(g, keras.layers.ReLU)) == 4
    assert all(bn.momentum == 0.95 for bn in _layers(g, keras.layers.BatchNormalization))
    # By hand: 2*400 + 3*400*400 + 4 BN * 2*400 (gamma, beta) + 400*2 + 2.
    assert g.count_params() - sum(int(np.prod(w.shape)) for w in g.non_trainable_weights) == 484_802
    assert sum(int(np.prod(w.shape)) for w in g.non_trainable_weights) == 4 * 2 * 400
    out = g(np.random.default_rng(0).standard_normal((5, 2)).astype("float32"), training=False)
    assert out.shape == (5, 2) and out.dtype == tf.float32


@pytest.mark.parametrize("pack,expected_params", [(1, 405_201), (4, 411_201)])
def test_discriminator_maxout_stack_and_packed_input(pack, expected_params):
    d = nets.build_discriminator("pacgan", data_shape=(2 * pack,), width=64, norm="none")
    assert d.input_shape == (None, 2 * pack)
    dense = _layers(d, keras.layers.Dense)
    assert [x.units for x in dense] == [1000, 1000, 1000, 1]  # 200 units x 5 pieces
    assert [m.num_pieces for m in _layers(d, Maxout)] == [5, 5, 5]
    assert not [l for l in d.layers if isinstance(l, (keras.layers.BatchNormalization,
                                                      keras.layers.LayerNormalization))]
    # By hand: (2M*1000 + 1000) + 2 * (200*1000 + 1000) + (200 + 1).
    assert d.count_params() == expected_params
    logits = d(np.zeros((3, 2 * pack), np.float32))
    assert logits.shape == (3, 1) and logits.dtype == tf.float32


def test_kernels_start_normal_0_02_biases_zero():
    d = nets.build_discriminator("pacgan", data_shape=(2,), width=64, norm="none")
    kernel = _layers(d, keras.layers.Dense)[1].kernel.numpy()  # 200k draws
    assert abs(kernel.std() - 0.02) < 0.0005 and abs(kernel.mean()) < 0.0005
    assert all(np.all(x.bias.numpy() == 0) for x in _layers(d, keras.layers.Dense))


def test_width_scales_units():
    g = nets.build_generator("pacgan", data_shape=(2,), latent_dim=2, width=32)
    d = nets.build_discriminator("pacgan", data_shape=(2,), width=32, norm="none")
    assert [x.units for x in _layers(g, keras.layers.Dense)] == [200] * 4 + [2]
    assert [x.units for x in _layers(d, keras.layers.Dense)] == [500] * 3 + [1]


@pytest.mark.parametrize("norm,cls", [("batch", keras.layers.BatchNormalization),
                                      ("layer", keras.layers.LayerNormalization)])
def test_discriminator_norm_on_hidden_layers_2_and_3(norm, cls):
    d = nets.build_discriminator("pacgan", data_shape=(4,), width=8, norm=norm)
    assert len(_layers(d, cls)) == 2
    assert [x.use_bias for x in _layers(d, keras.layers.Dense)] == [True, False, False, True]


def test_spectral_norm_wraps_every_dense():
    d = nets.build_discriminator("pacgan", data_shape=(2,), width=8, norm="none",
                                 spectral_norm=True)
    assert [l.name for l in d.layers if l.name.endswith("_sn")] == [
        "hidden1_sn", "hidden2_sn", "hidden3_sn", "logits_sn"]


def test_jit_packed_forward_backward():
    pack = 3
    g = nets.build_generator("pacgan", data_shape=(2,), latent_dim=2, width=8)
    d = nets.build_discriminator("pacgan", data_shape=(2 * pack,), width=8, norm="none")
    variables = g.trainable_variables + d.trainable_variables

    @tf.function(jit_compile=True)
    def step(z):
        with tf.GradientTape() as tape:
            points = g(tf.reshape(z, (-1, 2)), training=True)           # [N * pack, 2]
            packed = tf.reshape(points, (-1, 2 * pack))                 # [N, 2 * pack]
            loss = tf.reduce_mean(tf.nn.softplus(-d(packed, training=True)))
        return loss, tape.gradient(loss, variables)

    loss, grads = step(tf.random.stateless_normal((4, pack, 2), seed=(1, 2)))
    assert np.isfinite(loss.numpy())
    assert all(grad is not None and np.all(np.isfinite(grad.numpy())) for grad in grads)
