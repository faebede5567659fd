"""Mode collapse on the toy mixtures, beside PacGAN's Table 1 and VEEGAN's Table 1: the GAN
baseline, WGAN-GP, Unrolled GAN (K = 5, 10) and PacGAN (m = 2, 3, 4), mean ± standard error over
seeds as PacGAN reports them."""

import math

from ganlab.reproduce import REPRODUCTIONS, Reproduction
from ganlab.reproduce.tables import gap_table, lenet_line
from ganlab.utils.stats import LEVEL, bound, mean_spread, verdict

from ganlab.reproduce.published import PACGAN, PACGAN_TABLE1, PACGAN_TOY_KIMG, VEEGAN_TABLE1

DATASETS = {"ring": "ring8", "grid": "grid25"}
GOALS = {"ring": (8.0, 0.97, 0.03), "grid": (25.0, 0.95, 0.03)}  # the goal: modes, HQ, reverse KL

BEST_ROW = "r1-lr1e-3"
# The rows: name -> (preset family, sets). Every row uses the toy MLPs with BatchNorm in G, as
# PacGAN's generator has (the search in docs/reproductions/pacgan-toy: BatchNorm in G was the one
# change that took the grid to 25 modes).
ROWS = {
    "gan": ("ns", {}),
    "wgan-gp": ("wgan-gp", {}),
    "unrolled5": ("ns", {"g_step": "unrolled", "g_step_args": {"steps": 5}}),
    "unrolled10": ("ns", {"g_step": "unrolled", "g_step_args": {"steps": 10}}),
    "pacgan2": ("ns", {"pack": 2}),
    "pacgan3": ("ns", {"pack": 3, "batch_size": 255}),
    "pacgan4": ("ns", {"pack": 4}),
    # The best setting of the searches in docs/reproductions/pacgan-toy/search.md: the R1 penalty on
    # reals (Mescheder et al. 2018) and a larger learning rate.
    BEST_ROW: ("ns", {"objective": "r1", "objective_args.gamma": 10.0, "g_opt.lr": 1e-3, "d_opt.lr": 1e-3}),
}


def _finals(results, group):
    """{modes, hq, rkl: values at each completed trial's end} of one row."""
    return {k: results.finals(group, k) for k in ("modes", "hq", "rkl")}


def _wall(results, group):
    """Mean training wall time per completed run of `group`, in whole seconds ('-' for none)."""
    times = [t.time_s for t in results.of(group) if t.time_s]
    return f"{sum(times) / len(times):.0f}" if times else "-"


def mean_se(values, digits=3, scale=1.0):
    """'7.9 ± 0.1': mean ± standard error of the values, as PacGAN's tables; '-' for none. Runs
    without a value (no high-quality sample: no reverse KL) are not averaged in, and are counted:
    '0.05 ± 0.01 (1 of 10 without)'."""
    missing = sum(v is None for v in values)
    mean, std, n, _ = mean_spread([v * scale for v in values if v is not None])
    if n == 0:
        return "-"
    return (f"{mean:.{digits}g}" + (f" ± {std / math.sqrt(n):.{digits}g}" if std is not None else "")
            + (f" ({missing} of {len(values)} without)" if missing else ""))


@REPRODUCTIONS.register("pacgan-toy", "PacGAN / VEEGAN Table 1 protocol on the 8-Gaussian ring and 25-Gaussian grid: "
                        "GAN, WGAN-GP, Unrolled GAN (K 5, 10), PacGAN2/3/4; modes, high-quality %, reverse KL")
