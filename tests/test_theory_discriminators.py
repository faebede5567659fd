"""Quick runs of the discriminator theory experiments, each asserting its main numbers explicitly."""

import json

import pytest

from ganlab.theory import EXPERIMENTS, run_experiment

PAIRS = ("gaussians", "mixture")


def _run(name, tmp_path):
    result = run_experiment(name, tmp_path, quick=True, seed=0)
    assert (tmp_path / "figure.png").stat().st_size > 0
    assert json.loads((tmp_path / "result.json").read_text())["experiment"] == name
    assert result["ok"], result["checks"]
    return result


@pytest.mark.parametrize("name", ["optimal-discriminator", "lsgan-chi2", "critic-vs-discriminator"])
def test_registered_with_a_cited_claim(name):
    assert "et al." in EXPERIMENTS.descriptions[name]


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_optimal_discriminator(tmp_path):
    result = _run("optimal-discriminator", tmp_path)
    for pair in PAIRS:
        r = result[pair]
        assert r["max_abs_d_error"] <= 0.05
        assert abs(r["value"] - r["integral"]) <= 0.02 * abs(r["integral"])
        # -log 4 + 2 JSD lies in [-log 4, 0]; strictly inside for overlapping, distinct densities.
        assert -1.3863 < r["integral"] < 0


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_lsgan_chi2(tmp_path):
    result = _run("lsgan-chi2", tmp_path)
    for pair in PAIRS:
        r = result[pair]
        assert r["max_abs_d_error"] <= 0.05
        assert abs(r["value"] - r["integral"]) <= 0.02 * abs(r["integral"])
        assert r["integral"] > 0.1  # the pairs differ, so the chi^2 integral is far from 0


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_critic_vs_discriminator(tmp_path):
    result = _run("critic-vs-discriminator", tmp_path)
    assert result["minimax_g_grad_at_fake"] <= 0.01  # saturating G loss: the gradient vanishes
    assert result["nonsaturating_g_grad_at_fake"] >= 0.5  # the same D, NS loss: it does not
    assert abs(result["critic_g_grad_at_fake"] - 1.0) <= 0.1  # the Lipschitz bound
    assert result["critic_linear_r2"] >= 0.95
    assert result["minimax_d_saturated_fraction"] >= 0.6
    assert abs(result["critic_w1_estimate"] - 8.0) <= 0.8
