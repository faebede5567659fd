"""Mean and spread over seeds, as reproductions report them."""

import math


def mean_spread(values):
    """(mean, sample std, n, half-width of the 95 % Student-t interval of the mean) of the finite
    `values`; std is None for one value and the interval None below three (too few to mean much)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return None, None, 0, None
    mean = math.fsum(xs) / n
    if n == 1:
        return mean, None, 1, None
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    if n < 3:
        return mean, std, n, None
    from scipy.stats import t

    return mean, std, n, float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)


def format_spread(values, digits=4):
    """'392.1 ± 12.3 [± 30.6] (n=3)': mean ± std, the 95 % interval's half-width where n ≥ 3;
    one value alone; '-' for none."""
    mean, std, n, ci = mean_spread(values)
    if n == 0:
        return "-"
    text = f"{mean:.{digits}g}"
    if std is not None:
        text += f" ± {std:.{digits}g}"
    if ci is not None:
        text += f" [95 % ± {ci:.{digits}g}]"
    return text


# --- Verdicts: ours against a published row, a ranking against a published ranking ------------------

LEVEL = 0.05  # two-sided significance level of every better / tie / worse verdict


def summary(values):
    """(mean, sample std, n) of the finite `values` (std 0.0 for one value)."""
    mean, std, n, _ = mean_spread(values)
    return mean, (std or 0.0), n


def welch(mean_a, sd_a, n_a, mean_b, sd_b, n_b):
    """Two-sided Welch t-test of mean_a = mean_b from summary statistics: (t, degrees of freedom, p).
    A side with n = 1 or no spread counts as a point (its variance of the mean is 0): with both sides
    points the difference is exact (p 0 when the means differ, 1 when equal)."""
    from scipy.stats import t as student

    va = (sd_a or 0.0) ** 2 / n_a if n_a > 1 else 0.0  # variance of each mean
    vb = (sd_b or 0.0) ** 2 / n_b if n_b > 1 else 0.0
    diff = mean_a - mean_b
    if va + vb == 0.0:
        return (math.copysign(math.inf, diff) if diff else 0.0), math.inf, (0.0 if diff else 1.0)
    se = math.sqrt(va + vb)
    # Welch-Satterthwaite; a point side contributes no degrees of freedom.
    df = (va + vb) ** 2 / sum(v ** 2 / (n - 1) for v, n in ((va, n_a), (vb, n_b)) if v > 0)
    t = diff / se
    return t, df, float(2 * student.sf(abs(t), df))


def verdict(ours, theirs, higher_is_better, level=LEVEL):
    """'better', 'tie' or 'worse' for our values against a published row, and the test's p-value.
    `ours` are per-seed values; `theirs` is (mean, sd, n) with sd None or n None for a point (a figure
    reported without spread or run count). 'tie' means no difference at `level`, two-sided Welch
    (with a point side: a one-sample t-test against it). None, None when no test is possible: fewer
    than two values of ours (one seed says nothing about its own spread)."""
    mean, sd, n = summary(ours)
    if n < 2:
        return None, None
    p_mean, p_sd, p_n = theirs
    point = p_sd is None or p_n is None
    if not point and p_n < 2:
        return None, None  # one value on the other side, given as a sample: its spread is unknown too
    _, _, p = welch(mean, sd, n, p_mean, 0.0 if point else p_sd, 1 if point else p_n)
    if p >= level:
        return "tie", p
    ahead = mean > p_mean if higher_is_better else mean < p_mean
    return ("better" if ahead else "worse"), p


def bound(values, higher_is_better, level=LEVEL):
    """The one-sided (1 - level) confidence bound of the mean on the side that must pass a goal: the
    lower bound when higher is better, the upper bound otherwise. None below two values (one run
    cannot bound its mean); the mean itself when every value is equal."""
    from scipy.stats import t as student

    mean, sd, n = summary(values)
    if n < 2:
        return None
    half = float(student.ppf(1 - level, n - 1)) * sd / math.sqrt(n)
    return mean - half if higher_is_better else mean + half


def goal_met(values, goal, higher_is_better, level=LEVEL):
    """True when the confidence bound of the mean (not the mean) is past the goal (a value equal to
    the goal counts as reaching it); None when there is no bound."""
    b = bound(values, higher_is_better, level)
    if b is None:
        return None
    return b >= goal if higher_is_better else b <= goal


def _ranks(xs):
    """Average ranks (1 = smallest), ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(a, b):
    ma, mb = math.fsum(a) / len(a), math.fsum(b) / len(b)
    cov = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b))
    va, vb = math.fsum((x - ma) ** 2 for x in a), math.fsum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


def spearman(a, b, draws=20000, seed=0):
    """Spearman's rho between two paired lists and its two-sided permutation p-value (the share of
    orderings of b whose |rho| is at least the observed |rho|): exact over all n! orderings for n <= 8,
    else from `draws` seeded random permutations (with the observed one counted)."""
    import itertools
    import random

    if len(a) != len(b) or len(a) < 3:
        raise ValueError(f"spearman needs two paired lists of at least 3 values; got {len(a)} and {len(b)}")
    ra, rb = _ranks(list(a)), _ranks(list(b))
    rho = _pearson(ra, rb)
    tol = 1e-12
    if len(a) <= 8:
        perms = itertools.permutations(rb)
        hits = total = 0
        for p in perms:
            total += 1
            hits += abs(_pearson(ra, list(p))) >= abs(rho) - tol
        return rho, hits / total
    rng = random.Random(seed)
    hits = 1
    for _ in range(draws):
        p = rb[:]
        rng.shuffle(p)
        hits += abs(_pearson(ra, p)) >= abs(rho) - tol
    return rho, hits / (draws + 1)
