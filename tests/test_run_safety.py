"""Nothing lost, nothing trusted blindly: checkpoint identity, exact history after kill -9, NaN rollback.

The kill test runs the real CLI in subprocesses and SIGKILLs them at random points; the final
weights and metrics.jsonl must equal those of one uninterrupted run (wall times aside).
"""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganlab import rundir
from ganlab.resolve import make_config
from ganlab.utils.checkpoint import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = ["--preset", "toy-ring-ns", "--set", "G.width=32", "--set", "D.width=32", "--set", "cpu_threads=1", "--quiet"]
# fgan-neyman at lr 1e-2 diverges deterministically at 140 kimg (its g_f = 1 - e^-v makes the
# D loss exponential in the score); with factor 0.1 one rollback to 130 kimg is enough to finish.
DIVERGING = TOY + ["--set", "objective=fgan-neyman", "--set", "g_opt.lr=1e-2", "--set", "d_opt.lr=1e-2",
                   "--set", "log_kimg=2", "--set", "snapshot_kimg=10", "--set", "rollback_lr_factor=0.1", "--kimg", "160"]


def only_run_dir(root):
    (path,) = run_dirs(root)
    return path


def run_dirs(root):
    """Run directories under root (not the hidden folder a killed `new_run_dir` may leave)."""
    return [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")] if Path(root).is_dir() else []


def tree_digest(folder):
    """{relative path: sha256} of every file under `folder`."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def assert_user_error(res, *fragments):
    assert res.code == 2, (res.code, res.out, res.err)
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.err, res.err
    for frag in fragments:
        assert frag in lines[0], lines[0]


def history(run):
    """metrics.jsonl without wall times, which differ between any two runs."""
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rundir.read_metrics(run)]


def assert_same_weights(a, b):
    sa, sb = load_checkpoint(a), load_checkpoint(b)
    for net in ("G", "D"):
        assert sa[net].keys() == sb[net].keys()
        for key in sa[net]:
            assert torch.equal(sa[net][key], sb[net][key]), (net, key)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two finished toy runs of different presets, A and B."""
    import ganlab

    root = tmp_path_factory.mktemp("runs")
    return tuple(ganlab.train(ganlab.configure(preset, kimg=0.5, snapshot_kimg=0.25, cpu_threads=1,
                                               **{"G.width": 32, "D.width": 32}), out=root, progress=False)
                 for preset in ("toy-ring-ns", "toy-grid-ns"))


# --- Checkpoint identity ---------------------------------------------------------------------------

def test_every_checkpoint_carries_the_run_id(two_runs):
    a, _ = two_runs
    run_id = rundir.read_identity(a)
    assert run_id and len(run_id) == 32
    for name in (rundir.LATEST, rundir.FINAL):
        state = load_checkpoint(a / name)
        assert state["run_id"] == run_id and state["version"] == 2 and state["log_rows"] == len(rundir.read_metrics(a))


def test_a_foreign_checkpoint_is_refused_and_nothing_changes(run_cli, two_runs, tmp_path):
    a, b = two_runs
    victim = tmp_path / b.name
    shutil.copytree(b, victim)
    shutil.copy(a / rundir.LATEST, victim / rundir.LATEST)  # another preset's checkpoint, copied in
    before = tree_digest(victim)
    assert_user_error(run_cli("train", "--resume", victim, "--kimg", "1", "--quiet"), "belongs to run", "--force")
    assert_user_error(run_cli("sample", victim), "belongs to run")
    assert_user_error(run_cli("eval", victim, "--metrics", "modes"), "belongs to run")
    assert_user_error(run_cli("sample", b, "--checkpoint", a / rundir.FINAL), "belongs to run")
    assert tree_digest(victim) == before


def test_force_accepts_a_foreign_checkpoint_and_adopts_it(run_cli, two_runs, tmp_path):
    a, b = two_runs
    victim = tmp_path / b.name
    shutil.copytree(b, victim)
    shutil.copy(a / rundir.LATEST, victim / rundir.LATEST)
    res = run_cli("sample", victim, "--force", "--out", tmp_path / "s.png")
    assert res.code == 0, res.err
    res = run_cli("train", "--resume", victim, "--force", "--kimg", "0.75", "--quiet")
    assert res.code == 0, res.err
    assert load_checkpoint(victim / rundir.LATEST)["run_id"] == rundir.read_identity(victim)


def test_a_checkpoint_without_identity_needs_force(run_cli, two_runs, tmp_path):
    a, _ = two_runs
    run = tmp_path / a.name
    shutil.copytree(a, run)
    state = load_checkpoint(run / rundir.LATEST)
    for key in ("run_id", "log_rows", "health", "format", "version"):
        state.pop(key)
    save_checkpoint(run / rundir.LATEST, state)  # as an older ganlab wrote it
    assert_user_error(run_cli("sample", run), "carries no run id", "--force")
    assert run_cli("sample", run, "--force", "--out", tmp_path / "s.png").code == 0


def test_a_config_edited_after_the_checkpoint_is_refused(run_cli, two_runs, tmp_path):
    a, _ = two_runs
    run = tmp_path / a.name
    shutil.copytree(a, run)
    text = (run / rundir.CONFIG).read_text()
    (run / rundir.CONFIG).write_text(text.replace("z_dim: 2", "z_dim: 3"))
    before = tree_digest(run)
    assert_user_error(run_cli("train", "--resume", run, "--kimg", "1", "--quiet"), "differs from its latest checkpoint", "z_dim")
    assert tree_digest(run) == before


def test_a_corrupt_run_identity_is_refused(run_cli, two_runs, tmp_path):
    a, _ = two_runs
    run = tmp_path / a.name
    shutil.copytree(a, run)
    (run / rundir.IDENTITY).write_text("{not json")
    assert_user_error(run_cli("sample", run), "run.json", "not a ganlab run identity")


# --- Exact history ---------------------------------------------------------------------------------

def test_resume_cuts_metrics_back_to_the_checkpoint(run_cli, tmp_path):
    args = [*TOY, "--set", "log_kimg=0.25", "--set", "snapshot_kimg=0.5", "--kimg", "1.5"]
    assert run_cli("train", *args, "--out", tmp_path / "ref").code == 0
    ref = only_run_dir(tmp_path / "ref")
    assert run_cli("train", *args, "--kimg", "1", "--out", tmp_path / "cut").code == 0
    run = only_run_dir(tmp_path / "cut")
    # As if killed after logging two more rows than the checkpoint holds, the last one torn mid-write.
    extra = rundir.read_metrics(ref)[len(rundir.read_metrics(run)):][:2]
    with open(run / rundir.METRICS, "a") as f:
        f.write(json.dumps(extra[0]) + "\n" + json.dumps(extra[1])[:20])
    assert run_cli("train", "--resume", run, "--kimg", "1.5", "--quiet").code == 0
    assert history(run) == history(ref)
    assert_same_weights(run / rundir.FINAL, ref / rundir.FINAL)


def test_a_run_killed_before_its_first_checkpoint_starts_over_in_place(run_cli, tmp_path):
    args = [*TOY, "--set", "log_kimg=0.25", "--set", "snapshot_kimg=0.5", "--kimg", "1"]
    assert run_cli("train", *args, "--out", tmp_path / "ref").code == 0
    ref = only_run_dir(tmp_path / "ref")
    assert run_cli("train", *args, "--out", tmp_path / "killed").code == 0
    run = only_run_dir(tmp_path / "killed")
    for p in run.glob("checkpoint-*.pt"):
        p.unlink()  # left: config.yaml, run.json and rows logged before the (lost) first checkpoint
    run_id = rundir.read_identity(run)
    res = run_cli("train", "--resume", run, "--quiet")
    assert res.code == 0, res.err
    assert history(run) == history(ref) and rundir.read_identity(run) == run_id
    assert_same_weights(run / rundir.FINAL, ref / rundir.FINAL)


def test_eval_rows_survive_a_rewind(run_cli, tmp_path):
    assert run_cli("train", *TOY, "--kimg", "0.5", "--set", "snapshot_kimg=0.25", "--out", tmp_path).code == 0
    run = only_run_dir(tmp_path)
    rundir.append_metrics(run, {"eval": True, "checkpoint": "latest", "kimg": 0.5, "fid5k_lenet": 1.0})  # as `ganlab eval` does
    assert run_cli("train", "--resume", run, "--kimg", "0.75", "--quiet").code == 0
    assert sum(1 for r in rundir.read_metrics(run) if r.get("eval")) == 1


def _cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ganlab.cli", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _rows(root):
    dirs = run_dirs(root)
    return rundir.read_metrics(dirs[0]) if dirs else []  # a torn last line is skipped


def _kill_point(proc, root, rng):
    """Wait for a random kill point: a third of the time a random delay (start-up included), else
    until 1-6 more rows are logged (2 kimg each, checkpoints every 5 rows), plus a little."""
    if rng.random() < 1 / 3:
        time.sleep(rng.uniform(0.3, 3.0))
        return
    target = len(_rows(root)) + rng.randint(1, 6)
    deadline = time.time() + 60
    while proc.poll() is None and len(_rows(root)) < target and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.2))


