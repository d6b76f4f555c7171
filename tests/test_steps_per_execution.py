"""--steps_per_execution: k steps per call train exactly what k calls of one step do.

The reference is the same run at one step per call (Keras's plain loop): weights,
optimizer slots, the logged scalars and the checkpoints must be bit-identical, also across
a resume and across ebgan's switch from pretraining to the game.
"""

import os
import types

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.test_training import all_state, cfg_for, read_events
from tfgan_suite import config as config_lib
from tfgan_suite import training

INTERVALS = dict(steps=12, log_every=4, sample_every=4, checkpoint_every=4, batch_size=16,
                 width=8, latent_dim=2)


def scalars(run_dir, tag):
    return [(e.step, float(tf.make_ndarray(e.tensor_proto)))
            for e in read_events(run_dir).Tensors(tag)]


def checkpoints(run_dir):
    """The steps of the checkpoints kept, from their names (ckpt-<step>)."""
    paths = tf.train.get_checkpoint_state(os.path.join(run_dir, "ckpt")).all_model_checkpoint_paths
    return sorted(int(os.path.basename(p).split("-")[1]) for p in paths)


@pytest.mark.parametrize("variant, extra", [("nsgan", {}),
                                            ("ebgan", dict(ebgan_pretrain_steps=4))])
def test_several_steps_per_call_match_one_step_per_call(tmp_path, variant, extra):
    data = helpers.tiny_points()
    settings = dict(INTERVALS, variant=variant, **extra)
    one = training.train(cfg_for(tmp_path, "one", steps_per_execution=1, **settings),
                         data=data, verbose=0)
    tf.keras.backend.clear_session()
    # Unset, on 2-D data: the largest common divisor of the intervals, 4.
    first = training.train(cfg_for(tmp_path, "auto", **dict(settings, steps=8)),
                           data=data, verbose=0)
    assert first.model.steps_per_execution == 4
    tf.keras.backend.clear_session()
    auto = training.train(cfg_for(tmp_path, "auto", **settings), data=data, verbose=0)
    assert auto.step == one.step == 12 and auto.model.steps_per_execution == 4
    # One element holds the 4 steps' batches (one fetch per call), the other run's one step.
    assert auto.model.steps_per_element == 4 and one.model.steps_per_element == 1

    got, want = all_state(auto.model), all_state(one.model)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert scalars(auto.run_dir, "train/d_loss") == scalars(one.run_dir, "train/d_loss")
    assert [s for s, _ in scalars(one.run_dir, "train/d_loss")] == [4, 8, 12]
    assert checkpoints(auto.run_dir) == checkpoints(one.run_dir) == [4, 8, 12]


def _case(kind="points", replicas=1, multi_step=True, pretrain=0, start=0, **settings):
    values = dict(steps=20000, log_every=100, checkpoint_every=1000, sample_every=500,
                  eval_every=0, steps_per_execution=None, variant="x")
    values.update(settings)
    model = types.SimpleNamespace(pretrain_steps=pretrain, multi_step_execution=multi_step)
    return training.execution_steps(types.SimpleNamespace(**values),
                                    types.SimpleNamespace(kind=kind), model, start, replicas)


def test_the_automatic_count_is_the_largest_common_divisor_up_to_100():
    assert _case() == 100                               # gcd(20000, 100, 1000, 500) = 100
    assert _case(log_every=30) == 10                    # gcd 10
    assert _case(log_every=500) == 100                  # gcd 500: capped at 100
    assert _case(steps=280, log_every=140, sample_every=140,
                 checkpoint_every=140) == 70            # gcd 140 (epoch 280): 70 divides it
    assert _case(eval_every=250) == 50                  # gcd 50
    assert _case(start=4250) == 50                      # a resumed step counts too
    assert _case(pretrain=150) == 50                    # so does the pretraining phase
    assert _case(steps=50, log_every=10) == 10          # the epoch is min(500, steps)
    assert _case(kind="image") == 1
    assert _case(replicas=2) == 1
    assert _case(multi_step=False) == 1


def test_a_given_count_is_checked():
    assert _case(steps_per_execution=20) == 20
    assert _case(kind="image", steps_per_execution=20) == 20
    with pytest.raises(config_lib.ConfigError, match=r"must divide --log_every=30\b"):
        _case(steps_per_execution=20, log_every=30)
    with pytest.raises(config_lib.ConfigError,
                       match="must divide the step the run resumes from=4250"):
        _case(steps_per_execution=100, start=4250)
    with pytest.raises(config_lib.ConfigError, match="does not apply to --variant=x"):
        _case(steps_per_execution=20, multi_step=False)
    with pytest.raises(config_lib.ConfigError, match="needs one device; with 2 replicas"):
        _case(steps_per_execution=20, replicas=2)
    assert _case(steps_per_execution=1, replicas=2, multi_step=False) == 1
    with pytest.raises(config_lib.ConfigError, match="--steps_per_execution must be >= 1"):
        training.resolve_config(dict(variant="nsgan", steps_per_execution=0))


def test_a_refused_count_writes_nothing(tmp_path):
    cfg = cfg_for(tmp_path, "bad", **dict(INTERVALS, variant="nsgan", steps_per_execution=3))
    with pytest.raises(config_lib.ConfigError, match="=3 must divide --log_every=4, --checkpoint_every=4"):
        training.train(cfg, data=helpers.tiny_points(), verbose=0)
    assert not os.path.exists(cfg.run_dir)
