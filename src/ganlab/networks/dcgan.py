"""DCGAN (Radford et al. 2015), one family parameterised by resolution and channels.

Rules from the paper: strided convolutions in D, transposed convolutions in G, no pooling and no
fully connected hidden layers; BatchNorm in both except the G output and the D input layers;
ReLU in G with a tanh output, LeakyReLU(0.2) in D; weights ~ N(0, 0.02).

Shapes: (C, R, R) with C in {1, 3} (any C for D, which may judge PacGAN packs) and R in {28, 32, 64}. G projects z with a transposed conv
from 1x1 to the base grid (7x7 for R = 28, 4x4 otherwise), then doubles the side with 4x4
stride-2 transposed convs; D mirrors it and ends in a conv from the base grid to 1x1.
Channels: width * 2^k at the k-th grid below R/2, so width 64 gives
  R = 28: G z -> 128@7 -> 64@14 -> C@28,  D C@28 -> 64@14 -> 128@7 -> 1
  R = 64: G z -> 512@4 -> 256@8 -> 128@16 -> 64@32 -> C@64 (the paper's LSUN network), D mirrors.
`constant_width` gives every hidden layer `width` channels instead (WGAN-GP's "G without BN and
with a constant number of filters", Gulrajani et al. 2017, Fig. 2 setting 2, with G.norm = none).
Activation "gated" (Fig. 2 setting 5, WGAN-GP's MultiplicativeDCGAN nets) doubles the channels of
each hidden conv (and its norm) and applies sigmoid(a) * tanh(b) to the two halves, so the
channels after every gate are those above; the output layers are unchanged.
"""

from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.layers import Reshape, activation, channels_ok, init_dcgan_weights, norm_2d, resolve, widen

BASE_GRID = {28: 7, 32: 4, 64: 4}  # resolution -> side of G's first grid and D's last


def _layout(shape, width, constant_width=False, role="G"):
    """(C, base grid side, channel counts from the base grid up to R/2) for a supported shape:
    width * 2^k at the k-th grid below R/2, or `width` everywhere if `constant_width`."""
    shape = tuple(shape)
    if not (len(shape) == 3 and channels_ok(shape[0], role) and shape[1] == shape[2] and shape[1] in BASE_GRID):
        raise ConfigError(
            f"the dcgan network does not support sample shape {shape}; supported shapes are "
            f"(C, R, R) with C in {{1, 3}} and R in {{28, 32, 64}} (use arch=mlp for other shapes)"
        )
    c, r = shape[0], shape[1]
    n_up = (r // BASE_GRID[r]).bit_length() - 1  # stride-2 layers: 2 for 28, 3 for 32, 4 for 64
    return c, BASE_GRID[r], [width * (1 if constant_width else 2**k) for k in reversed(range(n_up))]


def _block(conv, c_in, c_out, norm, act, **conv_args):
    """conv(c_in -> c_out, or 2 * c_out before a gate) -> norm -> activation; [N, c_out, ...] out.
    No conv bias where BatchNorm's shift replaces it; norm "none" adds no layer."""
    c_conv = widen(act, c_out)
    layers = [conv(c_in, c_conv, bias=norm != "batch", **conv_args)]
    return layers + ([] if norm == "none" else [norm_2d(norm, c_conv)]) + [activation(act)]


@NETWORKS.register("dcgan", "DCGAN conv nets (Radford 2015); (1|3, R, R), R in 28, 32, 64")
def build_dcgan(role, cfg, shape, z_dim, image):
    """G: z [N, z_dim] -> [N, C, R, R] (tanh if `image`); D: x [N, C, R, R] -> [N] raw scores.
    `cfg.depth` is ignored: the depth follows the resolution."""
    c, base, chans = _layout(shape, cfg.width, cfg.constant_width, role)
    up, down = nn.ConvTranspose2d, nn.Conv2d
    if role == "G":
        act, norm = resolve("G", cfg, "relu", "batch", gated=True)
        layers = [Reshape((z_dim, 1, 1))]  # [N, z_dim] -> [N, z_dim, 1, 1]
        layers += _block(up, z_dim, chans[0], norm, act, kernel_size=base)  # 1x1 -> base grid
        for c_in, c_out in zip(chans, chans[1:]):
            layers += _block(up, c_in, c_out, norm, act, kernel_size=4, stride=2, padding=1)
        layers += [up(chans[-1], c, 4, 2, 1)]  # [N, C, R, R], no norm
        layers += [nn.Tanh()] if image else []
    elif role == "D":
        act, norm = resolve("D", cfg, "leaky_relu", "batch", gated=True)
        chans = chans[::-1]  # R/2 down to the base grid
        layers = _block(down, c, chans[0], "none", act, kernel_size=4, stride=2, padding=1)  # input: no norm
        for c_in, c_out in zip(chans, chans[1:]):
            layers += _block(down, c_in, c_out, norm, act, kernel_size=4, stride=2, padding=1)
        layers += [down(chans[-1], 1, base, 1, 0), Reshape(())]  # [N, 1, 1, 1] -> [N]
    else:
        raise ValueError(f"role must be 'G' or 'D', not {role!r}")
    net = nn.Sequential(*layers)
    net.apply(init_dcgan_weights)
    return net