def _kill_loop(tmp_path, args, kills, seed):
    """Train `args` to the end while SIGKILLing it `kills` times at random points; returns
    (run directory, kimg of the last row logged when each kill landed)."""
    rng = random.Random(seed)
    root = tmp_path / "killed"
    progress = []
    for _ in range(kills + 10):
        existing = run_dirs(root)
        proc = _cli(*(["train", "--resume", existing[0], "--quiet"] if existing else ["train", *args, "--out", root]))
        if len(progress) < kills:
            _kill_point(proc, root, rng)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                rows = _rows(root)
                progress.append(rows[-1]["kimg"] if rows else 0.0)
                continue
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        return only_run_dir(root), progress
    raise AssertionError("the killed run never finished")


def _assert_kills_change_nothing(run_cli, tmp_path, args, kills, seed):
    res = run_cli("train", *args, "--out", tmp_path / "ref")
    assert res.code == 0, res.err
    ref = only_run_dir(tmp_path / "ref")
    assert [r["event"] for r in rundir.read_metrics(ref) if "event" in r] == ["rollback"]  # the path is exercised
    run, progress = _kill_loop(tmp_path, args, kills, seed)
    print(f"kills landed at kimg {progress}")
    assert len(progress) == kills
    assert history(run) == history(ref)
    assert_same_weights(run / rundir.FINAL, ref / rundir.FINAL)
    return progress


