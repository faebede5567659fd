"""Metrics declare what they need and compute themselves from one set of inputs: a new metric is
one registration (no evaluator edit), the evaluator computes only what the run's metrics need, and
a need the run cannot meet is refused before training."""

import math

import pytest
import torch
from torch import nn

from ganlab.config import DataConfig
from ganlab.data import load_dataset
from ganlab.errors import ConfigError
from ganlab.metrics import METRICS, PROTOCOLS, MetricSpec, extract_features, metric_spec
from ganlab.metrics.evaluate import Evaluator, MetricInputs, compute_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


class Blank(nn.Module):
    """G whose every sample is the all-black digit: its features are known without it."""

    def forward(self, z):
        return -torch.ones(len(z), 1, 28, 28) + 0 * z.sum()


@pytest.fixture
def registered(monkeypatch):
    def register(name, spec):
        monkeypatch.setitem(METRICS, name, spec)
        monkeypatch.setitem(METRICS.descriptions, name, "a test metric")
    return register


def test_a_new_metric_is_one_registration_and_gets_only_what_it_needs(registered):
    registered("mean_norm50", MetricSpec(compute=lambda x, spec: x.fake.double().norm(dim=1).mean(), needs=("features",),
                                         extractor="lenet-mnist", num=50))
    data = load_dataset(DataConfig(name="mnist5k"))
    evaluator = Evaluator(["mean_norm50"], data, DataConfig(name="mnist5k"), torch.device("cpu"))
    assert evaluator.real == {}  # no real features: the metric does not need them
    out = evaluator(Blank(), lambda n, gen: torch.randn(n, 4, generator=gen))
    want = extract_features("lenet-mnist", -torch.ones(1, 1, 28, 28))["features"].double().norm()
    assert out == {"mean_norm50": pytest.approx(want.item(), rel=1e-5)}


def test_a_need_the_run_cannot_meet_is_refused_by_name(registered):
    registered("label_count", MetricSpec(compute=lambda x, spec: len(x.fake_labels), needs=("probs", "labels"),
                                         extractor="lenet-mnist", num=50))
    data = load_dataset(DataConfig(name="mnist5k"))
    with pytest.raises(ConfigError, match="label_count measure a class-conditional generator"):
        Evaluator(["label_count"], data, DataConfig(name="mnist5k"), torch.device("cpu"))


def test_several_numbers_come_back_under_their_suffixes_and_protocols_keep_their_closed_forms():
    fake, real = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([[0.0], [2.0], [4.0]])
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    specs = {"f": metric_spec("fid"), "c": metric_spec("classes"), "a": metric_spec("cond_acc")}
    out = compute_metrics(specs, {"identity": MetricInputs(fake, probs, real, fake_labels=torch.tensor([0, 0, 0]))})
    # 1-D FID: (mu_f - mu_r)^2 + var_f + var_r - 2 sqrt(var_f var_r) = 1 + 1 + 4 - 2 * 2 (unbiased variances)
    assert out["f"] == pytest.approx(2.0, rel=1e-9)
    # classes covered 2 of 2; KL(histogram (2/3, 1/3) || uniform) = 2/3 log(4/3) + 1/3 log(2/3)
    assert out["c"] == 2 and out["c_kl"] == pytest.approx(2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3), rel=1e-9)
    assert out["a"] == pytest.approx(2 / 3)
    assert metric_spec("kid", subset_size=7).min_real == 7 and metric_spec("pr").min_real == 4


def test_every_registered_metric_declares_known_needs():
    known = {"features", "probs", "real", "labels", "codes", "modes"}
    for name, spec in METRICS.items():
        assert spec.needs and set(spec.needs) <= known, name
        assert "modes" in spec.needs or any(spec.compute is p["compute"] for p in PROTOCOLS.values()), name


def test_toy_metrics_compute_from_their_inputs_as_in_training():
    from ganlab.metrics import toy_metrics

    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    fake = torch.tensor([[0.0, 0.001], [0.0, -0.001], [5.0, 5.0]])  # two samples on mode 0, one far from both
    x = MetricInputs(fake, modes=modes, mode_std=0.01)
    out = compute_metrics({k: METRICS[k] for k in ("modes", "hq", "rkl")}, {"identity": x})
    want = toy_metrics(fake, modes, 0.01)
    assert out["modes"] == want["modes"] == 1 and out["hq"] == pytest.approx(2 / 3)
    assert out["rkl"] == pytest.approx(want["rkl"])
