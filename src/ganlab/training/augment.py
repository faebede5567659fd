"""What D sees: differentiable augmentation of real and fake images before D (DiffAugment,
Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random transform family is applied to every image D sees — reals and fakes in the D
step, fakes in the G step, and the samples of a gradient penalty — and it is differentiable, so G
learns through it instead of learning to produce augmented images. With little data (MNIST-5k)
this keeps D from memorising the training set. A policy is a comma-separated list of the ops
below (`augment: color,translation,cutout`, the paper's choice for small data); each op draws its
parameters per sample from the global torch RNG, which checkpoints save, so resume stays exact.

Images are [N, C, H, W] in [-1, 1]; 0 (mid-grey) fills what translation and cutout remove, as in
the paper's code, whose data is in [-1, 1] too.
"""

import torch
import torch.nn.functional as F

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError, shown, suggest


def brightness(x):
    """x + b, b ~ U[-0.5, 0.5) per sample."""
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def saturation(x):
    """Distance from the per-pixel channel mean scaled by s ~ U[0, 2) (the identity for 1 channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean


def contrast(x):
    """Distance from the per-image mean scaled by c ~ U[0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x, ratio=0.125):
    """Shift each image by whole pixels, up to ratio * side (rounded) in each direction, zero fill."""
    n, _, h, w = x.shape
    ph, pw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-ph, ph + 1, (n, 1), device=x.device)
    dx = torch.randint(-pw, pw + 1, (n, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None] - dy + ph  # [N, H]: source rows in the padded image
    cols = torch.arange(w, device=x.device)[None] - dx + pw  # [N, W]
    padded = F.pad(x, (pw, pw, ph, ph))                      # [N, C, H + 2ph, W + 2pw]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x, ratio=0.5):
    """Zero one square of (ratio * side) pixels per image at a uniformly drawn centre (it may be cut
    by the border)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - sh % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - sw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= cy - sh // 2) & (ys < cy - sh // 2 + sh) & (xs >= cx - sw // 2) & (xs < cx - sw // 2 + sw)
    return x * (~inside)[:, None].to(x.dtype)


OPS = {"brightness": [brightness], "saturation": [saturation], "contrast": [contrast],
       "color": [brightness, saturation, contrast], "translation": [translation], "cutout": [cutout]}


def parse_policy(policy):
    """The ops of a policy string such as 'color,translation,cutout' (None or '' = none)."""
    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    for name in names:
        if name not in OPS:
            raise ConfigError(f"augment = {shown(policy)} names {shown(name)}{suggest(name, OPS)}; expected a comma-separated "
                              f"list of: {', '.join(OPS)}")
    return [op for name in names for op in OPS[name]]


@config_check("augment: DiffAugment's policy")
def _check(cfg):
    parse_policy(cfg.augment)
