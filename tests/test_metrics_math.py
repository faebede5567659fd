"""The math of the image metrics on features, against float64 references written here from the formulas.

References: the papers of each metric and the reference implementations (pytorch-fid, torch-fidelity, prdc). Sizes are small (d ≤ 64,
n ≤ 600) so the whole file runs in a few seconds on a CPU.
"""

import io
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.spatial.distance import cdist

from ganlab.metrics import (FeatureStats, MetricInputError, class_histogram, density_coverage, fid, frechet_distance,
                            inception_score, kid, precision_recall)
from ganlab.metrics.knn import knn_radii
from ganlab.metrics.mmd import mmd2_unbiased


pytestmark = pytest.mark.usefixtures("one_thread")


def relu_features(seed, n, d, shift=0.0):
    """Correlated, non-negative features like a ReLU layer's: [n, d] float64."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(1234).standard_normal((d, d)) / math.sqrt(d)
    return np.maximum(rng.standard_normal((n, d)) @ mix + shift, 0)


def stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def fid_sqrtm(mu1, s1, mu2, s2):
    """pytorch-fid's formula: Tr of scipy's sqrtm(Σ1Σ2), real part."""
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_feature_svd(x, y):
    """Exact for n < d: Tr((Σ1Σ2)^{1/2}) = ‖X̃Ỹᵀ‖_* / sqrt((n1 − 1)(n2 − 1))."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    tr = np.linalg.svd(xc @ yc.T, compute_uv=False).sum() / math.sqrt((len(x) - 1) * (len(y) - 1))
    (mu1, s1), (mu2, s2) = stats(x), stats(y)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr)


# ---------------------------------------------------------------- FID


def test_fid_agrees_with_scipy_sqrtm_on_full_rank_statistics():
    x, y = relu_features(0, 600, 64), relu_features(1, 500, 64, shift=0.2)
    ours = frechet_distance(*stats(x), *stats(y))
    assert ours == pytest.approx(fid_sqrtm(*stats(x), *stats(y)), rel=1e-6)
    assert fid(x, y) == pytest.approx(ours, rel=1e-10)


@pytest.mark.parametrize("n1, n2, d", [(32, 40, 64), (3, 10, 64)])
def test_fid_on_rank_deficient_covariances_is_finite_and_exact(n1, n2, d):
    x, y = relu_features(2, n1, d), relu_features(3, n2, d, shift=0.3)
    ours = fid(x, y)
    assert math.isfinite(ours) and ours >= 0
    assert ours == pytest.approx(fid_feature_svd(x, y), rel=1e-9)


def test_fid_torch_fidelity_nan_regression_case():
    # eigvals(Σ1Σ2) has a -0.0 here, which made an eigvals-based FID NaN.
    rng = np.random.RandomState(1)
    x, y = rng.randn(4, 4), rng.randn(4, 4)
    assert fid(x, y) == pytest.approx(4.753837617472013, rel=1e-9)


@pytest.mark.parametrize("n", [600, 32])  # full rank and rank-deficient (n < d = 64)
def test_fid_of_a_set_with_itself_is_zero(n):
    x = relu_features(4, n, 64)
    mu, sigma = stats(x)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_fid_one_dimensional_closed_form():
    # (m1 - m2)^2 + (s1 - s2)^2 with m = 1, 3 and s^2 = 4, 9: 4 + 1 = 5.
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(5.0, rel=1e-12)


def test_fid_diagonal_covariances_closed_form():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(1e-3, 5, 32), rng.uniform(1e-3, 5, 32)
    mu1, mu2 = rng.standard_normal(32), rng.standard_normal(32)
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_fid_equal_covariances_shifted_means():
    # pytorch-fid's own test at d = 2048, here at d = 64: ‖1‖² = d.
    d = 64
    assert frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d)) == pytest.approx(d, rel=1e-12)


def test_fid_is_symmetric_and_scales_quadratically():
    x, y = relu_features(6, 300, 16), relu_features(7, 300, 16, shift=0.5)
    f = fid(x, y)
    assert fid(y, x) == pytest.approx(f, rel=1e-10)
    assert fid(3 * x, 3 * y) == pytest.approx(9 * f, rel=1e-10)
    assert fid(x + 7, y + 7) == pytest.approx(f, rel=1e-10)


