"""TensorBoard event files beside metrics.jsonl: the same scalars, the sample grids, the same
history after a rollback (events past the checkpoint are purged), and off with tensorboard: false."""

from pathlib import Path

import pytest

from ganlab import rundir
from ganlab.training.sinks import TENSORBOARD_DIR

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = ["--preset", "toy-ring-ns", "--set", "G.width=16", "--set", "D.width=16", "--set", "cpu_threads=1", "--quiet"]


def only_run_dir(root):
    (path,) = [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")]
    return path


def events(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / TENSORBOARD_DIR), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_scalars_and_grids_match_the_run(run_cli, tmp_path):
    res = run_cli("train", *TOY, "--kimg", "1", "--set", "log_kimg=0.25", "--set", "snapshot_kimg=0.5", "--out", tmp_path)
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path)
    rows = rundir.read_metrics(run)
    acc = events(run)
    for tag, key in (("loss/D", "loss_D"), ("loss/G", "loss_G"), ("D/real", "D_real"), ("metrics/hq", "hq")):
        scalars = acc.Scalars(tag)
        assert [s.step for s in scalars] == [r["nimg"] for r in rows]
        assert [s.value for s in scalars] == pytest.approx([r[key] for r in rows], rel=1e-6)
    grids = sorted(run.glob("samples-kimg*.png"))
    assert [e.step for e in acc.Images("samples")] == [512, 1024] and len(grids) == 2


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_a_rollback_leaves_the_same_history_as_metrics_jsonl(run_cli, tmp_path):
    args = TOY + ["--set", "objective=fgan-neyman", "--set", "G.width=32", "--set", "D.width=32", "--set", "g_opt.lr=1e-2",
                  "--set", "d_opt.lr=1e-2", "--set", "log_kimg=2", "--set", "snapshot_kimg=10",
                  "--set", "rollback_lr_factor=0.1", "--kimg", "160"]
    res = run_cli("train", *args, "--out", tmp_path)
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path)
    rows = rundir.read_metrics(run)
    rollback = next(r for r in rows if r.get("event") == "rollback")
    training = [r for r in rows if "loss_D" in r]
    acc = events(run)
    # Events logged between the checkpoint and the divergence were purged, as their rows were cut.
    assert [s.step for s in acc.Scalars("loss/D")] == [r["nimg"] for r in training]
    assert [s.step for s in acc.Scalars("health/lr_scale")] == [rollback["nimg"]]


def test_tensorboard_false_writes_no_events(run_cli, tmp_path):
    res = run_cli("train", *TOY, "--kimg", "0.3", "--set", "tensorboard=false", "--out", tmp_path)
    assert res.code == 0, res.err
    assert not (only_run_dir(tmp_path) / TENSORBOARD_DIR).exists()
