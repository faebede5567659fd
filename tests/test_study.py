"""Studies: search spaces as data, the bootstrap's closed form, and the crash-safe runner end to end
on SQLite (2 worker processes; a worker and the launcher killed with SIGKILL, then resumed)."""

import itertools
import json
import math
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab.objectives import OBJECTIVES, build_objective, objective_params
from ganlab.study.report import bootstrap_min, expected_min
from ganlab.study.spaces import SPACES, sample_settings, space_for

# A toy study whose trials take about a second: 2-D ring, small MLPs.
TOY = ["--preset", "toy-ring-ns", "--set", "G.width=32", "--set", "D.width=32", "--metric", "hq"]
FAST_HEARTBEAT = {"GANLAB_STUDY_HEARTBEAT": "1", "GANLAB_STUDY_GRACE": "3"}


@pytest.fixture
def fast_heartbeat(monkeypatch):
    for key, value in FAST_HEARTBEAT.items():
        monkeypatch.setenv(key, value)


def load(tmp_path, name):
    from ganlab.study.storage import default_url, load_study

    folder = tmp_path / name
    return load_study(name, default_url(folder), folder)


def cfg_counts(study):
    """{cfg_id: {state name: attempts}} over the trials that carry a cfg_id."""
    counts = {}
    for t in study.get_trials(deepcopy=False):
        if "cfg_id" in t.user_attrs:
            per = counts.setdefault(t.user_attrs["cfg_id"], {})
            per[t.state.name] = per.get(t.state.name, 0) + 1
    return counts


def assert_no_trial_ran_twice(folder):
    """Each Optuna trial was run by one process: its number appears once in the attempts logs."""
    numbers = [json.loads(line)["trial"] for f in Path(folder).glob("trials/*/attempts.jsonl")
               for line in f.read_text().splitlines()]
    assert numbers and len(numbers) == len(set(numbers)), sorted(numbers)


def assert_each_complete_once(study, n_cfgs):
    counts = cfg_counts(study)
    assert sorted(counts) == list(range(n_cfgs))
    assert all(c.get("COMPLETE") == 1 for c in counts.values()), counts
    assert not any(c.get("RUNNING") or c.get("WAITING") for c in counts.values()), counts
    strays = [t for t in study.get_trials(deepcopy=False) if "cfg_id" not in t.user_attrs]
    assert all(t.state.name == "PRUNED" for t in strays)  # a trial Optuna sampled itself never runs


# --- Search spaces ---------------------------------------------------------------------------------

RANGES = {  # (space, label) -> check; Lucic et al. 2018 plus ganlab's own extras
    ("wide", "beta1"): lambda v: 0 <= v < 1, ("narrow", "beta1"): lambda v: v == 0.5,
    ("wide", "lr"): lambda v: 1e-5 <= v <= 1e-2, ("narrow", "lr"): lambda v: 1e-4 <= v <= 1e-3,
    ("wide", "n_critic"): lambda v: v in (1, 2, 3, 4, 5), ("narrow", "n_critic"): lambda v: v == 1,
    ("wide", "D.norm"): lambda v: v in ("batch", "none"), ("narrow", "D.norm"): lambda v: v in ("batch", "none"),
    ("wide", "clip"): lambda v: 1e-3 <= v <= 1, ("narrow", "clip"): lambda v: 1e-2 <= v <= 1,
    ("wide", "gp_weight"): lambda v: 0.1 <= v <= 100, ("narrow", "gp_weight"): lambda v: 0.1 <= v <= 10,
    ("wide", "gamma"): lambda v: 0 <= v <= 100, ("narrow", "gamma"): lambda v: 0 <= v <= 100,  # BEGAN / r1: below
    ("wide", "lambda_k"): lambda v: 1e-4 <= v <= 1e-2, ("narrow", "lambda_k"): lambda v: 1e-4 <= v <= 1e-2,
    ("wide", "weight"): lambda v: 1e-2 <= v <= 10, ("narrow", "weight"): lambda v: 1e-2 <= v <= 10,
}
GAMMA = {("wide", "began"): (0, 1), ("narrow", "began"): (0.6, 0.9), ("wide", "r1"): (0.1, 100), ("narrow", "r1"): (0.1, 100)}


