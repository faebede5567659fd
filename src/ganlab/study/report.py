"""A study's analysis (Lucic et al. 2018), from its COMPLETE trials only.

One row per setting (`cfg_id`: its last completed attempt). For every objective: the best score
reachable with a budget of k trials (bootstrap: resample k of the N scores with replacement, take
the best, 5,000 times; mean and 2.5-97.5 % band, or the share of draws without a value where
trials never logged the metric), the distribution of scores, and score against
each hyperparameter. Written as PNG figures and `summary.md`. The statistics are plain numpy.
"""

import math
from pathlib import Path

import numpy as np

from ganlab.study.trials import is_grid
from ganlab.study.spaces import Fixed, dim_values, is_log, space_for
from ganlab.study.storage import cfg_table

DRAWS = 5000


def bootstrap_min(values, budgets, draws=DRAWS, seed=0):
    """For each budget k: (mean, 2.5 %, 97.5 %) of the minimum of k values drawn with replacement
    from `values`, over `draws` draws. Returns three float64 arrays of len(budgets)."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    mean, lo, hi = (np.empty(len(budgets)) for _ in range(3))
    for j, k in enumerate(budgets):
        mins = values[rng.integers(0, len(values), size=(draws, k))].min(axis=1)  # [draws]
        if np.isfinite(mins).all():
            mean[j] = mins.mean()
            lo[j], hi[j] = np.percentile(mins, [2.5, 97.5])
        else:  # some draws hold only trials without a value: no mean to give (see missing_share)
            mean[j] = lo[j] = hi[j] = np.nan
    return mean, lo, hi


def missing_share(n_missing, n, k):
    """Exact probability that k trials drawn with replacement from n, of which n_missing have no
    value of the metric, hold none with a value: (n_missing / n) ** k."""
    return (n_missing / n) ** k


def expected_min(values, k):
    """Exact E[min of k draws with replacement] from N distinct values: with v_(1) < ... < v_(N),
    P(min >= v_(i)) = ((N - i + 1) / N)^k, so P(min = v_(i)) = ((N-i+1)/N)^k - ((N-i)/N)^k."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = len(v)
    i = np.arange(1, n + 1)
    p = ((n - i + 1) / n) ** k - ((n - i) / n) ** k
    return float((p * v).sum())


def load_rows(study, definition):
    """[{cfg_id, objective, index, value, setting, trial}] of the settings that completed."""
    import json

    rows = []
    for cfg_id, row in sorted(cfg_table(study, definition).items()):
        if row["state"] == "COMPLETE":
            t = row["trial"]
            rows.append({"cfg_id": cfg_id, "objective": row["objective"], "index": cfg_id % definition["trials"],
                         "value": float(row["value"]), "setting": json.loads(t.user_attrs["overrides"]),
                         "trial": t.number, "score_kimg": t.user_attrs.get("score_kimg")})
    return rows


def _resolved(definition, row):
    """{label: value} of a row's hyperparameters as trained (trial 0's come from the preset)."""
    from ganlab.resolve import make_config
    from ganlab.objectives import objective_of, objective_params
    from ganlab.study.trials import trial_overrides

    objective = row["objective"]
    cfg = make_config(trial_overrides(definition, objective, row["setting"]))
    out = {}
    for dim in space_for(objective, definition["space"]):
        key = dim.keys[0]
        section, _, leaf = key.rpartition(".")
        value = (cfg[section] if section else cfg).get(leaf)
        if key == "n_critic" and value is None:
            value = objective_of(cfg).n_critic
        if section == "objective_args" and value is None:
            value = objective_params(objective).get(leaf)  # the objective's default
        out[dim.label] = "default" if value is None else value
    return out


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def settings_text(definition, row):
    if not row["setting"]:
        return "preset default"
    return ", ".join(f"{k}={_fmt(v)}" for k, v in dim_values(row["objective"], definition["space"], row["setting"]).items())