class PacganToy(Reproduction):
    title = "Mode collapse on the ring and the grid: PacGAN's Table 1"
    source = ("Lin et al. 2018, PacGAN, Table 1 (and Srivastava et al. 2017, VEEGAN, Table 1): 2,500 samples, a "
              "sample is high quality within 3 std of its nearest mode, a mode is captured by one high-quality sample, "
              "reverse KL of the mode histogram against uniform; 10 trials, mean ± standard error.")
    default_seeds = 10
    quick_seeds = 2
    chosen_on = (f"the papers' rows with ganlab's toy presets, except {BEST_ROW}, chosen by settings searches on seeds "
                 f"0-1 (search.md), which are among the seeds reported here")

    def run_kimg(self, quick):
        return 1000.0 if quick else 3500.0  # the toy presets' length (PacGAN: 400 epochs of 100,000 samples)

    def definition(self, quick, seeds):
        from ganlab.study.grid import make_grid_definition

        entries = [{"name": f"{d}-{row}", "preset": f"toy-{d}-{family}", "sets": {"G.norm": "batch", **sets}}
                   for d in DATASETS for row, (family, sets) in ROWS.items()]
        # Workers take trials in this order: the best searched setting first, the unrolled rows (5-13x
        # a plain run) last, so that an interrupted study already holds every seed of the cheap rows.
        order = [BEST_ROW] + [row for row in ROWS if row != BEST_ROW]  # each row on the ring, then the grid
        entries.sort(key=lambda e: ("g_step" in e["sets"], order.index(e["name"].split("-", 1)[1])))
        kimg, _, every, sets = self.schedule(self.run_kimg(quick), eval_every=self.run_kimg(quick) / 5,
                                             sets={"lr_decay_kimg": self.run_kimg(quick), "tensorboard": False})
        return make_grid_definition(entries, seeds, kimg=kimg, eval_every=every, metric="rkl", sets=sets)

    def sections(self, results, folder, study=None):
        kimg = results.definition["kimg"]
        lines = ["## Protocol", "",
                 f"PacGAN's data (ring: 8 modes on the unit circle, std 0.01; grid: 25 modes on {{-4..4}}², std 0.05) "
                 f"and evaluation (2,500 samples, 3 std). Ours: the toy presets' MLPs (G 4×128 ReLU with BatchNorm, "
                 f"D 3×128 LeakyReLU; PacGAN: G 4×400 ReLU + BatchNorm, D 3 maxout layers of 200 units), z 2, "
                 f"Adam(3e-4, 0.5, 0.9) decayed linearly to 0, batch 256 samples, {kimg:g} kimg per run "
                 f"(PacGAN: Adam(1e-4, 0.8), batch 100 packed examples, 40,000 kimg of packed examples). "
                 f"PacGAN-m packs m samples per D example: at a batch of 256 samples D judges 256/m examples of m "
                 f"samples each (pacgan3: 255 = 85 x 3), so every row shows D the same number of samples per step; "
                 f"PacGAN's own rows show D m times more samples per step than its GAN row. Unrolled rows backpropagate "
                 f"through K Adam steps of D (second order, the paper), on the step's fixed minibatch. WGAN-GP uses the "
                 f"toy penalty weight 0.1 and n_critic 2 (toy-ring-wgan-gp). r1-lr1e-3 is the best setting of ganlab's "
                 f"searches (search.md): the non-saturating GAN with the R1 penalty γ/2 E‖∇D(x)‖² on reals, γ 10 "
                 f"(Mescheder et al. 2018), and Adam's learning rate 1e-3 for G and D. Values at the end of training, mean ± "
                 f"standard error over seeds {results.definition['seed']}..{results.definition['seed'] + results.definition['trials'] - 1}.", ""]
        first, k = results.definition["seed"], results.definition["trials"]
        lines += gap_table([
            ("length", f"{kimg:g} kimg of samples ({kimg / PACGAN_TOY_KIMG:.3g} of theirs)",
             f"400 epochs of 100,000 samples = {PACGAN_TOY_KIMG:g} kimg"),
            ("seeds", f"{k} ({first}-{first + k - 1}); {BEST_ROW}'s setting chosen on seeds 0-1", "10"),
            ("data, metric", "PacGAN's mixtures, 2,500 samples, 3 std", "the same"),
            ("networks", "G MLP 4×128 ReLU + BatchNorm, D MLP 3×128 LeakyReLU",
             "G 4×400 ReLU + BatchNorm, D 3 maxout layers (200 units × 5 pieces)"),
            ("optimiser, batch", f"Adam(3e-4, 0.5, 0.9) decayed linearly to 0 ({BEST_ROW}: 1e-3), batch 256 samples",
             "Adam(1e-4, 0.8), batch 100 packed examples")], theirs="PacGAN Table 1")
        for d in DATASETS:
            n_modes = {"ring": 8, "grid": 25}[d]
            lines += [f"### {d} ({n_modes} modes)", "",
                      "| method | source | seeds | modes | high quality % | reverse KL | wall time per run, s |",
                      "|---|---|---|---|---|---|---|"]
            for row in ROWS:
                group = f"{d}-{row}"
                f = _finals(results, group)
                wall = _wall(results, group)
                lines.append(f"| {row} | ganlab | {len(results.of(group))} | {mean_se(f['modes'])} | "
                             f"{mean_se(f['hq'], scale=100)} | {mean_se(f['rkl'], digits=2)} | {wall} |")
            for name, cols in PACGAN_TABLE1.items():
                lines.append(f"| {name} | PacGAN Table 1 | 10 | " + " | ".join(c.text() for c in cols[d]) + " | - |")
            for name, cols in VEEGAN_TABLE1.items():
                lines.append(f"| {name} | VEEGAN Table 1 | - | {cols[d][0].text()} | {cols[d][1].text()} | - | - |")
            lines += ["", self.verdict(results, d), ""]
        return lines

    def summary(self, results):
        out = []
        for d in DATASETS:
            f = _finals(results, f"{d}-{BEST_ROW}")
            out.append(f"{d}, {BEST_ROW}: " + toy_comparison(f, d)[-1])
        return " ".join(out)

    def verdict(self, results, d):
        """The searched row (BEST_ROW) against every PacGAN Table 1 row, column by column, by a test."""
        f = _finals(results, f"{d}-{BEST_ROW}")
        seeds = sorted(t.seed for t in results.of(f"{d}-{BEST_ROW}"))
        if not seeds:
            return f"The {BEST_ROW} row has no completed trials yet."
        text = "\n".join(toy_comparison(f, d))
        return (f"{BEST_ROW}, the setting chosen by the searches on seeds 0-1 (search.md), against PacGAN's rows; "
                f"seeds 0-1 are among the {len(seeds)} reported here, so this row is not a fresh-seed result (the "
                f"frozen recipe on fresh seeds: [../frozen/README.md](../frozen/README.md)).\n\n" + text)


