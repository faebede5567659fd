"""`ganlab report`: one self-contained HTML file for a run, several runs, or a study.

A run's page: what was trained, its fixed-z sample grids over training, its curves from
metrics.jsonl (best point starred, rollbacks as dashed lines), `ganlab eval` results and the
resolved config. Several runs (or a study's trials): a table of what differs and how each ended,
one curve per run for each quantity, and the final grids side by side (ganlab.report.compare).
Everything is read from run directories only; images are inlined, so the file opens from disk.
"""

import datetime
import os
from pathlib import Path

from ganlab import rundir
from ganlab.errors import CheckpointError
from ganlab.report import page
from ganlab.report.page import esc
from ganlab.report.compare import compare_page
from ganlab.report.plots import GROUPS, TITLES, Panel, render
from ganlab.report.rundata import (band, best_point, is_number, is_study_dir, load_study, read_run, lower_is_better,
                                   null_keys, numeric_keys, objective_text, series, throughput)

REPORT = "report.html"
STRIP = 6  # grids in the strip over training (evenly spaced, first and last included)


def write_report(paths, out=None):
    """Write the report of `paths` (one run directory, one study folder, or several of either) to
    `out` (default: RUN_DIR/report.html, STUDY_DIR/report.html, or ./report.html for several);
    returns its path."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise CheckpointError("no run directory given; expected RUN_DIR, STUDY_DIR or several RUN_DIRs")
    title, body = build(paths)
    out = Path(out) if out else (paths[0] / REPORT if len(paths) == 1 else Path(REPORT))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page.document(title, body), encoding="utf-8")
    os.replace(tmp, out)
    return out


def build(paths):
    """(title, body HTML) for the given run directories / study folders."""

    if len(paths) == 1 and is_study_dir(paths[0]):
        name, runs = load_study(paths[0])
        return f"Study {name}", compare_page(f"Study {name}", runs, study_dir=paths[0])
    runs = []
    for p in paths:
        runs += load_study(p)[1] if is_study_dir(p) else [read_run(p)]
    if len(runs) == 1:
        return runs[0].name, run_page(runs[0])
    _unique_names(runs)
    return f"{len(runs)} runs", compare_page(f"Comparison of {len(runs)} runs", runs)


def _unique_names(runs):
    """Label runs by folder name, with the parent folder where two names clash (cfg_0000 of two studies)."""
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1:
            r.name = f"{r.path.parent.parent.name if r.path.parent.name == 'trials' else r.path.parent.name}/{r.name}"


# --- A run -----------------------------------------------------------------------------------------

def run_page(run):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [f"<h1>{esc(run.name)}</h1>", page.para(f"{run.path.resolve()} — report written {stamp} by ganlab report", "muted"),
             section_summary(run), section_provenance(run), section_samples(run), section_curves(run), section_rollbacks(run),
             section_evals(run), section_latent(run), page.section("Resolved config (config.yaml)", page.pre(run.config_text))]
    return "\n".join(p for p in parts if p)


def net_text(net):
    if not isinstance(net, dict):
        return "-"
    extra = [f"{k}={v}" for k in ("activation", "norm") if (v := net.get(k)) is not None]
    extra += ["spectral norm"] if net.get("spectral_norm") else []
    return f"{net.get('arch')}, width {net.get('width')}, depth {net.get('depth')}" + (f" ({', '.join(extra)})" if extra else "")


def data_text(data, toy):
    if not isinstance(data, dict):
        return "-"
    keys = ("path", "resolution", "channels") + (("n",) if toy else ())  # n: points drawn from a toy mixture
    bits = [str(data.get("name"))] + [f"{k} {data[k]}" for k in keys if data.get(k) is not None]
    return ", ".join(bits)


def optimizer_text(opt):
    if not isinstance(opt, dict):
        return "-"
    return f"{opt.get('name')}(lr {opt.get('lr')}, betas {opt.get('beta1')}, {opt.get('beta2')})"


def length_text(run):
    planned, reached = run.config.get("kimg"), run.last.get("kimg")
    if reached is None:
        return f"{fmt_kimg(planned)} planned; no metrics logged yet"
    state = "finished" if run.finished else "stopped or still running (no checkpoint-final.pt)"
    return f"{fmt_kimg(reached)} of {fmt_kimg(planned)} planned, {state}"


def fmt_kimg(v):
    return f"{v:g} kimg" if isinstance(v, (int, float)) else "?"


def best_text(run):
    if run.best:
        at = run.best.get("kimg")
        return f"{run.best['metric']} {run.best['value']:.4g} at {fmt_kimg(at)} ({rundir.BEST_JSON}, {rundir.BEST})"
    points = [(k, best_point(run, k)) for k in numeric_keys(run.rows)]
    shown = [f"{k} {p[1]:.4g} at {fmt_kimg(p[0])}" for k, p in points if p]
    if shown:
        return "; ".join(shown) + " (from metrics.jsonl; no best.json)"
    evaluated = [k for k in numeric_keys(run.evals) if lower_is_better(k) is not None]
    if evaluated:  # only `ganlab eval` rows: their table is below
        return f"none during training; {', '.join(evaluated)} from ganlab eval (table below)"
    return "no metric evaluated"


def section_summary(run):
    cfg = run.config
    wall = run.last.get("time_s")
    pairs = [("description", cfg.get("description")), ("objective", objective_text(cfg)),
             ("generator G", net_text(cfg.get("G"))), ("discriminator D", net_text(cfg.get("D"))),
             ("latent z", f"{cfg.get('z_dim')}-d {cfg.get('z_prior')}"), ("data", data_text(cfg.get("data"), run.is_toy)),
             ("optimisers", f"G {optimizer_text(cfg.get('g_opt'))}; D {optimizer_text(cfg.get('d_opt'))}"),
             ("batch size", cfg.get("batch_size")), ("seed", cfg.get("seed")), ("length", length_text(run)),
             ("wall time", "-" if wall is None else f"{wall:.1f} s"), ("best metric", best_text(run)),
             ("rollbacks", len(run.rollbacks)), ("run id", run_id(run))]
    return page.section("Run", page.key_values(pairs))


def section_provenance(run):
    """What trained the run: each start or resume (provenance.jsonl), sizes and speed."""
    speed = throughput(run.rows)
    first = run.provenance[0] if run.provenance else {}
    sizes = (f"G {first['G_params']:,}, D {first['D_params']:,}" if is_number(first.get("G_params"))
             and is_number(first.get("D_params")) else "-")
    pairs = [("parameters", sizes), ("throughput", "-" if speed is None else f"{speed:.0f} img/s of training "
                                                                             f"(images shown to D per second, over the logged rows)")]
    if not run.provenance:
        return page.section("Provenance", page.key_values(pairs),
                            page.note(f"no {rundir.PROVENANCE} (a run made before ganlab recorded it)"))
    headers = ("started", "at kimg", "command", "ganlab", "commit", "torch", "device", "threads", "processes", "precision")
    rows = [(e.get("started"), e["nimg"] / 1000 if is_number(e.get("nimg")) else None, e.get("command") or "(from Python)",
             e.get("ganlab"), e.get("commit") or "-", e.get("torch"), e.get("device"), e.get("threads"),
             e.get("processes"), e.get("precision")) for e in run.provenance]
    return page.section("Provenance", page.key_values(pairs),
                        page.para(f"Each start or resume ({rundir.PROVENANCE}); the learning rates are a curve below.",
                                  "muted"),
                        page.table(headers, rows, numeric=("at kimg", "threads", "processes")))


def run_id(run):
    try:
        return rundir.read_identity(run.path)
    except CheckpointError:  # a damaged run.json does not stop the report
        return "unreadable run.json"


def pick_grids(grids, n=STRIP):
    """`n` evenly spaced grids (first and last included), in order."""
    if len(grids) <= n:
        return list(grids)
    idx = sorted({round(i * (len(grids) - 1) / (n - 1)) for i in range(n)})
    return [grids[i] for i in idx]


def section_samples(run):
    title = "Samples from one fixed z over training" + (" (generated points over the data)" if run.is_toy else "")
    if not run.grids:
        return page.section(title, page.note("no samples yet (grids are written at every snapshot)"))
    strip = [_grid_figure(k, p, "thumb", 512) for k, p in pick_grids(run.grids)]
    kimg, last = run.grids[-1]
    large = _grid_figure(kimg, last, "large", page.LARGE_PX, caption=f"latest: {kimg:g} kimg ({last.name})")
    return page.section(title, page.para(f"{len(run.grids)} grid(s); {len(strip)} shown evenly spaced, the latest below."),
                        page.row(strip), large)


def _grid_figure(kimg, path, cls, max_px, caption=None):
    png = page.png_of(path, max_px)
    caption = caption or f"{kimg:g} kimg"
    if png is None:
        return f"<figure>{page.note(f'{path.name} is unreadable')}</figure>"
    return page.figure(png, f"samples at {kimg:g} kimg", caption, cls)


def run_panels(run):
    """Panels of a run: the grouped training statistics, then one per other quantity."""
    vlines = [r["diverged_kimg"] for r in run.rollbacks if isinstance(r.get("diverged_kimg"), (int, float))]
    grouped = {k for _, keys, _ in GROUPS for k in keys}
    panels = []
    for title, keys, logy in GROUPS:
        panels.append(Panel(title, [(k, *series(run.rows, k)) for k in keys], vlines=vlines, logy=logy))
    for key in numeric_keys(run.rows + run.evals):
        if key in grouped:
            continue
        best = best_point(run, key)
        lines = [(key, *series(run.rows, key))]
        spread = band(run.rows, key)
        panels.append(Panel(TITLES.get(key, key) + (" (band: ± its _std)" if spread[0] else ""),
                            [ln for ln in lines if ln[1]], vlines=vlines,
                            best=[(key, best[0], best[1])] if best else [],
                            points=[(key, *series(run.evals, key))] if run.evals else [],
                            bands=[(key, *spread)] if spread[0] else []))
    return [p for p in panels if not p.empty]


def section_curves(run):
    if not run.rows:
        return page.section("Curves", page.note("no metrics yet (metrics.jsonl has no logging rows)"))
    figures = [page.img(render(p), p.title, "curve") for p in run_panels(run)]
    legend = "Stars: best value (from best.json where it names the metric); dashed red lines: rollbacks after non-finite losses."
    nulls = [page.note(f"{TITLES.get(k, k)} ({k}): no value yet, null in every row") for k in null_keys(run.rows)]
    return page.section("Curves (from metrics.jsonl)", page.para(legend, "muted"), page.row(figures), *nulls)


def section_rollbacks(run):
    if not run.rollbacks:
        return ""
    rows = [(r.get("diverged_kimg"), r.get("kimg"), r.get("problem"), r.get("rollbacks"), r.get("lr_scale"))
            for r in run.rollbacks]
    headers = ("diverged at kimg", "rolled back to kimg", "problem", "rollbacks so far", "lr scale")
    return page.section("Rollbacks", page.table(headers, rows, numeric=headers[:2] + headers[3:]))


def section_evals(run):
    if not run.evals:
        return ""
    keys = numeric_keys(run.evals)
    headers = ("kimg", "checkpoint", "seeds", *keys)
    rows = [(r.get("kimg"), r.get("checkpoint"), r.get("seeds"), *(_with_std(r, k) for k in keys)) for r in run.evals]
    return page.section("Evaluations (ganlab eval)", page.table(headers, rows, numeric=("kimg", "seeds", *keys)))


# Figures the latent tools write into the run directory by default (ganlab.cli.sample).
LATENT_FIGURES = (("interpolate-seed*.png", "latent walks (ganlab interpolate)"),
                  ("traverse*-seed*.png", "InfoGAN code traversal (ganlab interpolate --traverse)"),
                  ("neighbours-seed*.png", "samples beside their nearest training images (ganlab neighbours)"))


def section_latent(run):
    """The latent walks and nearest-neighbour panels found in the run directory, with the
    memorisation check's numbers from neighbours-seed*.json; nothing when none were made."""
    import json

    figures, rows = [], []
    for pattern, what in LATENT_FIGURES:
        for path in sorted(run.path.glob(pattern)):
            png = page.png_of(path)
            if png is not None:
                figures.append(page.figure(png, path.name, f"{what}: {path.name}", "large"))
    for path in sorted(run.path.glob("neighbours-seed*.json")):
        try:
            numbers = json.loads(path.read_text())
            for s in numbers["spaces"]:
                rows.append((path.stem, s["space"], numbers.get("n"), s["fake_median"], s["held_out_median"],
                             s["median_ratio"], s["below_held_out_q05"], s["p_closer"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a file being written or edited by hand: leave it out rather than fail the report
    if not figures and not rows:
        return ""
    parts = [page.row(figures)] if figures else []
    if rows:
        headers = ("file", "space", "samples", "median sample -> train", "median held-out -> train", "ratio",
                   "samples below held-out q05", "p (samples closer)")
        parts += [page.para("Memorisation check (ganlab neighbours): a model that does not copy has a ratio near 1 "
                            "or above and about 5 % of its samples below the held-out distances' 5th percentile."),
                  page.table(headers, rows, numeric=headers[2:])]
    return page.section("Latent space and nearest training images", *parts)


def _with_std(record, key):
    value, std = record.get(key), record.get(f"{key}_seed_std")
    if isinstance(value, float) and isinstance(std, float):
        return f"{value:.4g} ± {std:.2g}"
    return value
