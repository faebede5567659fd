"""The registered reproductions: the seed report, WGAN-GP's robustness table
and Lucic et al.'s study protocol on MNIST-5k."""

import json
import math
from pathlib import Path

from ganlab.reproduce import REPRODUCTIONS, Reproduction
from ganlab.reproduce.tables import gap_table, lenet_line, metric_table, nearest_grid, reference_line, sample_figure
from ganlab.utils.stats import LEVEL, format_spread, summary, verdict

LENET = ["fid5k_lenet", "mnist_score5k", "classes5k_lenet", "pr5k_lenet"]
SHOWN = [("fid5k_lenet", "fid5k_lenet (lower is better)"),
         ("mnist_score5k", "mnist_score5k (higher is better, at most 10)"),
         ("classes5k_lenet", "classes5k_lenet (digit classes among the samples, of 10)"),
         ("pr5k_lenet_precision", "precision (k = 3)"), ("pr5k_lenet_recall", "recall (k = 3)")]


def _sentence_compare(results, a, b, metric, lower=True):
    """One sentence comparing config a with config b on the final metric over seeds, by a two-sided
    Welch test at LEVEL (no test with one seed each)."""
    fa, fb = results.finals(a, metric), results.finals(b, metric)
    ma, _, na = summary(fa)
    mb, _, nb = summary(fb)
    if not na or not nb:
        return f"{a} or {b} has no completed trial: no comparison."
    lead = f"final {metric}: {a} {format_spread(fa)} vs {b} {format_spread(fb)}"
    if min(na, nb) < 2:
        return (f"{lead}. With one seed each no test is possible: the gap ({ma - mb:+.4g}) is not shown to be a "
                f"difference; run --seeds 3.")
    word, p = verdict(fa, summary(fb), higher_is_better=not lower)
    if word == "tie":
        return f"{lead}: no difference shown (two-sided Welch test, p = {p:.2g} ≥ {LEVEL:g}, {na} and {nb} seeds)."
    return f"{lead}: {a} is {word} than {b} (two-sided Welch test, p = {p:.2g} < {LEVEL:g}, {na} and {nb} seeds)."


# --- Seed 000: the seed report's five models --------------------------------------------------------

@REPRODUCTIONS.register("seed-report", "the seed report: GAN, LSGAN, WGAN, WGAN-GP and LSGAN + mean matching "
                        "on MNIST, DCGAN, 20 epochs; LSGAN vs LSGAN-MM over epochs")
