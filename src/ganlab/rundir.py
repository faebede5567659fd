"""The run directory is the interface: resume, sample, eval and studies read only what is here.

runs/<id>-<description>/
  run.json                the run's identity: a random run id that every checkpoint of the run carries
  config.yaml             the resolved configuration
  metrics.jsonl           one JSON line per logging tick (kimg, wall time, losses, D outputs, ...)
  samples-kimgXXXX.X.png  samples from one fixed z (a scatter plot for low-dimensional data)
  checkpoint-latest.pt    everything needed to resume, written atomically
  checkpoint-final.pt     the same, at the end of the requested length
  checkpoint-best.pt      the same, at the best value of the primary metric (with --eval-every)
  best.json               that metric, its value and the kimg where it was reached
  provenance.jsonl        one line per start or resume: command, ganlab and commit, torch, device, sizes

Checkpoint identity: a checkpoint is trusted only in the run directory whose run.json names its
run id; resume, sample and eval refuse any other (a copied or foreign one) unless forced.
"""

import json
import os
import re
import uuid
from pathlib import Path

from omegaconf import OmegaConf

from ganlab.errors import CheckpointError, ConfigError

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
LATEST = "checkpoint-latest.pt"
FINAL = "checkpoint-final.pt"
BEST = "checkpoint-best.pt"
BEST_JSON = "best.json"
PROVENANCE = "provenance.jsonl"  # one line per start or resume: command, versions, device, sizes
IDENTITY = "run.json"
IDENTITY_FORMAT = "ganlab-run"


def new_run_dir(root, description, cfg=None):
    """Create and return root/<next id>-<description>, holding config.yaml (of `cfg`) and run.json.

    The folder is filled under a hidden temporary name and then renamed into place, so a process
    killed at any moment leaves either no run directory or one that `--resume` can continue."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", description).strip("-") or "run"
    tmp = root / f".new-{uuid.uuid4().hex}"
    tmp.mkdir()
    if cfg is not None:
        save_config(tmp, cfg)
    ensure_identity(tmp)
    ids = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    run_id = max(ids, default=-1) + 1
    while True:  # another process may take the same id: try the next one
        path = root / f"{run_id:05d}-{slug}"
        if not path.exists():
            try:
                os.rename(tmp, path)  # fails on an existing non-empty folder
                return path
            except OSError:
                if not path.exists():
                    raise
        run_id += 1


def save_config(run_dir, cfg):
    path = Path(run_dir) / CONFIG
    tmp = path.with_name(CONFIG + ".tmp")
    tmp.write_text(OmegaConf.to_yaml(cfg))
    os.replace(tmp, path)


def config_to_dict(cfg):
    return OmegaConf.to_container(cfg, resolve=True)


def flatten(d, prefix=""):
    """{'a': {'b': 1}} -> {'a.b': 1}; objective_args stays one entry per argument."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and k != "objective_args":
            out.update(flatten(v, f"{prefix}{k}."))
        elif isinstance(v, dict):
            out.update({f"{prefix}{k}.{a}": b for a, b in v.items()})
        else:
            out[f"{prefix}{k}"] = v
    return out


def overrides_from_file(path):
    """The dotted-key overrides of a YAML config file (a run's config.yaml, or a user's with any subset
    of its keys); the keys are checked when the config is made."""
    where = f"--config {str(path)!r}"
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file; expected a YAML config such as a run's {CONFIG}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} cannot be read ({exc.__class__.__name__}); expected a YAML text file") from None
    try:
        data = OmegaConf.to_container(OmegaConf.create(text)) if text.strip() else {}
    except Exception:
        raise ConfigError(f"{where} is not valid YAML; expected a mapping of config keys such as a run's {CONFIG}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} does not hold a mapping; expected config keys such as a run's {CONFIG}")
    return flatten(data)


