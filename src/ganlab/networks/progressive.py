"""Progressive GAN (Karras et al. 2018): G and D that grow from 4x4 to the data's resolution R.

Growth. Level k works at side r_k = 4 * 2^k; the top level works at R (a power of two >= 8). The
schedule is a function of `phase` = images shown / (1000 * phase_kimg) alone, so a resumed run
needs no extra state: [0, 1) 4x4 stable; [1, 2) fade in 8x8 (alpha = the fraction); [2, 3) 8x8
stable; [3, 4) fade in 16x16; ... until R, then stable for ever. The training loop calls
`set_progress(phase)` on every network that has it before each step; both nets are built with
every level, so a state_dict loads at any stage, and a fresh net starts at the final stage.

Fixed shapes, as in the official TF code: G always returns [N, C, R, R] (the current image
nearest-upsampled to R) and D always takes [N, C, R, R] (average-pooled down to the current side
inside). Average-pooling a nearest-upsampled image returns it exactly, so D sees reals and fakes
at the same effective resolution and the rest of the library (metrics, grids, checkpoints) never
sees the growth. The fade-in blends images in G (lerp(upsample(rgb_{k-1}), rgb_k, alpha)) and
features in D (lerp(from_rgb_{k-1}(pool(x)), block_k(from_rgb_k(x)), alpha)); at alpha = 0 both
reproduce the previous stage exactly.

Layers (paper Sec. 4 and Table 2): nearest-neighbour upsampling, average-pool downsampling,
equalised learning rate (weights ~ N(0, 1) scaled at run time by gain / sqrt(fan_in), gain
sqrt(2), 1 for the to-RGB and final layers), pixel norm after every conv of G (and on z),
LeakyReLU(0.2), minibatch standard deviation (groups of 4, as the official code) as one extra
feature map before D's last block.
  G: z -> pixel norm -> dense to 4x4 -> conv3x3; per level: upsample, conv3x3, conv3x3; to-RGB 1x1.
  D: from-RGB 1x1; per level: conv3x3, conv3x3, avg-pool; last block: minibatch stddev, conv3x3,
     dense (= conv 4x4 'valid'), dense to 1.
Channels: width at R, doubling each time the side halves, capped at 8 * width. Every level then
costs about the same (channels^2 * side^2 is constant below the cap); the paper's 1024 px network
is width 16 capped at 512. Width 16 at R = 32 gives 128@4 -> 64@8 -> 32@16 -> 16@32.

Deviations, each for the library's contract: G ends in tanh for image data (the paper's output is
linear, clipped for display); `G.norm = none` removes pixel norm (an ablation), batch and layer
norm are refused; `activation` may be overridden (default leaky_relu).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.layers import Reshape, activation, channels_ok, resolve

BASE = 4  # side of the first level
CHANNEL_CAP = 8  # channels never exceed CHANNEL_CAP * width
MBSTD_GROUP = 4  # minibatch-stddev group size of the official code


def schedule(phase, top):
    """(level, alpha) at `phase` for a net whose top level is `top` (R = 4 * 2^top).

    Even phase intervals [2k, 2k + 1) are stable at level k; odd ones [2k - 1, 2k) fade level k
    in with alpha = the fractional part; past the top level, stable at the top for ever."""
    step = math.floor(max(phase, 0.0))
    level = (step + 1) // 2
    if level > top:
        return top, 1.0
    if step % 2 == 1:  # fading in `level`
        return level, float(phase - step)
    return level, 1.0


def level_channels(resolution, width):
    """Channels per level [C_0 at 4x4, ..., C_top at R]: width * R / side, capped."""
    top = int(math.log2(resolution // BASE))
    return [min(width * 2 ** (top - k), CHANNEL_CAP * width) for k in range(top + 1)]


def check_shape(shape, role="G"):
    """(C, R) of a supported sample shape, or one ConfigError sentence; D takes any channel count
    (PacGAN packs)."""
    shape = tuple(shape)
    r = shape[1] if len(shape) == 3 else 0
    if not (len(shape) == 3 and channels_ok(shape[0], role) and shape[1] == shape[2] and r >= 8 and r & (r - 1) == 0):
        raise ConfigError(
            f"the progressive network does not support sample shape {shape}; supported shapes are "
            f"(C, R, R) with C in {{1, 3}} and R a power of two >= 8 (pad 28x28 MNIST to 32 with data.pad=2)"
        )
    return shape[0], r


# --- The family's layers ---------------------------------------------------------------------------


class EqualizedConv2d(nn.Conv2d):
    """Conv2d with equalised learning rate: weight ~ N(0, 1), multiplied at run time by
    gain / sqrt(fan_in), so Adam's per-parameter step is the same relative change for every layer
    (Karras et al. 2018, Sec. 4.1). "Same" padding; bias starts at 0 and is not scaled."""

    def __init__(self, c_in, c_out, kernel, gain=math.sqrt(2)):
        super().__init__(c_in, c_out, kernel, padding=kernel // 2)
        self.scale = gain / math.sqrt(c_in * kernel * kernel)

    def reset_parameters(self):  # called by nn.Conv2d.__init__
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.scale, self.bias)

    def extra_repr(self):
        return super().extra_repr() + f", scale={self.scale:.4g}"


class EqualizedLinear(nn.Linear):
    """Linear layer with equalised learning rate (see EqualizedConv2d)."""

    def __init__(self, n_in, n_out, gain=math.sqrt(2)):
        super().__init__(n_in, n_out)
        self.scale = gain / math.sqrt(n_in)

    def reset_parameters(self):  # called by nn.Linear.__init__
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self):
        return super().extra_repr() + f", scale={self.scale:.4g}"


class PixelNorm(nn.Module):
    """b = a / sqrt(mean_j a_j^2 + eps) over the features j at each pixel (dim 1); works on
    [N, C, H, W] and on [N, F] (the latent)."""

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStddev(nn.Module):
    """Appends one feature map: the standard deviation of each feature and pixel over a group of
    samples, averaged over features and pixels (Karras et al. 2018, Sec. 3).

    Groups as in the official code: min(group, N) samples, sample i in group i mod (N / G); the
    whole batch is one group when N is not a multiple of that. Biased variance, eps 1e-8."""

    def __init__(self, group=MBSTD_GROUP, eps=1e-8):
        super().__init__()
        self.group, self.eps = group, eps

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group, n)
        g = g if n % g == 0 else n
        y = x.reshape(g, n // g, c, h, w)  # [G, M, C, H, W]
        y = (y - y.mean(dim=0)).pow(2).mean(dim=0)  # [M, C, H, W] variance over the group
        y = (y + self.eps).sqrt().mean(dim=(1, 2, 3))  # [M]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # [N, 1, H, W]; sample i gets y[i mod M]
        return torch.cat([x, y.to(x.dtype)], dim=1)  # [N, C + 1, H, W]


def upsample(x, factor):
    """Nearest-neighbour upsampling by an integer factor: [N, C, H, W] -> [N, C, fH, fW]."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def downsample(x):
    """2x2 average pooling: [N, C, H, W] -> [N, C, H/2, W/2]."""
    return F.avg_pool2d(x, 2)


