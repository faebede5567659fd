"""Fréchet distance at d = 2048: ganlab's symmetric (Cholesky or eigh) form against the
`scipy.linalg.sqrtm(sigma1 @ sigma2)` form that pytorch-fid uses, in one run (time ratio and
relative difference), plus feature-extraction throughput of the registered extractors.

Usage: python benchmarks/metrics_speed.py [--dim 2048] [--n 10000] [--repeats 2]
       python benchmarks/metrics_speed.py --dim 32 --n 200 --repeats 1   # a smoke run, in seconds
"""

import argparse
import os
import time

import numpy as np
import scipy.linalg
import torch

from ganlab.metrics import EXTRACTORS, frechet_distance


def sqrtm_fid(mu1, s1, mu2, s2):
    """pytorch-fid's formula: trace of the real part of sqrtm(S1 S2)."""
    covmean = scipy.linalg.sqrtm(s1.dot(s2))  # pytorch-fid's `disp=False` is deprecated in SciPy 1.17
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def stats(rng, n, d, shift):
    # Correlated features like a network's: a random mixing of independent ones.
    x = rng.standard_normal((n, d)) @ (rng.standard_normal((d, d)) / np.sqrt(d)) + shift
    return x.mean(0), np.cov(x, rowvar=False)


def best_of(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    mu1, s1 = stats(rng, args.n, args.dim, 0.0)
    mu2, s2 = stats(rng, args.n, args.dim, 0.1)
    t_ours, ours = best_of(lambda: frechet_distance(mu1, s1, mu2, s2), args.repeats)
    t_ref, ref = best_of(lambda: sqrtm_fid(mu1, s1, mu2, s2), args.repeats)
    print(f"Fréchet distance, d = {args.dim}, N = {args.n}: ganlab {t_ours:.2f} s = {ours:.6f}; "
          f"scipy sqrtm {t_ref:.2f} s = {ref:.6f}")
    print(f"relative difference {abs(ours - ref) / abs(ref):.2e}; speed-up sqrtm/ganlab {t_ref / t_ours:.1f}x")

    for name, shape, batch in (("lenet-mnist", (1, 28, 28), 250), ("inception-fid", (3, 32, 32), 32)):
        kwargs = {}
        if name == "inception-fid" and not os.environ.get("GANLAB_INCEPTION_WEIGHTS"):
            print(f"{name}: skipped (set GANLAB_INCEPTION_WEIGHTS to the FID weights file)")
            continue
        ext = EXTRACTORS[name](device="cpu", **kwargs).eval()
        x = torch.rand(batch, *shape) * 2 - 1
        with torch.no_grad():
            ext(x)  # warm-up
            t, _ = best_of(lambda: [ext(x) for _ in range(4)], 2)
        print(f"{name}: {4 * batch / t:.0f} images/s at batch {batch} ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