def require_run_dir(path, checkpoint=True):
    """Path of an existing run directory (with a checkpoint, unless not `checkpoint`), or a
    CheckpointError saying what was expected."""
    path = Path(path)
    if not path.is_dir() or not (path / CONFIG).is_file():
        raise CheckpointError(f"{str(path)!r} is not a run directory; expected a folder made by `ganlab train` "
                              f"holding {CONFIG}")
    if checkpoint and not has_checkpoint(path):
        raise CheckpointError(f"run directory {str(path)!r} has no {LATEST} yet; expected a run that has "
                              f"started training (resume it with `ganlab train --resume`)")
    return path


RESUME_FREE_KEYS = ("kimg", "device", "eval_kimg", "eval_at_kimg", "metrics")  # they do not change the weights


def config_changes(old_cfg, new_cfg):
    """['key: old -> new', ...] for the keys (other than RESUME_FREE_KEYS) where two configs differ."""
    old, new = flatten(config_to_dict(old_cfg)), flatten(config_to_dict(new_cfg))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
            if k not in RESUME_FREE_KEYS and old.get(k) != new.get(k)]


def has_checkpoint(path):
    return (Path(path) / LATEST).is_file()


def read_identity(path):
    """The run id in `path`/run.json, or None when the directory has none (made before run ids)."""
    file = Path(path) / IDENTITY
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != IDENTITY_FORMAT or not isinstance(data.get("run_id"), str):
        raise CheckpointError(f"{str(file)!r} is not a ganlab run identity; expected the run.json written by `ganlab train`")
    return data["run_id"]


def ensure_identity(path):
    """The run id of the run directory `path`, creating run.json with a new random id if it has none."""
    run_id = read_identity(path)
    if run_id is None:
        run_id = uuid.uuid4().hex
        write_json(Path(path) / IDENTITY, {"format": IDENTITY_FORMAT, "run_id": run_id})
    return run_id


def check_identity(path, state, source, force=False):
    """Refuse a checkpoint `state` (read from `source`) that was not written in run directory `path`."""
    if force:
        return
    mine, theirs = read_identity(path), state.get("run_id")
    if theirs is None:
        raise CheckpointError(f"checkpoint {source} carries no run id (it was written by an older ganlab), so it cannot "
                              f"be matched to {str(path)!r}; expected a checkpoint of this run, or --force to trust it")
    if mine != theirs:
        raise CheckpointError(f"checkpoint {source} belongs to run {theirs[:12]}, not to {str(path)!r} (run "
                              f"{(mine or 'without run.json')[:12]}); expected a checkpoint written in this run directory, "
                              f"or --force to use it anyway")


def checkpoint_path(path, checkpoint):
    """The file of `checkpoint` (latest, final, best or a path) of run directory `path`."""
    return {"latest": path / LATEST, "final": path / FINAL, "best": path / BEST}.get(checkpoint, Path(checkpoint))


def write_json(path, data):
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def append_metrics(run_dir, record):
    with open(Path(run_dir) / METRICS, "a") as f:
        f.write(json.dumps(record) + "\n")


def _parse_lines(text):
    """Records of metrics.jsonl text; a torn last line (a process killed mid-write) is dropped."""
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                raise
    return records


def read_metrics(run_dir):
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    try:
        return _parse_lines(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{str(path)!r} is corrupt; expected one JSON record per line as written by `ganlab train`") from None


def is_training_row(record):
    """Rows the training loop writes (logging ticks and rollbacks), as opposed to `ganlab eval`'s."""
    return not record.get("eval")


def rewind_metrics(run_dir, rows=None, nimg=None):
    """Cut metrics.jsonl back to its first `rows` training rows, atomically; `ganlab eval`'s rows stay.
    (`nimg` instead: training rows up to that many images shown, for checkpoints without a row count.)

    A resumed run then logs exactly the rows the uninterrupted run would have (the rows written after
    the checkpoint it resumes from are written again), however often it was killed."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return
    kept, seen = [], 0
    for record in read_metrics(run_dir):
        if is_training_row(record):
            seen += 1
            if (seen > rows) if rows is not None else record.get("nimg", 0) > nimg:
                continue
        kept.append(record)
    tmp = path.with_name(METRICS + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, path)
