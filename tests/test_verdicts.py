"""The verdict statistics (ganlab.utils.stats) against scipy and hand-computable cases, in float64."""

import math

import pytest
import scipy.stats

from ganlab.utils.stats import bound, goal_met, spearman, verdict, welch


@pytest.mark.parametrize("a,b", [((5.0, 1.2, 10), (4.1, 0.7, 8)), ((0.003, 0.001, 10), (0.45, 0.28, 10)),
                                 ((95.1, 1.3, 10), (95.7, 1.9, 10))])
def test_welch_matches_scipy(a, b):
    t, df, p = welch(*a, *b)
    ref = scipy.stats.ttest_ind_from_stats(*a, *b, equal_var=False)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    va, vb = a[1] ** 2 / a[2], b[1] ** 2 / b[2]
    assert df == pytest.approx((va + vb) ** 2 / (va ** 2 / (a[2] - 1) + vb ** 2 / (b[2] - 1)), rel=1e-12)


def test_welch_against_a_point_is_the_one_sample_test():
    xs = [0.93, 0.95, 0.96, 0.94, 0.97]
    mean, sd = sum(xs) / 5, scipy.stats.tstd(xs)
    _, df, p = welch(mean, sd, 5, 0.9, None, 1)
    ref = scipy.stats.ttest_1samp(xs, 0.9)
    assert df == pytest.approx(4)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_welch_between_two_exact_points():
    assert welch(8.0, 0.0, 10, 8.0, 0.0, 10)[2] == 1.0
    assert welch(8.0, 0.0, 10, 7.9, None, 1)[2] == 0.0


def test_verdict_directions_and_ties():
    # PacGAN's ring GAN row, high-quality %: 98.2 ± 0.2 s.e. over 10 runs -> sd 0.2 * sqrt(10).
    theirs = (98.2, 0.2 * math.sqrt(10), 10)
    assert verdict([98.0, 98.3, 97.9, 98.4, 98.1], theirs, higher_is_better=True)[0] == "tie"
    assert verdict([99.5, 99.6, 99.4, 99.7], theirs, higher_is_better=True)[0] == "better"
    assert verdict([99.5, 99.6, 99.4, 99.7], theirs, higher_is_better=False)[0] == "worse"
    assert verdict([90.0, 91.0, 89.5], theirs, higher_is_better=True)[0] == "worse"
    # One run of ours: no test is possible, against a point or a spread alike.
    assert verdict([0.5], (0.05, None, None), higher_is_better=False) == (None, None)
    assert verdict([0.5], (0.05, 0.01, 10), higher_is_better=False) == (None, None)
    assert verdict([], theirs, higher_is_better=True) == (None, None)


def test_bound_is_the_student_t_limit():
    xs = [0.951, 0.948, 0.957, 0.944, 0.962, 0.939, 0.955, 0.950, 0.946, 0.958]
    n, mean, sd = len(xs), sum(xs) / len(xs), scipy.stats.tstd(xs)
    lower = mean - scipy.stats.t.ppf(0.95, n - 1) * sd / math.sqrt(n)
    assert bound(xs, higher_is_better=True) == pytest.approx(lower, rel=1e-12)
    assert bound(xs, higher_is_better=False) == pytest.approx(2 * mean - lower, rel=1e-12)
    # The mean is past 0.95, the bound is not: the goal is not met.
    assert mean > 0.95 and goal_met(xs, 0.95, higher_is_better=True) is False
    assert goal_met(xs, 0.94, higher_is_better=True) is True
    assert goal_met([25, 25, 25], 25, higher_is_better=True) is True
    assert goal_met([0.9], 0.5, higher_is_better=True) is None


def test_spearman_matches_scipy_rho():
    a = [507.5, 275.2, 397.0, 443.9, 253.3, 396.0, 1586.0]
    b = [9.8, 6.8, 7.8, 6.7, 20.3, 7.6, 13.1]
    rho, p = spearman(a, b)
    assert rho == pytest.approx(scipy.stats.spearmanr(a, b).statistic, rel=1e-12)
    # rho = 1/28: by enumeration, 4,856 of the 5,040 orderings have |rho| at least as large.
    assert p == pytest.approx(4856 / 5040)


def test_spearman_exact_permutation_p_by_hand():
    # n = 4: |rho| = 1 for the identical and the reversed order only, 2 of 24 orderings.
    rho, p = spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert rho == pytest.approx(1.0)
    assert p == pytest.approx(2 / 24)
    # rho 0 is reached or exceeded by every ordering.
    rho, p = spearman([1, 2, 3, 4], [2, 4, 1, 3])
    assert rho == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)


def test_spearman_sampled_p_is_seeded_and_close_to_exact():
    a = list(range(10))
    b = [0, 2, 1, 3, 5, 4, 6, 9, 7, 8]
    rho, p = spearman(a, b, draws=4000, seed=1)
    assert spearman(a, b, draws=4000, seed=1) == (rho, p)
    ref = scipy.stats.spearmanr(a, b)
    assert rho == pytest.approx(ref.statistic)
    assert p < 0.01 and ref.pvalue < 0.01


def test_no_verdict_against_one_value_given_as_a_sample():
    from ganlab.utils.stats import summary

    assert verdict([100.0, 102.0, 104.0], summary([110.0]), higher_is_better=False) == (None, None)
