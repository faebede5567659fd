"""Samples of a generator, in batches, and their export so that other tools can score them.

`ganlab sample RUN --out samples.npz` writes every sample as arrays: images as uint8
[N, H, W, C] (the numpy/PIL layout that clean-fid, torch-fidelity and `ganlab eval --fake` read),
points as float32 [N, D], under the key 'x'. `--out DIR/` writes one PNG per image sample.
"""

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ganlab.errors import ConfigError


@torch.no_grad()
def generate(G, sample_z, n, seed=0, batch_size=500, progress=False):
    """n samples [n, *shape] of G (in eval mode) on the CPU, from latent codes drawn at once by
    `sample_z(n, generator)` with one torch.Generator seeded by `seed` (so the samples do not
    depend on `batch_size`, and equal those of one `G(sample_z(n, ...))` call)."""
    device = next(G.parameters()).device
    z = sample_z(n, torch.Generator(device=device).manual_seed(seed))  # [n, z_dim]
    was_training = G.training
    G.eval()
    parts = [G(part).float().cpu() for part in tqdm(z.split(batch_size), disable=not progress, unit="batch", desc="sampling")]
    G.train(was_training)
    return torch.cat(parts)


def to_uint8(images):
    """Images [N, C, H, W] in [-1, 1] -> uint8 [N, H, W, C] (values clipped), as a numpy array."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def export_kind(out):
    """'npz', 'folder' or 'grid' for an --out path: .npz, a trailing slash or an existing folder, else a grid."""
    text = str(out)
    if text.endswith(".npz"):
        return "npz"
    if text.endswith(("/", os.sep)) or Path(out).is_dir():
        return "folder"
    return "grid"


def save_npz(samples, kind, path):
    """Write samples (images [N, C, H, W] in [-1, 1] or points [N, D]) to an .npz, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = to_uint8(samples) if kind == "image" else samples.numpy().astype(np.float32)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, x=x)
    os.replace(tmp, path)
    return path


def check_export(out, data_kind, shape):
    """Refuse, before any sampling, an --out that cannot take samples of this kind and shape."""
    if export_kind(out) != "folder":
        return
    if data_kind != "image":
        raise ConfigError(f"--out {str(out)!r} asks for one PNG per sample, but this run generates points of shape "
                          f"{tuple(shape)}; expected --out FILE.npz for point samples")
    if Path(out).is_dir() and any(Path(out).iterdir()):
        raise ConfigError(f"--out folder {str(out)!r} is not empty; expected a new or empty folder")


def save_png_folder(samples, kind, folder):
    """One PNG per image sample, folder/000000.png ... (see `check_export` for what is refused)."""
    check_export(str(folder).rstrip("/") + "/", kind, samples.shape[1:])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(len(samples) - 1)))
    for i, array in enumerate(to_uint8(samples)):
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(folder / f"{i:0{width}d}.png")
    return folder