class SeedReport(Reproduction):
    title = "The seed report: five GANs on MNIST, and LSGAN with mean matching"
    source = ("the seed report (ganlab's founding five-model comparison on MNIST): MNIST, DCGAN, batch 64, 20 epochs, lr 1e-4, z 100, Adam(β1 0.5) "
              "except WGAN (RMSProp); GAN, LSGAN, WGAN, WGAN-GP and LSGAN + mean matching compared after 20 epochs, "
              "and LSGAN against LSGAN + mean matching at several epochs.")
    MODELS = [("gan", "report-gan"), ("lsgan", "report-lsgan"), ("wgan", "report-wgan"), ("wgan-gp", "report-wgan-gp"),
              ("lsgan-mm", "report-lsgan-mm")]
    EPOCHS = (1, 5, 10, 20)

    def epoch_kimg(self, quick):
        # Full: the seed's epochs of 60,000 images (1,200 kimg = 20 epochs); quick: epochs of MNIST-5k.
        return 5.0 if quick else 60.0

    def definition(self, quick, seeds):
        from ganlab.study.grid import make_grid_definition

        epoch = self.epoch_kimg(quick)
        kimg, eval_at, _, sets = self.schedule(20 * epoch, [e * epoch for e in self.EPOCHS],
                                               sets={"metrics": LENET, "snapshot_kimg": epoch})
        entries = [{"name": n, "preset": p} for n, p in self.MODELS]
        return make_grid_definition(entries, seeds, kimg=kimg, eval_at=eval_at, metric="fid5k_lenet", sets=sets)

    def sections(self, results, folder, study=None):
        points = results.definition["eval_at"]
        labels = [f"epoch {e} ({k:g} kimg)" for e, k in zip(self.EPOCHS, points)]
        lines = ["## Protocol", "",
                 f"MNIST-5k (the embedded 5,000 digits) instead of MNIST's 60,000; {results.definition['kimg']:g} kimg "
                 f"per run, evaluated at {', '.join(f'{k:g}' for k in points)} kimg. "
                 + ("This quick variant trains 20 passes over MNIST-5k (100 kimg), so its 'epochs' are passes over "
                    "5,000 images; the full variant trains the seed's 1,200 kimg (20 epochs of 60,000 images), "
                    "evaluated at 60, 300, 600 and 1,200 kimg." if results.quick else
                    "The runs show D as many images as the seed did (1,200 kimg = 20 epochs of 60,000), "
                    "evaluated at its epochs 1, 5, 10 and 20 (60, 300, 600, 1,200 kimg)."),
                 "Networks and optimisers as the report (`ganlab list presets`: report-gan ... report-lsgan-mm); kimg "
                 "counts real images shown to D, so WGAN and WGAN-GP (n_critic 5) take a fifth as many G steps. "
                 "Metrics on 5,000 samples of each run's G against MNIST-5k, LeNet features (`ganlab list metrics`).", ""]
        kimg, first, k = results.definition["kimg"], results.definition["seed"], results.definition["trials"]
        lines += gap_table([
            ("length", f"{kimg:g} kimg ({kimg / 1200:.3g} of the seed's)", "20 epochs of 60,000 images = 1,200 kimg"),
            ("seeds", f"1 (seed {first})" if k == 1 else f"{k} ({first}-{first + k - 1})", "1 (samples shown, no numbers)"),
            ("data", "MNIST-5k: 5,000 digits, so 1,200 kimg is 240 passes over them", "MNIST, 60,000 digits"),
            ("metric", "fid5k_lenet, mnist_score5k, classes, precision/recall on LeNet features", "none (samples only)"),
            ("networks, optimiser", "the report-* presets: DCGAN, batch 64, lr 1e-4, z 100, Adam(β1 0.5), WGAN RMSProp",
             "the same")], theirs="the seed report")
        for metric, caption in SHOWN:
            lines += [f"### {caption}", ""] + metric_table(results, metric, points, labels) + [""]
        lines += [reference_line(), "", lenet_line(), ""]
        lines += ["## Published numbers", "",
                  "The seed report gives samples, not numbers: there is nothing to put beside these tables. Its claim "
                  "is qualitative (mean matching helps LSGAN); it is measured below.", ""]
        lines += self._figure_lines(results)
        lines += self._theory(folder)
        lines += ["## Does mean matching help?", "",
                  _sentence_compare(results, "lsgan-mm", "lsgan", "fid5k_lenet"),
                  _sentence_compare(results, "lsgan-mm", "lsgan", "mnist_score5k", lower=False), "",
                  "Theory row: at a near-optimal D on disjoint supports, the mean-matching term is the LSGAN gradient "
                  "times a constant (above), so under Adam, which normalises the gradient's scale, no gain is expected "
                  "from it there; what the training runs show is in the two sentences above."]
        return lines

    def summary(self, results):
        return _sentence_compare(results, "lsgan-mm", "lsgan", "fid5k_lenet")

    def figures(self, results, folder, study):
        from ganlab.theory import run_experiment

        points = results.definition["eval_at"]
        labels = [f"epoch {e} ({k:g} kimg)" for e, k in zip(self.EPOCHS, points)]
        first = lambda g: (results.of(g) or [None])[0]  # noqa: E731  the lowest seed's run
        names = [n for n, _ in self.MODELS]
        finals = [[nearest_grid(first(n), points[-1]) if first(n) else None for n in names]]
        sample_figure(finals, folder / "samples.png", names, [f"{points[-1]:g} kimg"])
        over = [[nearest_grid(first(n), k) if first(n) else None for k in points] for n in ("lsgan", "lsgan-mm")]
        sample_figure(over, folder / "lsgan-vs-mm.png", labels, ["lsgan", "lsgan-mm"])
        run_experiment("lsgan-mm-gradient", folder / "theory", quick=True, seed=0)  # its result.json: _theory

    def _figure_lines(self, results):
        seed = results.definition["seed"]
        return ["## Figures", "", f"Samples of every model at the end (seed {seed}, the run's fixed z):", "",
                "![samples](samples.png)", "", "LSGAN and LSGAN + mean matching over epochs (same seed):", "",
                "![lsgan vs lsgan-mm](lsgan-vs-mm.png)", ""]

    def _theory(self, folder):
        path = Path(folder) / "theory" / "result.json"
        if not path.is_file():
            return ["## Theory row", "", f"No theory result at {path}: `ganlab reproduce` runs it.", ""]
        checks = json.loads(path.read_text())["checks"]
        rows = [(k, c) for k, c in checks.items() if "rescaling" in k or "cosine" in k or "decays" in k]
        lines = ["## Theory row: G's gradient under LSGAN-MM vs LSGAN at a near-optimal D", "",
                 "`ganlab theory run lsgan-mm-gradient --quick` (run here, output in [theory/result.json](theory/result.json); "
                 "see docs/theory/lsgan-mm-gradient): 2-D data, real and fake supports disjoint at distance δ, "
                 "D trained near-optimal; the ratio |∇G LSGAN-MM| / |∇G LSGAN| against the closed form 1 + 4λ, "
                 "the cosine between the two gradients, and how far each decays as D trains.", "",
                 "| check | measured | expected | ok |", "|---|---|---|---|"]
        lines += [f"| {k} | {c['value']:.4g} | {c['expected']} | {'yes' if c['ok'] else 'NO'} |" for k, c in rows]
        return lines + [""]


