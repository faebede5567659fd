"""The zoo's objectives against their closed forms in float64: f-GAN for all eight
divergences, hinge, DRAGAN, R1, BEGAN and the WGAN-GP drift term."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit
from torch.testing import assert_close

from ganlab.errors import ConfigError
from ganlab.fdivergences import FDIVERGENCES
from ganlab.objectives import OBJECTIVES, build_objective
from ganlab.regularizers import dragan_penalty, r1_penalty

S_R = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
S_F = np.array([2.0, -1.5, 0.0, 0.3, -6.0])
LOG2 = math.log(2)

# The f-GAN table (Nowozin et al. 2016, Table 2), written out in numpy: g_f(v) and f*(t).
G_F = {
    "kl": lambda v: v,
    "reverse-kl": lambda v: -np.exp(-v),
    "pearson": lambda v: v,
    "neyman": lambda v: 1 - np.exp(-v),
    "hellinger": lambda v: 1 - np.exp(-v),
    "js": lambda v: LOG2 - np.log1p(np.exp(-v)),
    "gan": lambda v: -np.log1p(np.exp(-v)),
    "tv": lambda v: 0.5 * np.tanh(v),
}
F_STAR = {
    "kl": lambda t: np.exp(t - 1),
    "reverse-kl": lambda t: -1 - np.log(-t),
    "pearson": lambda t: t ** 2 / 4 + t,
    "neyman": lambda t: 2 - 2 * np.sqrt(1 - t),
    "hellinger": lambda t: t / (1 - t),
    "js": lambda t: -np.log(2 - np.exp(t)),
    "gan": lambda t: -np.log(1 - np.exp(t)),
    "tv": lambda t: t,
}


def t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def numpy(x):
    return x.detach().numpy()


def test_every_divergence_has_an_fgan_objective():
    assert {f"fgan-{name}" for name in FDIVERGENCES} <= set(OBJECTIVES)
    assert set(G_F) == set(FDIVERGENCES)


@pytest.mark.parametrize("name", sorted(FDIVERGENCES))
def test_composite_is_the_conjugate_of_the_activation(name):
    d = FDIVERGENCES[name]
    v = torch.linspace(-4, 4, 81, dtype=torch.float64)
    assert_close(d.composite(v), d.conjugate(d.activation(v)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(numpy(d.composite(v)), F_STAR[name](G_F[name](v.numpy())), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FDIVERGENCES))
def test_fgan_losses(name):
    g, fs = G_F[name], F_STAR[name]
    ns = build_objective(f"fgan-{name}")
    saddle = build_objective(f"fgan-{name}", {"g_loss": "saddle"})
    want_d = -(g(S_R) - fs(g(S_F)))  # minus the variational bound, per sample
    for obj in (ns, saddle):
        np.testing.assert_allclose(numpy(obj.d_loss(t(S_R), t(S_F))), want_d, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(numpy(ns.g_loss(t(S_F))), -g(S_F), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(numpy(saddle.g_loss(t(S_F))), -fs(g(S_F)), rtol=1e-10, atol=1e-12)


def test_fgan_gan_row_is_the_logistic_gan():
    fgan, ns = build_objective("fgan-gan"), build_objective("nonsaturating")
    assert_close(fgan.d_loss(t(S_R), t(S_F)), ns.d_loss(t(S_R), t(S_F)))
    assert_close(fgan.g_loss(t(S_F)), ns.g_loss(t(S_F)))
    # The saddle-point G of the GAN row is the saturating minimax G loss, up to its sign convention:
    # -f*(g_f(v)) = log(1 - sigmoid(v)).
    np.testing.assert_allclose(numpy(build_objective("fgan-gan", {"g_loss": "saddle"}).g_loss(t(S_F))),
                               np.log(1 - expit(S_F)), rtol=1e-12)


def test_fgan_gan_loss_is_finite_where_the_composition_overflows():
    s = torch.tensor([120.0])  # float32: softplus(-120) underflows, so f*(g_f(s)) = -log(0)
    d = FDIVERGENCES["gan"]
    assert not torch.isfinite(d.conjugate(d.activation(s))).all()
    assert torch.isfinite(build_objective("fgan-gan").d_loss(torch.zeros(1), s)).all()


def test_fgan_rejects_unknown_g_loss():
    with pytest.raises(ConfigError, match="ns or saddle"):
        build_objective("fgan-kl", {"g_loss": "minimax"})
    with pytest.raises(ConfigError, match="not a name"):
        build_objective("fgan-kl", {"g_loss": 1.0})


def test_hinge():
    obj = build_objective("hinge")
    np.testing.assert_allclose(numpy(obj.d_loss(t(S_R), t(S_F))),
                               np.maximum(0, 1 - S_R) + np.maximum(0, 1 + S_F), rtol=1e-12)
    np.testing.assert_allclose(numpy(obj.g_loss(t(S_F))), -S_F, rtol=1e-12)


def test_wgan_gp_drift_term():
    obj = build_objective("wgan-gp", {"drift": 0.001})
    np.testing.assert_allclose(numpy(obj.d_loss(t(S_R), t(S_F))), S_F - S_R + 0.001 * S_R ** 2, rtol=1e-12)


class Linear(torch.nn.Module):
    """D(x) = <w, x> over all non-batch dims: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_dragan_and_r1_on_a_linear_critic(shape):
    torch.manual_seed(0)
    w = torch.randn(shape, dtype=torch.float64)
    real = torch.randn((6,) + shape, dtype=torch.float64)
    norm = w.norm().item()
    pen = dragan_penalty(10.0)(Linear(w), real, None)
    assert_close(pen, torch.full((6,), 10.0 * (norm - 1) ** 2, dtype=torch.float64))
    pen = r1_penalty(4.0)(Linear(w), real, None)
    assert_close(pen, torch.full((6,), 0.5 * 4.0 * norm ** 2, dtype=torch.float64))


