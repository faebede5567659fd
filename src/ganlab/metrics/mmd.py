"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs").

KID is the unbiased estimate of MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³,
averaged over random subsets (Bińkowski et al. 2018, as torch-fidelity computes it):

    MMD²_u = [Σ_{i≠j} k(x_i, x_j) + Σ_{i≠j} k(y_i, y_j)] / (m(m − 1)) − 2 Σ_{i,j} k(x_i, y_j) / m²

Being unbiased, it can come out slightly negative when the two sets share a distribution.
"""

import numpy as np
import torch

from ganlab.metrics.features import MetricInputError, as_features


def polynomial_kernel(x, y):
    """k(x, y) = (xᵀy / d + 1)³ for x [n, d], y [m, d] -> [n, m]."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD² (float) with the cubic kernel between x [m, d] and y [m', d] (m, m' ≥ 2)."""
    x, y = as_features(x, "x"), as_features(y, "y")
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))  # i ≠ j only
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(fake, real, *, n_subsets=100, subset_size=1000, seed=0):
    """(mean, std) of the unbiased cubic-kernel MMD² between generated and real features, in float64.

    fake [M, d], real [N, d]: tensors or arrays. Each of the `n_subsets` subsets draws
    `subset_size` reals and `subset_size` fakes without replacement (independently per subset)
    with numpy's Generator(PCG64(seed)), so the result is deterministic by seed. std is over
    subsets with ddof=0 (np.std, as torch-fidelity).

    Both sets must hold at least `subset_size` features, as torch-fidelity requires: shrinking the
    subset to a whole set (as clean-fid and StyleGAN2-ADA do) makes every subset the same and the
    std meaningless. For small sets ask for a smaller subset explicitly, e.g. subset_size=N // 2;
    the mean stays unbiased for any subset size ≥ 2, only its spread grows.
    """
    fake, real = as_features(fake, "fake"), as_features(real, "real")
    if real.shape[1] != fake.shape[1]:
        raise MetricInputError(f"kid needs features of one dimension, got {fake.shape[1]} (fake) and {real.shape[1]} (real).")
    if n_subsets < 1 or subset_size < 2:
        raise MetricInputError(f"kid needs n_subsets >= 1 and subset_size >= 2, got {n_subsets} and {subset_size}.")
    n = min(fake.shape[0], real.shape[0])
    if n < subset_size:
        if n >= 2:
            hint = f"pass subset_size= at most {n}" + (f" (e.g. {n // 2}, so that subsets differ)" if n >= 4 else "") + ", or more features"
        else:
            hint = "it needs at least 2 of each"
        raise MetricInputError(f"kid draws subsets of {subset_size} features but got {fake.shape[0]} fake and "
                               f"{real.shape[0]} real; {hint}.")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        # Reals are drawn first: the draws, and so the numbers, are those of every earlier version.
        idx_real = torch.from_numpy(rng.choice(real.shape[0], subset_size, replace=False)).to(real.device)
        idx_fake = torch.from_numpy(rng.choice(fake.shape[0], subset_size, replace=False)).to(fake.device)
        values[s] = mmd2_unbiased(real[idx_real], fake[idx_fake])
    return float(values.mean()), float(values.std())
