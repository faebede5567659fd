"""Latent walks (ganlab.training.latent.slerp / lerp / interpolation_codes, `ganlab interpolate`): slerp
against its formula, the Gaussian shell it keeps and lerp leaves, its edge cases, and the command."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.resolve import make_config
from ganlab.training.latent import Latent, interpolation_codes, lerp, slerp

pytestmark = pytest.mark.usefixtures("one_thread")


def test_slerp_formula_and_ends():
    a, b = torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([[0.0, 2.0]], dtype=torch.float64)
    assert torch.allclose(slerp(0.0, a, b), a) and torch.allclose(slerp(1.0, a, b), b)
    mid = slerp(0.5, a, b)  # W = pi/2: sin(pi/4) (a + b)
    assert torch.allclose(mid, math.sin(math.pi / 4) * (a + b), atol=1e-12)
    u = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[math.cos(1.0), math.sin(1.0)]], dtype=torch.float64)
    for t in (0.1, 0.37, 0.8):  # between unit vectors slerp stays on the circle at angle t W
        assert torch.allclose(slerp(t, u, v), torch.tensor([[math.cos(t), math.sin(t)]], dtype=torch.float64), atol=1e-12)


def test_slerp_falls_back_to_lerp_for_parallel_vectors():
    a = torch.tensor([[1.0, 2.0, 3.0]])
    for b in (2 * a, a.clone()):
        out = slerp(0.25, a, b)
        assert torch.isfinite(out).all() and torch.allclose(out, lerp(0.25, a, b))


def test_slerp_keeps_the_gaussian_shell_lerp_leaves():
    """Midpoints of 2,000 pairs of N(0, I_100) draws: slerp's norm ~ sqrt(100), lerp's ~ sqrt(50)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, 100, generator=g), torch.randn(2000, 100, generator=g)
    s, ln = slerp(0.5, a, b).norm(dim=1).mean().item(), lerp(0.5, a, b).norm(dim=1).mean().item()
    assert abs(s - 10) < 0.3 and abs(ln - math.sqrt(50)) < 0.3


def test_walk_codes_layout():
    cfg = make_config({"z_dim": 6, "latent.classes": "projection"})
    lat = Latent(cfg, num_classes=10)
    w = interpolation_codes(lat, rows=3, steps=4, device="cpu", generator=torch.Generator().manual_seed(1), y=7)
    assert w.shape == (12, 7) and torch.equal(lat.labels(w), torch.full((12,), 7))
    ends = lat.sample(6, "cpu", torch.Generator().manual_seed(1), y=7)
    assert torch.allclose(w[0, :6], ends[0, :6]) and torch.allclose(w[3, :6], ends[3, :6], atol=1e-6)
    uniform = Latent(make_config({"z_dim": 6, "z_prior": "uniform"}))
    u = interpolation_codes(uniform, 2, 5, "cpu", torch.Generator().manual_seed(0))
    assert torch.allclose(u[2], (u[0] + u[4]) / 2, atol=1e-6)  # lerp: the middle step is the midpoint


def test_interpolate_command(tmp_path, run_cli):
    sets = sum((["--set", f"{k}={v}"] for k, v in {"G.width": 8, "D.width": 8, "kimg": 0.128, "batch_size": 32,
                                                      "tensorboard": False, "cpu_threads": 1}.items()), [])
    assert run_cli("train", "--out", tmp_path, *sets).code == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    r = run_cli("interpolate", run, "--rows", 3, "--steps", 5, "--out", tmp_path / "walk.png")
    assert r.code == 0 and "slerp" in r.out, r.err
    img = np.asarray(Image.open(tmp_path / "walk.png"))
    assert img.shape == (3 * 30 + 2, 5 * 30 + 2)  # 28-pixel digits with 2-pixel gaps
    r = run_cli("interpolate", run, "--class", 2)
    assert r.code == 2 and "not class-conditional" in r.err
    r = run_cli("interpolate", run, "--steps", 1)
    assert r.code == 2


def test_traversal_codes_and_command(tmp_path, run_cli):
    from ganlab.errors import ConfigError
    from ganlab.training.latent import traversal_codes

    lat = Latent(make_config({"z_dim": 3, "latent.categorical": 4, "latent.continuous": 2}))
    w = traversal_codes(lat, 1, 5, "cpu", torch.Generator().manual_seed(0))
    assert w.shape == (20, 9) and torch.equal(w[:, :3], w[:1, :3].expand(20, 3))   # one z
    assert torch.equal(lat.categories(w), torch.arange(4).repeat_interleave(5))      # a row per category
    assert torch.allclose(w[:5, 8], torch.linspace(-2, 2, 5)) and (w[:, 7] == 0).all()
    with pytest.raises(ConfigError, match="continuous code 2 does not exist"):
        traversal_codes(lat, 2, 5, "cpu")
    sets = sum((["--set", f"{k}={v}"] for k, v in {"G.width": 8, "D.width": 8, "kimg": 0.128, "batch_size": 32,
                                                      "tensorboard": False, "cpu_threads": 1, "latent.categorical": 3,
                                                      "latent.continuous": 1}.items()), [])
    assert run_cli("train", "--out", tmp_path, *sets).code == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    r = run_cli("interpolate", run, "--traverse", 0, "--steps", 6, "--out", tmp_path / "t.png")
    assert r.code == 0, r.err
    assert np.asarray(Image.open(tmp_path / "t.png")).shape == (3 * 30 + 2, 6 * 30 + 2)
    r = run_cli("interpolate", run, "--traverse", 1)
    assert r.code == 2 and "continuous code 1 does not exist" in r.err