def test_one_kill_9_leaves_the_same_run(run_cli, tmp_path):
    """The cheap form for `make test`: one SIGKILL at a random point, then resume to the end."""
    _assert_kills_change_nothing(run_cli, tmp_path, DIVERGING, kills=1, seed=2)


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_kill_9_at_random_points_leaves_the_same_run(run_cli, tmp_path):
    _assert_kills_change_nothing(run_cli, tmp_path, DIVERGING, kills=3, seed=0)


@pytest.mark.slow
def test_kill_9_twenty_times_leaves_the_same_run(run_cli, tmp_path):
    progress = _assert_kills_change_nothing(run_cli, tmp_path, DIVERGING + ["--kimg", "300"], kills=20, seed=1)
    assert len(set(progress)) >= 8  # kills landed at many points of training


# --- Rollback --------------------------------------------------------------------------------------

def test_divergence_rolls_back_lowers_the_learning_rates_and_finishes(run_cli, tmp_path):
    res = run_cli("train", *DIVERGING, "--out", tmp_path)
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path)
    rows = rundir.read_metrics(run)
    (rb,) = [r for r in rows if r.get("event") == "rollback"]
    assert rb["kimg"] < rb["diverged_kimg"] and rb["rollbacks"] == 1 and rb["lr_scale"] == pytest.approx(0.1)
    assert "nan" in rb["problem"] or "inf" in rb["problem"]
    # The history continues from the checkpoint it rolled back to: kimg restarts there.
    after = rows[rows.index(rb) + 1]
    assert rb["kimg"] < after["kimg"] <= rb["kimg"] + 2.1
    final = load_checkpoint(run / rundir.FINAL)
    assert final["health"] == {"rollbacks": 1, "lr_scale": pytest.approx(0.1)}
    assert final["g_opt"]["param_groups"][0]["lr"] == pytest.approx(1e-2 * 0.1 * (1 - 160 / 3500), rel=1e-3)


def test_divergence_with_rollbacks_exhausted_stops_with_one_line(run_cli, tmp_path):
    res = run_cli("train", *DIVERGING, "--set", "rollback_lr_factor=0.9", "--set", "max_rollbacks=2", "--out", tmp_path)
    assert_user_error(res, "diverged", "after 2 rollback(s)", "untouched")
    run = only_run_dir(tmp_path)
    assert [r["lr_scale"] for r in rundir.read_metrics(run) if r.get("event")] == pytest.approx([0.9, 0.81])
    assert not (run / rundir.FINAL).exists()
    state = load_checkpoint(run / rundir.LATEST)
    assert all(torch.isfinite(v).all() for v in state["G"].values() if v.is_floating_point())


def test_a_run_directory_appears_only_whole(tmp_path, monkeypatch):
    cfg = make_config({})

    def killed(*args):
        raise KeyboardInterrupt  # as if the process died while filling the folder

    monkeypatch.setattr(rundir, "ensure_identity", killed)
    with pytest.raises(KeyboardInterrupt):
        rundir.new_run_dir(tmp_path, "demo", cfg)
    assert run_dirs(tmp_path) == []
    monkeypatch.undo()
    path = rundir.new_run_dir(tmp_path, "demo", cfg)
    assert path.name == "00000-demo" and (path / rundir.CONFIG).is_file() and rundir.read_identity(path)


def test_non_finite_weights_are_a_problem_even_with_finite_losses():
    from ganlab.training.health import RollbackGuard

    record = {"loss_D": 1.0, "loss_G": 1.0, "D_real": 0.0, "D_fake": 0.0}
    net = torch.nn.Linear(2, 2)
    assert RollbackGuard.problem(record, [net]) is None
    assert RollbackGuard.problem({**record, "loss_G": float("inf")}, [net]) == "loss_G=inf"
    with torch.no_grad():
        net.weight[0, 1] = float("nan")
    assert RollbackGuard.problem(record, [net]) == "non-finite weights"