@pytest.mark.parametrize("space", sorted(SPACES))
def test_every_registered_objective_gets_a_space_within_the_papers_ranges(space):
    for objective in OBJECTIVES:
        dims = space_for(objective, space)
        labels = [d.label for d in dims]
        assert labels[:3] == ["beta1", "lr", "n_critic"]
        assert ("D.norm" in labels) == build_objective(objective).batchnorm_in_d  # no BatchNorm with a penalty
        settings = sample_settings(objective, space, 60, seed=1)
        assert settings[0] == {}  # trial 0: the preset's own config
        for s in settings[1:]:
            assert s["g_opt.lr"] == s["d_opt.lr"] and s["g_opt.beta1"] == s["d_opt.beta1"]
            assert set(s) == {k for d in dims for k in d.keys}
            for d in dims:
                value = s[d.keys[0]]
                assert RANGES[(space, d.label)](value), (objective, d.label, value)
                if d.label == "gamma":
                    lo, hi = GAMMA[(space, objective)]
                    assert lo <= value <= hi


@pytest.mark.parametrize("space", sorted(SPACES))
def test_every_extra_names_a_real_objective_argument(space):
    """A renamed argument would silently drop out of the space; this keeps the table honest."""
    for objective, dims in SPACES[space]["extras"].items():
        if objective not in OBJECTIVES:
            continue
        params = objective_params(objective)
        for d in dims:
            for key in d.keys:
                assert key.split(".", 1)[1] in params, (objective, key)
        assert set(dims) <= set(space_for(objective, space))


def test_sampling_is_deterministic_and_per_objective():
    a = sample_settings("wgan-gp", "wide", 8, seed=3)
    assert a == sample_settings("wgan-gp", "wide", 8, seed=3)
    assert a != sample_settings("wgan-gp", "wide", 8, seed=4)
    assert sample_settings("wgan-gp", "wide", 5, seed=3) == a[:5]  # a longer study extends a shorter one
    assert len({json.dumps(s, sort_keys=True) for s in a}) == 8


def test_lucic_extras_present():
    assert [d.label for d in space_for("wgan", "wide")][-1] == "clip"
    assert [d.label for d in space_for("began", "narrow")][-2:] == ["gamma", "lambda_k"]
    assert [d.label for d in space_for("hinge", "wide")] == ["beta1", "lr", "n_critic", "D.norm"]  # base only


# --- Bootstrap ---------------------------------------------------------------------------------------

def test_expected_min_formula_matches_enumeration():
    values = np.array([3.0, -1.0, 7.5, 2.0])
    for k in (1, 2, 3):
        brute = np.mean([min(c) for c in itertools.product(values, repeat=k)])
        assert expected_min(values, k) == pytest.approx(brute, abs=1e-12)


def test_bootstrap_mean_matches_the_closed_form():
    values = np.array([12.0, 3.5, 8.25, 30.0, 5.0, 17.0, 4.0])  # distinct and positive
    budgets = [1, 2, 3, 5, 10, 20]
    draws = 20_000
    mean, lo, hi = bootstrap_min(values, budgets, draws=draws, seed=0)
    for j, k in enumerate(budgets):
        exact = expected_min(values, k)
        var = expected_min(values ** 2, k) - exact ** 2  # min(v^2) = min(v)^2 for positive v
        se = math.sqrt(var / draws)
        assert abs(mean[j] - exact) < 4 * se + 1e-12, (k, mean[j], exact, se)
        assert lo[j] <= mean[j] <= hi[j]
    assert np.all(np.diff(mean) <= 1e-9)  # more trials never hurt the expected best
    assert lo[-1] == values.min()


# --- The runner, end to end ---------------------------------------------------------------------------

def study_cmd(name, *extra, workers=2, kimg=2, trials=3, objectives="nonsaturating,lsgan"):
    return ["study", "run", "--name", name, *TOY, "--objectives", objectives, "--trials", trials, "--space", "wide",
            "--kimg", kimg, "--eval-every", kimg / 4, "--workers", workers, *extra]


