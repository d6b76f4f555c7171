"""Top-k ranking metrics of a recommender: precision@k and NDCG@k (IRGAN's protocol).

For every user with at least one test positive, all items that are not among the user's
training positives are ranked by score (ties: the lower item id first); the test
positives are the relevant items. Then, over those users,

    P@k    = mean_u |top_k(u) ∩ test(u)| / k
    NDCG@k = mean_u DCG@k(u) / IDCG@k(u),  DCG@k = sum_{j<k} rel_j / log2(j + 2),
             IDCG@k = sum_{j < min(k, |test(u)|)} 1 / log2(j + 2)

(the ideal ranking puts all test positives first; IRGAN's released code normalised by
the ideal reordering of the retrieved top k only, which inflates NDCG).

    scores = model_scores            # float [num_users, num_items]
    ranking_metrics(scores, data.train_positives, data.test_positives)
    # {"P@3": ..., "P@5": ..., "P@10": ..., "NDCG@3": ..., ..., "num_users": 942}
"""

from typing import Dict, Iterable, Sequence

import numpy as np

KS = (3, 5, 10)
METRICS = tuple(f"{m}@{k}" for m in ("P", "NDCG") for k in KS)
_CHUNK = 1024  # users ranked at once


def positives_matrix(positives: Sequence[np.ndarray], num_items: int) -> np.ndarray:
    """Bool [num_users, num_items] from one array of item ids per user."""
    matrix = np.zeros([len(positives), num_items], bool)
    for user, items in enumerate(positives):
        matrix[user, np.asarray(items, np.int64)] = True
    return matrix


def top_k_items(scores: np.ndarray, k: int, exclude: np.ndarray = None) -> np.ndarray:
    """The k best items per row, best first, skipping `exclude`d ones; ties by lower id.

    Args:
        scores: float [N, num_items].
        k: number of items, <= num_items.
        exclude: optional bool [N, num_items]; True items are never returned.

    Returns:
        int64 [N, k].
    """
    scores = np.asarray(scores, np.float64)
    if exclude is not None:
        scores = np.where(exclude, -np.inf, scores)
    # A stable sort of the negated scores keeps ties in item order; argpartition first
    # would be faster but is not stable.
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def ranking_metrics(scores: np.ndarray, train_positives: Sequence[np.ndarray],
                    test_positives: Sequence[np.ndarray], ks: Iterable[int] = KS) -> Dict:
    """P@k and NDCG@k of `scores` on the test positives, training positives excluded.

    Args:
        scores: float [num_users, num_items]; higher is better.
        train_positives: one array of item ids per user, never ranked.
        test_positives: one array of item ids per user, the relevant items.
        ks: cut-offs.

    Returns:
        {"P@k": float, "NDCG@k": float for each k, "num_users": users evaluated}.

    Raises:
        ValueError: for mismatched sizes, or no user with a test positive.
    """
    scores = np.asarray(scores)
    ks = tuple(int(k) for k in ks)
    num_users, num_items = scores.shape
    if len(train_positives) != num_users or len(test_positives) != num_users:
        raise ValueError(f"`scores` has {num_users} users but the positives have "
                         f"{len(train_positives)} (train) and {len(test_positives)} (test)")
    if not ks or min(ks) < 1 or max(ks) > num_items:
        raise ValueError(f"`ks` must be in [1, {num_items}]. Received: ks={ks}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("`scores` holds NaN or Inf")
    users = np.array([u for u, p in enumerate(test_positives) if len(p)], np.int64)
    if users.size == 0:
        raise ValueError("no user has a test positive")
    kmax = max(ks)
    discounts = 1.0 / np.log2(np.arange(2, kmax + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])  # ideal[m] = IDCG with m relevant
    hits_at = {k: [] for k in ks}
    ndcg_at = {k: [] for k in ks}
    for start in range(0, users.size, _CHUNK):
        chunk = users[start:start + _CHUNK]
        train = positives_matrix([train_positives[u] for u in chunk], num_items)
        test = positives_matrix([test_positives[u] for u in chunk], num_items)
        top = top_k_items(scores[chunk], kmax, exclude=train)
        relevant = np.take_along_axis(test, top, axis=1).astype(np.float64)  # [n, kmax]
        num_test = test.sum(axis=1)
        for k in ks:
            hits_at[k].append(relevant[:, :k].sum(axis=1) / k)
            dcg = relevant[:, :k] @ discounts[:k]
            ndcg_at[k].append(dcg / ideal[np.minimum(num_test, k)])
    result = {}
    for k in ks:
        result[f"P@{k}"] = float(np.mean(np.concatenate(hits_at[k])))
    for k in ks:
        result[f"NDCG@{k}"] = float(np.mean(np.concatenate(ndcg_at[k])))
    result["num_users"] = int(users.size)
    return result