# --- Seed 003: WGAN-GP's robustness table (Gulrajani et al. 2017, Fig. 2) ----------------------------

# The paper's code pairs each objective with its own optimiser (docs/networks.md).
COLUMNS = {
    "ns": ("nonsaturating", {"g_opt.lr": 2e-4, "d_opt.lr": 2e-4, "g_opt.beta1": 0.5, "d_opt.beta1": 0.5,
                             "g_opt.beta2": 0.999, "d_opt.beta2": 0.999}),
    "lsgan": ("lsgan", {"objective_args.a": 0.0, "objective_args.b": 1.0, "objective_args.c": 1.0,
                        "g_opt.name": "rmsprop", "d_opt.name": "rmsprop", "g_opt.alpha": 0.9, "d_opt.alpha": 0.9}),
    "wgan": ("wgan", {"g_opt.name": "rmsprop", "d_opt.name": "rmsprop", "g_opt.lr": 5e-5, "d_opt.lr": 5e-5,
                      "g_opt.alpha": 0.9, "d_opt.alpha": 0.9}),
    "wgan-gp": ("wgan-gp", {}),
}
COLUMN_TITLES = {"ns": "DCGAN (NS)", "lsgan": "LSGAN", "wgan": "WGAN (clip)", "wgan-gp": "WGAN-GP"}


@REPRODUCTIONS.register("wgan-gp-robustness", "WGAN-GP's robustness table (Gulrajani et al. 2017 Fig. 2): "
                        "NS, LSGAN, WGAN, WGAN-GP x seven architectures on MNIST-5k")