COLUMNS3 = (("modes", "modes", True, 1.0), ("hq", "high quality %", True, 100.0), ("rkl", "reverse KL", False, 1.0))


def toy_comparison(finals, d, level=LEVEL):
    """Markdown: our per-seed finals ({modes, hq, rkl}) against each PacGAN Table 1 row of dataset `d`
    (better / tie / worse per column, two-sided Welch at `level`), then the goal by one-sided bounds."""
    lines = [f"| PacGAN Table 1 row ({d}) | " + " | ".join(title for _, title, _, _ in COLUMNS3) + " |",
             "|---|---|---|---|"]
    counts = {"better": 0, "tie": 0, "worse": 0}
    missing = {key: sum(v is None for v in finals[key]) for key, _, _, _ in COLUMNS3}
    for name, figures in PACGAN_TABLE1.items():
        cells = []
        for (key, _, higher, scale), fig in zip(COLUMNS3, figures[d]):
            if missing[key]:  # a run without a value (no high-quality sample) is the worst, not absent
                cells.append(f"no test ({missing[key]} of {len(finals[key])} runs without a value)")
                continue
            word, p = verdict([v * scale for v in finals[key]], fig.stats(), higher, level)
            if word is None:
                cells.append("no test")
                continue
            counts[word] += 1
            cells.append(f"{word} (p {p:.2g})")
        lines.append(f"| {name} {' / '.join(fig.text() for fig in figures[d])} | " + " | ".join(cells) + " |")
    goal = GOALS[d]
    bounds = [bound([v * scale for v in finals[key] if v is not None], higher, level)
              for key, _, higher, scale in COLUMNS3]
    n = len([v for v in finals["modes"] if v is not None])
    if not sum(counts.values()):
        lines += ["", f"Verdicts need at least two of our seeds ({n} so far): no test yet."]
    else:
        lines += ["", f"Verdicts: two-sided Welch tests at the {level:g} level on our {n} seeds' values and the "
                      f"published mean ± s.e. over 10 runs ({PACGAN}); 'tie' means no difference shown. "
                      f"Of {sum(counts.values())} column comparisons: {counts['better']} better, {counts['tie']} tie, "
                      f"{counts['worse']} worse."]
    if any(b is None for b in bounds):
        lines += ["", "The goal needs at least two seeds: not decided."]
        return lines
    passes = [bounds[0] >= goal[0], bounds[1] >= goal[1] * 100, bounds[2] <= goal[2] and not missing["rkl"]]
    lines += ["", f"Goal ({goal[0]:g} modes, ≥ {goal[1]:.0%} high quality, reverse KL ≤ {goal[2]:g}), judged by the "
                  f"one-sided {1 - level:.0%} confidence bound of the mean, not the mean: modes ≥ {bounds[0]:.3g}, "
                  f"high quality ≥ {bounds[1]:.3g} %, reverse KL ≤ {bounds[2]:.2g}: "
                  + ("met." if all(passes) else "not met (" + ", ".join(
                      c for c, ok in zip(("modes", "high quality", "reverse KL"), passes) if not ok) + " short).")]
    return lines


