"""The MNIST-5k default preset and the `make demo` preset: the demo is the default run stopped
earlier (so its README numbers are read off the default's evaluations), and the paper-faithful
DCGAN preset is left as it was."""

import json

import pytest
import torch

from ganlab.resolve import make_config
from ganlab.presets import PRESETS, preset_overrides
from ganlab.rundir import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def test_demo_is_the_mnist5k_run_stopped_earlier():
    demo, default = dict(PRESETS["demo"]), dict(PRESETS["mnist5k"])
    assert demo.pop("kimg") < default.pop("kimg")
    demo.pop("description"), default.pop("description")
    assert demo == default
    # No learning-rate decay: a decay to 0 at the default's length would change the demo's prefix.
    assert make_config(PRESETS["mnist5k"]).lr_decay_kimg is None


def test_mnist5k_dcgan_ns_is_still_radford_et_al():
    cfg = make_config(preset_overrides("mnist5k-dcgan-ns"))
    assert (cfg.G.width, cfg.D.width, cfg.batch_size, cfg.kimg) == (64, 64, 64, 150.0)
    assert (cfg.g_opt.lr, cfg.g_opt.beta1, cfg.d_opt.lr, cfg.d_opt.beta1) == (2e-4, 0.5, 2e-4, 0.5)
    assert cfg.ema_kimg is None and cfg.objective == "nonsaturating"


def test_mnist5k_keeps_an_ema_generator_and_evaluates_it(run_cli, tmp_path):
    res = run_cli("train", "--preset", "mnist5k", "--kimg", "0.128", "--eval-every", "0.128", "--quiet",
                  "--set", "G.width=8", "--set", "D.width=8", "--set", "cpu_threads=1",
                  "--set", "metrics=[fid5k_lenet,mnist_score5k]", "--out", tmp_path)
    assert res.code == 0, res.err
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    state = torch.load(run / "checkpoint-final.pt", weights_only=True)
    assert "G_ema" in state and state["cur_nimg"] == 128  # 4 steps of batch 32
    last = read_metrics(run)[-1]
    assert last["fid5k_lenet"] > 0 and 1 <= last["mnist_score5k"] <= 10
    assert json.loads((run / "best.json").read_text())["metric"] == "fid5k_lenet"
