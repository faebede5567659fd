"""Study workers: take enqueued trials from the storage until none is left, train each in its own
run directory, and record its score.

A trial is a normal run directory `<study>/trials/cfg_XXXX/` trained by `training_loop`; a retried
trial resumes from its `checkpoint-latest.pt`. Its score is the best value of the study's metric
over the run's eval points (the minimum for FID; for toy data the metric is logged every
`eval_every` kimg, and an `rkl` of None — no high-quality sample — counts as +inf).

Crash safety: Optuna's heartbeat fails a trial whose worker stopped beating and re-enqueues a
copy (same params and user attributes); on the same machine a worker also reaps trials whose
process is gone at once. A trial that raises (a diverged run, a bad setting) is recorded FAIL with
the reason in its `error` attribute and is not retried: it would fail again.
"""

import fcntl
import json
import math
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ganlab.study.storage import heartbeat_settings, load_study, quiet_optuna, retry_callback
from ganlab.study.trials import trial_overrides

PARENT_ENV = "GANLAB_STUDY_PARENT"
TRIAL_LABEL = "study-trial.json"  # in a trial's run directory: its study, config/objective and setting  # set by the launcher: its workers stop when it dies


class TrialError(Exception):
    """A trial's training raised; the message is the reason recorded in the storage."""


def eval_series(records, metric, lower_is_better=True):
    """[(nimg, value)] of the metric at the run's eval points, one per nimg (the last written
    wins); a missing value (toy rkl without high-quality samples) counts as the worst, +-inf."""
    worst = math.inf if lower_is_better else -math.inf
    points = {}
    for r in records:
        if metric in r and "nimg" in r and not r.get("eval"):
            value = r[metric]
            points[int(r["nimg"])] = worst if value is None or not math.isfinite(value) else float(value)
    return sorted(points.items())


def best_of(series, lower_is_better=True):
    """(best value, nimg where reached) of an eval series; (+-inf, None) when empty."""
    if not series:
        return (math.inf if lower_is_better else -math.inf), None
    value = (min if lower_is_better else max)(v for _, v in series)
    if not math.isfinite(value):
        return value, None
    return value, next(n for n, v in series if v == value)  # the first eval point that reached it


def _read_records(path):
    """metrics.jsonl lines, skipping a line still being written."""
    out = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