# --- Stacked-MNIST: PacGAN's Tables 2 and 3 ---------------------------------------------------------

# Lin et al. 2018 (PacGAN), Table 2 (VEEGAN's setting; the first four rows copied from VEEGAN's Table 2,
# no spread) and Table 3 (Metz et al.'s small-D setting; Unrolled rows cited from Metz et al.); mean ±
# s.e. over 10 (Table 2) or 50 (Table 3) trials: (modes of 1,000, KL to uniform).
PACGAN_TABLE2 = {
    "DCGAN (VEEGAN)": ("99.0", "3.40"), "ALI": ("16.0", "5.40"), "Unrolled GAN": ("48.7", "4.32"),
    "VEEGAN": ("150.0", "2.95"), "DCGAN (PacGAN's run)": ("78.9±6.46", "4.50±0.127"),
    "PacDCGAN2": ("1000.0±0.00", "0.06±0.003"), "PacDCGAN3": ("1000.0±0.00", "0.06±0.003"),
    "PacDCGAN4": ("1000.0±0.00", "0.07±0.005"),
}
PACGAN_TABLE3 = {  # name -> {D size: (modes, KL)}
    "DCGAN (Metz)": {"d4": ("30.6±20.73", "5.99±0.42"), "d2": ("628.0±140.9", "2.58±0.75")},
    "Unrolled, 5 steps": {"d4": ("236.4±63.30", "4.67±0.43"), "d2": ("732.0±44.98", "1.66±0.09")},
    "Unrolled, 10 steps": {"d4": ("327.2±74.67", "4.66±0.46"), "d2": ("817.4±37.91", "1.43±0.12")},
    "DCGAN (PacGAN's run)": {"d4": ("78.5±17.56", "5.21±0.19"), "d2": ("487.7±34.59", "2.24±0.15")},
    "PacDCGAN2": {"d4": ("484.5±32.99", "2.61±0.22"), "d2": ("840.7±15.92", "1.00±0.05")},
    "PacDCGAN3": {"d4": ("601.3±32.18", "2.00±0.17"), "d2": ("866.6±12.10", "0.90±0.04")},
    "PacDCGAN4": {"d4": ("667.4±29.00", "1.81±0.15"), "d2": ("820.2±25.50", "1.15±0.14")},
}
STACKED_GOAL = (990, 0.1)  # the goal for the best method: modes, KL
# Rows: (setting, name) -> (preset, sets). PacDCGAN-m keeps the batch of packed examples (as PacGAN does).
STACKED_ROWS = {
    ("veegan", "dcgan"): ("stacked-dcgan", {}),
    ("veegan", "unrolled5"): ("stacked-unrolled", {}),
    ("veegan", "pacdcgan2"): ("stacked-pacdcgan2", {}),
    ("d4", "dcgan"): ("stacked-small-d4", {}),
    ("d4", "pacdcgan2"): ("stacked-small-d4", {"pack": 2, "batch_size": 256}),
    ("d2", "dcgan"): ("stacked-small-d2", {}),
    ("d2", "pacdcgan2"): ("stacked-small-d2", {"pack": 2, "batch_size": 256}),
}
STACKED_SETTINGS = {"veegan": "VEEGAN's setting (PacGAN Table 2)", "d4": "small D, 1/4 of G (PacGAN Table 3)",
                    "d2": "small D, 1/2 of G (PacGAN Table 3)"}