class Robustness(Reproduction):
    title = "WGAN-GP's robustness table: four objectives x seven architectures"
    source = ("Gulrajani et al. 2017, Improved Training of Wasserstein GANs, Fig. 2: DCGAN, LSGAN, WGAN "
              "(clipping) and WGAN-GP trained on seven generator / discriminator architectures; only WGAN-GP trains "
              "all seven.")
    default_seeds = 1
    quick_seeds = 1
    RESNET_WIDTH = 16  # the 101-layer ResNets at width 16 on a CPU (the paper's DIM is 64)

    def run_kimg(self, quick):
        return 10.0 if quick else 100.0

    def definition(self, quick, seeds):
        from ganlab.presets import ROBUSTNESS_SETTINGS
        from ganlab.study.grid import make_grid_definition

        kimg = self.run_kimg(quick)
        entries = []
        for i, preset in enumerate(ROBUSTNESS_SETTINGS, start=1):
            for col, (objective, sets) in COLUMNS.items():
                sets = dict(sets)
                if "resnet" in preset:
                    sets.update({"G.width": self.RESNET_WIDTH, "D.width": self.RESNET_WIDTH})
                entries.append({"name": f"{i}-{col}", "preset": preset, "objective": objective, "sets": sets})
        kimg, _, every, sets = self.schedule(kimg, eval_every=kimg / 2,
                                             sets={"metrics": ["fid5k_lenet", "classes5k_lenet"], "snapshot_kimg": kimg / 2})
        return make_grid_definition(entries, seeds, kimg=kimg, eval_every=every, metric="fid5k_lenet", sets=sets)

    def figures(self, results, folder, study):
        from ganlab.presets import ROBUSTNESS_SETTINGS

        kimg, cols = results.definition["kimg"], list(COLUMNS)
        grid = [[nearest_grid(t[0], kimg) if (t := results.of(f"{i}-{c}")) else None for c in cols]
                for i in range(1, len(ROBUSTNESS_SETTINGS) + 1)]
        sample_figure(grid, folder / "samples.png", [COLUMN_TITLES[c] for c in cols],
                      [setting.split(")")[0] + ")" for setting, _ in ROBUSTNESS_SETTINGS.values()], size=1.8)

    def sections(self, results, folder, study=None):
        from ganlab.presets import ROBUSTNESS_SETTINGS

        kimg = results.definition["kimg"]
        settings = list(ROBUSTNESS_SETTINGS.items())
        lines = ["## Protocol", "",
                 f"MNIST-5k at 28×28 instead of LSUN bedrooms at 64×64; {kimg:g} kimg per run (real images shown to D: "
                 f"WGAN and WGAN-GP take n_critic 5, a fifth as many G steps); fid5k_lenet and classes at "
                 f"{kimg / 2:g} and {kimg:g} kimg. Each column uses the optimiser the paper's code pairs with its "
                 f"objective (docs/networks.md): NS Adam(2e-4, 0.5), LSGAN (0-1 coding) RMSProp(1e-4), WGAN "
                 f"RMSProp(5e-5) with clip 0.01, WGAN-GP Adam(1e-4, 0, 0.9) with penalty 10. Setting (7), the "
                 f"101-layer ResNets, runs at width {self.RESNET_WIDTH} instead of 64 on this CPU."
                 + (" This quick variant is a smoke test of the pipeline: 10 kimg trains nothing to convergence." if
                    results.quick else ""), ""]
        lines += [lenet_line(), ""]
        cols = list(COLUMNS)
        for metric, word in (("fid5k_lenet", "final fid5k_lenet (lower is better)"),
                             ("classes5k_lenet", "final classes5k_lenet (of 10)")):
            lines += [f"### {word}", "", "| setting | " + " | ".join(COLUMN_TITLES[c] for c in cols) + " |",
                      "|---|" + "---|" * len(cols)]
            for i, (preset, (setting, _)) in enumerate(settings, start=1):
                cells = []
                for c in cols:
                    cells.append(format_spread(results.finals(f"{i}-{c}", metric)))
                lines.append(f"| {setting} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["## Published numbers", "",
                  "The paper's Figure 2 shows samples, no numbers: its claim is that WGAN-GP produces good samples "
                  "in all seven settings while the others fail in several. Compare the samples below with it; the "
                  "FID table above is ours only.", ""]
        lines += ["## Figure: the 7 × 4 grid of samples (the paper's Fig. 2)", "", "![samples](samples.png)", "",
                  "## Reading", ""]
        return lines + self.reading(results) + [""]

    def summary(self, results):
        return " ".join(self.reading(results))

    def reading(self, results):
        from ganlab.presets import ROBUSTNESS_SETTINGS

        settings, cols, lines = list(ROBUSTNESS_SETTINGS.items()), list(COLUMNS), []
        best, shown = [], []
        for i, (preset, (setting, _)) in enumerate(settings, start=1):
            raw = {c: results.finals(f"{i}-{c}", "fid5k_lenet") for c in cols}
            # A column with a run that diverged (no finite FID) is left out of the tests, not judged on its survivors.
            finals = {c: v for c, v in raw.items() if v and all(x is not None and math.isfinite(x) for x in v)}
            means = {c: sum(v) / len(v) for c, v in finals.items()}
            if not means:
                continue
            top = min(means, key=means.get)
            best.append(top)
            # Shown best: lower than every other column's by a two-sided Welch test at LEVEL.
            tests = [verdict(finals[top], summary(finals[c]), higher_is_better=False)[0] for c in means if c != top]
            if tests and all(t == "better" for t in tests):
                shown.append(top)
        seeds = results.definition.get("trials", 1)
        if best and seeds < 2:
            lines.append("One seed per cell: no objective can be shown better than another in any setting (a test "
                         "needs seeds), so this table ranks nothing" + (" — and at this length the FIDs are near "
                         "those of untrained networks." if results.quick else "."))
        elif best:
            counts = {c: best.count(c) for c in cols}
            lines.append("Lowest mean final fid5k_lenet per setting: " + ", ".join(
                f"{COLUMN_TITLES[c]} in {n}" for c, n in counts.items() if n) + f" of {len(best)} settings; lower than "
                f"every other objective by two-sided Welch tests at the {LEVEL:g} level (uncorrected for the several "
                f"comparisons; columns with a diverged run left out) over {seeds} seeds in "
                f"{len(shown)} of them" + (" (" + ", ".join(f"{COLUMN_TITLES[c]} {shown.count(c)}" for c in cols
                                                         if c in shown) + ")." if shown else "."))
        return lines