@contextmanager
def run_lock(run_dir):
    """An exclusive lock on a trial's run directory: a retry started while a (wrongly presumed
    dead) attempt still runs on this machine waits for it instead of writing beside it."""
    with open(Path(run_dir) / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class _Reporter(threading.Thread):
    """Reports the run's new eval points to the trial while it trains (intermediate values)."""

    def __init__(self, trial, path, metric, lower, period=2.0):
        super().__init__(daemon=True)
        self.trial, self.path, self.metric, self.lower, self.period = trial, path, metric, lower, period
        self.done, self.reported = threading.Event(), set()

    def sweep(self):
        for nimg, value in eval_series(_read_records(self.path), self.metric, self.lower):
            if nimg not in self.reported and math.isfinite(value):
                self.trial.report(value, nimg)
            self.reported.add(nimg)

    def run(self):
        while not self.done.wait(self.period):
            try:
                self.sweep()
            except Exception:  # a transient storage error must not kill the trial; the final sweep retries
                pass


def run_trial(trial, definition, folder, cfg_id, objective, setting, threads=None, datasets=None, device=None):
    """Train one trial's run (resuming its checkpoint if any) on `device` (None: the config's);
    returns (score, info)."""
    from ganlab import rundir
    from ganlab.resolve import load_run, make_config
    from ganlab.data import load_dataset
    from ganlab.metrics import METRICS
    from ganlab.errors import DivergenceError
    from ganlab.training.loop import training_loop

    metric = definition["metric"]
    lower = METRICS[metric].lower_is_better
    run_dir = Path(folder) / "trials" / f"cfg_{cfg_id:04d}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        label = {"study": Path(folder).name, "cfg_id": cfg_id, "group": objective, "setting": setting}
        (run_dir / TRIAL_LABEL).write_text(json.dumps(label, sort_keys=True) + "\n")  # what `ganlab report` calls it
        overrides = trial_overrides(definition, objective, setting)
        cfg = make_config(overrides)
        key = json.dumps(rundir.config_to_dict(cfg.data), sort_keys=True)
        datasets = {} if datasets is None else datasets
        if key not in datasets:
            datasets[key] = load_dataset(cfg.data)
        dataset = datasets[key]
        if threads and dataset.kind == "image" and "cpu_threads" not in definition["sets"]:
            cfg.cpu_threads = threads  # toy MLPs already run single-threaded
        if device is not None:
            cfg.device = device  # this worker's GPU: one worker per device
        state = None
        if (run_dir / rundir.LATEST).is_file():
            _, state = load_run(run_dir)
        rundir.save_config(run_dir, cfg)
        start = time.time()
        reporter = _Reporter(trial, run_dir / rundir.METRICS, metric, lower)
        reporter.start()
        diverged = None
        try:
            training_loop(cfg, run_dir, state=state, progress=False, dataset=dataset)
        except DivergenceError as exc:
            # Lucic et al. score every run by its best checkpoint: a run that blows up keeps the
            # eval points it reached (none: the worst score), so unstable objectives are not
            # flattered by leaving their failures out.
            diverged = str(exc).split(";")[0]
        finally:
            reporter.done.set()
            reporter.join()
        reporter.sweep()
        series = eval_series(rundir.read_metrics(run_dir), metric, lower)
    value, nimg = best_of(series, lower)
    info = {"score_kimg": None if nimg is None else nimg / 1000, "eval_points": len(series), "diverged": diverged,
            "resumed_from_kimg": None if state is None else int(state["cur_nimg"]) / 1000,
            "time_s": round(time.time() - start, 1)}
    return value, info


def _log_attempt(run_dir, number):
    """Append this attempt to the run's attempts.jsonl: an audit trail of which process ran which
    Optuna trial of this setting (one line per attempt; a trial number never appears twice)."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    line = json.dumps({"trial": number, "host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
    with open(Path(run_dir) / "attempts.jsonl", "a") as f:
        f.write(line + "\n")


# --- Liveness of workers on this machine ---------------------------------------------------------

def machine_id():
    """Host, boot and PID namespace: two processes with equal ids share a PID space."""
    parts = [socket.gethostname()]
    for path in ("/proc/sys/kernel/random/boot_id",):
        try:
            parts.append(Path(path).read_text().strip())
        except OSError:
            return None
    try:
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        return None
    return ":".join(parts)


def _start_time(pid):
    """Start time of a process in clock ticks since boot, or None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return None if fields[0] in ("Z", "X") else fields[19]


def worker_tag():
    return {"machine": machine_id(), "host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def reap_dead_workers(study, unclaimed=None, grace=None):
    """Fail RUNNING trials whose worker is gone and re-enqueue them as the heartbeat would. Returns
    how many were reaped. Two cases Optuna's heartbeat misses or is slow on:

    - the trial's worker ran on this machine and its process is gone: reaped at once;
    - the trial never got its `worker` attribute (its process died between Optuna's `ask` and the
      trial's first line, before any heartbeat, so Optuna never finds it stale): reaped once this
      process has seen it unclaimed for `grace` seconds (`unclaimed`: {trial id: first seen},
      kept by the caller across calls; measured on this process's clock, not the database's).
    """
    optuna = quiet_optuna()
    me = machine_id()
    storage = study._storage
    reaped = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        w = t.user_attrs.get("worker")
        if w and w.get("trial") != t.number:
            w = None  # copied by the retry callback from the attempt this one retries: not yet claimed
        if not w:
            if unclaimed is None or time.monotonic() - unclaimed.setdefault(t._trial_id, time.monotonic()) <= grace:
                continue
        elif me is None or w.get("machine") != me or w.get("start") is None or _start_time(w.get("pid")) == w["start"]:
            continue
        try:
            if not storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.FAIL):
                continue
        except RuntimeError:  # UpdateFinishedTrialError (a RuntimeError; optuna 4.0 raised RuntimeError itself)
            continue  # another worker got there first
        callback = retry_callback(storage)
        if callback is not None:
            callback(study, storage.get_trial(t._trial_id))
        reaped += 1
    return reaped


def _watch_parent(parent_pid):
    """Exit when the launcher that started this worker dies (its trial is then retried)."""
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


# --- The worker loop -----------------------------------------------------------------------------

def work(name, url, folder, threads=None, log=print, device=None):
    """Run enqueued trials of study `name` until none is waiting or running, on `device` (None:
    each trial's configured device); returns how many trials this worker finished."""
    optuna = quiet_optuna()
    from optuna.trial import TrialState

    if os.environ.get(PARENT_ENV):
        _watch_parent(int(os.environ[PARENT_ENV]))
    if threads:
        import torch

        torch.set_num_threads(threads)
    study, definition = load_study(name, url, folder)
    n_cfgs = len(definition["objectives"]) * definition["trials"]
    interval, grace = heartbeat_settings()
    datasets, finished, unclaimed = {}, [0], {}

    def objective_fn(trial):
        attrs = trial.user_attrs
        if "cfg_id" not in attrs:  # Optuna samples a fresh trial once the queue is empty: never run it
            study.stop()
            raise optuna.TrialPruned("not an enqueued ganlab trial: the queue was empty")
        cfg_id, objective = attrs["cfg_id"], attrs["objective"]
        trial.suggest_int("cfg_id", 0, n_cfgs - 1)  # the enqueued (or retried) value: a param for dashboards
        trial.set_user_attr("worker", {**worker_tag(), "trial": trial.number})
        _log_attempt(Path(folder) / "trials" / f"cfg_{cfg_id:04d}", trial.number)
        label = f"cfg {cfg_id:04d} {objective}"
        try:
            value, info = run_trial(trial, definition, folder, cfg_id, objective, json.loads(attrs["overrides"]),
                                    threads, datasets, device)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else repr(exc)}"
            trial.set_user_attr("error", reason)
            log(f"{label}: FAIL (trial {trial.number}) {reason}")
            raise TrialError(reason) from None
        for key, v in info.items():
            trial.set_user_attr(key, v)
        finished[0] += 1
        where = "" if info["score_kimg"] is None else f" at {info['score_kimg']:g} kimg"
        resumed = "" if info["resumed_from_kimg"] is None else f", resumed from {info['resumed_from_kimg']:g} kimg"
        log(f"{label}: {definition['metric']} {value:.4g}{where} ({info['time_s']:.0f} s{resumed}; trial {trial.number})")
        return value

    def stop_when_queue_empty(study, trial):
        if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            study.stop()

    escapes = 0
    while True:
        reap_dead_workers(study, unclaimed, grace)
        optuna.storages.fail_stale_trials(study)
        states = {t.state for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))}
        if TrialState.WAITING in states:
            try:
                study.optimize(objective_fn, callbacks=[stop_when_queue_empty], catch=(Exception,), gc_after_trial=False)
                escapes = 0
            except Exception as exc:
                # A trial's own errors are caught by optimize; what escapes is Optuna's or the storage's:
                # typically our trial was presumed dead and failed by another worker (its retry counts),
                # or a transient database error. Go on, unless it keeps happening.
                escapes += 1
                if escapes >= 3:
                    raise
                log(f"worker: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; continuing")
        elif TrialState.RUNNING in states:
            time.sleep(min(interval, 5))  # others are training: take over their trials if they die
        else:
            return finished[0]
