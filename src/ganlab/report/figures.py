"""Figures of samples: image grids (Pillow) and scatter/histogram plots for low-dimensional data."""

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def _atomic_path(path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, path.with_name(path.stem + ".tmp" + path.suffix)


def save_image_grid(images, path, nrow=None, pad=2):
    """Write images [N, C, H, W] in [-1, 1] (C = 1 or 3) as one PNG grid of nrow columns."""
    images = images.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(c, ncol * (h + pad) + pad, nrow * (w + pad) + pad)  # white background
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = images[i]
    array = ((grid + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()  # [H, W, C]
    path, tmp = _atomic_path(path)
    Image.fromarray(array[..., 0] if c == 1 else array).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def save_points_plot(samples, data, path, title=""):
    """Scatter plot of generated 2-D samples over the data (histograms for 1-D data)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = samples.detach().float().cpu().numpy()
    data = data.detach().float().cpu().numpy()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if samples.shape[1] == 1:
        bins = np.linspace(min(data.min(), samples.min()), max(data.max(), samples.max()), 80)
        ax.hist(data[:, 0], bins=bins, density=True, alpha=0.5, label="data")
        ax.hist(samples[:, 0], bins=bins, density=True, alpha=0.5, label="generated")
    else:
        ax.scatter(data[:, 0], data[:, 1], s=2, c="0.7", label="data")
        ax.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:red", alpha=0.6, label="generated")
        ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4)
    ax.set_title(title)
    path, tmp = _atomic_path(path)
    fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path
