"""Fréchet distance between two Gaussians fitted to features (FID; Heusel et al. 2017, TTUR).

FID = ‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1Σ2)^{1/2})            (Heusel et al. 2017)

The trace term is computed as Σ_i sqrt(λ_i) of a symmetric PSD matrix R·Σ2·Rᵀ with RᵀR = Σ1 (the
Cholesky factor, or sqrt(Σ1) when Σ1 is singular), whose eigenvalues equal those of Σ1Σ2 (the
idea of TF-GAN's `trace_sqrt_product`, without a matrix square root of a non-symmetric product).
Both factors are symmetric, so `eigh` gives real eigenvalues; tiny negative ones from rounding are
clamped to 0, as are positive ones below the rounding floor (see `_drop_rounding`). This agrees with pytorch-fid's `scipy.linalg.sqrtm(Σ1Σ2)` to ~1e-12 on full-rank
statistics and, unlike it, never returns complex values or NaN on rank-deficient ones (n < d).
The result is not clamped: identical statistics can give a value of order −1e-12 · Tr Σ.
"""

import torch

from ganlab.metrics.features import FeatureStats, MetricInputError, _as_tensor


def _drop_rounding(w):
    """Eigenvalues w [d] of a symmetric PSD matrix with those below the rounding floor d·eps·max(w),
    negative ones included, set to 0: they are zeros perturbed by rounding, and their square roots
    (~1e-8·sqrt(max w) each in float64) would otherwise add up in the trace (FID(x, x) = −3e-7 instead
    of 0 at N = 32 < d = 64, 5e-9 relative error at N = d = 4)."""
    floor = w.shape[0] * torch.finfo(w.dtype).eps * w.max().clamp(min=0)
    return torch.where(w > floor, w, torch.zeros_like(w))


def trace_sqrt_product(sigma1, sigma2):
    """Tr((Σ1Σ2)^{1/2}) = Σ sqrt(λ_i(R Σ2 Rᵀ)) for symmetric PSD float64 [d, d] tensors, where
    RᵀR = Σ1 makes R Σ2 Rᵀ symmetric PSD with the eigenvalues of Σ1Σ2. R is the Cholesky factor Lᵀ
    when Σ1 is positive definite (about 25x cheaper than an eigendecomposition), else sqrt(Σ1)
    from `eigh` (rank-deficient covariances, n ≤ d)."""
    chol, info = torch.linalg.cholesky_ex(sigma1)
    if info.item() == 0:
        root1 = chol.T                                   # [d, d], Σ1 = root1ᵀ root1
    else:
        w, v = torch.linalg.eigh(sigma1)
        root1 = (v * _drop_rounding(w).sqrt()) @ v.T     # [d, d] symmetric sqrt(Σ1)
    m = root1 @ sigma2 @ root1.T
    m = (m + m.T) / 2  # symmetric in exact arithmetic; eigh reads one triangle only
    return _drop_rounding(torch.linalg.eigvalsh(m)).sqrt().sum()


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet distance (float) between N(mu1, sigma1) and N(mu2, sigma2), computed in float64.

    mu: [d], sigma: [d, d] symmetric PSD; tensors (any device) or arrays. Symmetric in the two
    Gaussians. Raises MetricInputError (a ValueError) on mismatched shapes or non-finite values.
    """
    mu1, sigma1, mu2, sigma2 = (_as_tensor(t) for t in (mu1, sigma1, mu2, sigma2))
    d = mu1.shape[0] if mu1.ndim == 1 else 0
    if d == 0 or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise MetricInputError(
            "frechet_distance expects mu1, mu2 of shape [d] and sigma1, sigma2 of shape [d, d], got "
            f"{tuple(mu1.shape)}, {tuple(sigma1.shape)}, {tuple(mu2.shape)}, {tuple(sigma2.shape)}."
        )
    device = mu1.device
    mu1, sigma1, mu2, sigma2 = (t.to(device=device, dtype=torch.float64) for t in (mu1, sigma1, mu2, sigma2))
    if not all(torch.isfinite(t).all() for t in (mu1, sigma1, mu2, sigma2)):
        raise MetricInputError("frechet_distance got statistics containing NaN or infinity.")
    sigma1 = (sigma1 + sigma1.T) / 2
    sigma2 = (sigma2 + sigma2.T) / 2
    diff = mu1 - mu2
    value = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt_product(sigma1, sigma2)
    return float(value)


def _stats(x, name):
    if isinstance(x, FeatureStats):
        return x
    return FeatureStats().update(x, name)


def fid(fake, real):
    """FID (float) between generated and real features, Heusel et al. 2017.

    fake, real: [n, d] feature matrices (tensors or arrays, n ≥ 2) or FeatureStats of them (e.g.
    cached real statistics). Covariances are unbiased, 1/(n − 1), as TTUR and pytorch-fid. The
    distance is symmetric; the names only say which input an error message is about.
    """
    fake, real = _stats(fake, "fake"), _stats(real, "real")
    if min(fake.num_items, real.num_items) < 2:
        raise MetricInputError(f"fid needs at least 2 features of each set for a covariance, got {fake.num_items} fake and {real.num_items} real.")
    # Real first (Σ1, the Cholesky side of the trace term), as evaluate.py has always passed them:
    # the two orders agree only to rounding, and this keeps earlier numbers to the last bit.
    return frechet_distance(real.mean(), real.cov(), fake.mean(), fake.cov())
