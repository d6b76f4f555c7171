"""PeriodicEval, the base of the training-time metrics callbacks (EvalCallback, RankingEval)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import callbacks
from tfgan_suite.metrics.ranking import ranking_metrics


class FakeModel:
    def __init__(self):
        self.step = tf.Variable(0, dtype=tf.int64)
        self.stop_training = False


class Counting(callbacks.PeriodicEval):
    """Measures the step itself; None (not finite) at the steps in `diverged`."""

    def __init__(self, writer, every, diverged=()):
        super().__init__(writer, every)
        self.diverged = set(diverged)
        self.calls = []

    def measure(self):
        step = int(self.model.step.numpy())
        self.calls.append(step)
        if step in self.diverged:
            return None
        return {"value": step}, {"eval/value": 10.0 * step, "eval/other": -step}


def read_scalars(log_dir):
    logged = {}
    for name in os.listdir(log_dir):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(log_dir, name)):
            for value in event.summary.value:
                logged.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
    return logged


def run(callback, steps):
    model = FakeModel()
    callback.set_model(model)
    for batch in range(steps):
        model.step.assign_add(1)
        callback.on_train_batch_end(batch)
    callback.on_train_end()


def test_every_k_steps_and_at_the_end_once_per_step(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    cb = Counting(writer, every=3, diverged={6})
    # The TensorBoard callback's record_if would drop these; PeriodicEval overrides it.
    with tf.summary.record_if(False):
        run(cb, 7)
    assert cb.calls == [3, 6, 7]
    assert cb.history == [(3, {"value": 3}), (7, {"value": 7})]   # step 6 diverged: skipped
    logged = read_scalars(str(tmp_path))
    assert logged == {"eval/value": {3: 30.0, 7: 70.0}, "eval/other": {3: -3.0, 7: -7.0}}
    # Ending on a multiple of `every` measures that step once.
    cb = Counting(None, every=2)
    run(cb, 4)
    assert cb.calls == [2, 4] and [s for s, _ in cb.history] == [2, 4]


def test_every_is_checked():
    with pytest.raises(ValueError, match="every=0"):
        Counting(None, every=0)


def test_ranking_eval_logs_both_players_and_keeps_the_generators_metrics(tmp_path):
    class Data:
        train_positives = [np.array([0]), np.array([1]), np.array([2])]
        test_positives = [np.array([1, 2]), np.array([0]), np.array([3])]

    rng = np.random.default_rng(0)
    scores = {p: rng.normal(size=(3, 12)).astype(np.float32) for p in ("generator",
                                                                          "discriminator")}
    model = FakeModel()
    model.scores = lambda player: scores[player]
    writer = tf.summary.create_file_writer(str(tmp_path))
    cb = callbacks.RankingEval(writer, 5, Data())
    cb.set_model(model)
    model.step.assign(5)
    result = cb.evaluate()
    want = ranking_metrics(scores["generator"], Data.train_positives, Data.test_positives)
    want_d = ranking_metrics(scores["discriminator"], Data.train_positives, Data.test_positives)
    assert result == want and cb.history == [(5, want)]
    logged = read_scalars(str(tmp_path))
    assert "eval/num_users" not in logged
    for name in ("P@5", "NDCG@10"):
        np.testing.assert_allclose(logged[f"eval/{name}"][5], want[name], rtol=1e-6)
        np.testing.assert_allclose(logged[f"eval_discriminator/{name}"][5], want_d[name],
                                   rtol=1e-6)
    # A non-finite player: nothing is logged.
    scores["discriminator"][0, 0] = np.nan
    model.step.assign(10)
    assert cb.evaluate() is None and len(cb.history) == 1
