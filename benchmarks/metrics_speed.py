"""Time FID, KID and PRDC on 10,000 x 10,000 random features (dim 128) and print seconds.

Usage: python benchmarks/metrics_speed.py [--n 10000] [--dim 128] [--fid_dim 2048]

dim 128 is the feature size of the suite's own Fashion-MNIST classifier; the extra FID line
at --fid_dim (2048 = InceptionV3 pool features) times the eigendecompositions at full size.
"""

import argparse
import time
import warnings

import numpy as np

from tfgan_suite import metrics


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--fid_dim", type=int, default=2048)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    real = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    fake = (rng.normal(size=(args.n, args.dim)) * 1.1 + 0.1).astype(np.float32)
    print(f"n = {args.n} x {args.n}, dim = {args.dim}")
    print(f"FID  {_time(lambda: metrics.fid_from_features(real, fake)):7.2f} s")
    seconds = _time(lambda: metrics.kernel_inception_distance(real, fake))
    print(f"KID  {seconds:7.2f} s  (100 subsets of 1000)")
    print(f"PRDC {_time(lambda: metrics.prdc(real, fake, k=3)):7.2f} s  (k = 3)")

    big_real = rng.normal(size=(args.n, args.fid_dim)).astype(np.float32)
    big_fake = rng.normal(size=(args.n, args.fid_dim)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # n < dim makes the covariances singular
        seconds = _time(lambda: metrics.fid_from_features(big_real, big_fake))
    print(f"FID  {seconds:7.2f} s  (dim = {args.fid_dim})")


if __name__ == "__main__":
    main()
