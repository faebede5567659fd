"""Registry-wide contracts: every objective x network takes a D step and a G step on 2-D points
and on 1x28x28 images with finite losses and non-zero gradients. A new registry entry is covered
here without editing this file."""

import pytest
import torch

from ganlab.resolve import make_config
from ganlab.errors import ConfigError
from ganlab.data.base import Dataset
from ganlab.networks import NETWORKS
from ganlab.objectives import OBJECTIVES, build_objective
from ganlab.training.latent import sample_z
from ganlab.training.models import build_models

SHAPES = {"points": (2,), "image": (1, 28, 28), "image32": (1, 32, 32)}
SUPPORTED = {"mlp": ("points", "image"), "dcgan": ("image",), "resnet": ("image",), "progressive": ("image32",)}
D_ONLY = {"mlp-ae": "mlp", "dcgan-ae": "dcgan"}  # auto-encoder D families, chosen through their G family


def fake_dataset(kind):
    torch.manual_seed(0)
    if kind == "points":
        return Dataset("toy", torch.randn(64, 2), kind="points")
    return Dataset("img", torch.randint(0, 256, (64, *SHAPES[kind]), dtype=torch.uint8), kind="image")


def total_grad(module):
    # Growing nets (Progressive GAN) use one to-RGB / from-RGB layer per forward at the final stage.
    level = getattr(module, "level", None)
    grads = [p.grad for name, p in module.named_parameters() if p.requires_grad
             and (level is None or "_rgb." not in name or name.split(".")[1] == str(level))]
    assert all(g is not None for g in grads), "a parameter received no gradient"
    assert all(torch.isfinite(g).all() for g in grads)
    return sum(g.abs().sum().item() for g in grads)


def test_every_network_is_covered():
    assert set(SUPPORTED) | set(D_ONLY) == set(NETWORKS), "add the new network's supported data kinds to SUPPORTED"


PAIRS = [(a, a, k) for a, kinds in SUPPORTED.items() for k in kinds]
PAIRS += [(g, d, k) for d, g in D_ONLY.items() for k in SUPPORTED[g]]  # (G family, D family, data kind)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("g_arch, d_arch, kind", PAIRS)
def test_objective_takes_finite_d_and_g_steps(objective, g_arch, d_arch, kind):
    data = fake_dataset(kind)
    cfg = make_config({"objective": objective, "G.arch": g_arch, "D.arch": d_arch, "G.width": 16, "D.width": 16, "z_dim": 8})
    obj = build_objective(objective)
    if obj.discriminator == "autoencoder" and not d_arch.endswith("-ae") and d_arch + "-ae" not in NETWORKS:
        with pytest.raises(ConfigError, match="needs an auto-encoder discriminator"):
            build_models(cfg, data, obj, torch.device("cpu"))
        return
    G, D = build_models(cfg, data, obj, torch.device("cpu"))
    assert_d_and_g_step(G, D, obj, cfg, data.batch(torch.arange(8), "cpu"))


def assert_d_and_g_step(G, D, obj, cfg, real):
    """One D step and one G step of `obj` on `real`: per-sample [N] losses, finite, and non-zero
    gradients reaching D and G (also used by the robustness-setting tests)."""
    n = real.shape[0]

    # D step.
    fake = G(sample_z(n, cfg, "cpu")).detach()
    loss_d = obj.d_loss(D(real), D(fake))
    assert loss_d.shape == (n,)  # per-sample: the loop owns the reduction
    loss_d = loss_d.mean()
    if obj.penalty is not None:
        pen = obj.penalty(D, real, fake)
        assert pen.shape == (n,) and torch.isfinite(pen).all()
        loss_d = loss_d + pen.mean()
    assert torch.isfinite(loss_d)
    loss_d.backward()
    assert total_grad(D) > 0
    if obj.constraint is not None:
        obj.constraint(D)

    # G step.
    D.zero_grad()
    s_f = D(G(sample_z(n, cfg, "cpu")))
    loss_g = obj.g_loss(s_f)
    assert loss_g.shape == (n,)
    loss_g = loss_g.mean()
    if obj.g_regularizer is not None:
        loss_g = loss_g + obj.g_regularizer(s_f, D(real).detach())
    assert torch.isfinite(loss_g)
    loss_g.backward()
    assert total_grad(G) > 0


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_gradient_penalty_objectives_get_no_batchnorm_in_d(objective):
    cfg = make_config({"objective": objective})
    obj = build_objective(objective)
    _, D = build_models(cfg, fake_dataset("image"), obj, torch.device("cpu"))
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules())
    assert has_bn == obj.batchnorm_in_d
