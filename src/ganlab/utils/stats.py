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
