"""Pretrained generators shipped in the package: listed with their measured metrics, loaded by hash,
sampled and evaluated without training, and their recorded metrics reproduced from the shipped files."""

import shutil
import sys
from pathlib import Path

import pytest
import torch

import ganlab
from ganlab import pretrained
from ganlab.errors import CheckpointError, ConfigError

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from export_pretrained import measure  # noqa: E402


def test_the_shipped_generators_are_listed_with_their_measured_metrics(run_cli):
    shipped = pretrained.index()
    assert {"mnist5k", "toy-ring", "toy-grid"} <= set(shipped)
    out = run_cli("list", "pretrained").out
    for name, e in shipped.items():
        line = next(x for x in out.splitlines() if x.startswith(name + "  "))
        assert "measured:" in line and all(k in line for k in e["metrics"])
        assert (ROOT / e["source"]["results"]).is_file()  # where it came from is committed data
        assert e["file"].endswith(".safetensors")  # tensors only: loading runs no code


@pytest.mark.parametrize("name", sorted(pretrained.index()))
def test_the_recorded_metrics_are_those_of_the_shipped_weights(name, one_thread):
    recorded = pretrained.entry(name)["metrics"]
    again = measure(name)
    assert set(again) == set(recorded)
    for k, v in recorded.items():
        assert again[k] == pytest.approx(v, rel=1e-4, abs=1e-9), k  # thread counts change float sums


def test_sample_and_eval_a_pretrained_generator_without_training(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_cli("sample", "--pretrained", "mnist5k", "--n", "64", "--out", "x.png")
    assert r.code == 0 and (tmp_path / "x.png").stat().st_size > 5_000, r.err
    r = run_cli("eval", "--pretrained", "toy-ring")
    assert r.code == 0 and r.out.startswith("pretrained toy-ring (")
    modes = next(line.split()[1] for line in r.out.splitlines() if line.strip().startswith("modes"))
    assert float(modes) == pretrained.entry("toy-ring")["metrics"]["modes"]
    x = ganlab.load_pretrained("toy-grid").sample(100, seed=0)
    assert x.shape == (100, 2) and torch.isfinite(x).all()
    assert torch.equal(x, ganlab.load_pretrained("toy-grid").sample(100, seed=0))


def test_a_damaged_or_unknown_pretrained_file_is_refused(tmp_path, monkeypatch, run_cli):
    folder = tmp_path / "pretrained"
    shutil.copytree(pretrained.FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__", "mnist5k.*"))
    monkeypatch.setattr(pretrained, "FOLDER", folder)
    monkeypatch.setattr(pretrained, "INDEX", folder / "index.json")
    data = bytearray((folder / "toy-ring.safetensors").read_bytes())
    data[-1] ^= 1  # one bit of one weight
    (folder / "toy-ring.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its recorded SHA-256"):
        pretrained.load("toy-ring")
    (folder / "toy-grid.safetensors").unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        pretrained.load("toy-grid")
    with pytest.raises(ConfigError, match="did you mean 'toy-ring'"):
        pretrained.load("toy-rin")
    r = run_cli("sample", "--pretrained", "toy-ring", "--out", tmp_path / "y.png")
    assert r.code == 2 and "SHA-256" in r.err and not (tmp_path / "y.png").exists()
