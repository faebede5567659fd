"""Run a reproduction's study and write its docs folder (see ganlab.reproduce)."""

import json
import math
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from ganlab.reproduce import REPRODUCTIONS
from ganlab.study.results import committed_trials  # noqa: F401  (a reproduction continues from its results.json)
from ganlab.utils.stats import format_spread


@dataclass
class Trial:
    """One trial of the study as the write-up reads it."""
    cfg_id: int
    group: str                  # the grid config's name (or the objective of a random study)
    seed: int                   # the trial's training seed (grid) or setting index (random)
    state: str                  # COMPLETE, FAIL, RUNNING, WAITING, MISSING
    run_dir: Path
    value: float = None         # the study's score (best of its metric over eval points)
    evals: dict = field(default_factory=dict)   # {metric: {kimg: value}} at the eval points
    grids: list = field(default_factory=list)   # [(kimg, png path)]
    time_s: float = None        # training wall time of its run (metrics.jsonl's last time_s)
    error: str = None
    carried: bool = False       # run before this study: read from a committed results.json


@dataclass
class Results:
    name: str
    quick: bool
    definition: dict
    trials: list
    folder: Path = None         # the docs folder the page is written to (committed files are read from it)
    meta: dict = field(default_factory=dict)  # results.json's record of how the trials were run (see page_header)

    def of(self, group, complete=True):
        return [t for t in self.trials if t.group == group and (t.state == "COMPLETE" or not complete)]

    def values(self, group, metric, kimg):
        """The metric at eval point `kimg` of every completed trial of `group` (None where missing)."""
        return [at_point(t.evals.get(metric, {}), kimg) for t in self.of(group)]

    def finals(self, group, metric):
        """The metric at each completed trial's last eval point (None where it has no value there: a
        toy run without high-quality samples has no reverse KL; an earlier point's value is not it)."""
        return [final(t.evals, metric) for t in self.of(group)]

    def spread(self, group, metric, kimg, digits=4):
        return format_spread(self.values(group, metric, kimg), digits)

    @property
    def eval_points(self):
        """The kimg of every eval point some trial reached, sorted."""
        return sorted({k for t in self.trials for series in t.evals.values() for k in series})


def final(evals, metric):
    """{metric: {kimg: value}}'s value of `metric` at the last eval point of any metric, or None."""
    points = [k for series in evals.values() for k in series]
    if not points:
        return None
    last = max(points)
    series = evals.get(metric) or {}
    return next((v for k, v in series.items() if abs(k - last) < 1e-6), None)


def at_point(series, kimg):
    """The value of {kimg: value} at eval point `kimg`: the first evaluation at or after it (an eval
    point falls inside a training step, and is evaluated at that step's end), or None."""
    after = [k for k in series if k >= kimg - 1e-9]
    return series[min(after)] if after else None


def results_from_file(path, name, quick):
    """The Results a committed results.json holds (no run directories: no sample grids); the page it
    backs is generated from it alone (see render_page)."""
    from ganlab.errors import ConfigError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        trials = [Trial(t["cfg_id"], t["config"], t["seed"], t["state"], None, value=t.get("score"),
                        evals={m: {float(k): v for k, v in series.items()} for m, series in (t.get("evals") or {}).items()},
                        time_s=t.get("time_s"), error=t.get("error"), carried=bool(t.get("carried")))
                  for t in data["trials"]]
        definition = data["definition"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path} cannot be read as a reproduction's results ({type(exc).__name__}: {exc}); "
                          f"expected the results.json that `ganlab reproduce` writes") from None
    meta = {k: v for k, v in data.items() if k not in ("trials", "definition")}
    return Results(name, quick, definition, trials, folder=path.parent, meta=meta)


def study_name(name, quick):
    return f"reproduce-{name}" + ("-quick" if quick else "")


def docs_folder(out, name, quick):
    return Path(out) / name / "quick" if quick else Path(out) / name


def collect(study, definition, folder, name, quick):
    """Results of the study's trials, read from the storage (state, score) and their run directories."""
    from ganlab import rundir
    from ganlab.report.rundata import sample_grids
    from ganlab.study.storage import cfg_table

    trials = []
    k = definition["trials"]
    for cfg_id, row in sorted(cfg_table(study, definition).items()):
        run_dir = Path(folder) / "trials" / f"cfg_{cfg_id:04d}"
        index = cfg_id % k
        seed = definition["seed"] + index if definition.get("grid") else index
        t = Trial(cfg_id, row["objective"], seed, row["state"], run_dir, value=row["value"], error=row["error"])
        record = row["trial"].user_attrs.get("carried") if row["trial"] is not None else None
        if record is not None and not run_dir.is_dir():
            t.carried, t.time_s = True, record.get("time_s")
            t.evals = {m: {float(k): v for k, v in series.items()} for m, series in record.get("evals", {}).items()}
        elif run_dir.is_dir():
            records = rundir.read_metrics(run_dir)
            for r in records:
                if not isinstance(r, dict) or r.get("eval") or "nimg" not in r:
                    continue
                if "time_s" in r:
                    t.time_s = r["time_s"]
                for key, v in r.items():
                    if key in SKIP or not (v is None or isinstance(v, (int, float))) or isinstance(v, bool):
                        continue
                    if _is_metric(key):  # None (a toy run without high-quality samples has no reverse KL) is kept
                        finite = v is not None and math.isfinite(v)
                        t.evals.setdefault(key, {})[r["nimg"] / 1000] = float(v) if finite else None
            t.grids = sample_grids(run_dir)
        trials.append(t)
    return Results(name, quick, definition, trials)