def test_fid_accepts_tensors_and_float32():
    x, y = relu_features(8, 200, 8).astype(np.float32), relu_features(9, 200, 8, shift=0.5).astype(np.float32)
    expected = fid_sqrtm(*stats(x.astype(np.float64)), *stats(y.astype(np.float64)))
    assert fid(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "mu1, sigma1, mu2, sigma2",
    [
        (np.zeros((3, 1)), np.eye(3), np.zeros(3), np.eye(3)),  # mu not 1-D
        (np.zeros(3), np.eye(4), np.zeros(3), np.eye(3)),       # sigma of another size
        (np.zeros(3), np.eye(3), np.zeros(4), np.eye(4)),       # two dimensions
        (np.zeros(3), np.ones(3), np.zeros(3), np.eye(3)),      # sigma not a matrix
        (np.full(3, np.nan), np.eye(3), np.zeros(3), np.eye(3)),
    ],
)
def test_fid_bad_statistics_raise(mu1, sigma1, mu2, sigma2):
    with pytest.raises(ValueError):
        frechet_distance(mu1, sigma1, mu2, sigma2)


# ---------------------------------------------------------------- FeatureStats


def assert_stats_equal(s, x):
    np.testing.assert_allclose(s.mean().numpy(), x.mean(axis=0), rtol=1e-12, atol=1e-12 * np.abs(x).max())
    cov = np.cov(x, rowvar=False)
    np.testing.assert_allclose(s.cov().numpy(), cov, rtol=1e-12, atol=1e-12 * np.abs(cov).max())


@pytest.mark.parametrize("offset", [0.0, 50.0])  # 50: large mean, small spread
def test_streaming_statistics_over_uneven_batches_equal_numpy(offset):
    x = offset + 0.5 * relu_features(10, 300, 12)
    s = FeatureStats()
    for lo, hi in [(0, 1), (1, 8), (8, 72), (72, 72), (72, 300)]:
        s.update(x[lo:hi].astype(np.float64) if lo % 2 else torch.from_numpy(x[lo:hi]))
    assert s.num_items == 300
    assert_stats_equal(s, x)


def test_merging_two_halves_equals_one_pass():
    x = 20 + relu_features(11, 257, 12)
    a, b = FeatureStats().update(x[:100]), FeatureStats().update(x[100:180]).update(x[180:])
    assert_stats_equal(a.merge(b), x)
    assert_stats_equal(FeatureStats().merge(FeatureStats().update(x)).merge(FeatureStats()), x)


def test_kept_features_respect_max_items_and_moments_use_all_items():
    x = relu_features(12, 50, 4)
    s = FeatureStats(keep_features=True, max_items=30)
    s.update(x[:20]).merge(FeatureStats(keep_features=True).update(x[20:]))
    np.testing.assert_array_equal(s.features().numpy(), x[:30])
    assert_stats_equal(s, x)


def test_state_dict_round_trip_through_torch_save():
    x = relu_features(13, 40, 5)
    s = FeatureStats(keep_features=True).update(x[:25])
    buf = io.BytesIO()
    torch.save(s.state_dict(), buf)
    buf.seek(0)
    restored = FeatureStats(keep_features=True).load_state_dict(torch.load(buf, weights_only=True))
    restored.update(x[25:])
    assert_stats_equal(restored, x)
    np.testing.assert_array_equal(restored.features().numpy(), x)