def write_study_report(study, definition, folder, draws=DRAWS, seed=0):
    """Figures and summary.md in `folder`; returns the summary's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganlab.metrics import METRICS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if is_grid(definition):
        return write_grid_summary(study, definition, folder)
    metric, k_max = definition["metric"], definition["trials"]
    sign = 1.0 if METRICS[metric].lower_is_better else -1.0  # the bootstrap minimises sign * score
    word = "min" if sign > 0 else "max"
    rows = load_rows(study, definition)
    table = cfg_table(study, definition)
    colors = {o: plt.cm.tab10(i % 10) for i, o in enumerate(definition["objectives"])}
    by_obj = {o: [r for r in rows if r["objective"] == o] for o in definition["objectives"]}
    finite = {o: np.array([r["value"] for r in rs if math.isfinite(r["value"])]) for o, rs in by_obj.items()}
    budgets = list(range(1, k_max + 1))

    # Budget: best score vs number of trials.
    curves = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for o, rs in by_obj.items():
        values = np.array([r["value"] for r in rs])
        if len(values) == 0 or not np.isfinite(values).any():
            continue
        mean, a, b = bootstrap_min(sign * values, budgets, draws, seed)
        mean, a, b = sign * mean + 0.0, sign * a + 0.0, sign * b + 0.0  # back to the metric's sign (no -0)
        lo, hi = np.fmin(a, b), np.fmax(a, b)
        curves[o] = (mean, lo, hi)
        if np.isfinite(mean).any():  # the budgets whose every draw holds a value
            ax.plot(budgets, mean, color=colors[o], label=o)
            ax.fill_between(budgets, lo, hi, color=colors[o], alpha=0.2, where=np.isfinite(lo) & np.isfinite(hi))
    ax.set(xlabel="budget k (trials)", ylabel=f"{word} {metric} over k trials", title=f"{word} {metric} vs budget (bootstrap, 95 % band)")
    if ax.lines:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, f"no curve: at every budget some draws hold only\ntrials without a value of {metric} (see summary.md)",
                ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(folder / "budget.png", dpi=120)
    plt.close(fig)

    # Distribution of scores per objective.
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(by_obj) + 2), 4))
    names = list(by_obj)
    data = [finite[o] for o in names]
    if any(len(d) for d in data):
        ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=False)
    for i, (o, d) in enumerate(zip(names, data), start=1):
        jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(d))
        ax.scatter(i + jitter, d, s=12, color=colors[o], zorder=3)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right")
    ax.set(ylabel=metric, title=f"{metric} of every completed trial")
    fig.tight_layout()
    fig.savefig(folder / "distribution.png", dpi=120)
    plt.close(fig)

    # Sensitivity: score vs each searched hyperparameter.
    dims = {}
    for o in names:
        for d in space_for(o, definition["space"]):
            if not isinstance(d.dist, Fixed):
                dims.setdefault(d.label, d)
    if dims:
        ncol = min(3, len(dims))
        nrow = math.ceil(len(dims) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False)
        resolved = {r["cfg_id"]: _resolved(definition, r) for r in rows}
        for ax, (label, dim) in zip(axes.flat, dims.items()):
            categorical = not hasattr(dim.dist, "low") and not hasattr(dim.dist, "low_exp")
            cats = [str(c) for c in getattr(dim.dist, "values", ())]
            plotted = False
            for o in names:
                pts = [(resolved[r["cfg_id"]].get(label), r["value"], r["index"] == 0) for r in by_obj[o]
                       if label in resolved[r["cfg_id"]] and math.isfinite(r["value"])]
                if categorical:
                    for x, _, _ in pts:
                        if str(x) not in cats:
                            cats.append(str(x))
                    jitter = np.random.default_rng(len(pts)).uniform(-0.2, 0.2, len(pts))  # [n] so points do not overlap
                    xs = [cats.index(str(x)) + j for (x, _, _), j in zip(pts, jitter)]
                else:
                    xs = [float(x) for x, _, _ in pts]
                ys = [y for _, y, _ in pts]
                plotted = plotted or bool(pts)
                ax.scatter(xs, ys, s=14, color=colors[o], label=o)
                defaults = [(x, y) for x, (_, y, first) in zip(xs, pts) if first]
                if defaults:
                    ax.scatter(*zip(*defaults), s=90, marker="*", color=colors[o], edgecolors="k", linewidths=0.5)
            if categorical:
                ax.set_xticks(range(len(cats)), cats)
            elif is_log(dim.dist) and plotted:
                ax.set_xscale("log")
            ax.set(xlabel=label, ylabel=metric)
        for ax in list(axes.flat)[len(dims):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7, title="* preset default", title_fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "sensitivity.png", dpi=120)
        plt.close(fig)

    # summary.md
    lines = [f"# Study {study.study_name}", "",
             f"Preset `{definition['preset']}`, {definition['space']} search space (Lucic et al. 2018), "
             f"{k_max} trials per objective (trial 0: the preset's own setting), {definition['kimg']:g} kimg per trial, "
             f"score = {word} of `{metric}` over eval points every {definition['eval_every']:g} kimg; seed "
             f"{definition['seed']}; ganlab {definition['ganlab_version']}."
             + (f" Study-wide overrides: {', '.join(f'`{k}={v}`' for k, v in definition['sets'].items())}." if definition["sets"] else ""),
             "", "## Best trial per objective", "",
             f"| objective | best {metric} | cfg | at kimg | setting | completed | failed |", "|---|---|---|---|---|---|---|"]
    for o in names:
        n_fail = sum(r["state"] == "FAIL" and r["objective"] == o for r in table.values())
        rs = by_obj[o]
        if not rs:
            lines.append(f"| {o} | - | - | - | - | 0/{k_max} | {n_fail} |")
            continue
        best = min(rs, key=lambda r: (sign * r["value"], r["cfg_id"]))
        if not math.isfinite(best["value"]):
            lines.append(f"| {o} | no trial has a value | - | - | - | {len(rs)}/{k_max} | {n_fail} |")
            continue
        at = "-" if best["score_kimg"] is None else f"{best['score_kimg']:g}"
        lines.append(f"| {o} | {best['value']:.4g} | {best['cfg_id']:04d} | {at} | {settings_text(definition, best)} | "
                     f"{len(rs)}/{k_max} | {n_fail} |")
    shown = [k for k in (1, 2, 5, 10, 20, 50, 100) if k <= k_max] + ([k_max] if k_max not in (1, 2, 5, 10, 20, 50, 100) else [])
    lines += ["", f"## {word.capitalize()} {metric} vs budget (bootstrap mean [2.5 %, 97.5 %], {draws} draws)", "",
              "| objective | " + " | ".join(f"k = {k}" for k in shown) + " |", "|---|" + "---|" * len(shown)]
    missing = {o: [r for r in rs if not math.isfinite(r["value"])] for o, rs in by_obj.items()}
    for o, rs in by_obj.items():
        if o not in curves:
            lines.append(f"| {o} | " + " | ".join("no trial has a value" if rs else "no trial completed" for _ in shown) + " |")
            continue
        mean, lo, hi = curves[o]
        lines.append(f"| {o} | " + " | ".join(
            f"{mean[k - 1]:.4g} [{lo[k - 1]:.4g}, {hi[k - 1]:.4g}]" if math.isfinite(mean[k - 1])
            else f"no value in {missing_share(len(missing[o]), len(rs), k):.1%} of draws" for k in shown) + " |")
    lines += ["", "## Figures", "", "![budget](budget.png)", "", "![distribution](distribution.png)", ""]
    if dims:
        lines += ["![sensitivity](sensitivity.png)", "", "Stars mark each objective's trial 0 (the preset default).", ""]
    lines += ["## Notes", "",
              "- Only COMPLETE trials count, one per setting (its last completed attempt); retried attempts are not counted twice.",
              "- A run that diverged (NaN losses) counts with the best score it reached before (Lucic et al. score "
              "every run); a setting whose trial failed with an error (see `ganlab study status`) is left out."]
    n_inf = sum(len(rs) for rs in missing.values())
    if n_inf:
        lines.append(f"- {n_inf} completed trial(s) never produced a value of `{metric}` (a run that diverged before its "
                     f"first evaluation, or no high-quality sample for `rkl`): "
                     + "; ".join(f"{o} cfg " + ", ".join(f"{r['cfg_id']:04d}" for r in rs) for o, rs in missing.items() if rs)
                     + ". They count as the worst score in the bootstrap: a budget at which some draws hold only such "
                     "trials has no mean (its cell gives the exact share of such draws, (trials without a value / "
                     "trials) ^ k) and no point in the figure; they are not plotted.")
    path = folder / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_grid_summary(study, definition, folder):
    """summary.md of a grid study: per config, the best score of each seed and their mean ± std
    (with the 95 % interval from three seeds). Returns its path."""
    from ganlab.metrics import METRICS
    from ganlab.utils.stats import format_spread

    metric, seeds = definition["metric"], definition["trials"]
    word = "min" if METRICS[metric].lower_is_better else "max"
    rows = load_rows(study, definition)
    table = cfg_table(study, definition)
    lines = [f"# Grid study {study.study_name}", "",
             f"{len(definition['objectives'])} configs x {seeds} seed(s) (seeds {definition['seed']}.."
             f"{definition['seed'] + seeds - 1}), {definition['kimg']:g} kimg each; score = {word} of `{metric}` over "
             f"the eval points; ganlab {definition['ganlab_version']}.", "",
             f"| config | preset | objective | {word} {metric}: mean ± std | per seed (at kimg) | completed | failed |",
             "|---|---|---|---|---|---|---|"]
    for entry in definition["grid"]:
        mine = [r for r in rows if r["objective"] == entry["name"]]
        per_seed = ", ".join(f"{r['value']:.4g} ({'-' if r['score_kimg'] is None else format(r['score_kimg'], 'g')})"
                             for r in mine)
        n_fail = sum(r["state"] == "FAIL" and r["objective"] == entry["name"] for r in table.values())
        lines.append(f"| {entry['name']} | {entry['preset']} | {entry['objective']} | "
                     f"{format_spread([r['value'] for r in mine])} | {per_seed or '-'} | {len(mine)}/{seeds} | {n_fail} |")
    lines += ["", "Only completed trials count; `ganlab report` on the study folder shows every trial's curves and samples."]
    path = folder / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path