SKIP = ("kimg", "nimg", "g_steps", "time_s")


def _is_metric(key):
    from ganlab.metrics import METRICS

    return key in METRICS or any(key.startswith(m + "_") for m in METRICS)


def command_line(name, quick, seeds, workers, kimg=None, sets=None):
    parts = ["ganlab", "reproduce", name] + (["--quick"] if quick else []) + ["--seeds", str(seeds)]
    parts += ["--workers", str(workers)] if workers != 1 else []
    parts += ["--kimg", f"{kimg:g}"] if kimg is not None else []
    for k, v in (sets or {}).items():
        parts += ["--set", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
    return shlex.join(parts)


def reproduce(name, quick=False, seeds=None, workers=1, out="docs/reproductions", studies="studies", storage=None,
              kimg=None, sets=None, log=print):
    """Run reproduction `name` (continuing its study if it exists) and write its docs; returns the
    README's path. `kimg` and `sets` change every run (see Reproduction.schedule). `workers` 0:
    run nothing, write the docs from the trials of the existing study finished so far."""
    from ganlab.errors import ConfigError
    from ganlab.study.launcher import run_study
    from ganlab.study.storage import default_url, definition_difference, load_study

    rep = REPRODUCTIONS.lookup(name)(kimg, sets)
    seeds = seeds or (rep.quick_seeds if quick else rep.default_seeds)
    definition = rep.definition(quick, seeds)
    sname = study_name(name, quick)
    folder = Path(studies) / sname
    url = storage or default_url(folder)
    start = time.time()
    if workers == 0:  # read the study as it stands: nothing enqueued, nothing run
        study, old = load_study(sname, url, folder)
        if definition_difference(old, definition):
            raise ConfigError(f"--docs-only: study {sname!r} was run with another definition "
                              f"({definition_difference(old, definition)}); expected the same --seeds, --kimg and --set")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        finished = committed_trials(docs_folder(out, name, quick) / "results.json", definition, log)
        study = run_study(sname, studies, url, definition, workers, log=log, finished=finished)
    wall = time.time() - start
    return write_docs(rep, study, definition, folder, name, quick, seeds, workers, wall, out)


REPORT_LIMIT = 2e6  # bytes: a larger report stays in the study folder, out of the committed docs


def provenance(workers):
    """How this invocation ran: ganlab's version and commit, torch, threads, cores."""
    import torch

    from ganlab.utils.provenance import versions

    v = versions()
    return {"ganlab": v["ganlab"], "commit": v["commit"], "torch": v["torch"], "threads": torch.get_num_threads(),
            "cores": os.cpu_count(), "workers": workers, "python": v["python"]}


def write_docs(rep, study, definition, folder, name, quick, seeds, workers, wall, out):
    """Collect the study's trials, draw the figures, write report.html, results.json and the page
    generated from results.json (render_page: the same text `ganlab reproduce --check` regenerates)."""
    from ganlab.report.html import write_report

    results = collect(study, definition, folder, name, quick)
    docs = docs_folder(out, name, quick)
    docs.mkdir(parents=True, exist_ok=True)
    results.folder = docs
    rep.figures(results, docs, study)
    report = write_report([folder], docs / "report.html")
    size = report.stat().st_size
    if size > REPORT_LIMIT:  # too large for the docs: it stays with the study
        os.replace(report, folder / "report.html")
    done = [t for t in results.trials if t.state == "COMPLETE"]
    results.meta = {"command": command_line(name, quick, seeds, max(workers, 1), rep.kimg, rep.sets),
                    "wall_s": round(wall, 1), "train_s": round(sum(t.time_s or 0 for t in done), 1),
                    "docs_only": workers == 0, "study_folder": str(folder),
                    "report": {"bytes": size, "in_docs": size <= REPORT_LIMIT},
                    "provenance": provenance(max(workers, 1))}
    data = {**results.meta, "definition": definition, "trials": trial_records(results.trials)}
    write_atomic(docs / "results.json", json.dumps(data, indent=1, sort_keys=True) + "\n")
    readme = docs / "README.md"
    write_atomic(readme, render_page(rep, results_from_file(docs / "results.json", name, quick)))
    return readme


def trial_records(trials):
    """The trials as a results file holds them."""
    return [{"cfg_id": t.cfg_id, "config": t.group, "seed": t.seed, "state": t.state, "score": t.value,
             "time_s": t.time_s, "evals": {m: {f"{k:.10g}": v for k, v in s.items()} for m, s in t.evals.items()},
             "error": t.error, **({"carried": True} if t.carried else {})} for t in trials]


def study_results(study, definition, folder, name, command=None):
    """A results file's contents for any study (`ganlab study export`): its trials as they stand."""
    results = collect(study, definition, folder, name, False)
    done = [t for t in results.trials if t.state == "COMPLETE"]
    return {"command": command, "study": name, "study_folder": str(folder),
            "train_s": round(sum(t.time_s or 0 for t in done), 1), "provenance": provenance(None),
            "recipes": {g: recipe_hash(definition, g) for g in definition["objectives"]},
            "definition": definition, "trials": trial_records(results.trials)}


def recipe_hash(definition, group):
    """12 hex digits naming the resolved config a group's trials train with, seed aside: the same
    recipe gives the same hash, any change of preset, --set or schedule another."""
    import hashlib

    from ganlab.resolve import make_config
    from ganlab.rundir import config_to_dict
    from ganlab.study.trials import trial_overrides

    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    # Only what differs from the schema's defaults: a config key added later, at its default, leaves
    # every recipe's hash as it was.
    cfg, default = flat(config_to_dict(make_config(trial_overrides(definition, group, {"seed": 0})))), \
        flat(config_to_dict(make_config({})))
    recipe = {k: v for k, v in cfg.items() if k != "description" and (k not in default or default[k] != v)}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:12]


