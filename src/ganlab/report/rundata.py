"""What a report shows of a run, read from its run directory only (see ganlab.rundir).

Reading is lenient where a run is merely unfinished (no metrics or grids yet, a torn last line)
and strict where the folder is not a run at all (CheckpointError, one sentence).
"""

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from ganlab import rundir
from ganlab.errors import CheckpointError

GRID = re.compile(r"samples-kimg(\d+(?:\.\d+)?)\.png$")
TRIALS = "trials"
TRIAL_LABEL = "study-trial.json"  # written by ganlab.study.worker (not imported: it pulls in optuna)
BOOKKEEPING = ("kimg", "nimg", "g_steps", "time_s", "eval", "checkpoint", "seeds")  # not curves


@dataclass
class Run:
    path: Path
    name: str
    config: dict                                    # config.yaml as a plain (nested) mapping
    config_text: str
    rows: list = field(default_factory=list)        # training rows (logging ticks), in order
    rollbacks: list = field(default_factory=list)   # {"event": "rollback", ...} rows
    evals: list = field(default_factory=list)       # `ganlab eval` rows ("eval": true)
    best: dict = None                               # best.json, if any
    grids: list = field(default_factory=list)       # [(kimg, Path)] sorted by kimg
    finished: bool = False                          # checkpoint-final.pt exists
    provenance: list = field(default_factory=list)  # provenance.jsonl: one entry per start or resume

    @property
    def last(self):
        return self.rows[-1] if self.rows else {}

    @property
    def is_toy(self):
        return any("modes" in r for r in self.rows)

    def flat_config(self):
        return rundir.flatten(self.config)


def is_study_dir(path):
    return Path(path, TRIALS).is_dir()


def read_run(path, name=None):
    """A Run of run directory `path`; CheckpointError when it is not one."""
    path = rundir.require_run_dir(path, checkpoint=False)
    text, config = _read_config(path)
    records = rundir.read_metrics(path)
    run = Run(path=path, name=name or path.name, config=config, config_text=text, best=_read_best(path),
              grids=sample_grids(path), finished=(path / rundir.FINAL).is_file(), provenance=_read_provenance(path))
    for r in records:
        if not isinstance(r, dict):
            continue
        if r.get("event") == "rollback":
            run.rollbacks.append(r)
        elif r.get("eval"):
            run.evals.append(r)
        elif "kimg" in r:
            run.rows.append(r)
    return run


def load_study(path):
    """(study name, [Run] of its trials) of a study folder `path`/trials/cfg_XXXX/."""
    path = Path(path)
    trials = sorted(p for p in (path / TRIALS).iterdir() if p.is_dir() and (p / rundir.CONFIG).is_file())
    if not trials:
        raise CheckpointError(f"study folder {str(path)!r} has no trial run directories yet; expected "
                              f"{TRIALS}/cfg_XXXX/ folders written by `ganlab study run`")
    from tqdm.auto import tqdm

    bar = tqdm(trials, desc=f"reading {path.name}'s trials", disable=len(trials) < 10, leave=False)
    return path.name, [read_run(p, trial_name(p)) for p in bar]


def trial_name(path):
    """cfg_0003 ns s1 (a grid study's config and seed) or cfg_0003 (a random study's trial), from
    the label its worker wrote."""
    try:
        label = json.loads((Path(path) / TRIAL_LABEL).read_text())
        group, setting = str(label["group"]), label.get("setting") or {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Path(path).name
    seed = f" s{setting['seed']}" if isinstance(setting, dict) and "seed" in setting and len(setting) == 1 else ""
    return f"{Path(path).name} {group}{seed}"


def _read_config(path):
    file = path / rundir.CONFIG
    try:
        text = file.read_text()
        data = OmegaConf.to_container(OmegaConf.create(text))
    except Exception:
        raise CheckpointError(f"{str(file)!r} is not a readable config; expected the config.yaml written by "
                              f"`ganlab train`") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{str(file)!r} does not hold a config mapping; expected the config.yaml written by "
                              f"`ganlab train`")
    return text, data


