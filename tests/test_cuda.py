"""The CUDA paths: every tensor of the loop, the objectives' state and the metrics on the GPU,
fp32 / bf16 / fp16 training (WGAN-GP without NaN under fp16), channels-last, exact resume with
deterministic kernels. Skipped on a machine without a CUDA GPU (CI never needs one); run them
where one is: `pytest tests/test_cuda.py`."""

import pytest
import torch

from ganlab.resolve import make_config
from ganlab.objectives import OBJECTIVES
from ganlab.training.loop import training_loop
from ganlab.utils.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; this machine has none")

DCGAN = {"G.width": 16, "D.width": 16, "batch_size": 32, "tensorboard": False, "device": "cuda", "snapshot_kimg": 1.0,
         "log_kimg": 0.064}


def _run(tmp_path, name, **overrides):
    d = tmp_path / name
    d.mkdir()
    record = training_loop(make_config({**DCGAN, **overrides}), d, progress=False)
    return record, load_checkpoint(d / "checkpoint-final.pt")


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_objective_trains_on_the_gpu(objective, tmp_path):
    """No hidden CPU tensor in the loop or the objective's state: a device mix raises in torch."""
    record, state = _run(tmp_path, objective, objective=objective, kimg=0.128)
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("loss_D", "loss_G"))


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_wgan_gp_in_reduced_precision_stays_finite(precision, tmp_path):
    record, state = _run(tmp_path, precision, objective="wgan-gp", precision=precision, kimg=1.0)
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("loss_D", "loss_G"))
    if precision == "fp16":
        assert state["scaler_d"]["scale"] > 0


def test_channels_last_and_metrics_on_the_gpu(tmp_path):
    record, _ = _run(tmp_path, "cl", channels_last=True, kimg=0.128, eval_kimg=0.128, metrics=["fid5k_lenet"])
    assert record["fid5k_lenet"] > 0


def test_deterministic_resume_is_exact_on_the_gpu(tmp_path):
    _, straight = _run(tmp_path, "straight", deterministic=True, kimg=0.256)
    d = tmp_path / "resumed"
    d.mkdir()
    training_loop(make_config({**DCGAN, "deterministic": True, "kimg": 0.128}), d, progress=False)
    training_loop(make_config({**DCGAN, "deterministic": True, "kimg": 0.256}), d,
                  state=load_checkpoint(d / "checkpoint-final.pt"), progress=False)
    resumed = load_checkpoint(d / "checkpoint-final.pt")
    assert all(torch.equal(resumed["G"][k], straight["G"][k]) for k in straight["G"])


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_gpu_processes_train_one_run(tmp_path):
    """NCCL, one process per GPU: `ganlab train --nproc 2` on the GPUs ends like any run."""
    import subprocess
    import sys

    sets = sum((["--set", f"{k}={v}"] for k, v in {**DCGAN, "kimg": 0.256}.items()), [])
    subprocess.run([sys.executable, "-m", "ganlab", "train", "--nproc", "2", "--quiet", "--out", str(tmp_path), *sets],
                   check=True, timeout=600)
    run = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert int(load_checkpoint(run / "checkpoint-final.pt")["cur_nimg"]) >= 256
