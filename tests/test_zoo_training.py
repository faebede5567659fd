"""Issue 5's "done when": every objective trains 2 kimg with finite losses on the toy MLP preset and
on the DCGAN-28 preset (`--set objective=NAME`), BEGAN picks its auto-encoder D by itself and logs
k_t and M, and the generator EMA follows its half-life and is what samples and metrics use."""

import copy
import json

import pytest
import torch

from ganlab import rundir
from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.autoencoder import AutoencoderScore
from ganlab.objectives import OBJECTIVES, build_objective
from ganlab.presets import PRESETS
from ganlab.training.loop import training_loop
from ganlab.training.models import build_models, load_generator
from ganlab.training.schedule import update_ema
from ganlab.utils.checkpoint import load_checkpoint

_DATA = {}


def _run(preset, objective, tmp_path, **extra):
    overrides = {**PRESETS[preset], "objective": objective, "kimg": 2.0, "log_kimg": 1.0, "snapshot_kimg": 2.0}
    overrides.pop("n_critic", None)  # the objective's own default, unless `extra` sets it
    overrides.pop("objective_args", None)
    overrides.update(extra)
    cfg = make_config(overrides)
    key = (preset, cfg.data.name)
    if key not in _DATA:
        _DATA[key] = load_dataset(cfg.data)
    record = training_loop(cfg, tmp_path, progress=False, dataset=_DATA[key])
    return cfg, record


# DCGAN-28 at width 16 in the default run (a few seconds for all objectives); the presets' own
# width 64 under `make test-slow`.
@pytest.mark.parametrize("preset, extra", [
    ("toy-ring-ns", {}),
    ("mnist5k-dcgan-ns", {"G.width": 16, "D.width": 16}),
    pytest.param("mnist5k-dcgan-ns", {}, marks=pytest.mark.slow),
], ids=["toy-mlp", "dcgan28-w16", "dcgan28"])
@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_objective_trains_two_kimg_on_every_family(objective, preset, extra, tmp_path):
    _, record = _run(preset, objective, tmp_path, **extra)
    assert record["nimg"] >= 2000
    for key in ("loss_D", "loss_G", "D_real", "D_fake"):
        assert torch.isfinite(torch.tensor(record[key])), (key, record[key])


def test_began_selects_the_auto_encoder_of_the_family_and_logs_k_and_m(tmp_path):
    cfg = make_config({**PRESETS["mnist5k-dcgan-ns"], "objective": "began"})
    data = load_dataset(cfg.data)
    _, D = build_models(cfg, data, build_objective("began"), torch.device("cpu"))
    assert isinstance(D, AutoencoderScore)
    assert D.reconstruct(data.batch(torch.arange(4), "cpu")).shape == (4, 1, 28, 28)
    _, record = _run("toy-ring-ns", "began", tmp_path)
    lines = rundir.read_metrics(tmp_path)
    assert all(0 <= r["k"] <= 1 and r["M"] > 0 for r in lines)
    assert lines[-1]["k"] > 0  # L(G(z)) starts below gamma L(x): k moves off 0


def test_auto_encoder_objective_on_a_family_without_one_is_refused(monkeypatch):
    monkeypatch.setitem(NETWORKS, "plain", NETWORKS["mlp"])  # a family with no "-ae" sibling
    cfg = make_config({**PRESETS["toy-ring-ns"], "objective": "began", "D.arch": "plain"})
    with pytest.raises(ConfigError, match="auto-encoder discriminator.*'plain'.*mlp-ae"):
        build_models(cfg, load_dataset(cfg.data), build_objective("began"), torch.device("cpu"))


def test_ema_update_is_the_exponential_average():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    G_ema = copy.deepcopy(G)
    start = [p.detach().clone() for p in G.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
        G[1].running_mean.fill_(5.0)
    beta = 0.5 ** (64 / 1000)
    for _ in range(3):
        update_ema(G_ema, G, beta)
    for p0, p_ema in zip(start, G_ema.parameters()):
        # Three steps towards p0 + 1 from p0: p0 + 1 - beta^3.
        torch.testing.assert_close(p_ema, p0 + 1 - beta ** 3)
    assert torch.equal(G_ema[1].running_mean, torch.full((3,), 5.0))


def test_ema_half_life_in_images_shown(tmp_path):
    """With ema_kimg = h, after h kimg the EMA has moved half way towards a G held fixed."""
    from ganlab.training.schedule import update_ema as update

    G = torch.nn.Linear(1, 1, bias=False)
    G_ema = copy.deepcopy(G)
    with torch.no_grad():
        G_ema.weight.fill_(0.0)
        G.weight.fill_(1.0)
    batch, half_life_kimg = 50, 2.0
    beta = 0.5 ** (batch / (half_life_kimg * 1000))
    for _ in range(int(half_life_kimg * 1000 / batch)):
        update(G_ema, G, beta)
    assert G_ema.weight.item() == pytest.approx(0.5, rel=1e-5)


def test_ema_generator_is_checkpointed_and_used_for_sampling(tmp_path):
    cfg, _ = _run("toy-ring-ns", "nonsaturating", tmp_path, ema_kimg=0.5)
    state = load_checkpoint(tmp_path / rundir.FINAL)
    assert "G_ema" in state
    differs = any(not torch.equal(state["G"][k], state["G_ema"][k]) for k in state["G"])
    assert differs
    G = load_generator(cfg, state, _DATA[("toy-ring-ns", "ring8")], torch.device("cpu"))
    for k, v in G.state_dict().items():
        assert torch.equal(v, state["G_ema"][k])
    assert json.loads((tmp_path / rundir.METRICS).read_text().splitlines()[-1])["modes"] >= 0


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_objective_validates_on_every_preset(preset):
    """`--set objective=NAME` on any preset: the preset's own objective_args / n_critic stay behind."""
    from ganlab.presets import preset_overrides

    for objective in OBJECTIVES:
        cfg = make_config({**preset_overrides(preset, objective), "objective": objective})
        assert cfg.objective == objective
        if objective != PRESETS[preset].get("objective", "nonsaturating"):
            assert dict(cfg.objective_args) == {}


def test_ema_decay_counts_every_image_shown_in_a_g_step(tmp_path, monkeypatch):
    """With n_critic D steps per G step, one G step shows n_critic * batch real images."""
    import ganlab.training.loop as training

    betas = []
    monkeypatch.setattr(training, "update_ema", lambda G_ema, G, beta: betas.append(beta))
    _run("toy-ring-ns", "wgan-gp", tmp_path, ema_kimg=2.0, n_critic=3, batch_size=50, kimg=0.6)
    assert betas and all(b == pytest.approx(0.5 ** (3 * 50 / 2000)) for b in betas)
