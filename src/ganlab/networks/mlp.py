"""Fully connected G and D for any sample shape: toy points (2,), (1,), or flattened images.

`depth` hidden layers of `width` units each. Defaults: ReLU in G, LeakyReLU(0.2) in D, no
normalisation in either (the common toy-GAN setting; WGAN-GP's G "(3)" is a 4 x 512 ReLU MLP).
PyTorch's default initialisation is kept: it trains toy mixtures better than N(0, 0.02).
Activation "gated" makes each hidden Linear 2 * width wide and gates the halves to `width` units.
"""

import math

from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.layers import Reshape, activation, norm_1d, resolve, widen


def _hidden(n_in, width, depth, act, norm):
    """[Linear -> norm -> activation] x depth, `width` units out of each activation; no bias where
    BatchNorm's shift replaces it."""
    layers, n_lin = [], widen(act, width)  # a gate halves 2 * width to width
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, n_lin, bias=norm != "batch")]
        layers += [] if norm == "none" else [norm_1d(norm, n_lin)]
        layers += [activation(act)]
    return layers


@NETWORKS.register("mlp", "fully connected; any sample shape (toy points or flattened images)")
def build_mlp(role, cfg, shape, z_dim, image):
    """G: z [N, z_dim] -> [N, *shape] (tanh if `image`); D: x [N, *shape] -> [N] raw scores."""
    if cfg.depth < 1:
        raise ConfigError(f"{role}.depth = {cfg.depth!r} is out of range; expected an integer >= 1")
    n_out = math.prod(shape)  # flattened sample size
    if role == "G":
        act, norm = resolve("G", cfg, "relu", "none", gated=True)
        layers = _hidden(z_dim, cfg.width, cfg.depth, act, norm)
        layers += [nn.Linear(cfg.width, n_out)] + ([nn.Tanh()] if image else [])
        layers += [Reshape(shape)]  # [N, prod(shape)] -> [N, *shape]
    elif role == "D":
        act, norm = resolve("D", cfg, "leaky_relu", "none", gated=True)
        layers = [nn.Flatten()] + _hidden(n_out, cfg.width, cfg.depth, act, norm)
        layers += [nn.Linear(cfg.width, 1), Reshape(())]  # [N, 1] -> [N]
    else:
        raise ValueError(f"role must be 'G' or 'D', not {role!r}")
    return nn.Sequential(*layers)
