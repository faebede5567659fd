"""Evaluation end to end on MNIST-5k: metric values that must order correctly, the real-feature
cache, `ganlab eval`, and best-checkpoint tracking during training."""

import json
from pathlib import Path

import numpy as np
import pytest

from ganlab import rundir
from ganlab.config import DataConfig
from ganlab.data import load_dataset

SMALL = ["--preset", "mnist5k-dcgan-ns", "--set", "G.width=8", "--set", "D.width=8", "--quiet"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def only_run_dir(root):
    (path,) = [p for p in Path(root).iterdir() if p.is_dir()]
    return path


def write_npz(path, images):
    np.savez(path, x=images)


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_eval_sets_real_halves_close_noise_far(run_cli, tmp_path):
    digits = load_dataset(DataConfig(name="mnist5k")).data.numpy()  # uint8 [5000, 1, 28, 28]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits))
    write_npz(tmp_path / "a.npz", digits[order[:2500]])
    write_npz(tmp_path / "b.npz", digits[order[2500:]])
    write_npz(tmp_path / "noise.npz", rng.integers(0, 256, size=(2500, 1, 28, 28), dtype=np.uint8))

    def fid(fake):
        res = run_cli("eval", "--real", tmp_path / "a.npz", "--fake", fake, "--extractor", "lenet-mnist")
        assert res.code == 0, res.err
        values = dict(line.split() for line in res.out.splitlines()[1:])
        return values

    halves, noise = fid(tmp_path / "b.npz"), fid(tmp_path / "noise.npz")
    # Measured: 5.5 between the halves, 1,593 against uniform noise.
    assert 0 < float(halves["fid_lenet"]) < 20
    assert float(noise["fid_lenet"]) > 50 * float(halves["fid_lenet"])
    assert float(noise["pr_lenet_recall"]) < 0.05 < 0.8 < float(halves["pr_lenet_recall"])
    assert float(halves["classes_lenet"]) == 10
    assert float(halves["is_lenet"]) > 8


def test_train_with_eval_keeps_best_checkpoint_and_eval_command(run_cli, tmp_path, cache):
    res = run_cli("train", *SMALL, "--kimg", "1", "--eval-every", "0.5", "--set", "metrics=[fid5k_lenet,classes5k_lenet]",
                  "--out", tmp_path / "runs")
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path / "runs")
    evals = [r for r in rundir.read_metrics(run) if "fid5k_lenet" in r]
    assert len(evals) == 2 and all(r["fid5k_lenet"] > 0 for r in evals)
    best = json.loads((run / rundir.BEST_JSON).read_text())
    assert best["metric"] == "fid5k_lenet"
    assert best["value"] == pytest.approx(min(r["fid5k_lenet"] for r in evals))
    assert (run / rundir.BEST).is_file()
    assert "fid5k_lenet: best" in res.out
    assert len(list(cache.glob("stats/*.safetensors"))) == 1  # real features computed once, cached

    res = run_cli("eval", run, "--metrics", "fid5k_lenet,mnist_score5k", "--checkpoint", "best", "--seeds", "2")
    assert res.code == 0, res.err
    assert "fid5k_lenet" in res.out and "±" in res.out
    last = rundir.read_metrics(run)[-1]
    assert last["eval"] is True and last["seeds"] == 2 and 1 <= last["mnist_score5k"] <= 10
    assert last["fid5k_lenet"] > 0


def test_eval_refuses_image_metrics_on_toy_runs_and_unknown_metrics(run_cli, tmp_path):
    args = ["--preset", "toy-ring-ns", "--set", "G.width=16", "--set", "D.width=16", "--quiet", "--kimg", "0.3"]
    assert run_cli("train", *args, "--out", tmp_path / "runs").code == 0
    run = only_run_dir(tmp_path / "runs")
    res = run_cli("eval", run, "--metrics", "fid5k_lenet")
    assert res.code == 2 and "needs images" in res.err and "Traceback" not in res.err
    res = run_cli("eval", run, "--metrics", "fid5k")
    assert res.code == 2 and "unknown metric 'fid5k'" in res.err
    res = run_cli("train", *args, "--set", "metrics=[pr5k_lenet]", "--dry-run")
    assert res.code == 2 and "primary metric" in res.err