# --- Lucic et al. 2018 on MNIST-5k ------------------------------------------------------------------

@REPRODUCTIONS.register("lucic-mnist5k", "Lucic et al. 2018's protocol on MNIST-5k: narrow space, minimax, NS, LSGAN, "
                        "WGAN, WGAN-GP, DRAGAN, BEGAN; min-FID vs budget and the ranking")
class LucicMnist(Reproduction):
    title = "Are GANs Created Equal? on MNIST-5k"
    source = ("Lucic et al. 2018, Are GANs Created Equal? A Large-Scale Study: random search over each objective's "
              "narrow space, every run scored by its minimum FID over checkpoints, min FID vs budget by bootstrap.")
    default_seeds = 20  # here: trials per objective
    chosen_on = "drawn at random from Lucic et al.'s narrow space (trial 0: the preset's own setting)"
    quick_seeds = 2
    OBJECTIVES = ["minimax", "nonsaturating", "lsgan", "wgan", "wgan-gp", "dragan", "began"]

    def run_kimg(self, quick):
        return 10.0 if quick else 100.0  # 100 kimg = 20 passes over MNIST-5k (Lucic: 20 epochs of MNIST)

    def definition(self, quick, seeds):
        from ganlab.study.launcher import make_definition

        kimg, _, every, sets = self.schedule(self.run_kimg(quick), eval_every=self.run_kimg(quick) / 4,
                                             sets={"metrics": ["fid5k_lenet"]})
        return make_definition("mnist5k-dcgan-ns", self.OBJECTIVES, space="narrow", trials=seeds, kimg=kimg,
                               eval_every=every, metric="fid5k_lenet", seed=0, sets=sets)

    def figures(self, results, folder, study):
        from ganlab.study.report import write_study_report

        if study is not None:
            write_study_report(study, results.definition, folder / "study")

    def sections(self, results, folder, study=None):
        from ganlab.reproduce.published import LUCIC, LUCIC_MNIST_FID, LUCIC_MNIST_KIMG, LUCIC_NARROW_TRIALS

        d = results.definition
        kimg, trials = d["kimg"], d["trials"]
        lines = ["## Protocol", "",
                 f"Preset mnist5k-dcgan-ns (DCGAN-28, batch 64), {trials} trials per objective "
                 f"from Lucic et al.'s narrow space (trial 0: the preset's own setting), {kimg:g} "
                 f"kimg per trial, score = min fid5k_lenet over {round(kimg / d['eval_every'])} eval points.", "",
                 "| | ganlab (this page) | Lucic et al. |", "|---|---|---|",
                 f"| length per trial | {kimg:g} kimg ({kimg / LUCIC_MNIST_KIMG:.3g} of theirs, 1/{LUCIC_MNIST_KIMG / kimg:.3g}) "
                 f"| 20 epochs of MNIST = {LUCIC_MNIST_KIMG:g} kimg |",
                 f"| trials per objective | {trials} | about {LUCIC_NARROW_TRIALS} (narrow space) |",
                 "| data | MNIST-5k (5,000 digits) | MNIST (60,000 training digits) |",
                 "| metric | fid5k_lenet: 5,000 samples against the 5,000 training digits, features of ganlab's LeNet "
                 "(trained on 4,000 of these digits) | FID on 10,000 samples against the 10,000 test digits, "
                 "Inception features |",
                 "| networks | ganlab's DCGAN-28 | InfoGAN-style G and D |", "",
                 "The gap is large on every row: this comparison is indicative only; compare orders, not values.", "",
                 lenet_line(), ""]
        if (Path(folder) / "study" / "summary.md").is_file():
            lines += ["The study's own analysis (budget curves with bootstrap bands, distributions, sensitivity): "
                      "[study/summary.md](study/summary.md).", "", "![budget](study/budget.png)", ""]
        ours = self.best(results)
        ranked = sorted((o for o in ours if ours[o] is not None), key=lambda o: ours[o])
        theirs = sorted(LUCIC_MNIST_FID, key=lambda o: LUCIC_MNIST_FID[o].mean)
        lines += ["## Ranking beside Lucic et al.'s MNIST ranking", "",
                  "| objective | our best fid5k_lenet | our rank | Lucic et al. MNIST FID | their rank |",
                  "|---|---|---|---|---|"]
        for o in self.OBJECTIVES:
            mine = "-" if ours[o] is None else f"{ours[o]:.4g}"
            rank = ranked.index(o) + 1 if o in ranked else "-"
            lines.append(f"| {o} | {mine} | {rank} | {LUCIC_MNIST_FID[o].text()} | {theirs.index(o) + 1} |")
        lines += ["", f"Published: {LUCIC}.", ""]
        agreement = self.agreement(ours)
        lines += [agreement, ""] if agreement else []
        lines += ["A best-of-N ranking at this number of trials is noisy: read it with the bootstrap bands above "
                  "(bands that overlap do not rank)."]
        return lines + [""]

    def best(self, results):
        """{objective: its best trial's score, or None}."""
        ours = {}
        for o in self.OBJECTIVES:
            vals = [t.value for t in results.of(o) if t.value is not None and math.isfinite(t.value)]
            ours[o] = min(vals) if vals else None
        return ours

    def agreement(self, ours):
        from ganlab.reproduce.published import LUCIC_MNIST_FID
        from ganlab.utils.stats import spearman

        both = [o for o in self.OBJECTIVES if ours[o] is not None]
        if len(both) < 3:
            return None
        rho, p = spearman([ours[o] for o in both], [LUCIC_MNIST_FID[o].mean for o in both])
        agree = "agrees with theirs beyond chance" if p < LEVEL and rho > 0 else "does not agree with theirs beyond chance"
        return (f"Rank agreement over the {len(both)} objectives: Spearman's ρ = {rho:.2f}, two-sided permutation "
                f"p = {p:.2f} (every ordering of {len(both)} objectives): our ranking {agree} at the {LEVEL:g} level.")

    def summary(self, results):
        return self.agreement(self.best(results)) or "fewer than 3 objectives finished: no ranking."
