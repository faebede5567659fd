"""Small building blocks shared by the network families: activation and normalisation factories,
reshaping modules and the DCGAN weight initialisation.

Every name a user can type (`G.activation`, `D.norm`) is checked here, so an unknown value fails
with one sentence listing the valid ones whichever family is built. The "gated" activation halves
its input's channels, so only families that widen the layer before it accept it: they pass
`gated=True` to `resolve` and size that layer with `widen`; every other family refuses it.
"""

import torch
from torch import nn

from ganlab.errors import ConfigError, shown, suggest

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh")
NORMS = ("batch", "layer", "none")
GATED = "gated"  # sigmoid(a) * tanh(b) on two halves of the features; see `Gated`
MAXOUT = "maxout"  # the max of 5 pieces per unit (Goodfellow et al. 2013); see `Maxout`
MAXOUT_PIECES = 5  # the original GAN's and PacGAN's maxout discriminators
WIDENING = (GATED, MAXOUT)  # activations that consume more features than they return
LEAKY_SLOPE = 0.2  # DCGAN's discriminator slope (Radford et al. 2015)
CHANNELS = (1, 3)  # image channels the conv families generate


def channels_ok(c, role):
    """Whether a conv family takes c input channels: 1 or 3 for data, and any number for D, which
    may judge PacGAN's packs of m images (m * C channels)."""
    return c in CHANNELS or (role != "G" and c >= 1)


def check_choice(key, value, choices, what):
    """Raise ConfigError unless `value` is one of `choices`; `key` names it, e.g. "D.norm"."""
    if value not in choices:
        raise ConfigError(
            f"{key} = {shown(value)} is not a known {what}{suggest(value, choices)}; "
            f"expected one of: {', '.join(choices)}"
        )
    return value


def resolve(role, cfg, activation, norm, gated=False):
    """(activation, norm) of `cfg` with the family's defaults for None, both validated; "gated" and
    "maxout" are valid activations only where the family passes `gated=True` (it sizes the layer
    before each activation with `widen`)."""
    choices = ACTIVATIONS + (WIDENING if gated else ())
    if cfg.activation in WIDENING and not gated:
        raise ConfigError(f"{role}.activation = {cfg.activation!r} is not supported by the {cfg.arch} network; "
                          f"expected one of: {', '.join(choices)}")
    act = check_choice(f"{role}.activation", cfg.activation or activation, choices, "activation")
    nrm = check_choice(f"{role}.norm", cfg.norm or norm, NORMS, "normalisation")
    if cfg.width < 1:
        raise ConfigError(f"{role}.width = {cfg.width!r} is out of range; expected an integer >= 1")
    return act, nrm


def activation(name):
    """A fresh activation module; leaky_relu uses slope 0.2; "gated" halves the channels and
    "maxout" divides them by its pieces (`widen`)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "elu":
        return nn.ELU()
    if name == "tanh":
        return nn.Tanh()
    if name == GATED:
        return Gated()
    if name == MAXOUT:
        return Maxout(MAXOUT_PIECES)
    return check_choice("activation", name, ACTIVATIONS + WIDENING, "activation")  # raises


def widen(act, features):
    """Output features of the layer before activation `act` for `features` after it: twice as many
    for "gated" (the gate consumes two halves), 5 times for "maxout", else the same."""
    return {GATED: 2, MAXOUT: MAXOUT_PIECES}.get(act, 1) * features


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): [N, F * k, ...] -> [N, F, ...], unit f the max of
    features f * k .. f * k + k - 1."""

    def __init__(self, pieces):
        super().__init__()
        self.pieces = pieces

    def forward(self, x):
        return x.unflatten(1, (x.shape[1] // self.pieces, self.pieces)).amax(dim=2)

    def extra_repr(self):
        return f"pieces={self.pieces}"


class Gated(nn.Module):
    """Gated multiplicative nonlinearity of PixelCNN (van den Oord et al. 2016), as in WGAN-GP's
    MultiplicativeDCGAN nets (Gulrajani et al. 2017, Fig. 2 setting 5):
    [N, 2F, ...] -> sigmoid(a) * tanh(b) [N, F, ...], with a, b the two halves of dim 1."""

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return torch.sigmoid(a) * torch.tanh(b)


def norm_1d(name, features):
    """Normalisation of [N, F] features: BatchNorm1d, LayerNorm(F) (per sample) or identity."""
    if name == "batch":
        return nn.BatchNorm1d(features)
    if name == "layer":
        return nn.LayerNorm(features)
    if name == "none":
        return nn.Identity()
    return check_choice("norm", name, NORMS, "normalisation")  # raises


def norm_2d(name, channels):
    """Normalisation of [N, C, H, W] features.

    "layer" is GroupNorm with one group: each sample normalised over all of [C, H, W], with a
    per-channel affine. It is the usual layer-norm drop-in for conv features and, unlike BatchNorm,
    keeps D(x_i) independent of the rest of the batch, as gradient penalties assume.
    """
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    if name == "none":
        return nn.Identity()
    return check_choice("norm", name, NORMS, "normalisation")  # raises


class Reshape(nn.Module):
    """[N, ...] -> [N, *shape]; `Reshape(())` turns [N, 1] or [N, 1, 1, 1] scores into [N]."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


@torch.no_grad()
def init_dcgan_weights(module):
    """DCGAN initialisation (Radford et al. 2015): conv and linear weights ~ N(0, 0.02), norm
    scales ~ N(1, 0.02), every bias 0. Use as `net.apply(init_dcgan_weights)`."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
        if module.weight is not None:
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
