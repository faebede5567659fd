"""ResNet G and D (Miyato et al. 2018, SNGAN; Gulrajani et al. 2017, gan_cifar_resnet.py), one
family parameterised by resolution, channels, width and depth.

Blocks, pre-activation, `width` channels everywhere (SNGAN's CIFAR nets: 256 in G, 128 in D):
  G block  norm -> act -> upsample (nearest, x2) -> conv3x3 -> norm -> act -> conv3x3,
           shortcut upsample -> conv1x1;
  D block  norm -> act -> conv3x3 -> norm -> act -> conv3x3 -> avgpool 2x2,
           shortcut conv1x1 -> avgpool 2x2;
  D's first block ("optimised": it sees the image, so no activation first)
           conv3x3 -> norm -> act -> conv3x3 -> avgpool 2x2, shortcut avgpool 2x2 -> conv1x1.
  Blocks that keep the grid drop the resampling and have an identity shortcut.
  G  z [N, z_dim] -> linear to [N, width, b, b] -> blocks -> norm -> act -> conv3x3 to C -> tanh.
  D  x [N, C, R, R] -> blocks -> act -> sum over the b x b grid -> linear to 1 -> [N].
Defaults: ReLU; BatchNorm in G, no normalisation in D ("layer" = GroupNorm with one group, as
DCGAN's). PyTorch's default initialisation is kept: its residual branches start small, so even a
100-block net without normalisation neither explodes nor vanishes at initialisation.

Shapes: (C, R, R) with C in {1, 3} and R = b * 2^k, k >= 1, on the base grid b = 7 for R = 7 * 2^k
(28, 56, ...) and b = 4 otherwise (8, 16, 32, 64, 128, ...). G upsamples b -> R, D pools R -> b.

Depth: `depth` counts the weight layers on the main path: every conv3x3 and linear; the 1x1
shortcut convs are not counted, as in the ResNet papers. Each network has
  B = max(n, (depth - 1) // 2) residual blocks, n = log2(R / b) of them resampling,
so G has 2B + 2 weight layers (its input linear and output conv) and D 2B + 1 (its output
linear); depths under 2n + 1 give the smallest network, one resampling block per doubling. The
B - n other blocks are spread evenly over the grids b, 2b, ..., R/2, any remainder on the coarsest
(cheapest) grids; G runs a grid's blocks before leaving it, D after reaching it, so D mirrors G.
  depth 101 -> B = 50: D has 101 weight layers and G 102. This is the "101-layer ResNet G and D"
      of WGAN-GP's robustness table (Fig. 2, setting 7); their nets are 33 bottleneck blocks of
      three convs (1x1, 3x3, 1x1) plus an input and an output layer. With SNGAN's two-conv blocks
      a G cannot have an odd layer count, hence 102.
  depth 8 at R = 32 -> B = 3, all resampling: SNGAN's CIFAR-10 generator (with width 256).
"""

import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.layers import Reshape, activation, channels_ok, norm_2d, resolve



def layout(shape, depth, role="G"):
    """(C, R, base grid b, blocks per grid [on b, 2b, ..., R/2] besides the resampling ones); D
    takes any channel count (PacGAN packs)."""
    shape = tuple(shape)
    r = shape[1] if len(shape) == 3 and shape[1] == shape[2] else 0
    base = 7 if r % 7 == 0 else 4
    n = r // base  # 2^(resampling blocks) for a supported shape
    if not (shape and channels_ok(shape[0], role) and r > 0 and r % base == 0 and n >= 2 and n & (n - 1) == 0):
        raise ConfigError(
            f"the resnet network does not support sample shape {shape}; supported shapes are "
            f"(C, R, R) with C in {{1, 3}} and R = 4 * 2^k or 7 * 2^k, k >= 1 (28, 32, 64, ...; "
            f"use arch=mlp for other shapes)"
        )
    n_res = n.bit_length() - 1
    extra = max(n_res, (depth - 1) // 2) - n_res
    return shape[0], r, base, [extra // n_res + (i < extra % n_res) for i in range(n_res)]


class ResBlock(nn.Module):
    """Pre-activation residual block of `channels` channels: [N, c, h, h] -> [N, c, h', h'] with
    h' = 2h for resample "up" (G), h/2 for "down" (D), h for None (identity shortcut)."""

    def __init__(self, channels, norm, act, resample=None):
        super().__init__()
        self.resample = resample
        self.norm1, self.act1 = norm_2d(norm, channels), activation(act)
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=norm != "batch")  # norm2 follows
        self.norm2, self.act2 = norm_2d(norm, channels), activation(act)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.shortcut = nn.Conv2d(channels, channels, 1) if resample else nn.Identity()

    def forward(self, x):
        h = self.act1(self.norm1(x))
        if self.resample == "up":
            h, x = F.interpolate(h, scale_factor=2.0), F.interpolate(x, scale_factor=2.0)  # nearest
        h = self.conv2(self.act2(self.norm2(self.conv1(h))))
        x = self.shortcut(x)
        if self.resample == "down":
            h, x = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)  # the 1x1 conv and the pool commute
        return h + x


class FirstBlock(nn.Module):
    """D's first, "optimised" block (SNGAN): [N, C, R, R] -> [N, channels, R/2, R/2]."""

    def __init__(self, c_in, channels, norm, act):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, channels, 3, 1, 1, bias=norm != "batch")
        self.norm, self.act = norm_2d(norm, channels), activation(act)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, channels, 1)

    def forward(self, x):
        h = self.conv2(self.act(self.norm(self.conv1(x))))
        return F.avg_pool2d(h, 2) + self.shortcut(F.avg_pool2d(x, 2))


class SumPool(nn.Module):
    """[N, C, H, W] -> [N, C], the sum over the grid (SNGAN's global sum pooling)."""

    def forward(self, x):
        return x.sum(dim=(2, 3))


@NETWORKS.register("resnet", "ResNet (SNGAN, WGAN-GP); (1|3, R, R), R = 4*2^k or 7*2^k; depth = weight layers")
def build_resnet(role, cfg, shape, z_dim, image):
    """G: z [N, z_dim] -> [N, C, R, R] (tanh if `image`); D: x [N, C, R, R] -> [N] raw scores."""
    c, _, base, per_grid = layout(shape, cfg.depth, role)
    w = cfg.width
    if role == "G":
        act, norm = resolve("G", cfg, "relu", "batch")
        layers = [nn.Linear(z_dim, w * base * base), Reshape((w, base, base))]  # [N, w, b, b]
        for k in per_grid:  # grids b, 2b, ..., R/2
            layers += [ResBlock(w, norm, act) for _ in range(k)] + [ResBlock(w, norm, act, "up")]
        layers += [norm_2d(norm, w), activation(act), nn.Conv2d(w, c, 3, 1, 1)]  # [N, C, R, R]
        layers += [nn.Tanh()] if image else []
    elif role == "D":
        act, norm = resolve("D", cfg, "relu", "none")
        layers = [FirstBlock(c, w, norm, act)]  # [N, w, R/2, R/2]
        for i, k in reversed(list(enumerate(per_grid))):  # grids R/2, ..., 2b, b
            layers += [ResBlock(w, norm, act) for _ in range(k)]
            layers += [ResBlock(w, norm, act, "down")] if i > 0 else []
        layers += [activation(act), SumPool(), nn.Linear(w, 1), Reshape(())]  # [N, w] -> [N]
    else:
        raise ValueError(f"role must be 'G' or 'D', not {role!r}")
    return nn.Sequential(*layers)
