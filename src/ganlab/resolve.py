"""Configs to train with: the one place where a config is resolved and fully checked.

`make_config(overrides)` is the defaults with dotted-key overrides merged in and checked by every
rule, its own and those registered by the modules that own keys (data, networks, objective with
penalty and constraint, G step, packing, augmentation, label path, metrics: imported here, so every
check is registered before the first config is made). `resolve_train` is what `ganlab train`, the
Python API and the studies do to get a config: preset, config file, --set and options, or a run
to resume.
"""

from pathlib import Path

import ganlab.data  # noqa: F401  (each of these registers its config checks)
import ganlab.metrics  # noqa: F401
import ganlab.networks  # noqa: F401
import ganlab.objectives  # noqa: F401
import ganlab.training.augment  # noqa: F401
import ganlab.training.gstep  # noqa: F401
import ganlab.training.latent  # noqa: F401
import ganlab.training.view  # noqa: F401
from ganlab.config import parse_config, validate  # noqa: F401  (validate: re-exported, every check registered)
from ganlab.errors import ConfigError


def make_config(overrides=None):
    """A validated Config (an OmegaConf structured DictConfig) from dotted-key overrides."""
    return parse_config(overrides)


def train_overrides(preset=None, config_file=None, sets=None, raw_sets=(), seed=None, device=None, eval_every=None):
    """The dotted-key overrides of a new run: preset <- config file <- sets <- options, with a
    description that says what changed (`raw_sets`: the --set texts, shown as given)."""
    from ganlab import rundir
    from ganlab.presets import PRESETS, preset_overrides

    sets = dict(sets or {})
    from_file = rundir.overrides_from_file(config_file) if config_file else {}
    objective = sets.get("objective", from_file.get("objective"))
    overrides = preset_overrides(preset, objective) if preset else {}
    if preset:
        overrides["description"] = f"{preset}: {overrides['description']}"
    overrides.update(from_file)
    overrides.update(sets)
    if "description" not in sets and set(sets) - {"seed"}:  # what changed comes first
        base = from_file.get("description") or (PRESETS.lookup(preset)["description"] if preset else "")
        head = preset or (Path(config_file).name if config_file else "defaults")
        shown = list(raw_sets) or [f"{k}={v}" for k, v in sets.items()]
        overrides["description"] = f"{head} with {', '.join(shown)}" + (f" (the base: {base})" if base else "")
    for key, value in (("seed", seed), ("device", device), ("eval_kimg", eval_every)):
        if value is not None:
            overrides[key] = value
    return overrides


def resolve_train(overrides, resume_dir=None, force=False, kimg=None, epochs=None):
    """(cfg, checkpoint state or None, dataset or None) to train: a new run's config from
    `overrides`, or the run at `resume_dir` with `overrides` on its own config (a change refused
    without `force`); the length from `kimg` or `epochs` (which loads the dataset, returned)."""
    from ganlab import rundir

    state = None
    if resume_dir:
        old_cfg, state = rundir.load_resume(resume_dir, force)
        cfg = make_config({**rundir.flatten(rundir.config_to_dict(old_cfg)), **overrides})
        changed = rundir.config_changes(old_cfg, cfg)
        if changed and not force:
            raise ConfigError(f"--resume with a changed config ({', '.join(changed[:5])}) is refused; expected the "
                              f"run's own config, or --force")
    else:
        cfg = make_config(overrides)
    dataset = None
    if epochs is not None:
        from ganlab.data import load_dataset

        dataset = load_dataset(cfg.data)
        cfg.kimg = epochs * len(dataset) / 1000
    elif kimg is not None:
        cfg.kimg = kimg
    validate(cfg)  # the length too (click lets nan through its ranges)
    return cfg, state, dataset