@REPRODUCTIONS.register("pacgan-stacked", "PacGAN Tables 2-3 on Stacked-MNIST (1,000 modes): DCGAN, Unrolled GAN, "
                        "PacDCGAN2 in VEEGAN's setting and Metz et al.'s small-D settings; modes and KL over 26,000 samples")
class PacganStacked(Reproduction):
    title = "Mode collapse on Stacked-MNIST: PacGAN's Tables 2 and 3"
    source = ("Lin et al. 2018, PacGAN, Tables 2-3 (VEEGAN's setting, Srivastava et al. 2017, Table 2; Metz et al. "
              "2017's small-D setting): 26,000 samples, each channel classified by an MNIST classifier, a mode is a "
              "triple of digits; modes covered of 1,000 and KL(mode histogram || uniform); mean ± standard error.")
    default_seeds = 10
    quick_seeds = 1

    def run_kimg(self, quick):
        # Full: VEEGAN's 50 epochs of 128,000 stacks for every row (1/10 of Metz et al.'s 64,000 kimg for the
        # small-D rows); quick: a CPU-sized prefix.
        return 100.0 if quick else 6400.0

    def definition(self, quick, seeds):
        from ganlab.study.grid import make_grid_definition

        entries = [{"name": f"{setting}-{row}", "preset": preset, "sets": sets}
                   for (setting, row), (preset, sets) in STACKED_ROWS.items()]
        kimg = self.run_kimg(quick)
        kimg, _, every, sets = self.schedule(kimg, eval_every=kimg / (1 if quick else 5),
                                             sets={"tensorboard": False, "snapshot_kimg": kimg / 4})
        return make_grid_definition(entries, seeds, kimg=kimg, eval_every=every, metric="modes26k_stacked", sets=sets)

    def sections(self, results, folder, study=None):
        kimg = results.definition["kimg"]
        first = results.definition["seed"]
        lines = ["## Protocol", "",
                 f"Stacked-MNIST from MNIST-5k: 128,000 stacks of three digits drawn with replacement (data seed 0; "
                 f"VEEGAN draws from all 70,000 MNIST digits, Metz et al. from the 60,000 training digits on the fly). "
                 f"Modes and KL over 26,000 samples of G (the protocol's count), each channel classified by ganlab's "
                 f"lenet-mnist (VEEGAN/PacGAN: a Keras MNIST CNN). VEEGAN's setting: ganlab's DCGAN-28 at width 64, "
                 f"z 100, batch 64 packed examples (PacDCGAN2: 128 images), Adam(2e-4, 0.5); Unrolled: 5 Adam steps "
                 f"of D, second order. Small-D settings: ganlab's DCGAN-32 (stacks padded to 32×32), G width 8 "
                 f"(32@4 → 16@8 → 8@16; Metz: 64@4 then 3×3 deconvs 32/16/8), D width 2 (conv 2/4/8) or 4 (4/8/16), "
                 f"4×4 kernels, z 256, batch 128, D Adam 2e-4, G 1e-4, (0.5, 0.99). Every row trains {kimg:g} kimg "
                 f"(VEEGAN: 6,400; Metz: 64,000). PacDCGAN-m rows show D m times more images per step than their "
                 f"DCGAN row, as in PacGAN. Values at the end of training, mean ± standard error over seeds "
                 f"{first}..{first + results.definition['trials'] - 1}.", "", lenet_line(stacked=True), ""]
        k = results.definition["trials"]
        lines += gap_table([
            ("length", f"{kimg:g} kimg ({kimg / 6400:.3g} of VEEGAN's setting; {kimg / 64000:.3g} of Metz et al.'s "
                       f"small-D setting)", "6,400 kimg (VEEGAN's setting); 64,000 kimg (small D)"),
            ("seeds", f"{k} ({first}-{first + k - 1})", "10 (Table 2's PacDCGAN rows), 50 (Table 3); VEEGAN's rows: "
                                                        "not stated"),
            ("data", "stacks of MNIST-5k's 5,000 digits", "stacks of MNIST (70,000 or 60,000 digits)"),
            ("metric", "ganlab's lenet-mnist per channel (trained on 4,000 of the 5,000 digits)", "a Keras MNIST CNN"),
            ("networks", "ganlab's DCGAN-28 / DCGAN-32", "the papers' DCGAN implementations")],
            theirs="PacGAN Tables 2-3 (VEEGAN Table 2)")
        for setting, title in STACKED_SETTINGS.items():
            lines += [f"### {title}", "", "| method | source | seeds | modes (of 1,000) | KL | wall time per run, s |",
                      "|---|---|---|---|---|---|"]
            for (s, row) in STACKED_ROWS:
                if s != setting:
                    continue
                group = f"{s}-{row}"
                modes, kl = results.finals(group, "modes26k_stacked"), results.finals(group, "modes26k_stacked_kl")
                wall = _wall(results, group)
                lines.append(f"| {row} | ganlab | {len(results.of(group))} | {mean_se(modes, digits=4)} | "
                             f"{mean_se(kl, digits=3)} | {wall} |")
            if setting == "veegan":
                lines += [f"| {name} | PacGAN Table 2 | - | {m} | {k} | - |" for name, (m, k) in PACGAN_TABLE2.items()]
            else:
                lines += [f"| {name} | PacGAN Table 3 | - | {cols[setting][0]} | {cols[setting][1]} | - |"
                          for name, cols in PACGAN_TABLE3.items()]
            lines.append("")
        lines += [self.verdict(results), ""]
        return lines

    def summary(self, results):
        return self.verdict(results)

    def verdict(self, results):
        best = None
        for (setting, row) in STACKED_ROWS:
            group = f"{setting}-{row}"
            modes = mean_spread(results.finals(group, "modes26k_stacked"))[0]
            kl = mean_spread(results.finals(group, "modes26k_stacked_kl"))[0]
            kl = math.inf if kl is None else kl
            if modes is not None and (best is None or (modes, -kl) > (best[1], -best[2])):
                best = (group, modes, kl)
        if best is None:
            return "No row has completed trials yet."
        group, modes, kl = best
        b_modes = bound(results.finals(group, "modes26k_stacked"), True)
        b_kl = bound(results.finals(group, "modes26k_stacked_kl"), False)
        text = (f"Best ganlab row by its means: {group} ({modes:.4g} modes, KL {kl:.3g}; chosen on the same seeds that "
                f"judge it). The goal (≥ {STACKED_GOAL[0]} modes, KL ≤ {STACKED_GOAL[1]}), judged by the one-sided 95 % "
                f"confidence bounds of the means, is ")
        if b_modes is None or b_kl is None:
            return text + f"not decided at {results.definition['kimg']:g} kimg: one seed cannot bound a mean."
        met = b_modes >= STACKED_GOAL[0] and b_kl <= STACKED_GOAL[1]
        return text + (f"{'met' if met else 'not met'} at {results.definition['kimg']:g} kimg (modes ≥ {b_modes:.4g}, "
                       f"KL ≤ {b_kl:.3g}).")
