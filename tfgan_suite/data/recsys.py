"""Implicit-feedback recommendation data for `irgan`: users, items, positives per user.

    data = load_recsys("synthetic_recsys", seed=0)      # RecsysData, 943 users, 1,682 items
    ds = make_user_dataset(data, batch_size=64, seed=0, start_batch=step)

Two sources, one shape of data (`RecsysData`):

- `movielens_100k`: TFDS `movielens/100k-ratings` (prepared in `--data_dir`, or
  downloaded); ratings >= 4 are the positives (IRGAN's protocol).
- `synthetic_recsys`: a seeded latent-factor simulator sized like MovieLens-100k, whose
  true preference scores are known, so the oracle ranking gives a ceiling for P@k/NDCG@k.

Both are split the same way: each user's positives are shuffled (seeded) and 20 % of them
are held out as the test split. The training stream is a sequence of user batches, a pure
function of (seed, batch number) built on the same epoch permutations as
`tfgan_suite.data.pipeline`, so a resumed run sees the batches an uninterrupted one would.
"""

import dataclasses
import socket
from typing import ClassVar, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfgan_suite.data import pipeline
from tfgan_suite.data.errors import DataError, describe

TFDS_NAME = "movielens/100k-ratings"
# Where TFDS downloads MovieLens from: probed first, because offline TFDS retries for
# minutes before it gives up.
DOWNLOAD_HOST = "files.grouplens.org"
NAMES = ("synthetic_recsys", "movielens_100k")
TEST_FRACTION = 0.2
MIN_POSITIVE_RATING = 4.0


def is_recsys(name) -> bool:
    """True for the dataset names of recommendation data."""
    return name in NAMES


