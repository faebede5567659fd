"""Mode metrics for toy Gaussian mixtures (PacGAN protocol, Lin et al. 2018).

A sample is high quality if it lies within `n_std` standard deviations of its nearest mode; a mode
is captured if at least one high-quality sample falls to it; reverse KL is KL(histogram of the
high-quality samples over modes || uniform over modes).
"""

import math

import torch

from ganlab.metrics.features import as_features


def toy_metrics(fake, modes, std, *, n_std=3.0):
    """{'modes': int, 'hq': fraction in [0, 1], 'rkl': float or None} for generated points fake [n, D]
    against a mixture with `modes` [M, D] of standard deviation `std`."""
    samples = as_features(fake, "fake").cpu()        # [n, D] float64
    modes = modes.double().cpu()                     # [M, D]
    dist = torch.cdist(samples, modes)               # [n, M]
    nearest_dist, nearest = dist.min(dim=1)          # [n], [n]
    hq = nearest_dist <= n_std * std                 # [n]
    counts = torch.bincount(nearest[hq], minlength=modes.shape[0]).double()  # [M]
    n_hq = int(hq.sum())
    if n_hq == 0:
        rkl = None  # no high-quality sample: the histogram is undefined
    else:
        p = counts / n_hq
        nz = p > 0
        rkl = float((p[nz] * torch.log(p[nz] * modes.shape[0])).sum())  # sum p log(p / (1/M))
    return {"modes": int((counts > 0).sum()), "hq": n_hq / samples.shape[0], "rkl": rkl}


def max_rkl(n_modes):
    """Reverse KL when every high-quality sample sits on one mode: log M."""
    return math.log(n_modes)
