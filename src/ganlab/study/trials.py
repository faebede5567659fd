"""What a study's trials are: its groups (objectives of a random study, configs of a grid study),
the settings each group's trials get, the config overrides one trial trains with, and which metric
can score them. The grid, the launcher and the worker all read this; it reads none of them."""

from ganlab.errors import ConfigError

def is_grid(definition):
    return bool(definition.get("grid"))


def grid_entry(definition, name):
    for entry in definition["grid"]:
        if entry["name"] == name:
            return entry
    raise ConfigError(f"grid study has no config {name!r}; expected one of {', '.join(e['name'] for e in definition['grid'])}")


def group_settings(definition, group):
    """The `trials` settings of one group: drawn from the search space for a random study, the
    seeds for a grid study."""
    k, seed = definition["trials"], definition["seed"]
    if is_grid(definition):
        return [{"seed": seed + i} for i in range(k)]
    from ganlab.study.spaces import sample_settings

    return sample_settings(group, definition["space"], k, seed)


def group_recipe(definition, group):
    """(preset, objective, study-wide sets) that trials of `group` start from."""
    if not is_grid(definition):
        return definition["preset"], group, definition["sets"]
    entry = grid_entry(definition, group)
    return entry["preset"], entry["objective"], {**definition["sets"], **entry["sets"]}


def trial_overrides(definition, group, setting):
    """Dotted config overrides of one trial: preset <- study --set <- schedule <- setting. `group`
    is an objective of a random study or a config name of a grid study (ganlab.study.grid)."""
    from ganlab.metrics import METRICS
    from ganlab.presets import preset_overrides

    preset_name, objective, sets = group_recipe(definition, group)
    preset = preset_overrides(preset_name, objective)
    # No rollbacks unless the study asks: Lucic et al. score a run that blows up by what it reached,
    # and a rollback would change its learning rates behind the search's back.
    over = {"max_rollbacks": 0, **preset, **sets, "objective": objective, "kimg": definition["kimg"]}
    every, at, metric = definition["eval_every"], definition.get("eval_at") or [], definition["metric"]
    if every:
        over["snapshot_kimg"] = every  # a checkpoint at every eval point: a retried trial loses at most one interval
    if "modes" in METRICS[metric].needs:
        over["log_kimg"] = every or min(at)  # toy metrics come with every log line
    else:
        others = [m for m in sets.get("metrics", preset.get("metrics") or []) if m != metric]
        over.update(eval_kimg=every, metrics=[metric] + others)
        if at:
            over["eval_at_kimg"] = list(at)
    over.update(setting)
    return over


def check_metric(metric, data_kind, preset):
    """A ConfigError unless `metric` gives one number per eval point and fits the data."""
    from ganlab.metrics import METRICS

    if metric is None:
        raise ConfigError(f"preset {preset!r} names no metric; expected --metric (see `ganlab list metrics`)")
    spec = METRICS.lookup(metric)
    if not spec.scalar:
        raise ConfigError(f"--metric {metric} gives several numbers per eval point; expected an fid, kid, score, "
                          f"classes or toy metric (e.g. fid5k_lenet, rkl)")
    if ("modes" in spec.needs) != (data_kind == "points"):
        expected = "a toy metric (rkl, modes, hq)" if data_kind == "points" else "an image metric such as fid5k_lenet"
        raise ConfigError(f"--metric {metric} does not fit preset {preset!r}, whose data are {data_kind}s; expected {expected}")
