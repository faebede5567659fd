"""The run directory is the interface: resume, sample, eval and studies read only what is here.

runs/<id>-<description>/
  config.yaml             the resolved configuration
  metrics.jsonl           one JSON line per logging tick (kimg, wall time, losses, D outputs, ...)
  samples-kimgXXXX.X.png  samples from one fixed z (a scatter plot for low-dimensional data)
  checkpoint-latest.pt    everything needed to resume, written atomically
  checkpoint-final.pt     the same, at the end of the requested length
  checkpoint-best.pt      the same, at the best value of the primary metric (with --eval-every)
  best.json               that metric, its value and the kimg where it was reached
"""

import json
import os
import re
from pathlib import Path

from omegaconf import OmegaConf

from ganlab.config import make_config
from ganlab.errors import CheckpointError, ConfigError
from ganlab.utils.checkpoint import load_checkpoint

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
LATEST = "checkpoint-latest.pt"
FINAL = "checkpoint-final.pt"
BEST = "checkpoint-best.pt"
BEST_JSON = "best.json"


def new_run_dir(root, description):
    """Create and return root/<next id>-<description>."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", description).strip("-") or "run"
    run_id = max(ids, default=-1) + 1
    while True:  # another process may take the same id: try the next one
        path = root / f"{run_id:05d}-{slug}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
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


def config_from_yaml(text, source):
    """A validated Config from YAML text (a run's config.yaml or a checkpoint's copy)."""
    try:
        data = OmegaConf.to_container(OmegaConf.create(text))
    except Exception:
        raise CheckpointError(f"{source} is not valid YAML; expected a config written by `ganlab train`") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{source} does not hold a config mapping; expected a config written by `ganlab train`")
    try:
        return make_config(flatten(data))
    except ConfigError as exc:
        raise CheckpointError(f"{source} holds an invalid config: {exc}") from None


def require_run_dir(path):
    """Path of an existing run directory, or a CheckpointError saying what was expected."""
    path = Path(path)
    if not path.is_dir() or not (path / CONFIG).is_file() or not (path / LATEST).is_file():
        raise CheckpointError(
            f"{str(path)!r} is not a run directory; expected a folder made by `ganlab train` "
            f"holding {CONFIG} and {LATEST}"
        )
    return path


def load_run(path, checkpoint="latest"):
    """(config, checkpoint state) of a run directory; `checkpoint` is latest, final or a path."""
    path = require_run_dir(path)
    ckpt = {"latest": path / LATEST, "final": path / FINAL, "best": path / BEST}.get(checkpoint, Path(checkpoint))
    state = load_checkpoint(ckpt)
    cfg = config_from_yaml(state["config"], f"checkpoint {str(ckpt)!r}")
    return cfg, state


def write_json(path, data):
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def append_metrics(run_dir, record):
    with open(Path(run_dir) / METRICS, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_metrics(run_dir):
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
