"""Configs to train with: the one place where a config is resolved and fully checked.

`make_config(overrides)` is the defaults with dotted-key overrides merged in and checked by every
rule, its own and those registered by the modules that own keys (data, networks, objective with
penalty and constraint, G step, packing, augmentation, label path, metrics: imported here, so every
check is registered before the first config is made). `resolve_train` is what `ganlab train`, the
Python API and the studies do to get a config: preset, config file, --set and options, or a run
to resume.
"""

from pathlib import Path

from omegaconf import OmegaConf

import ganlab.data  # noqa: F401  (each of these registers its config checks)
import ganlab.metrics  # noqa: F401
import ganlab.networks  # noqa: F401
import ganlab.objectives  # noqa: F401
import ganlab.training.augment  # noqa: F401
import ganlab.training.gstep  # noqa: F401
import ganlab.training.latent  # noqa: F401
import ganlab.training.view  # noqa: F401
from ganlab.config import parse_config, validate  # noqa: F401  (validate: re-exported, every check registered)
from ganlab import rundir
from ganlab.errors import CheckpointError, ConfigError


def make_config(overrides=None):
    """A validated Config (an OmegaConf structured DictConfig) from dotted-key overrides."""
    return parse_config(overrides)


def train_overrides(preset=None, config_file=None, sets=None, raw_sets=(), seed=None, device=None, eval_every=None):
    """The dotted-key overrides of a new run: preset <- config file <- sets <- options, with a
    description that says what changed (`raw_sets`: the --set texts, shown as given)."""
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
    state = None
    if resume_dir:
        old_cfg, state = load_resume(resume_dir, force)
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


# --- A run's config from its directory (every check run: this module imports the checking modules) ---

def config_from_yaml(text, source):
    """A validated Config from YAML text (a run's config.yaml or a checkpoint's copy)."""
    try:
        data = OmegaConf.to_container(OmegaConf.create(text))
    except Exception:
        raise CheckpointError(f"{source} is not valid YAML; expected a config written by `ganlab train`") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{source} does not hold a config mapping; expected a config written by `ganlab train`")
    try:
        return make_config(rundir.flatten(data))
    except ConfigError as exc:
        raise CheckpointError(f"{source} holds an invalid config: {exc}") from None


def load_config(path):
    """The config of a run directory from its config.yaml (for one that has no checkpoint yet)."""
    file = Path(path) / rundir.CONFIG
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError):
        raise CheckpointError(f"{str(path)!r} is not a run directory; expected a folder made by `ganlab train` "
                              f"holding a readable {rundir.CONFIG}") from None
    return config_from_yaml(text, repr(str(file)))


def load_run(path, checkpoint="latest", force=False):
    """(config, checkpoint state) of a run directory; `checkpoint` is latest, final, best or a path.

    The checkpoint must carry the directory's run id (ganlab.rundir) unless `force`."""
    path = rundir.require_run_dir(path)
    ckpt = rundir.checkpoint_path(path, checkpoint)
    from ganlab.utils.checkpoint import load_checkpoint  # torch: imported by the commands that load

    state = load_checkpoint(ckpt)
    rundir.check_identity(path, state, repr(str(ckpt)), force)
    cfg = config_from_yaml(state["config"], f"checkpoint {str(ckpt)!r}")
    return cfg, state


def load_resume(path, force=False):
    """(config, checkpoint state or None) to resume run directory `path` from.

    The latest checkpoint must carry the directory's run id and agree with its config.yaml (both
    unless `force`). A directory killed before its first checkpoint gives (its config.yaml, None):
    the run starts over in place."""
    path = rundir.require_run_dir(path, checkpoint=False)
    if not rundir.has_checkpoint(path):
        return load_config(path), None
    cfg, state = load_run(path, "latest", force)
    changed = rundir.config_changes(cfg, load_config(path))
    if changed and not force:
        raise CheckpointError(f"{rundir.CONFIG} of {str(path)!r} differs from its latest checkpoint ({', '.join(changed[:3])}); "
                              f"expected the files of one run, or --force to resume with the checkpoint's config")
    return cfg, state