def _read_provenance(path):
    """The readable lines of provenance.jsonl (runs made before it existed have none)."""
    out = []
    try:
        lines = (path / rundir.PROVENANCE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def throughput(rows):
    """Images per second of training over the logged rows (time_s is the run's training time)."""
    pts = [(r["nimg"], r["time_s"]) for r in rows if is_number(r.get("nimg")) and is_number(r.get("time_s"))]
    if len(pts) < 2 or pts[-1][1] <= pts[0][1]:
        return None
    return (pts[-1][0] - pts[0][0]) / (pts[-1][1] - pts[0][1])


def _read_best(path):
    try:
        best = json.loads((path / rundir.BEST_JSON).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    ok = isinstance(best, dict) and isinstance(best.get("metric"), str) and is_number(best.get("value"))
    return best if ok else None


def sample_grids(path):
    found = [(float(m.group(1)), p) for p in path.glob("samples-kimg*.png") if (m := GRID.search(p.name))]
    return sorted(found)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def series(rows, key):
    """([kimg], [value]) of the rows where `key` is a finite number."""
    pts = [(r["kimg"], r[key]) for r in rows if is_number(r.get(key)) and is_number(r.get("kimg"))]
    return [p[0] for p in pts], [p[1] for p in pts]


def numeric_keys(rows):
    """Keys with a finite number in some row, in first-seen order, minus the bookkeeping ones."""
    keys = {}
    for r in rows:
        for k, v in r.items():
            if k not in BOOKKEEPING and not k.endswith("_seed_std") and not is_band(k, r) and is_number(v):
                keys.setdefault(k, None)
    return list(keys)


def is_band(key, row):
    """Whether `key` is the spread of another logged quantity (kid5k_lenet_std beside kid5k_lenet):
    drawn as that quantity's band, not as a curve of its own."""
    return key.endswith("_std") and key[:-len("_std")] in row


def band(rows, key):
    """([kimg], [value - std], [value + std]) of the rows that log `key` and `key`_std."""
    pts = [(r["kimg"], r[key], r[f"{key}_std"]) for r in rows
           if is_number(r.get("kimg")) and is_number(r.get(key)) and is_number(r.get(f"{key}_std"))]
    return [p[0] for p in pts], [p[1] - p[2] for p in pts], [p[1] + p[2] for p in pts]


def null_keys(rows):
    """Keys logged only as null so far (rkl before any high-quality sample): a note, not a curve."""
    present = {k for r in rows for k, v in r.items() if v is None}
    return sorted(present - set(numeric_keys(rows)))


def lower_is_better(key):
    """Direction of a registered metric (or of one of its parts, e.g. pr5k_lenet_recall); None if
    `key` is not a metric (a loss, a D output, ...)."""
    from ganlab.metrics import METRICS

    names = [n for n in METRICS if key == n or key.startswith(n + "_")]
    return METRICS[max(names, key=len)].lower_is_better if names else None


def best_point(run, key):
    """(kimg, value, source) of the best value of metric `key`: best.json when it names `key`, else
    the best row; None when `key` is not a metric or has no values."""
    if run.best and run.best["metric"] == key:
        return run.best.get("kimg"), run.best["value"], rundir.BEST_JSON
    lower = lower_is_better(key)
    xs, ys = series(run.rows, key)
    if lower is None or not ys:
        return None
    i = min(range(len(ys)), key=lambda j: ys[j] if lower else -ys[j])
    return xs[i], ys[i], "metrics.jsonl"


def objective_text(cfg):
    args = cfg.get("objective_args") or {}
    text = str(cfg.get("objective"))
    if args:
        text += " (" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"
    return text + (f", n_critic {cfg['n_critic']}" if cfg.get("n_critic") is not None else "")
