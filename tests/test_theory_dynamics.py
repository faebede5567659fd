"""The dynamics theory experiments in quick mode: each passes its checks, writes its figure and a
parseable result.json, and its main number is within the tolerance its claim states."""

import json
import math

import pytest

from ganlab.theory import EXPERIMENTS, run_experiment


def _run(name, tmp_path):
    result = run_experiment(name, tmp_path, quick=True)
    assert result["ok"], result["checks"]
    assert (tmp_path / "figure.png").stat().st_size > 0
    assert json.loads((tmp_path / "result.json").read_text())["checks"] == result["checks"]
    assert name in EXPERIMENTS
    return result


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_vanishing_gradients(tmp_path):
    r = _run("vanishing-gradients", tmp_path)
    ratios = r["final_over_peak"]
    assert ratios["minimax"] <= 1e-3
    assert ratios["non-saturating"] >= 0.5
    assert ratios["WGAN-GP"] >= 0.5
    assert ratios["LSGAN (-1, 1, 0)"] >= 0.01


def test_bilinear_game(tmp_path):
    r = _run("bilinear-game", tmp_path)
    ratio = r["checks"]["simultaneous_radius_ratio"]
    assert abs(ratio["value"] - math.sqrt(1 + r["eta"] ** 2)) <= 1e-9 * math.sqrt(1 + r["eta"] ** 2)
    # simultaneous: the radius grows geometrically; alternating: it stays in a band away from 0
    assert math.isclose(r["simultaneous_final_radius"], r["simultaneous_expected_final_radius"], rel_tol=1e-9)
    lo, hi = r["alternating_radius_range"]
    assert math.sqrt(2) - 1e-9 <= lo and hi <= math.sqrt(2.1 / 0.95) + 1e-9  # start (1, 1), eta 0.1


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_mode_collapse(tmp_path):
    r = _run("mode-collapse", tmp_path)
    assert r["runs"]["WGAN-GP"][-1]["modes"] >= 7
    assert r["runs"]["WGAN-GP"][-1]["hq"] >= 0.05
    for rows in r["runs"].values():
        assert len(rows) == 4 and all(sum(row["counts"]) == round(row["hq"] * 2500) for row in rows)


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_helvetica_scenario(tmp_path):
    """More G steps per round of D steps: fewer modes and fewer distinct outputs (seed 0, 200 kimg)."""
    r = _run("helvetica", tmp_path)
    modes = {n: rows[0]["modes"] for n, rows in r["runs"].items()}
    distinct = {n: rows[0]["distinct"] for n, rows in r["runs"].items()}
    assert modes["1"] >= modes["10"] + 1 and distinct["10"] <= 0.8 * distinct["1"]
    assert 0 < r["real_distinct"] < 1
