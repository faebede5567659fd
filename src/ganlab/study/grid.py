"""Grid studies: a fixed list of named configs, each trained once per seed.

A random-search study (Lucic et al.) draws K settings per objective; a grid study is what a
reproduction needs instead: every config of a paper's table, each with seeds 0..N-1, queued once
and run by the same workers, storage and crash safety. A grid definition is a study definition
whose `grid` lists the configs:

    {"name": "lsgan", "preset": "report-lsgan", "objective": "lsgan", "sets": {"kimg": 100}}

Its groups (`objectives` in the definition, the report's rows) are the config names, `trials` is
the number of seeds, and trial i of a config is `{"seed": seed + i}` on top of the config's preset
and sets. A config file for `ganlab study run --grid FILE` is YAML:

    configs:
      - {name: ns, preset: report-gan}
      - {name: lsgan-mm-w0.5, preset: report-lsgan-mm, sets: {objective_args.weight: 0.5}}
"""

import json
import re
from pathlib import Path

from ganlab.errors import ConfigError
from ganlab.study.trials import check_metric, group_settings, trial_overrides

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
ENTRY_KEYS = ("name", "preset", "objective", "sets")


def normalise_entries(entries, source="the grid"):
    """Checked grid entries [{name, preset, objective, sets}] (objective defaulting to the preset's)."""
    from ganlab.objectives import OBJECTIVES
    from ganlab.presets import PRESETS

    if not isinstance(entries, (list, tuple)) or not entries:
        raise ConfigError(f"{source} has no configs; expected a non-empty list such as [{{name: ns, preset: report-gan}}]")
    out, names = [], set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "name" not in e or "preset" not in e:
            raise ConfigError(f"{source}: config {i} is {e!r}; expected a mapping with name and preset (and optionally "
                              f"objective, sets)")
        unknown = sorted(set(e) - set(ENTRY_KEYS))
        if unknown:
            raise ConfigError(f"{source}: config {e['name']!r} has unknown key(s) {', '.join(map(str, unknown))}; "
                              f"expected only {', '.join(ENTRY_KEYS)}")
        name = e["name"]
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError(f"{source}: config name {name!r} is not usable; expected letters, digits, . _ + - "
                              f"(at most 64, starting with a letter or digit)")
        if name in names:
            raise ConfigError(f"{source} names config {name!r} twice; expected each name once")
        names.add(name)
        preset = PRESETS.lookup(e["preset"])
        sets = e.get("sets") or {}
        if not isinstance(sets, dict) or not all(isinstance(k, str) for k in sets):
            raise ConfigError(f"{source}: config {name!r} has sets {sets!r}; expected a mapping of dotted keys to values")
        sets = dict(sets)
        if "objective" in sets:  # `sets: {objective: r1, objective_args.gamma: 1}` means the entry's objective
            if e.get("objective") not in (None, sets["objective"]):
                raise ConfigError(f"{source}: config {name!r} names objective {e['objective']!r} and sets objective "
                                  f"{sets['objective']!r}; expected one objective")
            e = {**e, "objective": sets.pop("objective")}
        objective = e.get("objective") or preset.get("objective", "nonsaturating")
        OBJECTIVES.lookup(objective)
        out.append({"name": name, "preset": e["preset"], "objective": objective, "sets": sets})
    return out


def read_grid_file(path):
    """The `configs` list of a grid YAML file, checked (no YAML tags: plain data only)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read grid file {str(path)!r} ({exc.strerror}); expected a YAML file with a "
                          f"`configs:` list") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"grid file {str(path)!r} is not valid YAML; expected a `configs:` list of "
                          f"{{name, preset, objective, sets}}") from None
    if not isinstance(data, dict) or "configs" not in data:
        raise ConfigError(f"grid file {str(path)!r} has no `configs:` list; expected e.g. "
                          f"configs: [{{name: ns, preset: report-gan}}]")
    return normalise_entries(data["configs"], f"grid file {str(path)!r}")


def make_grid_definition(entries, seeds=1, kimg=None, eval_every=None, eval_at=(), metric=None, seed=0, sets=None):
    """The validated definition of a grid study; every (config, seed) is checked before anything
    is written. `kimg` None keeps each config's own length (all must agree: one study, one length)."""
    from ganlab.resolve import make_config
    from ganlab.data import load_dataset
    from ganlab.metrics import METRICS
    from ganlab.presets import preset_overrides
    from ganlab.rundir import config_to_dict
    from ganlab.study.storage import ganlab_version

    entries = normalise_entries(entries)
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds {seeds} is out of range; expected an integer >= 1")
    sets = dict(sets or {})
    if kimg is None:
        lengths = {float({**preset_overrides(e["preset"], e["objective"]), **sets, **e["sets"]}.get("kimg", 100.0))
                   for e in entries}
        if len(lengths) > 1:
            raise ConfigError(f"the grid's configs have different lengths ({', '.join(f'{k:g}' for k in sorted(lengths))} "
                              f"kimg); expected --kimg for all of them")
        kimg = lengths.pop()
    kimg = float(kimg)
    eval_at = sorted(float(k) for k in eval_at)
    if eval_every is None and not eval_at:
        eval_every = kimg / 5
    if kimg <= 0 or (eval_every is not None and eval_every <= 0) or any(not 0 < k <= kimg for k in eval_at):
        raise ConfigError(f"--kimg {kimg:g} / eval every {eval_every} / at {eval_at} is out of range; expected numbers "
                          f"> 0, eval points within the run")
    kinds = {}  # data config -> "image" | "points": each dataset is loaded once, and must load now
    for e in entries:
        cfg = make_config({**preset_overrides(e["preset"], e["objective"]), **sets, **e["sets"], "objective": e["objective"]})
        key = json.dumps(config_to_dict(cfg.data), sort_keys=True)
        if key not in kinds:
            kinds[key] = load_dataset(cfg.data).kind
        e_kind = kinds[key]
        if metric is None:  # the first of the config's metrics that gives one number per eval point
            metric = "rkl" if e_kind == "points" else next(
                (m for m in cfg.metrics if METRICS.lookup(m).scalar), None)
        check_metric(metric, e_kind, e["preset"])
    definition = {"preset": "grid", "objectives": [e["name"] for e in entries], "space": "grid", "trials": seeds,
                  "kimg": kimg, "eval_every": None if eval_every is None else float(eval_every), "eval_at": eval_at,
                  "metric": metric, "seed": int(seed), "sets": sets, "grid": entries, "ganlab_version": ganlab_version()}
    for e in entries:
        for setting in group_settings(definition, e["name"]):
            make_config(trial_overrides(definition, e["name"], setting))
    return definition
