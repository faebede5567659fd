"""Every objective and regulariser against its closed form, in float64."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit
from torch.testing import assert_close

from ganlab.errors import ConfigError
from ganlab.objectives import OBJECTIVES, build_objective, objective_params
from ganlab.regularizers import gradient_penalty, mean_matching, weight_clip

S_R = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
S_F = np.array([2.0, -1.5, 0.0, 0.3, -6.0])


def t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def g_grad(objective, s_f):
    """dL_G/ds_f per sample."""
    s = t(s_f)
    objective.g_loss(s).sum().backward()
    return s.grad.numpy()


def test_logistic_d_loss_is_cross_entropy():
    for name in ("minimax", "nonsaturating"):
        got = build_objective(name).d_loss(t(S_R), t(S_F)).detach().numpy()
        want = -np.log(expit(S_R)) - np.log(1 - expit(S_F))
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_minimax_g_loss_and_its_vanishing_gradient():
    obj = build_objective("minimax")
    np.testing.assert_allclose(obj.g_loss(t(S_F)).detach().numpy(), np.log(1 - expit(S_F)), rtol=1e-12)
    np.testing.assert_allclose(g_grad(obj, S_F), -expit(S_F), rtol=1e-12)  # d/ds log(1 - sigma(s))
    # D confident that fakes are fake: the saturating gradient vanishes.
    assert abs(g_grad(obj, np.array([-15.0]))[0]) < 1e-6


def test_nonsaturating_g_loss_and_its_gradient_does_not_vanish():
    obj = build_objective("nonsaturating")
    np.testing.assert_allclose(obj.g_loss(t(S_F)).detach().numpy(), -np.log(expit(S_F)), rtol=1e-12)
    np.testing.assert_allclose(g_grad(obj, S_F), -(1 - expit(S_F)), rtol=1e-12)
    assert abs(g_grad(obj, np.array([-15.0]))[0] + 1) < 1e-6
    assert_close(obj.g_loss(t([0.0])), torch.tensor([math.log(2)], dtype=torch.float64))


def test_minimax_and_nonsaturating_differ():
    s = t(S_F)
    assert not torch.allclose(build_objective("minimax").g_loss(s), build_objective("nonsaturating").g_loss(s))


@pytest.mark.parametrize("abc", [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0)])
def test_lsgan(abc):
    a, b, c = abc
    obj = build_objective("lsgan", dict(a=a, b=b, c=c))
    d = obj.d_loss(t(S_R), t(S_F)).detach().numpy()
    np.testing.assert_allclose(d, 0.5 * (S_R - b) ** 2 + 0.5 * (S_F - a) ** 2, rtol=1e-12)
    np.testing.assert_allclose(obj.g_loss(t(S_F)).detach().numpy(), 0.5 * (S_F - c) ** 2, rtol=1e-12)
    np.testing.assert_allclose(g_grad(obj, S_F), S_F - c, rtol=1e-12)


def test_lsgan_default_is_the_chi2_coding():
    assert objective_params("lsgan") == {"a": -1.0, "b": 1.0, "c": 0.0}


def test_mean_matching_value_and_gradient():
    lam = 0.7
    reg = mean_matching(lam)
    s_f, s_r = t(S_F), t(S_R)
    value = reg(s_f, s_r)
    assert_close(value, torch.tensor(lam * (S_F.mean() - S_R.mean()) ** 2, dtype=torch.float64))
    value.backward()
    np.testing.assert_allclose(s_f.grad.numpy(), np.full(5, 2 * lam * (S_F.mean() - S_R.mean()) / 5), rtol=1e-12)
    assert s_r.grad is None  # D(x) is a constant for G


def test_lsgan_mm_adds_the_regulariser_to_g_only():
    obj = build_objective("lsgan-mm", dict(weight=2.0))
    plain = build_objective("lsgan")
    assert_close(obj.d_loss(t(S_R), t(S_F)), plain.d_loss(t(S_R), t(S_F)))
    assert obj.g_regularizer is not None and plain.g_regularizer is None
    assert_close(obj.g_regularizer(t(S_F), t(S_R)), torch.tensor(2.0 * (S_F.mean() - S_R.mean()) ** 2, dtype=torch.float64))


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_wasserstein_losses(name):
    obj = build_objective(name)
    np.testing.assert_allclose(obj.d_loss(t(S_R), t(S_F)).detach().numpy(), S_F - S_R, rtol=1e-12)
    np.testing.assert_allclose(obj.g_loss(t(S_F)).detach().numpy(), -S_F, rtol=1e-12)
    np.testing.assert_allclose(g_grad(obj, S_F), -np.ones(5))
    assert obj.n_critic == 5


def test_wgan_gp_has_penalty_and_no_batchnorm_and_wgan_has_clipping():
    gp, clip = build_objective("wgan-gp"), build_objective("wgan")
    assert gp.penalty is not None and gp.constraint is None and not gp.batchnorm_in_d
    assert clip.constraint is not None and clip.penalty is None


class Linear(torch.nn.Module):
    """D(x) = <w, x> + b over all non-batch dims: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + 0.3


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4), (3, 2, 2)])
def test_gradient_penalty_on_a_linear_critic(shape):
    torch.manual_seed(0)
    w = torch.randn(shape, dtype=torch.float64)
    D = Linear(w)
    real, fake = torch.randn((6,) + shape, dtype=torch.float64), torch.randn((6,) + shape, dtype=torch.float64)
    pen = gradient_penalty(10.0)(D, real, fake)
    assert pen.shape == (6,)
    expected = 10.0 * (w.norm().item() - 1) ** 2
    assert_close(pen, torch.full((6,), expected, dtype=torch.float64))
    pen.sum().backward()  # the penalty is differentiable in D's parameters (create_graph)
    assert D.w.grad is not None and D.w.grad.abs().sum() > 0


def test_gradient_penalty_interpolates_per_sample():
    """D(x) = ||x||^2 / 2 has input gradient x, so the penalty reveals each x_hat's norm."""

    class Quadratic(torch.nn.Module):
        def forward(self, x):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    torch.manual_seed(1)
    real = torch.ones(512, 3, dtype=torch.float64)
    fake = torch.zeros(512, 3, dtype=torch.float64)
    torch.manual_seed(2)
    pen = gradient_penalty(1.0)(Quadratic(), real, fake)
    torch.manual_seed(2)
    eps = torch.rand(512, 1, dtype=torch.float64)
    assert_close(pen, (eps.squeeze(1) * math.sqrt(3) - 1) ** 2, rtol=1e-6, atol=1e-6)
    assert pen.std() > 0.1  # a per-batch epsilon would make every sample's penalty equal


def test_weight_clip_clamps_every_parameter():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    weight_clip(0.01)(net)
    for p in net.parameters():
        assert p.abs().max() <= 0.01


def test_every_objective_has_a_description_and_builds_with_defaults():
    for name in OBJECTIVES:
        assert OBJECTIVES.descriptions[name]
        build_objective(name)


def test_bad_objective_args_are_refused_with_the_valid_names():
    with pytest.raises(ConfigError, match=r"objective_args\.d .*'lsgan'.*a, b, c"):
        build_objective("lsgan", {"d": 1.0})
    with pytest.raises(ConfigError, match="not a number"):
        build_objective("lsgan", {"a": "x"})
    with pytest.raises(ConfigError, match="out of range"):
        build_objective("wgan", {"clip": -1.0})
    with pytest.raises(ConfigError, match="did you mean 'wgan-gp'"):
        build_objective("wgan_gp")
