"""DCGAN (Radford et al. 2015), one family parameterised by resolution and channels.

Rules from the paper: strided convolutions in D, transposed convolutions in G, no pooling and no
fully connected hidden layers; BatchNorm in both except the G output and the D input layers;
ReLU in G with a tanh output, LeakyReLU(0.2) in D; weights ~ N(0, 0.02).

Shapes: (C, R, R) with C in {1, 3} and R in {28, 32, 64}. G projects z with a transposed conv
from 1x1 to the base grid (7x7 for R = 28, 4x4 otherwise), then doubles the side with 4x4
stride-2 transposed convs; D mirrors it and ends in a conv from the base grid to 1x1.
Channels: width * 2^k at the k-th grid below R/2, so width 64 gives
  R = 28: G z -> 128@7 -> 64@14 -> C@28,  D C@28 -> 64@14 -> 128@7 -> 1
  R = 64: G z -> 512@4 -> 256@8 -> 128@16 -> 64@32 -> C@64 (the paper's LSUN network), D mirrors.
"""

from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.layers import Reshape, activation, init_dcgan_weights, norm_2d, resolve

BASE_GRID = {28: 7, 32: 4, 64: 4}  # resolution -> side of G's first grid and D's last
CHANNELS = (1, 3)


def _layout(shape, width):
    """(C, base grid side, channel counts from the base grid up to R/2) for a supported shape."""
    shape = tuple(shape)
    if not (len(shape) == 3 and shape[0] in CHANNELS and shape[1] == shape[2] and shape[1] in BASE_GRID):
        raise ConfigError(
            f"the dcgan network does not support sample shape {shape}; supported shapes are "
            f"(C, R, R) with C in {{1, 3}} and R in {{28, 32, 64}} (use arch=mlp for other shapes)"
        )
    c, r = shape[0], shape[1]
    n_up = (r // BASE_GRID[r]).bit_length() - 1  # stride-2 layers: 2 for 28, 3 for 32, 4 for 64
    return c, BASE_GRID[r], [width * 2**k for k in reversed(range(n_up))]


def _block(conv, norm, act, channels):
    """conv -> norm -> activation, dropping the identity of norm "none"."""
    return [conv] + ([] if norm == "none" else [norm_2d(norm, channels)]) + [activation(act)]


@NETWORKS.register("dcgan", "DCGAN conv nets (Radford 2015); (1|3, R, R), R in 28, 32, 64")
def build_dcgan(role, cfg, shape, z_dim, image):
    """G: z [N, z_dim] -> [N, C, R, R] (tanh if `image`); D: x [N, C, R, R] -> [N] raw scores.
    `cfg.depth` is ignored: the depth follows the resolution."""
    c, base, chans = _layout(shape, cfg.width)
    if role == "G":
        act, norm = resolve("G", cfg, "relu", "batch")
        bias = norm != "batch"  # BatchNorm's shift replaces the conv bias
        layers = [Reshape((z_dim, 1, 1))]  # [N, z_dim] -> [N, z_dim, 1, 1]
        layers += _block(nn.ConvTranspose2d(z_dim, chans[0], base, 1, 0, bias=bias), norm, act, chans[0])
        for c_in, c_out in zip(chans, chans[1:]):
            layers += _block(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), norm, act, c_out)
        layers += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1)]  # [N, C, R, R], no norm
        layers += [nn.Tanh()] if image else []
    elif role == "D":
        act, norm = resolve("D", cfg, "leaky_relu", "batch")
        bias = norm != "batch"
        chans = chans[::-1]  # R/2 down to the base grid
        layers = [nn.Conv2d(c, chans[0], 4, 2, 1), activation(act)]  # input layer: no norm
        for c_in, c_out in zip(chans, chans[1:]):
            layers += _block(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), norm, act, c_out)
        layers += [nn.Conv2d(chans[-1], 1, base, 1, 0), Reshape(())]  # [N, 1, 1, 1] -> [N]
    else:
        raise ValueError(f"role must be 'G' or 'D', not {role!r}")
    net = nn.Sequential(*layers)
    net.apply(init_dcgan_weights)
    return net