def test_feature_stats_reject_bad_input():
    s = FeatureStats().update(np.zeros((3, 4)))
    with pytest.raises(ValueError):
        s.update(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        s.update(np.zeros(4))
    with pytest.raises(ValueError):
        FeatureStats().update(np.zeros((1, 4))).cov()


# ---------------------------------------------------------------- KID


def mmd2_double_loop(x, y):
    """Unbiased MMD² with k(a, b) = (aᵀb/d + 1)³, written out term by term."""
    d, m, n = x.shape[1], len(x), len(y)
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_with_one_subset_of_all_samples_equals_the_double_loop():
    rng = np.random.default_rng(14)
    x, y = rng.standard_normal((20, 5)), rng.standard_normal((20, 5)) + 0.3
    expected = mmd2_double_loop(x, y)
    assert mmd2_unbiased(x, y) == pytest.approx(expected, rel=1e-12)
    mean, std = kid(x, y, n_subsets=1, subset_size=20)  # a subset of all samples is a permutation of them
    assert mean == pytest.approx(expected, rel=1e-12) and std == 0.0


def test_kid_refuses_subsets_larger_than_a_set_unless_asked_for_smaller_ones():
    rng = np.random.default_rng(15)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((12, 4))
    with pytest.raises(MetricInputError, match="subsets of 1000 features but got 30 fake and 12 real; pass subset_size= at most 12"):
        kid(x, y, n_subsets=5, seed=3)
    mean, std = kid(x, y, n_subsets=5, subset_size=6, seed=3)
    assert math.isfinite(mean) and std > 0  # subsets of half the smaller set differ


def test_kid_is_deterministic_by_seed():
    rng = np.random.default_rng(16)
    x, y = rng.standard_normal((60, 4)), rng.standard_normal((60, 4))
    assert kid(x, y, n_subsets=4, subset_size=30, seed=1) == kid(x, y, n_subsets=4, subset_size=30, seed=1)
    assert kid(x, y, n_subsets=4, subset_size=30, seed=1) != kid(x, y, n_subsets=4, subset_size=30, seed=2)


def test_kid_of_one_distribution_is_near_zero_and_of_shifted_ones_is_not():
    rng = np.random.default_rng(17)
    x, y = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    mean, std = kid(x, y, n_subsets=20, subset_size=100)
    assert std > 0 and abs(mean) < 3 * std
    shifted_mean, shifted_std = kid(x, y + 1.0, n_subsets=20, subset_size=100)
    assert shifted_mean > 10 * shifted_std and shifted_mean > 100 * abs(mean)


def test_unbiased_mmd_can_be_negative():
    rng = np.random.default_rng(18)
    values = [mmd2_unbiased(rng.standard_normal((30, 4)), rng.standard_normal((30, 4))) for _ in range(10)]
    assert min(values) < 0 < max(values)


# ---------------------------------------------------------------- Inception Score


def test_is_of_equally_frequent_one_hot_classes_is_k():
    probs = np.eye(10)[np.arange(1000) % 10]  # every split of 100 holds each class 10 times
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_is_of_identical_predictions_is_one():
    row = np.random.default_rng(19).dirichlet(np.ones(7))
    mean, std = inception_score(np.tile(row, (50, 1)), splits=5)
    assert mean == pytest.approx(1.0, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_is_matches_the_formula_with_openai_splits():
    probs = np.random.default_rng(20).dirichlet(np.full(10, 0.3), size=105)  # 105: uneven slices
    scores = []
    for i in range(10):
        part = probs[i * 105 // 10: (i + 1) * 105 // 10]
        kl = (part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    mean, std = inception_score(torch.from_numpy(probs), splits=10)
    assert mean == pytest.approx(np.mean(scores), rel=1e-12)
    assert std == pytest.approx(np.std(scores), rel=1e-9)


def test_is_rejects_rows_that_are_not_probabilities():
    with pytest.raises(ValueError):
        inception_score(np.full((20, 4), 0.5), splits=2)
    with pytest.raises(ValueError):
        inception_score(np.eye(4)[[0, 1, 2]], splits=4)  # more splits than samples


def test_class_histogram():
    probs = np.eye(4)[[0, 0, 1, 2]] * 0.7 + 0.075  # argmax 0, 0, 1, 2: class 3 never predicted
    assert class_histogram(probs) == {"classes_covered": 3, "kl_to_uniform": pytest.approx(0.5 * math.log(2), rel=1e-12)}
    assert class_histogram(np.eye(5)[[2] * 9]) == {"classes_covered": 1, "kl_to_uniform": pytest.approx(math.log(5), rel=1e-12)}
    assert class_histogram(np.eye(5)) == {"classes_covered": 5, "kl_to_uniform": pytest.approx(0.0, abs=1e-12)}


# ---------------------------------------------------------------- precision / recall, density / coverage


def prdc_brute_force(fake, real, k_pr, k_dc):
    """The four definitions (Kynkäänniemi et al. 2019; Naeem et al. 2020) with scipy distances and explicit loops."""
    def radii(x, k):
        return np.array([np.sort(cdist(x[i:i + 1], np.delete(x, i, axis=0))[0])[k - 1] for i in range(len(x))])
    d_fr = cdist(fake, real)  # [M, N]
    r_pr, g_pr, r_dc = radii(real, k_pr), radii(fake, k_pr), radii(real, k_dc)
    return {
        "precision": np.mean([any(d_fr[j, i] <= r_pr[i] for i in range(len(real))) for j in range(len(fake))]),
        "recall": np.mean([any(d_fr[j, i] <= g_pr[j] for j in range(len(fake))) for i in range(len(real))]),
        "density": sum(d_fr[j, i] < r_dc[i] for j in range(len(fake)) for i in range(len(real))) / (k_dc * len(fake)),
        "coverage": np.mean([d_fr[:, i].min() < r_dc[i] for i in range(len(real))]),
    }


def test_prdc_match_brute_force_and_do_not_depend_on_the_block_size():
    rng = np.random.default_rng(21)
    real, fake = rng.standard_normal((40, 3)), rng.standard_normal((30, 3)) * 1.3 + 0.4
    expected = prdc_brute_force(fake, real, k_pr=3, k_dc=5)
    for batch_size in (7, 1024):
        got = {**precision_recall(fake, real, k=3, batch_size=batch_size), **density_coverage(fake, real, k=5, batch_size=batch_size)}
        assert got == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(knn_radii(real, 3).numpy(), np.sort(cdist(real, real), axis=1)[:, 3], rtol=1e-9)


def test_precision_and_recall_swap_with_the_arguments():
    rng = np.random.default_rng(22)
    real, fake = rng.standard_normal((50, 4)), rng.standard_normal((40, 4)) + 0.7
    pr, swapped = precision_recall(fake=fake, real=real), precision_recall(fake=real, real=fake)
    assert (pr["precision"], pr["recall"]) == (swapped["recall"], swapped["precision"])


def test_prdc_of_identical_sets():
    x = np.random.default_rng(23).standard_normal((200, 8)) * 3 + 10
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    dc = density_coverage(x, x)
    # Each ball holds itself and k − 1 others; its k-th neighbour sits exactly on the strict boundary,
    # where float64 rounding of d(a, b) vs d(b, a) decides, so density is 1 only up to a few ties.
    assert dc["coverage"] == 1.0 and dc["density"] == pytest.approx(1.0, abs=0.02)


def test_prdc_of_disjoint_sets_are_zero():
    rng = np.random.default_rng(24)
    real, fake = rng.standard_normal((100, 8)), rng.standard_normal((100, 8)) + 100
    assert precision_recall(fake, real) == {"precision": 0.0, "recall": 0.0}
    assert density_coverage(fake, real) == {"density": 0.0, "coverage": 0.0}


def test_fakes_on_half_of_the_real_modes():
    rng = np.random.default_rng(25)
    modes = 20.0 * np.array([[0, 0], [1, 0], [0, 1], [1, 1]])          # 4 modes far apart (std 1)
    real = np.repeat(modes, 200, axis=0) + rng.standard_normal((800, 2))
    fake = np.repeat(modes[:2], 200, axis=0) + rng.standard_normal((400, 2))
    pr, dc = precision_recall(fake, real), density_coverage(fake, real)
    assert pr["precision"] == pytest.approx(1.0, abs=0.05) and pr["recall"] == pytest.approx(0.5, abs=0.05)
    assert dc["coverage"] == pytest.approx(0.5, abs=0.05)


def test_ties_count_for_precision_recall_but_not_density_coverage():
    # 5 points, each repeated 4 times: every k = 3 radius is exactly 0.
    # Copies sit at different places in the matrix products, where rounding differs (~1e-6 apart
    # with torch.cdist); the rounding floor must put them at exactly 0.
    rng = np.random.default_rng(26)
    real = np.tile(rng.standard_normal((5, 64)) * 10 + 40, (4, 1))
    fake = real[rng.permutation(20)]
    assert precision_recall(fake, real, k=3) == {"precision": 1.0, "recall": 1.0}
    assert density_coverage(fake, real, k=3) == {"density": 0.0, "coverage": 0.0}


def test_prdc_reject_k_too_large_and_mismatched_dimensions():
    x = np.zeros((5, 3))
    with pytest.raises(ValueError):
        precision_recall(x, x, k=5)
    with pytest.raises(ValueError):
        density_coverage(x, np.zeros((5, 4)))
