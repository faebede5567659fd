"""A study's definition and its durable trial store (Optuna's RDB storage, used as a work queue).

The launcher writes the study definition (preset, objectives, space, trials per objective, run
length, metric, seed, ganlab version) as a study user attribute and enqueues every trial setting;
workers on any machine read both back. Each trial carries user attributes `cfg_id` (its index in
the study), `objective` and `overrides` (the setting, as JSON), so a retried copy is the same
trial. Optuna is imported here only, and lazily by callers: `import ganlab` stays fast.
"""

import json
import logging
import os
import warnings
from pathlib import Path

from ganlab.errors import ConfigError

DEFINITION_ATTR = "ganlab_study"
DEFINITION_KEYS = ("preset", "objectives", "space", "trials", "kimg", "eval_every", "eval_at", "metric", "seed", "sets", "grid",
                   "ganlab_version")
HEARTBEAT_ENV, GRACE_ENV = "GANLAB_STUDY_HEARTBEAT", "GANLAB_STUDY_GRACE"
MAX_RETRY = 2  # automatic retries of a trial whose worker died (heartbeat stale)


def ganlab_version():
    from ganlab import __version__

    return __version__


def study_dir(out, name):
    return Path(out) / name


def default_url(folder):
    return f"sqlite:///{(Path(folder) / 'study.db').resolve()}"


def _no_traceback(record):
    record.exc_info, record.exc_text = None, None  # the reason is in the message and in the trial's attrs
    return True


def quiet_optuna():
    """Optuna logs every trial at INFO; ganlab prints its own line per trial. Failures stay at
    WARNING, one line each, without the traceback."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for handler in logging.getLogger("optuna").handlers:
        if _no_traceback not in handler.filters:
            handler.addFilter(_no_traceback)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def heartbeat_settings():
    """(heartbeat interval, grace period) in seconds: 60 and 300 unless the environment says."""
    try:
        interval = int(os.environ.get(HEARTBEAT_ENV, 60))
        grace = int(os.environ.get(GRACE_ENV, max(300, 2 * interval)))
    except ValueError:
        raise ConfigError(f"{HEARTBEAT_ENV} and {GRACE_ENV} must be whole seconds; expected e.g. 60 and 300") from None
    if interval < 1 or grace <= interval:
        raise ConfigError(f"heartbeat {interval} s with grace period {grace} s; expected interval >= 1 and grace > interval")
    return interval, grace


def open_storage(url):
    """RDBStorage with a heartbeat: a trial whose worker dies is failed after the grace period and
    re-enqueued (at most MAX_RETRY times) by the next worker that looks."""
    optuna = quiet_optuna()
    from optuna.storages import RDBStorage

    try:  # optuna >= 4.9
        from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry

        callback = {"heartbeat_stale_trial_callback": Retry(max_retry=MAX_RETRY)}
    except ImportError:  # optuna 4.0 - 4.8: the same callback under its old name
        from optuna.storages import RetryFailedTrialCallback as Retry

        callback = {"failed_trial_callback": Retry(max_retry=MAX_RETRY)}
    interval, grace = heartbeat_settings()
    sqlite = url.startswith("sqlite")
    # SQLite: the driver's own transaction handling is off (isolation_level None) so that every
    # transaction can start with BEGIN IMMEDIATE (below).
    engine_kwargs = {"connect_args": {"timeout": 30, "isolation_level": None}} if sqlite else {}
    try:
        storage = RDBStorage(url, heartbeat_interval=interval, grace_period=grace, engine_kwargs=engine_kwargs, **callback)
    except (ImportError, ModuleNotFoundError) as exc:
        raise ConfigError(f"storage {url!r} needs a database driver that is not installed ({exc}); "
                          f"expected e.g. `pip install psycopg2-binary` for postgresql+psycopg2://") from None
    except optuna.exceptions.StorageInternalError as exc:
        raise ConfigError(f"cannot open storage {url!r}: {exc.__cause__ or exc}; expected a reachable database URL") from None
    except Exception as exc:  # sqlalchemy's ArgumentError, OperationalError, ...
        raise ConfigError(f"cannot open storage {url!r}: {str(exc).splitlines()[0]}; expected a database URL "
                          f"such as sqlite:///PATH or postgresql+psycopg2://USER@HOST/DB") from None
    if sqlite:
        _immediate_transactions(storage.engine)
    return storage


def _immediate_transactions(engine):
    """Make each SQLite transaction take the write lock at its start. Optuna pops a waiting trial by
    reading its state and then writing RUNNING (SELECT ... FOR UPDATE, which SQLite ignores), and
    Python's sqlite3 starts a transaction only at the write: two workers then both read WAITING and
    both run the trial (measured: 1-3 double pops in 40 trials with 2 workers). PostgreSQL locks the
    row and needs none of this."""
    from sqlalchemy import event

    @event.listens_for(engine, "begin")
    def begin_immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def retry_callback(storage):
    """The storage's callback that re-enqueues a trial presumed dead (named differently before optuna 4.9)."""
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None) or storage.get_failed_trial_callback
    return getter()