def test_two_workers_run_every_setting_exactly_once(run_cli, tmp_path, fast_heartbeat):
    res = run_cli(*study_cmd("e2e", "--out", tmp_path, kimg=1, trials=2, objectives="nonsaturating,wgan-gp"))
    assert res.code == 0, res.err
    study, definition = load(tmp_path, "e2e")
    assert definition["objectives"] == ["nonsaturating", "wgan-gp"] and definition["trials"] == 2
    assert_each_complete_once(study, 4)
    assert_no_trial_ran_twice(tmp_path / "e2e")
    for t in study.get_trials(deepcopy=False, states=None):
        if t.state.name == "COMPLETE":
            assert 0 <= t.value <= 1 and len(t.intermediate_values) >= 1  # hq; reported along the way
    assert len({t.user_attrs["worker"]["pid"] for t in study.trials if t.state.name == "COMPLETE"}) >= 1
    run = tmp_path / "e2e" / "trials" / "cfg_0003"
    assert (run / "config.yaml").is_file() and (run / "checkpoint-latest.pt").is_file()
    overrides = json.loads(study.trials[0].user_attrs["overrides"])
    assert isinstance(overrides, dict)

    status = run_cli("study", "status", "e2e", "--out", tmp_path)
    assert status.code == 0, status.err
    assert any(line.split()[:2] == ["nonsaturating", "2/2"] for line in status.out.splitlines())

    rerun = run_cli(*study_cmd("e2e", "--out", tmp_path, kimg=1, trials=2, objectives="nonsaturating,wgan-gp"))  # a finished study: nothing runs again
    assert rerun.code == 0, rerun.err
    assert len(study.get_trials(deepcopy=False)) == len(load(tmp_path, "e2e")[0].get_trials(deepcopy=False))

    report = run_cli("study", "report", "e2e", "--out", tmp_path)
    assert report.code == 0, report.err
    folder = tmp_path / "e2e" / "report"
    for name in ("summary.md", "budget.png", "distribution.png", "sensitivity.png"):
        assert (folder / name).is_file()
    summary = (folder / "summary.md").read_text()
    assert "| nonsaturating |" in summary and "| wgan-gp |" in summary and "k = 2" in summary
    assert "gp_weight=" in summary or "preset default" in summary


def _wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid):
    from ganlab.study.worker import _start_time

    return _start_time(pid) is not None


def running_trial(study, folder, exclude=(), checkpointed_before=None):
    """(worker pid, cfg_id) of a RUNNING trial whose worker is alive, or None; with
    `checkpointed_before` (nimg), one that has written a checkpoint and not yet logged that far."""
    from ganlab import rundir

    for t in study.get_trials(deepcopy=False):
        pid = (t.user_attrs.get("worker") or {}).get("pid")
        if t.state.name != "RUNNING" or not pid or pid in exclude or not _alive(pid):
            continue
        run = Path(folder) / "trials" / f"cfg_{t.user_attrs['cfg_id']:04d}"
        if checkpointed_before is None:
            return pid, t.user_attrs["cfg_id"]
        try:
            nimg = max((r.get("nimg", 0) for r in rundir.read_metrics(run)), default=0)
        except ValueError:  # a line being written
            continue
        if 0 < nimg < checkpointed_before and _checkpointed_nimg(run) > 0:  # a fresh run checkpoints at 0 too
            return pid, t.user_attrs["cfg_id"]
    return None


def _checkpointed_nimg(run):
    from ganlab.utils.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(Path(run) / "checkpoint-latest.pt")["cur_nimg"])
    except Exception:  # not written yet
        return 0


