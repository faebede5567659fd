"""The report of several runs (or of a study's trials): what differs, how each ended, curves with
one line per run, and the final sample grids side by side."""

from pathlib import Path

from ganlab.report import page
from ganlab.report.page import esc
from ganlab.report.plots import GROUPS, TITLES, Panel, render
from ganlab.report.rundata import best_point, lower_is_better, numeric_keys, objective_text, series

SAME_FOR_ALL = ("description",)  # differs between presets but says nothing a column does not
MAX_COLUMNS = 8  # differing settings shown as table columns; the sentence above the table names all


def compare_page(title, runs, study_dir=None):
    parts = [f"<h1>{esc(title)}</h1>", page.para(f"{len(runs)} run(s): " + ", ".join(r.name for r in runs), "muted"),
             section_table(runs), section_curves(runs), section_grids(runs)]
    if study_dir is not None:
        parts.append(section_study(Path(study_dir)))
    return "\n".join(p for p in parts if p)


def differing_keys(runs):
    """Config keys (dotted) whose values differ between the runs, objective first."""
    flats = [r.flat_config() for r in runs]
    keys = sorted({k for f in flats for k in f} - set(SAME_FOR_ALL))
    differ = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
    return sorted(differ, key=lambda k: (k != "objective", not k.startswith("objective_args"), k))


def metric_keys(runs):
    """Quantities some run logged that are metrics (have a direction), in first-seen order."""
    keys = {}
    for r in runs:
        for k in numeric_keys(r.rows):
            if lower_is_better(k) is not None:
                keys.setdefault(k, None)
    return list(keys)


def section_table(runs):
    every = [k for k in differing_keys(runs) if k != "objective"]
    differ = every[:MAX_COLUMNS]
    metrics = metric_keys(runs)
    headers = ["run", "objective", *differ, "kimg", "final loss_D", "final loss_G"]
    for m in metrics:
        headers += [f"final {m}", f"best {m} (kimg)"]
    rows = [_table_row(r, differ, metrics) for r in runs]
    objectives = len({r.config.get("objective") for r in runs})
    text = (f"Settings that differ between the runs: {', '.join(every)}"
            + (f" (the first {MAX_COLUMNS} are columns)." if len(every) > MAX_COLUMNS else ".") if every else
            "The runs differ only in the objective." if objectives > 1 else "The runs share every setting.")
    numeric = [h for h in headers if h.startswith(("final", "best")) or h == "kimg"]
    return page.section("Runs", page.para(text, "muted"), page.table(headers, rows, numeric=numeric))


def _table_row(run, differ, metrics):
    flat, last = run.flat_config(), run.last
    status = "" if run.finished or not run.rows else " (unfinished)"
    cells = [run.name, objective_text(run.config), *(flat.get(k) for k in differ),
             f"{last['kimg']:g}{status}" if "kimg" in last else "no metrics yet",
             last.get("loss_D"), last.get("loss_G")]
    for m in metrics:
        best = best_point(run, m)
        cells += [last.get(m), f"{best[1]:.4g} ({best[0]:g})" if best and best[0] is not None else None]
    return cells


def seed_groups(runs):
    """[[Run]] of runs whose configs differ only in the seed (and description), in first-seen order."""
    groups = {}
    for r in runs:
        flat = {k: v for k, v in r.flat_config().items() if k not in ("seed", "description")}
        groups.setdefault(repr(sorted(flat.items())), []).append(r)
    return list(groups.values())


def seed_band(group, key):
    """([kimg], [mean], [mean - std], [mean + std]) over the runs of `group` at the points all of them logged."""
    import statistics

    per_run = [dict(zip(*series(r.rows, key))) for r in group]
    common = sorted(set.intersection(*(set(p) for p in per_run))) if per_run else []
    means = [statistics.fmean(p[k] for p in per_run) for k in common]
    stds = [statistics.stdev(p[k] for p in per_run) for k in common]
    return common, means, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)]


def comparison_panels(runs):
    """One panel per quantity any run logged: a line per run, or per group of runs that differ only in
    the seed (their mean, with a band of ± one standard deviation over the seeds); a star at each
    line's best for metrics."""
    keys = [k for _, group, _ in GROUPS for k in group]
    keys += [k for r in runs for k in numeric_keys(r.rows) if k not in keys]
    keys = list(dict.fromkeys(keys))
    logy = {k for _, group, log in GROUPS if log for k in group}
    groups = seed_groups(runs)
    panels = []
    for key in keys:
        lines, bands, best = [], [], []
        for g in groups:
            if len(g) == 1:
                lines.append((legend_label(g[0]), *series(g[0].rows, key)))
                if (b := best_point(g[0], key)):
                    best.append((legend_label(g[0]), b[0], b[1]))
                continue
            label = f"{legend_label(g[0])}, {len(g)} seeds"
            xs, means, lo, hi = seed_band(g, key)
            lines.append((label, xs, means))
            bands.append((label, xs, lo, hi))
        panels.append(Panel(TITLES.get(key, key), [ln for ln in lines if ln[1]], best=best, logy=key in logy,
                            bands=[b for b in bands if b[1]]))
    return [p for p in panels if not p.empty]


def legend_label(run):
    return f"{run.name} ({run.config.get('objective')})"


def section_curves(runs):
    if not any(r.rows for r in runs):
        return page.section("Curves", page.note("no metrics yet in any run"))
    figures = [page.img(render(p), p.title, "curve") for p in comparison_panels(runs)]
    grouped = [g for g in seed_groups(runs) if len(g) > 1]
    text = "Stars: each run's best value of a metric."
    if grouped:
        text += (f" Runs that differ only in the seed are one line, their mean, with a band of ± one standard "
                 f"deviation over the seeds ({len(grouped)} such group(s): "
                 + "; ".join(f"{g[0].name} and {len(g) - 1} more" for g in grouped) + ").")
    return page.section("Curves (one line per run or seed group)", page.para(text, "muted"), page.row(figures))


def section_grids(runs):
    items = []
    for r in runs:
        if not r.grids:
            items.append(f"<figure>{page.note(f'{r.name}: no samples yet')}</figure>")
            continue
        kimg, path = r.grids[-1]
        png = page.png_of(path, 512)
        caption = f"{r.name}: {r.config.get('objective')}, {kimg:g} kimg"
        items.append(page.figure(png, f"final samples of {r.name}", caption, "thumb") if png else
                     f"<figure>{page.note(f'{r.name}: {path.name} is unreadable')}</figure>")
    return page.section("Final samples", page.row(items))


def section_study(folder):
    """The study's own analysis (`ganlab study report`), when it has been written."""
    analysis = folder / "report"
    summary = analysis / "summary.md"
    if not summary.is_file():
        return page.section("Study analysis", page.note(f"no {summary.relative_to(folder)} yet "
                                                        f"(write it with `ganlab study report {folder.name}`)"))
    try:
        text = summary.read_text(errors="replace")
    except OSError:
        text = "(summary.md is unreadable)"
    figures = [page.figure(png, p.stem, p.name, "native") for p in sorted(analysis.glob("*.png"))
               if (png := page.png_of(p))]
    return page.section("Study analysis (report/summary.md)", page.markdown(text), page.row(figures))