def load_study(name, url, folder):
    """(optuna Study, definition) of an existing study, or a ConfigError saying what was expected."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise ConfigError(f"no study {name!r}: {url[len('sqlite:///'):]} does not exist; expected a study "
                          f"created by `ganlab study run --name {name}` (or give its --storage / --studies)")
    optuna = quiet_optuna()
    storage = open_storage(url)
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    except KeyError:
        raise ConfigError(f"no study {name!r} in {url}; expected a study created by `ganlab study run --name {name}`") from None
    definition = study.user_attrs.get(DEFINITION_ATTR)
    if definition is None:
        raise ConfigError(f"study {name!r} in {url} was not created by `ganlab study run`; expected a ganlab study")
    return study, definition


def definition_difference(old, new):
    """'' if the definitions agree, else 'kimg: 10 -> 20, ...' naming what differs."""
    diffs = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in DEFINITION_KEYS if old.get(k) != new.get(k)]
    return ", ".join(diffs)


def enqueue(study, cfg_id, objective, index, setting, n_cfgs, retry_of=None):
    """Put one trial setting in the queue: `cfg_id` is a fixed param and a user attribute."""
    attrs = {"cfg_id": cfg_id, "objective": objective, "index": index, "overrides": json.dumps(setting, sort_keys=True)}
    if retry_of is not None:
        attrs["retry_of"] = retry_of
    study.enqueue_trial({"cfg_id": cfg_id}, user_attrs=attrs)


def add_finished(study, cfg_id, objective, index, setting, n_cfgs, value, record):
    """Record one trial setting as finished elsewhere (a committed record of an earlier run of the
    same definition): a COMPLETE trial with its score and `record` ({"evals", "time_s", "source"})
    as the user attribute `carried`, so no worker runs it again."""
    optuna = quiet_optuna()
    attrs = {"cfg_id": cfg_id, "objective": objective, "index": index, "overrides": json.dumps(setting, sort_keys=True),
             "carried": record}
    study.add_trial(optuna.trial.create_trial(
        params={"cfg_id": cfg_id}, distributions={"cfg_id": optuna.distributions.IntDistribution(0, n_cfgs - 1)},
        value=value, user_attrs=attrs, state=optuna.trial.TrialState.COMPLETE))


def cfg_table(study, definition):
    """{cfg_id: {"objective", "state", "value", "attempts", "error", "trial"}} over every setting.

    A setting's state follows its attempts: COMPLETE if one completed (the last one counts), else
    RUNNING, WAITING, FAIL (all attempts failed), or MISSING (never enqueued)."""
    from optuna.trial import TrialState

    objectives, k = definition["objectives"], definition["trials"]
    table = {i: {"objective": objectives[i // k], "state": "MISSING", "value": None, "attempts": [], "error": None,
                 "trial": None} for i in range(len(objectives) * k)}
    for t in study.get_trials(deepcopy=False):
        cfg_id = t.user_attrs.get("cfg_id")
        if cfg_id in table:
            table[cfg_id]["attempts"].append(t)
    rank = {TrialState.COMPLETE: 4, TrialState.RUNNING: 3, TrialState.WAITING: 2, TrialState.FAIL: 1, TrialState.PRUNED: 0}
    for row in table.values():
        if not row["attempts"]:
            continue
        best = max(row["attempts"], key=lambda t: (rank[t.state], t.number))  # ties: the last attempt
        row["state"], row["trial"] = best.state.name, best
        if best.state == TrialState.COMPLETE:
            row["value"] = best.value
        if best.state in (TrialState.FAIL, TrialState.PRUNED):
            row["error"] = failure_reason(best)
    return table


def failure_reason(trial):
    """Why an attempt did not complete: the error it raised, an interruption, or a dead worker."""
    if trial.user_attrs.get("error"):
        return trial.user_attrs["error"]
    if trial.user_attrs.get("interrupted"):
        return "interrupted"
    if trial.user_attrs.get("cfg_id") is None:
        return "not an enqueued trial (pruned)"
    return "its worker stopped without a result (killed, or no heartbeat)"


def is_lost(row):
    """A setting of `cfg_table` whose every attempt stopped without a result of its own (interrupted,
    or its worker died after its retries ran out): the launcher enqueues it again."""
    return row["state"] == "FAIL" and not row["trial"].user_attrs.get("error")
