"""Objective x penalty x constraint as free axes: the composed D loss against its closed form, the
old names as exact aliases of their triples (same numbers, same training run), BatchNorm decided by
the penalty, and bad input refused in one sentence."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from ganlab.cli import main
from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.errors import ConfigError
from ganlab.objectives import build_objective, objective_of
from ganlab.regularizers import CONSTRAINTS, PENALTIES
from ganlab.training.models import build_models

ROOT = Path(__file__).resolve().parents[1]


class Linear(nn.Module):
    """D(x) = w . x: its input gradient is w everywhere, so every gradient penalty is known."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x @ self.w


def test_lsgan_with_gp_is_lsgan_plus_the_gradient_penalty_in_closed_form():
    w = [3.0, 4.0]  # ||grad D|| = 5 at every point: GP = weight (5 - 1)^2 for every example
    D = Linear(w)
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]], dtype=torch.float64)
    fake = torch.tensor([[0.5, 0.5], [2.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    loss, s_r, s_f = build_objective("lsgan", penalty="gp", penalty_args={"weight": 2.0}).discriminator_loss(D, real, fake)
    w_ = torch.tensor(w, dtype=torch.float64)
    s_r_want, s_f_want = real @ w_, fake @ w_
    lsgan = (0.5 * (s_r_want - 1) ** 2 + 0.5 * (s_f_want + 1) ** 2).mean()  # a, b, c = -1, 1, 0
    assert loss.item() == pytest.approx(lsgan.item() + 2.0 * (5 - 1) ** 2, rel=1e-12)
    r1, _, _ = build_objective("hinge", penalty="r1", penalty_args={"gamma": 4.0}).discriminator_loss(D, real, fake)
    hinge = (torch.relu(1 - s_r_want) + torch.relu(1 + s_f_want)).mean()
    assert r1.item() == pytest.approx(hinge.item() + 0.5 * 4.0 * 25, rel=1e-12)


@pytest.mark.parametrize("alias, triple", [
    ("wgan-gp", dict(name="wasserstein", penalty="gp")),
    ("dragan", dict(name="nonsaturating", penalty="dragan")),
    ("r1", dict(name="nonsaturating", penalty="r1")),
])
def test_the_old_names_give_the_same_d_loss_as_their_triples(alias, triple):
    D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    torch.manual_seed(1)
    want = build_objective(alias).discriminator_loss(D, real, fake)[0]
    torch.manual_seed(1)
    got = build_objective(**triple).discriminator_loss(D, real, fake)[0]
    assert got.item() == want.item()


def test_wgan_is_wasserstein_with_clipping_and_none_removes_an_objectives_own_terms():
    D = nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.fill_(0.5)
    composed = build_objective("wasserstein", constraint="clip", constraint_args={"c": 0.1})
    composed.after_d_step(D, torch.zeros(1), torch.zeros(1), lambda x: x)
    assert D.weight.detach().abs().max().item() == pytest.approx(0.1)
    assert build_objective("wasserstein").n_critic == build_objective("wgan").n_critic == 5
    assert build_objective("wgan", constraint="none").constraint is None
    bare = build_objective("wgan-gp", penalty="none")
    assert bare.penalty is None and bare.batchnorm_in_d  # the penalty decides: none, BatchNorm allowed
    assert not build_objective("lsgan", penalty="dragan").batchnorm_in_d
    assert not build_objective("began", penalty="none").batchnorm_in_d  # BEGAN's own rule stays


def test_a_penalty_takes_batchnorm_out_of_d():
    from ganlab.presets import preset_overrides

    data = load_dataset(make_config(preset_overrides("mnist5k-dcgan-ns")).data)
    has_bn = lambda D: any(isinstance(m, nn.BatchNorm2d) for m in D.modules())  # noqa: E731
    for sets, bn in (({}, True), ({"penalty": "gp"}, False), ({"objective": "lsgan", "penalty": "r1"}, False)):
        cfg = make_config({**preset_overrides("mnist5k-dcgan-ns", sets.get("objective")), **sets})
        _, D = build_models(cfg, data, objective_of(cfg), torch.device("cpu"))
        assert has_bn(D) == bn, sets


def _run(tmp_path, name, *sets):
    args = ["train", "--preset", "toy-ring-ns", "--runs", str(tmp_path), "--name", name, "--quiet",
            "--set", "kimg=1", "--set", "log_kimg=0.25", "--set", "G.width=16", "--set", "D.width=16"]
    for s in sets:
        args += ["--set", s]
    assert main(args) in (0, None)
    (run,) = tmp_path.glob(f"*-{name}")
    return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_an_alias_and_its_triple_train_the_same_run(tmp_path):
    assert _run(tmp_path, "alias", "objective=wgan-gp") == _run(tmp_path, "triple", "objective=wasserstein", "penalty=gp")
    assert _run(tmp_path, "wgan", "objective=wgan") == _run(tmp_path, "clip", "objective=wasserstein", "constraint=clip")
    lsgan_gp = _run(tmp_path, "lsgan-gp", "objective=lsgan", "penalty=gp")
    assert lsgan_gp != _run(tmp_path, "lsgan", "objective=lsgan") and len(lsgan_gp) == 4


@pytest.mark.parametrize("sets, words", [
    (["penalty=gq"], "unknown penalty 'gq'"),
    (["constraint=clamp"], "unknown constraint 'clamp'"),
    (["penalty=gp", "penalty_args.gamma=1"], "penalty_args.gamma is not a hyperparameter of penalty 'gp'"),
    (["penalty=gp", "penalty_args.weight=-1"], "penalty_args.weight = -1.0 is out of range"),
    (["penalty=r1", "penalty_args.gamma=nan"], "penalty_args.gamma = 'nan' is out of range"),
    (["constraint=clip", "constraint_args.c=0"], "constraint_args.c = 0.0 is out of range"),
    (["penalty_args.weight=1"], "penalty_args = {'weight': 1} is set without a penalty"),
])
def test_bad_penalties_and_constraints_are_one_sentence_and_exit_2(tmp_path, run_cli, sets, words):
    args = ["train", "--preset", "toy-ring-ns", "--runs", str(tmp_path), "--dry-run"]
    for s in sets:
        args += ["--set", s]
    result = run_cli(*args)
    err = result.err.strip()
    assert result.code == 2 and words in err and len(err.splitlines()) == 1, err
    assert not any(tmp_path.iterdir())


def test_the_registries_list_their_arguments():
    assert set(PENALTIES) == {"gp", "dragan", "r1"} and set(CONSTRAINTS) == {"clip"}
    with pytest.raises(ConfigError, match="penalty_args.weight"):
        build_objective("lsgan", penalty="gp", penalty_args={"weight": "heavy"})


def test_kurach_loss_penalty_grid_makes_a_valid_config_for_every_entry():
    from ganlab.presets import preset_overrides
    from ganlab.study.grid import normalise_entries

    configs = yaml.safe_load((ROOT / "docs" / "studies" / "kurach-loss-penalty.yaml").read_text())["configs"]
    entries = normalise_entries(configs)
    seen = set()
    for e in entries:
        cfg = make_config({**preset_overrides(e["preset"], e["objective"]), "objective": e["objective"], **e["sets"]})
        objective = objective_of(cfg)
        seen.add((cfg.objective, cfg.penalty or "none", cfg.constraint or "none"))
        assert (objective.penalty is not None) == (cfg.penalty is not None)
    assert {o for o, _, _ in seen} == {"nonsaturating", "lsgan", "wasserstein"}
    assert {p for _, p, _ in seen} == {"none", "gp", "dragan"} and len(seen) == 9
