"""Results files of studies (`ganlab study export`, a reproduction's results.json): reading the trials
they hold as finished, so that a study continues from its committed results when its folder is gone."""

import json
import math
from pathlib import Path


def committed_trials(path, definition, log=print):
    """{cfg_id: (score, record)} of the completed trials in a committed results file written for the
    same definition (see launcher.create_or_resume's `finished`): a reproduction longer than one
    sitting continues from its docs even when its study folder is gone. A grid study may differ in
    its number of seeds (--seeds) and its configs (rows added or changed): a trial is matched by its
    config, which must be the same entry in both, and its seed. {} when there is no such file or it
    was written for another definition."""
    from ganlab.errors import ConfigError
    from ganlab.study.storage import definition_difference

    path = Path(path)
    if not path.is_file():
        return {}
    try:
        committed = json.loads(path.read_text())
        old, trials = committed["definition"], committed["trials"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} cannot be read as a reproduction's results ({type(exc).__name__}: {exc}); "
                          f"expected a results file that `ganlab reproduce` or `ganlab study export` writes, or no file") from None
    grid = bool(definition.get("grid")) and bool(old.get("grid"))
    same = ("trials", "objectives", "grid") if grid else ()
    differs = definition_difference({**old, **{key: definition[key] for key in same}}, definition)
    if differs:
        log(f"{path} was written for another definition ({differs}); nothing carried over from it")
        return {}
    groups, k, first = definition["objectives"], definition["trials"], definition["seed"]
    out = {}
    for t in trials:
        config, seed, score = t.get("config"), t.get("seed"), t.get("score")
        if (t.get("state") != "COMPLETE" or config not in groups or not isinstance(seed, int)
                or not isinstance(score, (int, float)) or not math.isfinite(score)):
            continue
        if grid and _entry(old, config) != _entry(definition, config):
            continue  # the row's config changed: its trials run again
        index = seed - first if grid else t.get("cfg_id", -1) - groups.index(config) * k
        if not 0 <= index < k:
            continue
        out[groups.index(config) * k + index] = (float(score), {"evals": t.get("evals") or {}, "time_s": t.get("time_s"),
                                                                 "source": str(path)})
    return out


def _entry(definition, name):
    return next((e for e in definition["grid"] if e.get("name") == name), None)