def _try(fn):
    try:
        return fn()
    except Exception:  # not created yet
        return None


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_killed_worker_and_killed_launcher_lose_and_duplicate_nothing(run_cli, tmp_path, fast_heartbeat):
    env = {**os.environ, **FAST_HEARTBEAT, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ganlab.cli", *map(str, study_cmd("crash", "--out", tmp_path, kimg=12, trials=4))]
    launcher = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = tmp_path / "crash"
    try:
        study, _ = _wait_for(lambda: (folder / "study.db").is_file() and _try(lambda: load(tmp_path, "crash")), 60, "the study")
        # kill -9 one worker in the middle of a trial, after its first checkpoint ...
        victim, victim_cfg = _wait_for(lambda: running_trial(study, folder, checkpointed_before=8000), 90, "a running trial")
        os.kill(victim, signal.SIGKILL)
        # ... then, while the other worker is busy, kill -9 the launcher: its workers follow it.
        other, _ = _wait_for(lambda: running_trial(study, folder, exclude=(victim,)), 60, "another running trial")
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        _wait_for(lambda: not _alive(other), 10, "the orphaned worker to stop")
    finally:
        if launcher.poll() is None:
            launcher.kill()
    study, _ = load(tmp_path, "crash")
    counts = cfg_counts(study)
    assert any(c.get("RUNNING") for c in counts.values())  # the killed trials, left mid-flight
    assert sum(c.get("COMPLETE", 0) for c in counts.values()) < 8

    # The same command again finishes the study: each setting completes exactly once.
    rerun = run_cli(*cmd[3:])
    assert rerun.code == 0, rerun.err
    assert "re-enqueued" in rerun.out  # the killed trials' workers are gone: retried at once
    study, _ = load(tmp_path, "crash")
    assert_each_complete_once(study, 8)
    assert_no_trial_ran_twice(folder)
    counts = cfg_counts(study)
    assert counts[victim_cfg].get("FAIL", 0) >= 1  # the killed attempt is kept as FAIL, never counted
    resumed = [t for t in study.trials if t.state.name == "COMPLETE" and t.user_attrs.get("resumed_from_kimg")]
    assert resumed, "a retried trial should resume from its checkpoint"
    from ganlab.study.report import load_rows

    rows = load_rows(study, load(tmp_path, "crash")[1])
    assert sorted(r["cfg_id"] for r in rows) == list(range(8))


def test_a_failing_trial_is_recorded_and_an_interrupted_one_is_retried(run_cli, tmp_path, fast_heartbeat, monkeypatch):
    import ganlab.training.loop
    from ganlab.errors import DivergenceError

    real_loop = ganlab.training.loop.training_loop
    calls = {"interrupt": 1}

    def flaky_loop(cfg, run_dir, **kw):
        if Path(run_dir).name == "cfg_0001":
            raise RuntimeError("a bug (test)")
        if Path(run_dir).name == "cfg_0003":
            raise DivergenceError("training diverged at 0.3 kimg (test); expected finite losses")
        if Path(run_dir).name == "cfg_0002" and calls["interrupt"]:
            calls["interrupt"] -= 1
            raise KeyboardInterrupt
        return real_loop(cfg, run_dir, **kw)

    monkeypatch.setattr(ganlab.training.loop, "training_loop", flaky_loop)
    args = study_cmd("flaky", "--out", tmp_path, workers=1, kimg=1, trials=4, objectives="nonsaturating")
    first = run_cli(*args)
    assert first.code == 130  # Ctrl-C during cfg 2: the study stops, cfg 2 is marked interrupted
    second = run_cli(*args)
    assert second.code == 0, second.err
    study, _ = load(tmp_path, "flaky")
    counts = cfg_counts(study)
    assert counts[0] == {"COMPLETE": 1}
    assert counts[1] == {"FAIL": 1}  # a real error is not retried: it would fail again
    assert counts[2] == {"FAIL": 1, "COMPLETE": 1}  # interrupted, then run again by the second command
    failed = [t for t in study.trials if t.user_attrs.get("cfg_id") == 1][0]
    assert failed.user_attrs["error"].startswith("RuntimeError: a bug")
    # A diverged run is a result, not an error (Lucic et al. score every run): it completes with the
    # best score it reached before blowing up, here none, so the worst (+-inf as the metric goes).
    assert counts[3] == {"COMPLETE": 1}
    diverged = [t for t in study.trials if t.user_attrs.get("cfg_id") == 3][0]
    assert diverged.value in (float("inf"), -float("inf")) and diverged.user_attrs["diverged"].startswith("training diverged")
    status = run_cli("study", "status", "flaky", "--out", tmp_path)
    assert "cfg 0001 nonsaturating: RuntimeError" in status.out
    assert any(line.split()[:2] == ["nonsaturating", "3/4"] for line in status.out.splitlines())


@pytest.mark.parametrize("case", ["some", "all"])
def test_a_report_with_trials_without_the_metric_never_shows_inf_or_nan(case, run_cli, tmp_path, fast_heartbeat, monkeypatch):
    """Trials that diverge before their first evaluation (no value of the metric) and a trial that
    fails with an error: the report lists them as such, warns nothing, and writes no inf or nan."""
    import warnings

    import ganlab.training.loop
    from ganlab.errors import DivergenceError

    real_loop = ganlab.training.loop.training_loop
    no_value = {"cfg_0001", "cfg_0004"} if case == "some" else {"cfg_0000", "cfg_0001", "cfg_0003", "cfg_0004"}

    def loop(cfg, run_dir, **kw):
        if Path(run_dir).name == "cfg_0002":
            raise RuntimeError("a bug (test)")
        if Path(run_dir).name in no_value:
            raise DivergenceError("training diverged at 0.1 kimg (test); expected finite losses")
        return real_loop(cfg, run_dir, **kw)

    monkeypatch.setattr(ganlab.training.loop, "training_loop", loop)
    assert run_cli(*study_cmd("gaps", "--out", tmp_path, workers=1, kimg=1, trials=3)).code == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning fails the test
        result = run_cli("study", "report", "gaps", "--out", tmp_path)
    assert result.code == 0, result.err
    summary = (tmp_path / "gaps" / "report" / "summary.md").read_text()
    assert not re.search(r"\b-?(inf|nan)\b", summary), summary  # as Python would print them
    listed = "nonsaturating cfg 0001; lsgan cfg 0004" if case == "some" else "nonsaturating cfg 0000, 0001; lsgan cfg 0003, 0004"
    assert listed in summary  # the trials without a value, named
    assert re.search(r"\| nonsaturating \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| 2/3 \| 1 \|", summary)  # cfg 2 failed
    budget = [line for line in summary.splitlines() if line.startswith("| lsgan |") and "k = " not in line][-1]
    if case == "some":  # 1 of 3 lsgan trials without a value: k = 1 has 33.3 % empty draws, exactly
        assert "no value in 33.3% of draws" in budget
    else:  # nonsaturating: no trial with a value at all; lsgan: 2 of 3 without
        assert "| nonsaturating | no trial has a value |" in summary
        assert "no value in 66.7% of draws" in budget


# --- CLI errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--preset", "toy-ring-nx", "--objectives", "nonsaturating"], "unknown preset 'toy-ring-nx'"),
    (["--preset", "toy-ring-ns", "--objectives", "nonsaturating,lsgam"], "unknown objective 'lsgam'"),
    (["--preset", "toy-ring-ns", "--objectives", "lsgan", "--space", "medium"], "unknown search space 'medium'"),
    (["--preset", "toy-ring-ns", "--objectives", "lsgan", "--metric", "fid5k_lenet"], "--metric fid5k_lenet does not fit"),
    (["--preset", "toy-ring-ns"], "needs --preset and --objectives"),
])
def test_study_run_refuses_bad_input_with_one_sentence(run_cli, tmp_path, args, words):
    res = run_cli("study", "run", "--name", "bad", "--out", tmp_path, *args)
    assert res.code == 2
    assert words in res.err and len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()  # nothing written


