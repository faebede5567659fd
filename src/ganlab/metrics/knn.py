"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

With NND_k(φ) the Euclidean distance from φ to its k-th nearest neighbour in its own set, excluding
itself (Kynkäänniemi et al. 2019; Naeem et al. 2020, as prdc computes them), for N real features r and M fake features g:

    precision = (1/M) Σ_j 1[∃ i: ‖g_j − r_i‖ ≤ NND_k(r_i)]           (k = 3)
    recall    = (1/N) Σ_i 1[∃ j: ‖r_i − g_j‖ ≤ NND_k(g_j)]
    density   = (1/(kM)) Σ_j Σ_i 1[‖g_j − r_i‖ < NND_k(r_i)]          (k = 5)
    coverage  = (1/N) Σ_i 1[min_j ‖r_i − g_j‖ < NND_k(r_i)]

P/R test membership with ≤ (kynkaat, StyleGAN2-ADA, torch-fidelity), D/C with a strict < (clovaai
prdc); this matters on tied or quantised features (on heavily tied features the two conventions gave 1.0 against 0.0085). To make ties
mean what they say, squared distances ‖a‖² + ‖b‖² − 2aᵀb are computed in float64 (exact for
integer-valued features) and values below their rounding floor d·eps·(‖a‖² + ‖b‖²) are set to 0, so
duplicated features are at distance exactly 0 (float64 `torch.cdist` puts them ~1e-6 apart at
‖x‖ ≈ 80). Blocks of `batch_size` rows keep memory at O(batch_size · max(N, M)), not O(N · M).
"""

import torch

from ganlab.metrics.features import MetricInputError, as_features


def _sq_distance_blocks(a, b, batch_size):
    """Yield (rows, D2) with D2 = ‖a[rows] − b‖², a [len(rows), len(b)] float64 block."""
    a_sq, b_sq = (a * a).sum(dim=1), (b * b).sum(dim=1)                # [n], [m]
    for start in range(0, a.shape[0], batch_size):
        rows = slice(start, min(start + batch_size, a.shape[0]))
        scale = a_sq[rows, None] + b_sq[None, :]                        # [r, m]
        d2 = scale - 2 * (a[rows] @ b.T)
        floor = a.shape[1] * torch.finfo(d2.dtype).eps * scale          # rounding error of the expansion
        yield rows, torch.where(d2 > floor, d2, torch.zeros_like(d2))


def _knn_sq_radii(x, k, batch_size):
    radii = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    for rows, d2 in _sq_distance_blocks(x, x, batch_size):
        radii[rows] = d2.kthvalue(k + 1, dim=1).values  # the smallest value is the point itself (0)
    return radii


def knn_radii(x, k, batch_size=1024):
    """[n] float64 distance from each row of x [n, d] to its k-th nearest neighbour in x, excluding itself."""
    x = as_features(x, "x")
    if not 1 <= k < x.shape[0]:
        raise MetricInputError(f"k must be at least 1 and below the number of features ({x.shape[0]}), got {k}.")
    return _knn_sq_radii(x, k, batch_size).sqrt()


def _check(fake, real, k, fake_radii, metric):
    fake, real = as_features(fake, "fake"), as_features(real, "real")
    if real.shape[1] != fake.shape[1]:
        raise MetricInputError(f"{metric} needs features of one dimension, got {fake.shape[1]} (fake) and {real.shape[1]} (real).")
    if fake.shape[0] == 0:
        raise MetricInputError(f"{metric} got no fake features.")
    # A k-NN radius needs k other points in its own set: real always, fake for recall.
    sets = (("fake", fake), ("real", real)) if fake_radii else (("real", real),)
    for name, x in sets:
        if not 1 <= k < x.shape[0]:
            raise MetricInputError(f"{metric} with k = {k} needs k >= 1 and more than k {name} features (each gets the "
                                   f"distance to its k-th neighbour), got {x.shape[0]}; pass a smaller k= or more features.")
    return fake.to(real.device), real


def precision_recall(fake, real, *, k=3, batch_size=1024):
    """{'precision', 'recall'} (floats in [0, 1]) of generated features against real ones, Kynkäänniemi et al. 2019.

    fake [M, d] (generated), real [N, d]: tensors or arrays; asymmetric, so pass them by keyword
    when in doubt: precision_recall(fake=g, real=r). precision is the share of fakes inside the
    real manifold (quality), recall the share of reals inside the fake manifold (coverage of the
    data). k < M and k < N.
    """
    fake, real = _check(fake, real, k, fake_radii=True, metric="precision_recall")
    real_r2, fake_r2 = _knn_sq_radii(real, k, batch_size), _knn_sq_radii(fake, k, batch_size)
    in_real = torch.zeros(fake.shape[0], dtype=torch.bool, device=real.device)
    for rows, d2 in _sq_distance_blocks(fake, real, batch_size):      # [b, N]
        in_real[rows] = (d2 <= real_r2).any(dim=1)
    in_fake = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)
    for rows, d2 in _sq_distance_blocks(real, fake, batch_size):      # [b, M]
        in_fake[rows] = (d2 <= fake_r2).any(dim=1)
    return {"precision": float(in_real.double().mean()), "recall": float(in_fake.double().mean())}


def density_coverage(fake, real, *, k=5, batch_size=1024):
    """{'density', 'coverage'} of generated features against real ones, Naeem et al. 2020.

    fake [M, d] (generated), real [N, d]: tensors or arrays; asymmetric, so pass them by keyword
    when in doubt: density_coverage(fake=g, real=r). density counts how many real balls hold each
    fake (≈ 1 for matching distributions, unbounded above); coverage is the share of real balls
    holding at least one fake (expected ≈ 1 − 2⁻ᵏ, not 1, for two independent draws of one
    distribution). k < N.
    """
    fake, real = _check(fake, real, k, fake_radii=False, metric="density_coverage")
    real_r2 = _knn_sq_radii(real, k, batch_size)
    balls_per_fake = torch.zeros(fake.shape[0], dtype=torch.float64, device=real.device)
    for rows, d2 in _sq_distance_blocks(fake, real, batch_size):      # [b, N]
        balls_per_fake[rows] = (d2 < real_r2).sum(dim=1).double()
    covered = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)
    for rows, d2 in _sq_distance_blocks(real, fake, batch_size):      # [b, M]
        covered[rows] = d2.min(dim=1).values < real_r2[rows]
    return {"density": float(balls_per_fake.sum() / (k * fake.shape[0])), "coverage": float(covered.double().mean())}


def nearest(query, ref, *, k=1, exclude=None, batch_size=1024):
    """(distances [n, k] float64, indices [n, k] int64) of the k nearest rows of ref [m, d] to each
    row of query [n, d], nearest first (Euclidean; ties exact as above).

    exclude [n] int64 (or None): a row of ref each query may not take, the query's own index when
    query is a subset of ref (leave-one-out); -1 excludes nothing for that row."""
    query, ref = as_features(query, "query"), as_features(ref, "reference")
    if query.shape[1] != ref.shape[1]:
        raise MetricInputError(f"nearest needs features of one dimension, got {query.shape[1]} (query) and {ref.shape[1]} (reference).")
    spare = 0 if exclude is None else 1
    if not 1 <= k <= ref.shape[0] - spare:
        raise MetricInputError(f"nearest with k = {k} needs at least {k + spare} reference rows, got {ref.shape[0]}.")
    query = query.to(ref.device)
    dist = torch.empty(query.shape[0], k, dtype=torch.float64, device=ref.device)
    idx = torch.empty(query.shape[0], k, dtype=torch.int64, device=ref.device)
    for rows, d2 in _sq_distance_blocks(query, ref, batch_size):      # [b, m]
        if exclude is not None:
            own = exclude[rows].to(ref.device)
            hit = own >= 0
            d2[hit.nonzero().flatten(), own[hit]] = float("inf")
        values, where = d2.topk(k, dim=1, largest=False)
        dist[rows], idx[rows] = values.sqrt(), where
    return dist, idx
