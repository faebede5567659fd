"""The f-GAN divergence table and the divergence experiments of ganlab.theory.divergences."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import optimize

from ganlab.fdivergences import FDIVERGENCES
from ganlab.theory import run_experiment

# Points inside each f*'s domain where the conjugate is checked against sup_u (t·u - f(u)), u > 0.
# Pearson's f is (u - 1)^2 on all reals; restricted to u > 0 its sup is t^2/4 + t only for t >= -2.
CONJUGATE_POINTS = {
    "kl": [-2.0, -0.5, 0.0, 0.7, 1.5],
    "reverse-kl": [-3.0, -1.0, -0.5, -0.1],
    "pearson": [-1.5, -0.5, 0.0, 1.0, 3.0],
    "neyman": [-3.0, -1.0, 0.0, 0.5, 0.9],
    "hellinger": [-3.0, -1.0, 0.0, 0.5, 0.8],
    "js": [-3.0, -1.0, 0.0, 0.4, 0.6],
    "gan": [-3.0, -1.0, -0.3, -0.05],
    "tv": [-0.5, -0.3, 0.0, 0.2, 0.5],
}


def test_table_is_complete():
    assert set(FDIVERGENCES) == {"kl", "reverse-kl", "pearson", "neyman", "hellinger", "js", "gan", "tv"}
    assert set(CONJUGATE_POINTS) == set(FDIVERGENCES)


@pytest.mark.parametrize("name", sorted(FDIVERGENCES))
def test_f_is_convex_and_zero_at_one(name):
    f = FDIVERGENCES[name].f
    at_one = -math.log(4) if name == "gan" else 0.0  # f-GAN's GAN row is shifted: f(1) = -log 4
    torch.testing.assert_close(f(torch.tensor([1.0], dtype=torch.float64)), torch.full([1], at_one, dtype=torch.float64))
    u = torch.linspace(0.05, 5, 200, dtype=torch.float64)
    second = f(u[2:]) - 2 * f(u[1:-1]) + f(u[:-2])  # discrete second difference
    assert (second >= -1e-12).all()


@pytest.mark.parametrize("name", sorted(FDIVERGENCES))
def test_conjugate_is_sup(name):
    d = FDIVERGENCES[name]
    f = lambda u: d.f(torch.tensor([u], dtype=torch.float64)).item()  # noqa: E731
    for t in CONJUGATE_POINTS[name]:
        # Maximise t·u - f(u) over u > 0, optimising log u; a coarse grid picks the starting bracket
        # (TV's sup is attained on a whole interval, at the boundary u -> 0 for t = -1/2).
        neg = lambda s: -(t * math.exp(s) - f(math.exp(s)))  # noqa: E731
        grid = np.linspace(-25, 6, 621)
        s0 = grid[int(np.argmin([neg(s) for s in grid]))]
        res = optimize.minimize_scalar(neg, bounds=(s0 - 0.1, s0 + 0.1), method="bounded", options={"xatol": 1e-10})
        sup = max(-res.fun, -min(neg(s) for s in grid))
        value = d.conjugate(torch.tensor([t], dtype=torch.float64)).item()
        assert value == pytest.approx(sup, abs=1e-6), (name, t)


@pytest.mark.parametrize("name", sorted(FDIVERGENCES))
def test_activation_maps_reals_into_domain(name):
    d = FDIVERGENCES[name]
    lo, hi = d.domain
    # Increasing, |v| <= 30: beyond that 1 - exp(-v) rounds to 1 in float64 (the edge of dom f*).
    v = torch.cat([-torch.logspace(-3, math.log10(30), 100).flip(0), torch.zeros(1), torch.logspace(-3, math.log10(30), 100)]).double()
    t = d.activation(v)
    inside = (t >= lo) & (t <= hi) if name == "tv" else (t > lo) & (t < hi)
    assert inside.all()
    assert torch.isfinite(d.conjugate(t)).all()
    assert (t[1:] >= t[:-1]).all()  # g_f is monotone, so larger scores mean "more P"


def _run(name, tmp_path, seed=0):
    result = run_experiment(name, tmp_path, quick=True, seed=seed)
    assert (tmp_path / "figure.png").stat().st_size > 0
    assert json.loads((tmp_path / "result.json").read_text())["experiment"] == name
    assert result["ok"], result["checks"]
    return result


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_wasserstein_vs_js(tmp_path):
    r = _run("wasserstein-vs-js", tmp_path)
    theta = np.array(r["theta"])
    assert np.max(np.abs(np.array(r["wasserstein_estimate"]) - np.abs(theta))) <= 0.1
    js = np.array(r["js_estimate"])
    assert np.max(np.abs(js[theta != 0] - math.log(2))) <= 0.1
    assert abs(js[theta == 0][0]) <= 0.05


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_f_divergences(tmp_path):
    r = _run("f-divergences", tmp_path)
    for name in FDIVERGENCES:
        est, val = r["estimates"][name], r["integrals"][name]
        assert abs(est - val) <= 0.10 * abs(val), (name, est, val)


def test_f_divergence_integrals_closed_form():
    from scipy import integrate, stats

    from ganlab.theory.divergences import f_divergence_integral

    # P = N(0, 1), Q = N(0.8, 1.05^2): Gaussian closed forms, and scipy.quad of the textbook integrands
    # (an independent route from the f column of the table).
    mu, sp, sq = 0.8, 1.0, 1.05
    p, q = stats.norm(0, sp), stats.norm(mu, sq)
    quad = lambda g: integrate.quad(g, -30, 30, points=[0, mu], limit=200)[0]  # noqa: E731
    kl = math.log(sq / sp) + (sp ** 2 + mu ** 2) / (2 * sq ** 2) - 0.5
    reverse_kl = math.log(sp / sq) + (sq ** 2 + mu ** 2) / (2 * sp ** 2) - 0.5
    bc = math.sqrt(2 * sp * sq / (sp ** 2 + sq ** 2)) * math.exp(-(mu ** 2) / (4 * (sp ** 2 + sq ** 2)))
    m = lambda x: (p.pdf(x) + q.pdf(x)) / 2  # noqa: E731
    jsd = quad(lambda x: 0.5 * p.pdf(x) * math.log(p.pdf(x) / m(x)) + 0.5 * q.pdf(x) * math.log(q.pdf(x) / m(x)))
    expected = {
        "kl": kl,
        "reverse-kl": reverse_kl,
        "pearson": quad(lambda x: (p.pdf(x) - q.pdf(x)) ** 2 / q.pdf(x)),
        "neyman": quad(lambda x: (q.pdf(x) - p.pdf(x)) ** 2 / p.pdf(x)),
        "hellinger": 2 * (1 - bc),
        "js": 2 * jsd,
        "gan": 2 * jsd - math.log(4),
        "tv": quad(lambda x: 0.5 * abs(p.pdf(x) - q.pdf(x))),
    }
    assert expected["kl"] != pytest.approx(expected["reverse-kl"], rel=0.02)  # the direction is tested
    assert expected["pearson"] != pytest.approx(expected["neyman"], rel=0.02)
    for name, value in expected.items():
        assert f_divergence_integral(name) == pytest.approx(value, rel=1e-5), name


def test_mle_kl(tmp_path):
    r = _run("mle-kl", tmp_path)
    gap = np.abs(np.array(r["nll_minus_entropy"]) - np.array(r["kl"]))
    assert gap.max() <= 0.03
    assert abs(r["checks"]["argmin_agreement"]["value"] - r["checks"]["argmin_agreement"]["expected"]) <= 0.05
    path = r["path"]
    assert np.max(np.abs(np.array(path["nll_minus_entropy"]) - np.array(path["kl"]))) <= 0.03
    assert path["kl"][-1] <= 0.01