def write_atomic(path, text):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def page_header(rep, results):
    """The page's first lines: what is reproduced, the command, the trials and the time they took."""
    meta, name, quick = results.meta, results.name, results.quick
    done = [t for t in results.trials if t.state == "COMPLETE"]
    carried = sum(t.carried for t in done)
    train_s = sum(t.time_s or 0 for t in done)
    ran_s = sum(t.time_s or 0 for t in done if not t.carried)
    wall, workers = meta.get("wall_s", 0.0), meta.get("provenance", {}).get("workers", 1)
    cores = meta.get("provenance", {}).get("cores")
    return [f"# {rep.title}" + (" (quick variant)" if quick else ""), "",
            f"Reproduces: {rep.source}", "",
            f"Settings: {rep.chosen_on}.", "",
            f"Command: `{meta.get('command')}` (the study `{study_name(name, quick)}` under `studies/`; run it again to "
            f"continue an interrupted one).", "",
            f"Trials: {len(done)} of {len(results.trials)} complete"
            + (f", {len(results.trials) - len(done)} not (see `ganlab study status {study_name(name, quick)}`)"
               if len(done) < len(results.trials) else "")
            + (f"; {carried} of them carried over from the committed results.json of an earlier run (their "
               f"curves and samples are not in the report)" if carried else "")
            + f". Training time of the completed trials: {train_s / 60:.1f} min in total; "
            + ("these docs were written from the trials finished so far (`--docs-only`)." if meta.get("docs_only") else
               f"this invocation took {wall / 60:.1f} min of wall time with {workers} worker(s) on "
               f"{cores} CPU core(s)"
               + (" (it found trials already finished)" if wall < 0.5 * ran_s / max(1, workers) else "") + "."),
            "", precision_line(results.definition, meta), ""]


def precision_line(definition, meta):
    """Which arithmetic the trials trained in and which ganlab commit wrote the results."""
    sets = definition.get("sets") or {}
    precision = "bf16" if sets.get("bf16") else sets.get("precision", "fp32")
    prov = meta.get("provenance") or {}
    words = {"fp32": "fp32 (no autocast)", "bf16": "bf16 autocast (docs/results/bf16: no difference from fp32 shown on "
                                                   "the mnist5k preset)", "fp16": "fp16 autocast with gradient scaling"}
    if not prov.get("ganlab"):
        return f"Precision: {words.get(precision, precision)}; the results file predates provenance records (commit unknown)."
    return (f"Precision: {words.get(precision, precision)}; written by ganlab {prov.get('ganlab')} at commit "
            f"{prov.get('commit') or 'unknown'}, torch {prov.get('torch')}.")


def page_footer(results):
    report = results.meta.get("report")
    if not report:
        return []
    folder = results.meta.get("study_folder")
    size = report["bytes"]
    if report["in_docs"]:
        return ["", f"Every trial's curves and samples: [report.html](report.html) (written by `ganlab report "
                    f"{folder}`; {size / 1e6:.1f} MB, self-contained)."]
    return ["", f"Every trial's curves and samples: `ganlab report {folder}` writes them ({folder}/report.html, "
                f"{size / 1e6:.1f} MB, self-contained; not in the docs above {REPORT_LIMIT / 1e6:g} MB)."]


def render_page(rep, results):
    """The page (README.md text) of a reproduction, from its results alone: header, the
    reproduction's sections, footer. Pure: the same results give the same text."""
    return "\n".join(page_header(rep, results) + rep.sections(results, results.folder) + page_footer(results)) + "\n"
