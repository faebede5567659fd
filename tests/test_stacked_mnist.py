"""Stacked-MNIST (1,000 modes): the stacks and their mode labels in closed form, determinism, the
full-MNIST source, refusals, the per-channel classifier and the modes26k_stacked metric, and
training contracts of the presets (DCGAN, PacDCGAN2, the small-D setting)."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from ganlab.config import DataConfig
from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.data.stacked import MAX_STACKS, mode_of, stack_digits
from ganlab.errors import ConfigError, DataError
from ganlab.metrics import METRICS
from ganlab.metrics.evaluate import MetricInputs, compute_metrics, extract_features
from ganlab.metrics.lenet import load_lenet, mnist5k_split
from ganlab.presets import PRESETS
from ganlab.training.loop import training_loop
from test_data import make_idx_folder

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mode_is_hundreds_tens_units_of_the_channels():
    assert mode_of(torch.tensor([[0, 0, 0], [9, 9, 9], [2, 7, 1], [0, 3, 0]])).tolist() == [0, 999, 271, 30]


def test_stacks_take_each_channel_from_a_digit_with_its_label():
    # Source digit k is an image filled with the value 10 k + label, so every channel names its source.
    labels = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    images = (10 * torch.arange(8) + labels).to(torch.uint8).view(8, 1, 1, 1).expand(8, 1, 28, 28).clone()
    stacks, modes = stack_digits(images, labels, 500, seed=7)
    assert stacks.shape == (500, 3, 28, 28) and stacks.dtype == torch.uint8
    source = stacks[:, :, 0, 0].long() // 10                       # [500, 3] indices of the source digits
    assert torch.all(stacks == stacks[:, :, :1, :1])               # each channel is one whole digit
    assert torch.equal(modes, mode_of(labels[source]))
    assert len(torch.unique(source)) == 8                          # with replacement, uniformly: all used
    again, _ = stack_digits(images, labels, 500, seed=7)
    other, _ = stack_digits(images, labels, 500, seed=8)
    assert torch.equal(again, stacks) and not torch.equal(other, stacks)


def test_stacked_mnist5k_has_the_thousand_modes():
    ds = load_dataset(DataConfig(name="stacked-mnist", n=20_000))
    assert ds.shape == (3, 28, 28) and ds.num_classes == 1000 and len(ds) == 20_000
    counts = torch.bincount(ds.labels, minlength=1000)
    assert (counts > 0).all() and counts.max() < 50                # ~20 per mode, uniform
    padded = load_dataset(DataConfig(name="stacked-mnist", n=10, pad=2))
    assert padded.shape == (3, 32, 32)


def test_stacks_from_full_mnist_idx_files(tmp_path):
    images, labels = make_idx_folder(tmp_path, n=30)
    ds = load_dataset(DataConfig(name="stacked-mnist", n=100, path=str(tmp_path)))
    expected, modes = stack_digits(torch.from_numpy(images)[:, None], torch.from_numpy(labels).long(), 100, 0)
    assert torch.equal(ds.data, expected) and torch.equal(ds.labels, modes)


def test_bad_stacked_inputs_are_refused_with_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match=f"data.n: 0 stacks is out of range for stacked-mnist; expected 1..{MAX_STACKS}"):
        load_dataset(DataConfig(name="stacked-mnist", n=0))
    with pytest.raises(DataError, match="does not exist; expected the folder holding MNIST's IDX files"):
        load_dataset(DataConfig(name="stacked-mnist", path=str(tmp_path / "nothing")))
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file; expected the folder holding MNIST's IDX files"):
        load_dataset(DataConfig(name="stacked-mnist", path=str(tmp_path / "file")))


def test_stacked_classifier_is_the_product_of_the_channels():
    lenet = load_lenet()
    from ganlab.metrics import EXTRACTORS
    stacked = EXTRACTORS.lookup("lenet-stacked")()
    # Seeded: on random inputs two classes can come within float32 rounding of each other, and the
    # argmax comparison below would then depend on the draw.
    x = torch.rand(7, 3, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = stacked(x)
    # The network runs in float32 and its outputs are cast to float64: one batch of 21 channels and
    # three batches of 7 may round differently (CPU kernels pick their blocking by batch size), so
    # the two paths agree to float32 precision, not float64's.
    f32 = dict(rtol=1.3e-6, atol=1e-5)
    per_channel = [lenet(x[:, k:k + 1])["probs"] for k in range(3)]  # [7, 10] each
    joint = torch.einsum("na,nb,nc->nabc", *per_channel).reshape(7, 1000)
    torch.testing.assert_close(out["probs"], joint, **f32)
    torch.testing.assert_close(out["probs"].sum(dim=1), torch.ones(7, dtype=torch.float64))
    argmax = torch.stack([p.argmax(dim=1) for p in per_channel], dim=1)
    assert torch.equal(out["probs"].argmax(dim=1), mode_of(argmax))
    assert out["features"].shape == (7, 384)
    torch.testing.assert_close(out["features"][:, 128:256], lenet(x[:, 1:2])["features"], **f32)
    torch.testing.assert_close(stacked(torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1))["probs"], out["probs"], **f32)
    with pytest.raises(ConfigError, match="needs Stacked-MNIST images 3x28x28"):
        stacked(torch.rand(2, 1, 28, 28))


def test_classifier_reads_stacks_of_held_out_digits():
    """The protocol counts modes with the classifier: its accuracy on real stacks of digits it never
    saw is that of one digit cubed (lenet-mnist: ~0.97 per held-out MNIST-5k digit)."""
    from ganlab.data.embedded import mnist5k_path, read_mnist5k
    images, labels = (torch.from_numpy(a.copy()) for a in read_mnist5k(str(mnist5k_path())))
    _, heldout = mnist5k_split(labels)
    stacks, modes = stack_digits(images[heldout], labels[heldout], 600, seed=0)
    probs = extract_features("lenet-stacked", stacks.float() / 127.5 - 1)["probs"]
    accuracy = (probs.argmax(dim=1) == modes).double().mean().item()
    assert 0.85 < accuracy <= 1.0


def test_modes26k_stacked_counts_modes_and_kl_in_closed_form():
    spec = METRICS.lookup("modes26k_stacked")
    assert (spec.needs, spec.extractor, spec.num, spec.lower_is_better) == (("probs",), "lenet-stacked", 26_000, False)
    # 40 samples on 4 modes, 10 each: 4 modes, KL to uniform over 1,000 = log(1000 / 4).
    probs = torch.zeros(40, 1000, dtype=torch.float64)
    probs[torch.arange(40), torch.tensor([5, 271, 999, 0]).repeat(10)] = 1.0
    out = compute_metrics({"modes26k_stacked": replace(spec, num=40)},
                          {"lenet-stacked": MetricInputs(torch.zeros(40, 384), probs)})
    assert out["modes26k_stacked"] == 4
    assert out["modes26k_stacked_kl"] == pytest.approx(math.log(1000 / 4), rel=1e-12)


def _train(tmp_path, preset, **extra):
    cfg = make_config({**PRESETS[preset], "data.n": 2000, "kimg": 0.5, "log_kimg": 0.25, "snapshot_kimg": 0.5,
                       "eval_kimg": None, "metrics": [], **extra})
    training_loop(cfg, tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(math.isfinite(r["loss_D"]) and math.isfinite(r["loss_G"]) for r in rows)
    return cfg


@pytest.mark.parametrize("preset", ["stacked-dcgan", "stacked-pacdcgan2", "stacked-small-d4"])
def test_stacked_presets_train(tmp_path, preset):
    cfg = _train(tmp_path, preset, **({"G.width": 16, "D.width": 16} if preset != "stacked-small-d4" else {}))
    if preset == "stacked-pacdcgan2":
        assert cfg.pack == 2 and cfg.batch_size == 128


def test_stacked_presets_follow_the_protocols():
    veegan, small = PRESETS["stacked-dcgan"], PRESETS["stacked-small-d4"]
    assert (veegan["data.n"], veegan["batch_size"], veegan["z_dim"], veegan["kimg"]) == (128_000, 64, 100, 50 * 128.0)
    assert PRESETS["stacked-pacdcgan4"]["batch_size"] == 4 * 64 and PRESETS["stacked-pacdcgan4"]["pack"] == 4
    assert (small["z_dim"], small["batch_size"], small["kimg"], small["D.width"]) == (256, 128, 500_000 * 128 / 1000, 2)
    assert PRESETS["stacked-small-d2"]["D.width"] == 4


def test_a_metric_whose_classifier_cannot_read_the_data_is_refused_before_training():
    from ganlab.metrics.evaluate import Evaluator

    data = DataConfig(name="mnist5k")
    with pytest.raises(ConfigError, match=r"metrics modes26k_stacked cannot be computed on dataset 'mnist5k' of "
                                          r"shape \(1, 28, 28\): the lenet-stacked extractor needs Stacked-MNIST"):
        Evaluator(["modes26k_stacked"], load_dataset(data), data, "cpu")
    stacked = DataConfig(name="stacked-mnist", n=10)
    with pytest.raises(ConfigError, match=r"metrics fid5k_lenet cannot be computed on dataset 'stacked-mnist'"):
        Evaluator(["fid5k_lenet"], load_dataset(stacked), stacked, "cpu")


def _stacked_channels_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "stacked_channels.py"
    spec = importlib.util.spec_from_file_location("stacked_channels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def test_stacked_kl_splits_into_channels_and_their_dependence():
    """benchmarks/stacked_channels.py: KL(joint || U_1000) = sum_k KL(channel_k || U_10) + total correlation,
    on histograms whose three terms are known by hand."""
    _, sc = _stacked_channels_script()
    every = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]  # each mode once
    s = sc.split_kl(every)
    assert s["kl"] == pytest.approx(0, abs=1e-12) and s["channel_kls"] == pytest.approx([0, 0, 0], abs=1e-12)
    assert s["dependence"] == pytest.approx(0, abs=1e-12)
    s = sc.split_kl([t for t in every if t[0] < 2])  # channel 0 only 0 or 1, independent of the others: 200 modes
    assert s["kl"] == pytest.approx(math.log(5)) and s["channel_kls"] == pytest.approx([math.log(5), 0, 0], abs=1e-12)
    assert s["dependence"] == pytest.approx(0, abs=1e-12)
    s = sc.split_kl([(d, d, d) for d in range(10)])  # uniform channels, all three equal: 10 modes
    assert s["kl"] == pytest.approx(math.log(100)) and s["channel_kls"] == pytest.approx([0, 0, 0], abs=1e-12)
    assert s["dependence"] == pytest.approx(2 * math.log(10))
    rng = np.random.default_rng(0)  # any histogram: the three terms add up to the joint's KL
    s = sc.split_kl(rng.integers(0, 10, (500, 3)) * (rng.random((500, 3)) < 0.7))
    assert s["kl"] == pytest.approx(sum(s["channel_kls"]) + s["dependence"], abs=1e-12) and s["dependence"] >= 0


def test_stacked_channels_refuses_a_missing_run_with_one_sentence(tmp_path):
    import os
    import subprocess
    import sys

    path, _ = _stacked_channels_script()
    src = str(path.parents[1] / "src")
    r = subprocess.run([sys.executable, str(path), str(tmp_path / "nothing")], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stderr)
    assert r.stderr.startswith("stacked_channels.py: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
