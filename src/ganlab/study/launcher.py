"""The study launcher: define the study, enqueue every trial once, start the workers, wait.

There is no driver state to lose: everything lives in the storage and in the trials' run
directories. Running the same `ganlab study run` again after a crash (of a worker, of the
launcher, of the machine) enqueues nothing new except the trials whose every attempt was
interrupted, reaps trials whose worker is gone, and starts workers again; finished trials are kept.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ganlab.errors import ConfigError
from ganlab.study.spaces import SPACES, sample_settings
from ganlab.study.storage import (DEFINITION_ATTR, cfg_table, definition_difference, enqueue, ganlab_version,
                                  is_lost, load_study, open_storage, quiet_optuna)
from ganlab.study.trials import check_metric, group_settings, is_grid, trial_overrides
from ganlab.study.worker import PARENT_ENV, reap_dead_workers, work

def make_definition(preset, objectives, space="wide", trials=10, kimg=None, eval_every=None, metric=None, seed=0,
                    sets=None):
    """The validated study definition (a JSON-able dict); every trial's config is checked here,
    before anything is written."""
    from ganlab.resolve import make_config
    from ganlab.data import load_dataset
    from ganlab.objectives import OBJECTIVES
    from ganlab.presets import PRESETS

    base = dict(PRESETS.lookup(preset))
    objectives = list(objectives)
    if not objectives:
        raise ConfigError("--objectives is empty; expected a comma-separated list such as nonsaturating,lsgan,wgan-gp")
    for name in objectives:
        OBJECTIVES.lookup(name)
    if len(set(objectives)) != len(objectives):
        raise ConfigError(f"--objectives {','.join(objectives)} names an objective twice; expected each once")
    SPACES.lookup(space)
    if trials < 1:
        raise ConfigError(f"--trials {trials} is out of range; expected an integer >= 1")
    sets = dict(sets or {})
    dataset = load_dataset(make_config({**base, **sets}).data)  # a missing dataset fails now, not in every trial
    kimg = float(kimg if kimg is not None else sets.get("kimg", base.get("kimg", 100.0)))
    eval_every = float(eval_every if eval_every is not None else kimg / 5)
    if kimg <= 0 or eval_every <= 0:
        raise ConfigError(f"--kimg {kimg:g} / --eval-every {eval_every:g} is out of range; expected numbers > 0")
    if metric is None:
        metric = "rkl" if dataset.kind == "points" else (sets.get("metrics") or base.get("metrics") or [None])[0]
    check_metric(metric, dataset.kind, preset)
    definition = {"preset": preset, "objectives": objectives, "space": space, "trials": int(trials), "kimg": kimg,
                  "eval_every": eval_every, "metric": metric, "seed": int(seed), "sets": sets,
                  "ganlab_version": ganlab_version()}
    for objective in objectives:
        for setting in sample_settings(objective, space, trials, seed):
            make_config(trial_overrides(definition, objective, setting))
    return definition


def existing_definition(name, url, folder):
    """The stored definition of study `name`, or None when there is no such study yet."""
    try:
        return load_study(name, url, folder)[1]
    except ConfigError as exc:
        if "not created by" in str(exc):
            raise
        return None


def create_or_resume(name, url, definition, log=print, finished=None):
    """Create the study (or load it), check its definition, and enqueue what is missing: every
    setting for a new study; for an existing one only settings never enqueued (a launcher killed
    while enqueueing) or whose every attempt was interrupted or lost its worker. `finished`
    {cfg_id: (score, record)}: settings already run elsewhere, recorded as complete instead of
    enqueued (see storage.add_finished). Returns the study."""
    from ganlab.metrics import METRICS
    from ganlab.study.storage import add_finished

    optuna = quiet_optuna()
    storage = open_storage(url)
    direction = "minimize" if METRICS[definition["metric"]].lower_is_better else "maximize"
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True, direction=direction,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    old = study.user_attrs.get(DEFINITION_ATTR)
    if old is None and study.trials:
        raise ConfigError(f"study {name!r} in {url} was not created by `ganlab study run`; expected another --name")
    if old is None:
        study.set_user_attr(DEFINITION_ATTR, definition)
    elif definition_difference(old, definition):
        raise ConfigError(f"study {name!r} already exists with another definition "
                          f"({definition_difference(old, definition)}); expected the same arguments, or another --name")
    reaped = reap_dead_workers(study)
    if reaped:
        log(f"{reaped} trial(s) of workers that are gone re-enqueued")
    table = cfg_table(study, definition)
    k, enqueued, requeued, carried = definition["trials"], 0, 0, 0
    settings = {}
    for cfg_id, row in table.items():
        objective = row["objective"]
        lost = is_lost(row)
        if row["state"] != "MISSING" and not lost:
            continue
        if objective not in settings:
            settings[objective] = group_settings(definition, objective)
        if not lost and cfg_id in (finished or {}):
            add_finished(study, cfg_id, objective, cfg_id % k, settings[objective][cfg_id % k], len(table),
                         *finished[cfg_id])
            carried += 1
            continue
        enqueue(study, cfg_id, objective, cfg_id % k, settings[objective][cfg_id % k], len(table),
                retry_of=row["trial"].number if lost else None)
        enqueued, requeued = enqueued + (not lost), requeued + lost
    if requeued:
        log(f"{requeued} interrupted trial(s) enqueued again")
    if carried:
        log(f"{carried} trial(s) carried over as finished from an earlier run's record")
    return study


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def start_workers(name, url, out, folder, workers, log=print):
    """Run `workers` workers until the queue is empty: in this process for 1, else as
    `ganlab study work` subprocesses with cores // workers threads each. Returns their exit codes."""
    threads = max(1, _cores() // workers)
    if workers == 1:
        work(name, url, folder, threads=threads, log=log)
        return [0]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), PARENT_ENV: str(os.getpid())}
    if env.get("PYTHONPATH"):  # workers import the same ganlab as this process, wherever they start
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    cmd = [sys.executable, "-m", "ganlab.cli", "study", "work", "--name", name, "--storage", url, "--studies", str(out),
           "--threads", str(threads)]
    procs = [subprocess.Popen(cmd, env=env) for _ in range(workers)]
    try:
        return [p.wait() for p in procs]
    except KeyboardInterrupt:
        # Ctrl-C reaches the workers too (same process group); give them time to record it.
        deadline = time.time() + 2
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGINT)  # the interrupt was sent to this process alone
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        raise


