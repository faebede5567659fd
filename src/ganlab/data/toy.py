"""Toy distributions for mode-collapse and theory experiments.

The mixtures follow PacGAN's protocol (Lin et al. 2018): ring = 8
Gaussians at angles 2*pi*k/8, k = 0..7, on radius 1 with std 0.01; grid = 25 Gaussians at
{-4, -2, 0, 2, 4}^2 with std 0.05. A widely copied Unrolled-GAN notebook places the ring's modes
with linspace(0, 2*pi, 8), which makes the first and last coincide: we do not.

`cfg.n` points are drawn once from `torch.Generator().manual_seed(cfg.seed)`, independently of the
training seed, so every run of a study trains on the same sample.
"""

import math

import torch

from ganlab.data.base import DATASETS, Dataset
from ganlab.errors import ConfigError


def ring_modes(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    """[k, 2] float64 centres at angles 2*pi*i/k, i = 0..k-1 (no repeated endpoint)."""
    angle = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def grid_modes(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """[len(values)^2, 2] float64 centres of the grid values x values, row-major in x."""
    v = torch.tensor(values, dtype=torch.float64)
    gx, gy = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)


def sample_mixture(modes: torch.Tensor, std: float, n: int, seed: int):
    """n points of the equal-weight isotropic Gaussian mixture: (float32 [n, D], int64 [n]).

    The component index of each point is returned as its label.
    """
    if n < 1:
        raise ConfigError(f"data.n: {n} must be a positive number of points")
    g = torch.Generator().manual_seed(seed)
    component = torch.randint(len(modes), (n,), generator=g)
    noise = torch.randn(n, modes.shape[1], generator=g, dtype=torch.float64)
    x = modes[component] + std * noise  # float64 so that std 0.01 is not rounded against radius 1
    return x.float(), component


def _mixture(name, modes, std, cfg, labels=True):
    x, component = sample_mixture(modes, std, cfg.n, cfg.seed)
    return Dataset(name=name, data=x, labels=component if labels else None, kind="points",
                   modes=modes, mode_std=std, num_classes=len(modes) if labels else None)


@DATASETS.register("ring8", "8 Gaussians at angles 2*pi*k/8 on the unit circle, std 0.01 "
                            "(PacGAN, Lin et al. 2018); cfg.n points, seed cfg.seed")
def load_ring8(cfg) -> Dataset:
    return _mixture("ring8", ring_modes(8), 0.01, cfg)


@DATASETS.register("grid25", "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (PacGAN, Lin et al. "
                             "2018); cfg.n points, seed cfg.seed")
def load_grid25(cfg) -> Dataset:
    return _mixture("grid25", grid_modes(), 0.05, cfg)


@DATASETS.register("gauss1d", "one 1-D Gaussian N(2, 0.5^2), shape (1,), for theory experiments "
                              "(e.g. the WGAN paper's 1-D critic figure); cfg.n points")
def load_gauss1d(cfg) -> Dataset:
    # A one-component "mixture" so that generic code can read modes/mode_std like the others.
    return _mixture("gauss1d", torch.tensor([[2.0]], dtype=torch.float64), 0.5, cfg, labels=False)