@dataclasses.dataclass(frozen=True, eq=False)
class RecsysData:
    """Implicit feedback split into training and test positives per user.

    Args:
        name: the dataset name (`synthetic_recsys`, `movielens_100k`, or a test's).
        num_users, num_items: users are 0..num_users-1, items 0..num_items-1.
        train_positives: one sorted int32 array of item ids per user.
        test_positives: the same for the held-out positives (disjoint from training).
        oracle_scores: float32 [num_users, num_items], the true preferences of a
            simulator (a higher score is more likely to be a positive), else None.

    Raises:
        DataError: if the arrays do not match the sizes or overlap.
    """

    name: str
    num_users: int
    num_items: int
    train_positives: Sequence[np.ndarray]
    test_positives: Sequence[np.ndarray]
    oracle_scores: Optional[np.ndarray] = None

    kind: ClassVar[str] = "recsys"
    num_classes: ClassVar[Optional[int]] = None

    def __post_init__(self):
        if self.num_users < 1 or self.num_items < 2:
            raise DataError(f"Recommendation data needs >= 1 user and >= 2 items. Received: "
                            f"num_users={self.num_users}, num_items={self.num_items}")
        for split in ("train_positives", "test_positives"):
            lists = getattr(self, split)
            if len(lists) != self.num_users:
                raise DataError(f"`{split}` must hold one array per user ({self.num_users}). "
                                f"Received: {len(lists)}")
            clean = tuple(np.unique(np.asarray(p, np.int64)).astype(np.int32) for p in lists)
            for items in clean:
                if items.size and (items[0] < 0 or items[-1] >= self.num_items):
                    raise DataError(f"`{split}` holds item ids outside [0, {self.num_items}).")
            object.__setattr__(self, split, clean)
        for user, (a, b) in enumerate(zip(self.train_positives, self.test_positives)):
            if np.intersect1d(a, b).size:
                raise DataError(f"user {user} has items in both the training and test split")
        if not any(p.size for p in self.train_positives):
            raise DataError(f"Dataset {self.name!r} has no training positives.")
        if self.oracle_scores is not None:
            scores = np.asarray(self.oracle_scores, np.float32)
            if scores.shape != (self.num_users, self.num_items):
                raise DataError(f"`oracle_scores` must be [{self.num_users}, {self.num_items}]. "
                                f"Received: {scores.shape}")
            object.__setattr__(self, "oracle_scores", scores)

    def positives(self, split: str) -> Tuple[np.ndarray, ...]:
        """The per-user positives of `split` ("train" or "test")."""
        if split not in ("train", "test"):
            raise DataError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
        return self.train_positives if split == "train" else self.test_positives

    def padded(self, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
        """Positives as a dense int32 matrix [num_users, P] (P = the most any user has,
        rows padded with item 0) and int32 counts [num_users]; row u's valid entries
        are the first counts[u]."""
        lists = self.positives(split)
        counts = np.array([p.size for p in lists], np.int32)
        items = np.zeros([self.num_users, max(1, int(counts.max()))], np.int32)
        for user, p in enumerate(lists):
            items[user, :p.size] = p
        return items, counts

    def positive_matrix(self, split: str = "train") -> np.ndarray:
        """Bool [num_users, num_items]: True where the item is a positive of the user."""
        matrix = np.zeros([self.num_users, self.num_items], bool)
        for user, p in enumerate(self.positives(split)):
            matrix[user, p] = True
        return matrix

    @property
    def train_users(self) -> np.ndarray:
        """int32 ids of the users with at least one training positive (the ones trained on)."""
        return np.array([u for u, p in enumerate(self.train_positives) if p.size], np.int32)

    @property
    def num_interactions(self) -> int:
        return int(sum(p.size for p in self.train_positives + self.test_positives))

    def __repr__(self) -> str:
        return (f"RecsysData(name={self.name!r}, num_users={self.num_users}, "
                f"num_items={self.num_items}, interactions={self.num_interactions}, "
                f"oracle={self.oracle_scores is not None})")


def split_per_user(positives: Sequence[np.ndarray], *, num_users: int, num_items: int,
                   name: str, seed: int, test_fraction: float = TEST_FRACTION,
                   oracle_scores=None) -> RecsysData:
    """Holds out round(test_fraction * n_u) of each user's n_u positives, chosen at random.

    The permutation of user u's positives depends only on (seed, u).
    """
    train, test = [], []
    for user, items in enumerate(positives):
        items = np.unique(np.asarray(items, np.int64))
        order = np.random.default_rng([seed, user]).permutation(items.size)
        num_test = int(round(test_fraction * items.size))
        test.append(items[order[:num_test]])
        train.append(items[order[num_test:]])
    return RecsysData(name, num_users, num_items, train, test, oracle_scores)


def simulate(*, num_users: int = 943, num_items: int = 1682, num_interactions: int = 100_000,
             dim: int = 8, preference_scale: float = 1.5, popularity_scale: float = 1.0,
             min_per_user: int = 20, max_per_user: int = 400, seed: int = 0,
             name: str = "synthetic_recsys") -> RecsysData:
    """A seeded latent-factor simulator of implicit feedback with known true preferences.

    The true preference of user u for item i is

        s*(u, i) = preference_scale * x_u . y_i + b_i,
        x_u ~ N(0, I/dim), y_i ~ N(0, I), b_i ~ N(0, popularity_scale^2) (popularity),

    and user u's n_u positives are drawn without replacement from softmax(s*(u, .)) (the
    Gumbel top-n_u trick), so an item's chance of being a positive grows with s*. n_u is
    min_per_user plus a log-normal share of the remaining interactions (a long tail of
    heavy users, as in MovieLens), capped at max_per_user (the excess goes to the others). The positives are then split
    like MovieLens's (`split_per_user`), and `oracle_scores` = s*.

    With the defaults (943 users, 1,682 items, ~98k interactions, as MovieLens-100k) the
    oracle reaches P@5 ~ 0.46 on the test split and popularity ~ 0.13.
    """
    if num_users < 1 or num_items < 2 or dim < 1:
        raise DataError(f"simulate needs num_users >= 1, num_items >= 2, dim >= 1. Received: "
                        f"{num_users}, {num_items}, {dim}")
    if not 1 <= min_per_user <= max_per_user <= num_items:
        raise DataError("simulate needs 1 <= min_per_user <= max_per_user <= num_items. "
                        f"Received: {min_per_user}, {max_per_user}, {num_items}")
    rng = np.random.default_rng([seed, 0x5EC5])
    users = rng.standard_normal((num_users, dim)) / np.sqrt(dim)
    items = rng.standard_normal((num_items, dim))
    popularity = popularity_scale * rng.standard_normal(num_items)
    scores = preference_scale * users @ items.T + popularity
    share = rng.lognormal(0.0, 1.0, num_users)
    counts = np.full(num_users, min_per_user)
    for _ in range(20):  # hand what the capped users cannot take to the others
        remaining = num_interactions - counts.sum()
        open_share = share * (counts < max_per_user)
        if remaining < 1 or not open_share.any():
            break
        counts = np.minimum(counts + np.floor(open_share / open_share.sum() * remaining)
                            .astype(int), max_per_user)
    perturbed = scores + rng.gumbel(size=scores.shape)
    order = np.argsort(-perturbed, axis=1, kind="stable")
    positives = [order[u, :counts[u]] for u in range(num_users)]
    return split_per_user(positives, num_users=num_users, num_items=num_items, name=name,
                          seed=seed, oracle_scores=scores.astype(np.float32))


def load_movielens(*, data_dir: Optional[str] = None, seed: int = 0,
                   name: str = "movielens_100k") -> RecsysData:
    """MovieLens-100k from TFDS: ratings >= 4 are positives, split 80/20 per user.

    User and movie ids (strings in TFDS) are numbered in sorted order; every user and
    movie of the ratings file is kept, including those without positives.

    Raises:
        DataError: one line naming `--data_dir` when TFDS has neither prepared data nor
            a working download (at once when the download server cannot be reached).
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    from tfgan_suite.data import tfds_source  # pylint: disable=g-import-not-at-top

    try:
        ds = tfds.load(TFDS_NAME, split="train", data_dir=data_dir, download=False)
    except AssertionError:  # TFDS: "could not find data": download it, if reachable.
        unreachable = _connection_error(DOWNLOAD_HOST)
        if unreachable is not None:
            where = data_dir or "the default TFDS directory (~/tensorflow_datasets)"
            raise DataError(
                f"TFDS dataset {TFDS_NAME!r} is not prepared in {where} and its download "
                f"server {DOWNLOAD_HOST} cannot be reached ({describe(unreachable)}). Pass "
                f"--data_dir=DIR pointing at a prepared TFDS directory that holds "
                f"{TFDS_NAME!r}, or run with network access so TFDS can download it, or "
                "use --dataset=synthetic_recsys offline.") from unreachable
        ds = tfds_source._as_dataset(TFDS_NAME, "train", data_dir)  # pylint: disable=protected-access
    ds = ds.map(lambda r: (r["user_id"], r["movie_id"], r["user_rating"]))
    user_ids, movie_ids, ratings = [], [], []
    for u, m, r in ds.batch(8192).prefetch(2).as_numpy_iterator():
        user_ids.append(u)
        movie_ids.append(m)
        ratings.append(r)
    if not user_ids:
        raise DataError(f"TFDS dataset {TFDS_NAME!r} has no ratings.")
    user_keys, users = _numbered(np.concatenate(user_ids))
    movie_keys, movies = _numbered(np.concatenate(movie_ids))
    liked = np.concatenate(ratings) >= MIN_POSITIVE_RATING
    positives = [[] for _ in range(len(user_keys))]
    for u, m in zip(users[liked], movies[liked]):
        positives[u].append(m)
    return split_per_user(positives, num_users=len(user_keys), num_items=len(movie_keys),
                          name=name, seed=seed)


def _connection_error(host: str, port: int = 443, timeout: float = 5.0):
    """None if a TCP connection to host:port opens within `timeout` s, else the error."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        return e
    return None


def _numbered(ids: np.ndarray):
    """Unique ids (sorted numerically when they are all digits) and each id's index."""
    keys = np.unique(ids)
    if all(k.isdigit() for k in keys):
        keys = np.array(sorted(keys, key=int), dtype=keys.dtype)
    index = {k: i for i, k in enumerate(keys)}
    return keys, np.array([index[k] for k in ids], np.int64)


def load_recsys(name: str, *, data_dir: Optional[str] = None, seed: int = 0) -> RecsysData:
    """Loads `synthetic_recsys` (seeded by `seed`) or `movielens_100k` (split by `seed`)."""
    if name == "synthetic_recsys":
        return simulate(seed=seed)
    if name == "movielens_100k":
        return load_movielens(data_dir=data_dir, seed=seed)
    raise DataError(f"Unknown recommendation dataset {name!r}. Accepted: {', '.join(NAMES)}.")


def user_batch_indices(data: RecsysData, batch_size: int, seed: int,
                       batch_number: int) -> np.ndarray:
    """The user ids of batch `batch_number` of `make_user_dataset` (test reference)."""
    users = data.train_users
    return users[pipeline.batch_indices(len(users), batch_size, seed, batch_number)]


def make_user_dataset(data: RecsysData, *, batch_size: int, seed: int,
                      start_batch: int = 0) -> tf.data.Dataset:
    """An infinite, resumable stream of user batches with their training positives.

    The stream runs over the users that have training positives in the epoch
    permutations of `tfgan_suite.data.pipeline` (batch k depends only on (seed, k); see
    `user_batch_indices`), and starts at batch `start_batch` without replaying.

    Returns:
        A `tf.data.Dataset` of (users int32 [B], positives int32 [B, P], counts int32 [B]):
        row b's positives are positives[b, :counts[b]], the rest is padding (item 0); P
        is the most training positives any user has, fixed for the whole run.
    """
    users = data.train_users
    n = len(users)
    pipeline._check(n, batch_size, start_batch)  # pylint: disable=protected-access
    first_epoch, skip = divmod(start_batch * batch_size, n)
    items, counts = data.padded("train")
    users_t, items_t, counts_t = tf.constant(users), tf.constant(items), tf.constant(counts)

    def gather(indices):
        batch = tf.gather(users_t, indices)
        return batch, tf.gather(items_t, batch), tf.gather(counts_t, batch)

    ds = tf.data.Dataset.counter(start=first_epoch, dtype=tf.int64)
    ds = ds.map(lambda epoch: pipeline.epoch_permutation(n, seed, epoch))
    ds = ds.unbatch().skip(skip).batch(batch_size, drop_remainder=True)
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
