"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs").

KID is the unbiased estimate of MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³,
averaged over random subsets (REFERENCES §4; metrics-anchors §4):

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


def kid(x_real, x_fake, n_subsets=100, subset_size=1000, seed=0):
    """(mean, std) of the unbiased cubic-kernel MMD² over `n_subsets` random subsets, in float64.

    Each subset draws `subset_size` reals and `subset_size` fakes without replacement (independently
    per subset) with numpy's Generator(PCG64(seed)), so the result is deterministic by seed. When
    either set has fewer items than `subset_size`, the subset size is reduced to min(n_real, n_fake)
    (as clean-fid and StyleGAN2-ADA do). std is over subsets with ddof=0 (np.std, as torch-fidelity).
    """
    x_real, x_fake = as_features(x_real, "x_real"), as_features(x_fake, "x_fake")
    if x_real.shape[1] != x_fake.shape[1]:
        raise MetricInputError(f"kid needs features of one dimension, got {x_real.shape[1]} (real) and {x_fake.shape[1]} (fake).")
    if n_subsets < 1 or subset_size < 2:
        raise MetricInputError(f"kid needs n_subsets >= 1 and subset_size >= 2, got {n_subsets} and {subset_size}.")
    m = min(subset_size, x_real.shape[0], x_fake.shape[0])
    if m < 2:
        raise MetricInputError(f"kid needs at least 2 real and 2 fake features, got {x_real.shape[0]} and {x_fake.shape[0]}.")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        idx_real = torch.from_numpy(rng.choice(x_real.shape[0], m, replace=False)).to(x_real.device)
        idx_fake = torch.from_numpy(rng.choice(x_fake.shape[0], m, replace=False)).to(x_fake.device)
        values[s] = mmd2_unbiased(x_real[idx_real], x_fake[idx_fake])
    return float(values.mean()), float(values.std())
