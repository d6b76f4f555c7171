"""P@k and NDCG@k against rankings worked out by hand and a per-user reference loop."""

import math

import numpy as np
import pytest

from tfgan_suite.metrics import ranking


def log2(x):
    return math.log(x, 2)


def test_hand_computed_rankings():
    scores = np.array([
        [9, 1, 5, 8, 3, 7],      # user 0: item 0 is a training positive
        [1, 2, 3, 4, 5, 6],      # user 1: no test positive -> not evaluated
        [0, 10, 10, 0, 0, 2],    # user 2: items 1, 2 are training positives
        [0, 0, 0, 0, 0, 0],      # user 3: all tied -> items in id order
    ], np.float32)
    train = [np.array([0]), np.array([], int), np.array([1, 2]), np.array([], int)]
    test = [np.array([2, 4]), np.array([], int), np.array([5]), np.array([3])]
    got = ranking.ranking_metrics(scores, train, test, ks=(3, 5))

    # User 0 ranks 3, 5, 2, 4, 1 (item 0 excluded): hits at ranks 3 and 4.
    # User 2 ranks 5, 0, 3, 4 (1, 2 excluded; ties by id), then the excluded: hit at rank 1.
    # User 3 ranks 0, 1, 2, 3, 4: hit at rank 4.
    p3 = [1 / 3, 1 / 3, 0.0]
    p5 = [2 / 5, 1 / 5, 1 / 5]
    ndcg3 = [(1 / log2(4)) / (1 + 1 / log2(3)), 1.0, 0.0]
    ndcg5 = [(1 / log2(4) + 1 / log2(5)) / (1 + 1 / log2(3)), 1.0, 1 / log2(5)]
    want = {"P@3": np.mean(p3), "P@5": np.mean(p5), "NDCG@3": np.mean(ndcg3),
            "NDCG@5": np.mean(ndcg5), "num_users": 3}
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)


def test_perfect_ranking_scores_one():
    scores = np.array([[0.1, 0.9, 0.8, 0.2, 0.3]])
    got = ranking.ranking_metrics(scores, [np.array([], int)], [np.array([1, 2])], ks=(1, 2, 3))
    assert (got["P@1"], got["P@2"], got["NDCG@1"], got["NDCG@2"], got["NDCG@3"]) == (1, 1, 1, 1, 1)
    np.testing.assert_allclose(got["P@3"], 2 / 3)


def reference(scores, train, test, k):
    """One user at a time, with Python sorting (an independent implementation)."""
    precisions, ndcgs = [], []
    for user, relevant in enumerate(test):
        if not len(relevant):
            continue
        candidates = [i for i in range(scores.shape[1]) if i not in set(train[user])]
        ranked = sorted(candidates, key=lambda i: (-scores[user, i], i))[:k]
        hits = [1.0 if i in set(relevant) else 0.0 for i in ranked]
        precisions.append(sum(hits) / k)
        dcg = sum(h / log2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / log2(j + 2) for j in range(min(k, len(relevant))))
        ndcgs.append(dcg / idcg)
    return np.mean(precisions), np.mean(ndcgs)


def test_matches_reference_on_random_data():
    rng = np.random.default_rng(0)
    num_users, num_items = 40, 30
    scores = rng.integers(0, 6, size=(num_users, num_items)).astype(np.float32)  # many ties
    train, test = [], []
    for _ in range(num_users):
        items = rng.permutation(num_items)[:rng.integers(0, 12)]
        cut = rng.integers(0, len(items) + 1)
        train.append(items[:cut])
        test.append(items[cut:])
    got = ranking.ranking_metrics(scores, train, test)
    for k in ranking.KS:
        p, n = reference(scores, train, test, k)
        np.testing.assert_allclose(got[f"P@{k}"], p, rtol=1e-12)
        np.testing.assert_allclose(got[f"NDCG@{k}"], n, rtol=1e-12)
    assert got["num_users"] == sum(1 for t in test if len(t))


def test_bad_inputs():
    scores = np.zeros([2, 12])
    empty = [np.array([], int)] * 2
    with pytest.raises(ValueError, match="no user has a test positive"):
        ranking.ranking_metrics(scores, empty, empty)
    with pytest.raises(ValueError, match="2 users"):
        ranking.ranking_metrics(scores, empty[:1], empty)
    with pytest.raises(ValueError, match="ks"):
        ranking.ranking_metrics(scores, empty, [np.array([1])] * 2, ks=(13,))
    with pytest.raises(ValueError, match="NaN"):
        ranking.ranking_metrics(np.full([2, 12], np.nan), empty, [np.array([1])] * 2)