def test_dragan_perturbs_reals_by_half_their_std_times_uniform_noise():
    """D(x) = ||x||^2 / 2 has input gradient x: the penalty reveals the perturbed point."""

    class Quadratic(torch.nn.Module):
        def forward(self, x):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    real = torch.tensor([[0.0], [2.0]], dtype=torch.float64)  # std (unbiased) sqrt(2)
    torch.manual_seed(3)
    pen = dragan_penalty(1.0)(Quadratic(), real, None)
    torch.manual_seed(3)
    u = torch.rand_like(real)
    x_hat = real + 0.5 * math.sqrt(2) * u
    assert_close(pen, (x_hat.abs().squeeze(1) - 1) ** 2)


def test_r1_penalises_reals_only():
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    real = torch.randn(5, 2)
    a = r1_penalty()(D, real, torch.randn(5, 2))
    b = r1_penalty()(D, real, torch.randn(5, 2) * 100)
    assert_close(a, b)


def test_penalised_objectives_forbid_batchnorm():
    for name in ("dragan", "r1", "wgan-gp"):
        obj = build_objective(name)
        assert obj.penalty is not None and not obj.batchnorm_in_d


def test_began_losses_and_equilibrium_update():
    obj = build_objective("began", {"gamma": 0.5, "lambda_k": 0.1})
    assert obj.discriminator == "autoencoder"
    l_r, l_f = np.array([0.2, 0.4]), np.array([0.1, 0.5])  # reconstruction errors; scores are -L
    s_r, s_f = t(-l_r), t(-l_f)
    # k_0 = 0: D loss is L(x), G loss is L(G(z)).
    np.testing.assert_allclose(numpy(obj.d_loss(s_r, s_f)), l_r, rtol=1e-12)
    np.testing.assert_allclose(numpy(obj.g_loss(s_f)), l_f, rtol=1e-12)
    stats = obj.state.update(s_r, s_f)
    balance = 0.5 * l_r.mean() - l_f.mean()  # gamma L(x) - L(G(z)) = 0.15 - 0.3 < 0
    assert float(stats["k"]) == 0.0  # clipped at 0
    assert float(stats["M"]) == pytest.approx(l_r.mean() + abs(balance), rel=1e-12)
    low_fake = t(-np.array([0.01, 0.01]))
    k = float(obj.state.update(s_r, low_fake)["k"])
    assert k == pytest.approx(0.1 * (0.5 * 0.3 - 0.01), rel=1e-6)
    np.testing.assert_allclose(numpy(obj.d_loss(s_r, low_fake)), l_r - k * 0.01, rtol=1e-6)
    for _ in range(200):  # k saturates at 1
        obj.state.update(s_r, t(-np.zeros(2)))
    assert float(obj.state.k) == 1.0
    restored = build_objective("began")
    restored.state.load_state_dict(obj.state.state_dict())
    assert float(restored.state.k) == 1.0


def test_began_rejects_bad_gamma():
    with pytest.raises(ConfigError, match="gamma"):
        build_objective("began", {"gamma": 0.0})