def test_status_and_report_of_a_missing_study_exit_2(run_cli, tmp_path):
    for cmd in ("status", "report"):
        res = run_cli("study", cmd, "nosuch", "--out", tmp_path)
        assert res.code == 2 and "no study 'nosuch'" in res.err and len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "nosuch").exists()


def test_a_changed_definition_is_refused(run_cli, tmp_path, fast_heartbeat):
    args = study_cmd("def", "--out", tmp_path, workers=1, kimg=0.5, trials=1, objectives="nonsaturating")
    assert run_cli(*args).code == 0
    changed = [str(a) for a in args]
    changed[changed.index("--trials") + 1] = "2"
    res = run_cli(*changed)
    assert res.code == 2 and "already exists with another definition (trials: 1 -> 2)" in res.err
    resumed = run_cli("study", "run", "--name", "def", "--out", tmp_path)  # the definition is read back
    assert resumed.code == 0, resumed.err


@pytest.mark.slow
def test_sqlite_never_hands_one_trial_to_two_workers(tmp_path):
    """Many short trials, two workers popping at once: without BEGIN IMMEDIATE on SQLite, 1-3 of
    40 trials were run by both workers (Optuna's SELECT ... FOR UPDATE is a no-op there)."""
    env = {**os.environ, **FAST_HEARTBEAT, "OMP_NUM_THREADS": "1"}
    args = study_cmd("pops", "--out", tmp_path, "--set", "grid_n=16", kimg=0.5, trials=20)
    res = subprocess.run([sys.executable, "-m", "ganlab.cli", *map(str, args)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert_each_complete_once(load(tmp_path, "pops")[0], 40)
    assert_no_trial_ran_twice(tmp_path / "pops")


# --- Dead workers: the three ways a trial's worker is found gone ---------------------------------------

@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_dead_trials_are_retried_whichever_way_their_worker_died(tmp_path, monkeypatch):
    import optuna

    from ganlab.study.launcher import create_or_resume, make_definition
    from ganlab.study.storage import cfg_table, default_url
    from ganlab.study.worker import reap_dead_workers, worker_tag

    monkeypatch.setenv("GANLAB_STUDY_HEARTBEAT", "1")
    monkeypatch.setenv("GANLAB_STUDY_GRACE", "2")
    definition = make_definition("toy-ring-ns", ["nonsaturating"], "wide", 3, kimg=1, metric="hq")
    study = create_or_resume("dead", default_url(tmp_path), definition, log=lambda *_: None)

    # 1. Killed between Optuna's ask and the trial's first line: no heartbeat, no worker tag.
    unclaimed = study.ask()
    assert reap_dead_workers(study, {}, grace=60) == 0
    seen = {}
    reap_dead_workers(study, seen, grace=0.05)
    time.sleep(0.1)
    assert reap_dead_workers(study, seen, grace=0.05) == 1

    # 2. Its worker on this machine is gone (a finished process's PID): reaped at once.
    gone = subprocess.Popen(["true"])
    gone.wait()
    local = study.ask()
    local.set_user_attr("worker", {**worker_tag(), "pid": gone.pid, "start": "0", "trial": local.number})
    assert reap_dead_workers(study) == 1

    # 3. A worker on another machine stopped beating: Optuna's heartbeat, after the grace period.
    remote = study.ask()
    remote.set_user_attr("worker", {"machine": "elsewhere", "pid": 1, "start": "1", "trial": remote.number})
    study._storage.record_heartbeat(remote._trial_id)
    assert reap_dead_workers(study) == 0  # not ours to judge
    time.sleep(3.2)
    optuna.storages.fail_stale_trials(study)

    table = cfg_table(study, definition)
    for trial in (unclaimed, local, remote):
        cfg_id = trial.user_attrs["cfg_id"]
        states = sorted(t.state.name for t in table[cfg_id]["attempts"])
        assert states == ["FAIL", "WAITING"], (cfg_id, states)  # failed once, waiting to run again
        retry = [t for t in table[cfg_id]["attempts"] if t.state.name == "WAITING"][0]
        assert retry.user_attrs["overrides"] == trial.user_attrs["overrides"]


def test_a_retry_carrying_its_dead_predecessors_tag_is_not_reaped_at_once(tmp_path):
    """Optuna's retry copies user attributes, the dead attempt's `worker` tag included: until the
    new attempt writes its own tag, it is unclaimed (grace period), not dead."""
    from ganlab.study.launcher import create_or_resume, make_definition
    from ganlab.study.storage import default_url
    from ganlab.study.worker import reap_dead_workers, worker_tag

    definition = make_definition("toy-ring-ns", ["nonsaturating"], "wide", 2, kimg=1, metric="hq")
    study = create_or_resume("copied", default_url(tmp_path), definition, log=lambda *_: None)
    gone = subprocess.Popen(["true"])
    gone.wait()
    retry = study.ask()
    retry.set_user_attr("worker", {**worker_tag(), "pid": gone.pid, "start": "0", "trial": retry.number - 1})
    assert reap_dead_workers(study, {}, grace=60) == 0


def test_a_worker_trains_its_trials_on_its_own_device(run_cli, tmp_path):
    """`ganlab study work --device D`: one worker per GPU; here D = cpu (every trial's config says
    so afterwards), and a device the machine lacks is refused before a trial is taken."""
    from ganlab.study.launcher import create_or_resume, make_definition
    from ganlab.study.storage import default_url

    folder = tmp_path / "dev"
    folder.mkdir()
    definition = make_definition("toy-ring-ns", ["nonsaturating"], trials=1, kimg=0.256, eval_every=0.256,
                                 metric="hq", sets={"G.width": 16, "D.width": 16, "device": "auto"})
    create_or_resume("dev", default_url(folder), definition, log=lambda *_: None)
    if not torch.cuda.is_available():
        res = run_cli("study", "work", "--name", "dev", "--out", tmp_path, "--device", "cuda:0")
        assert res.code == 2 and "no CUDA GPU" in res.err
        assert not (folder / "trials").exists()  # nothing was taken
    res = run_cli("study", "work", "--name", "dev", "--out", tmp_path, "--device", "cpu")
    assert res.code == 0, res.err
    assert "device: cpu" in (folder / "trials" / "cfg_0000" / "config.yaml").read_text()