# --- The networks -----------------------------------------------------------------------------------


def _restore_stage(module, _incompatible_keys):
    """After load_state_dict: move to the stage of the loaded `phase` buffer."""
    module.set_progress(module.phase.item())


class _Growing(nn.Module):
    """The stage shared by G and D: `phase` is a buffer (so checkpoints and `ganlab sample` see
    the stage they were saved at), `level` and `alpha` plain attributes read by forward (no device
    synchronisation per step)."""

    def __init__(self, resolution):
        super().__init__()
        self.resolution = resolution
        self.top = int(math.log2(resolution // BASE))
        self.register_buffer("phase", torch.tensor(2.0 * self.top, dtype=torch.float64))  # final stage
        self.level, self.alpha = self.top, 1.0
        self.register_load_state_dict_post_hook(_restore_stage)

    def set_progress(self, phase):
        """Move to the stage of `phase` (see `schedule`); returns {"resolution", "alpha"} for the log."""
        self.phase.fill_(float(phase))
        self.level, self.alpha = schedule(float(phase), self.top)
        return {"resolution": BASE * 2**self.level, "alpha": round(self.alpha, 6)}

    def extra_repr(self):
        return f"resolution={self.resolution}, current={BASE * 2**self.level}, alpha={self.alpha:.4g}"


class Generator(_Growing):
    """z [N, z_dim] -> [N, C, R, R]; the current level's image nearest-upsampled to R."""

    def __init__(self, z_dim, c, resolution, width, act, pixel_norm, image):
        super().__init__(resolution)
        ch = level_channels(resolution, width)
        norm = PixelNorm if pixel_norm else nn.Identity
        self.blocks = nn.ModuleList([nn.Sequential(  # level 0: [N, z_dim] -> [N, C_0, 4, 4]
            norm(), EqualizedLinear(z_dim, ch[0] * BASE * BASE), Reshape((ch[0], BASE, BASE)),
            activation(act), norm(), EqualizedConv2d(ch[0], ch[0], 3), activation(act), norm(),
        )])
        for k in range(1, self.top + 1):  # [N, C_{k-1}, r/2, r/2] -> [N, C_k, r, r]
            self.blocks.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                EqualizedConv2d(ch[k - 1], ch[k], 3), activation(act), norm(),
                EqualizedConv2d(ch[k], ch[k], 3), activation(act), norm(),
            ))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(ch[k], c, 1, gain=1.0) for k in range(self.top + 1))
        self.out = nn.Tanh() if image else nn.Identity()

    def forward(self, z):
        level, alpha = self.level, self.alpha
        h = z
        for block in self.blocks[:level]:
            h = block(h)  # [N, C_{level-1}, r/2, r/2]
        img = self.to_rgb[level](self.blocks[level](h))  # [N, C, r, r]
        if level > 0 and alpha < 1:  # fade in: at alpha = 0 exactly the previous stage's image
            img = torch.lerp(upsample(self.to_rgb[level - 1](h), 2), img, alpha)
        return self.out(upsample(img, self.resolution // (BASE * 2**level)))  # [N, C, R, R]


class Discriminator(_Growing):
    """x [N, C, R, R] -> [N] raw scores; x is average-pooled to the current level's side."""

    def __init__(self, c, resolution, width, act):
        super().__init__(resolution)
        ch = level_channels(resolution, width)
        self.from_rgb = nn.ModuleList(nn.Sequential(EqualizedConv2d(c, ch[k], 1), activation(act))
                                      for k in range(self.top + 1))
        self.blocks = nn.ModuleList([nn.Sequential(  # level 0: [N, C_0, 4, 4] -> [N]
            MinibatchStddev(), EqualizedConv2d(ch[0] + 1, ch[0], 3), activation(act),
            nn.Flatten(), EqualizedLinear(ch[0] * BASE * BASE, ch[0]), activation(act),  # = conv 4x4 'valid'
            EqualizedLinear(ch[0], 1, gain=1.0), Reshape(()),
        )])
        for k in range(1, self.top + 1):  # [N, C_k, r, r] -> [N, C_{k-1}, r/2, r/2]
            self.blocks.append(nn.Sequential(
                EqualizedConv2d(ch[k], ch[k], 3), activation(act),
                EqualizedConv2d(ch[k], ch[k - 1], 3), activation(act), nn.AvgPool2d(2),
            ))

    def forward(self, x):
        level, alpha = self.level, self.alpha
        for _ in range(self.top - level):  # halving step by step: the same pooled pixels whichever
            x = downsample(x)              # stage asks, so the fade-in is exactly continuous
        h = self.from_rgb[level](x)  # [N, C_level, r, r]
        if level > 0:
            h = self.blocks[level](h)  # [N, C_{level-1}, r/2, r/2]
            if alpha < 1:  # fade in: at alpha = 0 exactly the previous stage's features
                h = torch.lerp(self.from_rgb[level - 1](downsample(x)), h, alpha)
        for k in range(level - 1, 0, -1):
            h = self.blocks[k](h)  # [N, C_0, 4, 4] after the last
        return self.blocks[0](h)  # [N]


@NETWORKS.register("progressive", "Progressive GAN (Karras 2018): grows 4x4 -> R; (1|3, R, R), R a power of two >= 8")
def build_progressive(role, cfg, shape, z_dim, image):
    """G: z [N, z_dim] -> [N, C, R, R] (tanh if `image`); D: x [N, C, R, R] -> [N] raw scores.
    Both start at the final stage; `set_progress(phase)` moves them. `cfg.depth` is ignored."""
    c, resolution = check_shape(shape, role)
    act, _ = resolve(role, cfg, "leaky_relu", "none")  # validates both names
    if cfg.norm not in (None, "none"):
        raise ConfigError(
            f"{role}.norm = {cfg.norm!r} is not supported by the progressive network; expected none or null "
            f"(null: pixel norm in G, no normalisation in D, as Karras et al. 2018)"
        )
    if role == "G":
        return Generator(z_dim, c, resolution, cfg.width, act, pixel_norm=cfg.norm is None, image=image)
    if role == "D":
        return Discriminator(c, resolution, cfg.width, act)
    raise ValueError(f"role must be 'G' or 'D', not {role!r}")
