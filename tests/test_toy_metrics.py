"""The PacGAN mode metrics on hand-built sample sets whose answers are known."""

import math

import pytest
import torch

from ganlab.metrics.toy import max_rkl, toy_metrics

MODES = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)], dtype=torch.float64)
STD = 0.01


def test_samples_on_every_mode_equally():
    samples = MODES.repeat(10, 1)  # 80 samples, 10 per mode, exactly on the centres
    assert toy_metrics(samples, MODES, STD) == {"modes": 8, "hq": 1.0, "rkl": pytest.approx(0.0, abs=1e-12)}


def test_collapse_onto_one_mode_gives_log_m():
    samples = MODES[:1].repeat(50, 1) + 0.005  # within 3 std of mode 0
    m = toy_metrics(samples, MODES, STD)
    assert m["modes"] == 1 and m["hq"] == 1.0
    assert m["rkl"] == pytest.approx(max_rkl(8)) == pytest.approx(math.log(8))


def test_high_quality_threshold_is_three_std_of_the_nearest_mode():
    inside = MODES[2] + torch.tensor([0.0299, 0.0], dtype=torch.float64) * torch.tensor([1.0, 0.0]).double()
    outside = MODES[2] * (1 + 0.0301)  # radial distance 0.0301 > 3 * 0.01
    m = toy_metrics(torch.stack([inside, outside]), MODES, STD)
    assert m["hq"] == 0.5 and m["modes"] == 1


def test_reverse_kl_of_a_known_histogram():
    # 3 samples on mode 0, 1 on mode 1, one far away (not high quality): p = (3/4, 1/4).
    samples = torch.cat([MODES[[0, 0, 0, 1]], torch.zeros(1, 2, dtype=torch.float64)])
    m = toy_metrics(samples, MODES, STD)
    expected = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)
    assert m == {"modes": 2, "hq": 0.8, "rkl": pytest.approx(expected, rel=1e-12)}


def test_no_high_quality_sample_has_no_reverse_kl():
    assert toy_metrics(torch.zeros(5, 2), MODES, STD) == {"modes": 0, "hq": 0.0, "rkl": None}