def run_study(name, out, url, definition, workers=1, log=print, finished=None):
    """Create or continue study `name` and work through it with `workers` local workers
    (`finished`: see create_or_resume)."""
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    study = create_or_resume(name, url, definition, log, finished)
    table = cfg_table(study, definition)
    done = sum(r["state"] in ("COMPLETE", "FAIL") for r in table.values())
    log(f"study {name}: {len(definition['objectives'])} objective(s) x {definition['trials']} trials, "
        f"{done} of {len(table)} finished; {workers} worker(s); trials in {folder / 'trials'}; storage {url}")
    if done == len(table):
        return study  # nothing to run: no worker to start
    codes = start_workers(name, url, out, folder, workers, log)
    if any(codes):
        log(f"worker exit codes {codes}: a worker stopped early; run the same command again to continue")
    return study


def status_lines(study, definition):
    """Per objective: settings complete / running / waiting / failed and the best score so far."""
    from ganlab.metrics import METRICS

    table = cfg_table(study, definition)
    lower = METRICS[definition["metric"]].lower_is_better
    points = ", ".join(([f"every {definition['eval_every']:g} kimg"] if definition.get("eval_every") else [])
                       + ([f"at {', '.join(f'{k:g}' for k in definition['eval_at'])} kimg"] if definition.get("eval_at") else []))
    what = (f"grid of {len(definition['objectives'])} configs x {definition['trials']} seed(s)" if is_grid(definition) else
            f"preset {definition['preset']}, {definition['space']} space, {definition['trials']} trials per objective")
    lines = [f"{what}, {definition['kimg']:g} kimg, metric {definition['metric']} ({'lower' if lower else 'higher'} is "
             f"better, best over eval points {points})",
             f"{'config' if is_grid(definition) else 'objective':16s} {'complete':>9s} {'running':>8s} {'waiting':>8s} "
             f"{'failed':>7s}  best"]
    for objective in definition["objectives"]:
        rows = {i: r for i, r in table.items() if r["objective"] == objective}
        count = lambda state: sum(r["state"] == state for r in rows.values())  # noqa: E731
        scored = [(r["value"], i) for i, r in rows.items() if r["state"] == "COMPLETE"]
        best = min(scored, key=lambda p: ((p[0] if lower else -p[0]), p[1])) if scored else None
        best_text = f"{best[0]:.4g} (cfg {best[1]:04d})" if best else "-"
        n_lost = sum(is_lost(r) for r in rows.values())
        waiting = count("WAITING") + count("MISSING") + n_lost
        lines.append(f"{objective:16s} {count('COMPLETE'):>5d}/{len(rows):<3d} {count('RUNNING'):>8d} {waiting:>8d} "
                     f"{count('FAIL') - n_lost:>7d}  {best_text}")
    running = [(i, r) for i, r in table.items() if r["state"] == "RUNNING"]
    if running:
        lines.append("running:")
        for i, r in running:
            t = r["trial"]
            where = (t.user_attrs.get("worker") or {}).get("host", "?")
            last = (f"{definition['metric']} {t.intermediate_values[max(t.intermediate_values)]:.4g} at "
                    f"{max(t.intermediate_values) / 1000:g} kimg" if t.intermediate_values else "no eval point yet")
            lines.append(f"  cfg {i:04d} {r['objective']} on {where}: {last}")
    failed = [(i, r) for i, r in table.items() if r["state"] == "FAIL" and not is_lost(r)]
    if failed:
        lines.append("failed (not counted in the report):")
        lines += [f"  cfg {i:04d} {r['objective']}: {r['error']}" for i, r in failed]
    lost = [(i, r) for i, r in table.items() if is_lost(r)]
    if lost:
        lines.append("stopped before the end, counted as waiting: the next `ganlab study run` enqueues them again:")
        lines += [f"  cfg {i:04d} {r['objective']}: {r['error']}" for i, r in lost]
    attempts = sum(len(r["attempts"]) for r in table.values())
    if attempts > len(table):
        lines.append(f"{attempts - len(table)} extra attempt(s) of retried trials; each setting counts once")
    return lines
