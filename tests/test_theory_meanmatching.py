"""The lsgan-mm-gradient theory experiment: the quick run passes its checks, and the G gradient of
lsgan-mm matches closed forms (a linear D, and the τ -> 0 limit 1 + 4λ of the sharp D_τ)."""

import json

import pytest
import torch

from ganlab.objectives import build_objective
from ganlab.theory import EXPERIMENTS, run_experiment
from ganlab.theory.meanmatching import g_gradient, lsgan_codes, predicted_rescaling


def test_registered_with_its_claim():
    assert "1 + 4λ" in EXPERIMENTS.descriptions["lsgan-mm-gradient"]


@pytest.mark.parametrize("weight", [0.0, 0.1, 1.0, 10.0])
def test_gradient_of_a_linear_discriminator(weight):
    # D(x) = w·x + β has ∇D = w everywhere, so ∇_θ [mean ½(s_i − c)² + λ(m_f − m_r)²] with x_i = θ + z_i
    # is [(m_f − c) + 2λ(m_f − m_r)] w in closed form.
    a, b, c = lsgan_codes()
    w, beta = torch.tensor([0.7, -1.3], dtype=torch.float64), 0.2
    D = lambda x: x @ w + beta  # noqa: E731
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    real = 3 + torch.randn(64, 2, generator=gen, dtype=torch.float64)
    theta = torch.tensor([0.5, 1.5], dtype=torch.float64)
    objective = build_objective("lsgan-mm", {"a": a, "b": b, "c": c, "weight": weight})
    m_f, m_r = float(D(theta + z).mean()), float(D(real).mean())
    expected = ((m_f - c) + 2 * weight * (m_f - m_r)) * w
    torch.testing.assert_close(g_gradient(objective, D, theta, z, real), expected, rtol=1e-12, atol=1e-12)


def test_predicted_rescaling_of_the_default_codes():
    assert lsgan_codes() == (-1.0, 1.0, 0.0)
    assert [predicted_rescaling(w, -1.0, 1.0, 0.0) for w in (0.1, 1.0, 10.0)] == pytest.approx([1.4, 5.0, 41.0])
    assert predicted_rescaling(1.0, 0.0, 1.0, 1.0) == pytest.approx(3.0)  # the 0-1 coding: 1 + 2λ


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_quick_run(tmp_path):
    r = run_experiment("lsgan-mm-gradient", tmp_path, quick=True, seed=0)
    assert r["ok"], {k: c for k, c in r["checks"].items() if not c["ok"]}
    assert (tmp_path / "figure.png").stat().st_size > 0
    assert json.loads((tmp_path / "result.json").read_text())["checks"] == r["checks"]
    closed = r["closed_form"]
    assert closed["max_rel_error_autograd_vs_formula"] <= 1e-10
    assert abs(closed["rescaling_at_sharpest_tau"]["1.0"] - 5.0) <= 5e-5  # 1 + 4λ at λ = 1
    assert closed["grad_norms"]["lsgan"][-1] <= 1e-6 * max(closed["grad_norms"]["lsgan"])  # D_τ -> D*: vanishes
    near = r["by_delta"]["1.0"]
    assert abs(near["rescaling"]["lsgan-mm λ=1"] - 5.0) <= 0.2 * 5.0
    assert near["cosine_with_lsgan"]["lsgan-mm λ=10"] >= 0.99
    assert near["final_over_peak"]["lsgan"] <= 0.2  # D flattened: LSGAN's gradient decayed ...
    assert near["final_over_peak"]["lsgan-mm λ=10"] <= 1.25 * near["final_over_peak"]["lsgan"]  # ... and MM's too
