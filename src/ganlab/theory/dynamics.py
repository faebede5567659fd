"""Theory experiments on training dynamics: vanishing generator gradients, the bilinear game, mode
collapse on the 8-Gaussian ring, and the Helvetica scenario (see ganlab.theory for the result
contract)."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ganlab.config import NetConfig  # noqa: E402
from ganlab.objectives import build_objective, objective_of  # noqa: E402
from ganlab.networks import build_network  # noqa: E402
from ganlab.theory import EXPERIMENTS, bound, check, save_figure  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Vanishing gradients.

# (label, objective name, objective args). LSGAN uses the chi^2 coding (a, b, c) = (-1, 1, 0):
# D drives s_f to a = -1, away from G's target c = 0, so G's per-sample gradient s_f - c stays ~1.
_VG_OBJECTIVES = [
    ("minimax", "minimax", {}),
    ("non-saturating", "nonsaturating", {}),
    ("LSGAN (-1, 1, 0)", "lsgan", {}),
    ("WGAN-GP", "wgan-gp", {"gp_weight": 10.0}),
]
_VG_REAL = (3.0, 0.1)   # real data N(3, 0.1^2)
_VG_FAKE = (-3.0, 0.1)  # fixed generator x = mu + sigma * z, z ~ N(0, 1): N(-3, 0.1^2), disjoint
# The gradient norm at the end of D training relative to its peak over training (at step 0 D is a
# random, nearly flat function, so the start is no reference). LSGAN's optimal D equals a on the
# fake support, a constant, so its gradient there also decays, but slowly: the weaker bound.
_VG_MINIMAX_MAX_RATIO = 1e-3   # minimax: final / peak at most this
_VG_NS_WGAN_MIN_RATIO = 0.5    # non-saturating and WGAN-GP: final / peak at least this
_VG_LSGAN_MIN_RATIO = 0.01     # LSGAN: final / peak at least this (quick: 0.3-0.5; full: 0.05)


def _generator_grad_norm(objective, D, theta, z):
    """||grad_theta mean L_G(D(mu + sigma z))|| for the affine generator theta = (mu, sigma)."""
    theta = theta.detach().clone().requires_grad_(True)
    fake = (theta[0] + theta[1] * z).unsqueeze(1)  # [N, 1]
    loss = objective.g_loss(D(fake)).mean()
    (grad,) = torch.autograd.grad(loss, theta)
    return grad.norm().item()


def _vg_trace(name, args, steps, checkpoints, seed, batch=256):
    """Train D alone (G fixed) with objective `name` and log G's gradient norm at `checkpoints`."""
    objective = build_objective(name, args)
    torch.manual_seed(seed)  # the same D initialisation and data for every objective
    D = build_network("D", NetConfig(arch="mlp", width=64, depth=2), (1,), 1, image=False)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    gen = torch.Generator().manual_seed(seed + 1)
    z_eval = torch.randn(1024, generator=gen)
    theta = torch.tensor(_VG_FAKE)
    norms = []
    for step in range(steps + 1):
        if step in checkpoints:
            norms.append(_generator_grad_norm(objective, D, theta, z_eval))
        if step == steps:
            break
        real = (_VG_REAL[0] + _VG_REAL[1] * torch.randn(batch, generator=gen)).unsqueeze(1)  # [N, 1]
        fake = (theta[0] + theta[1] * torch.randn(batch, generator=gen)).unsqueeze(1)        # [N, 1]
        loss = objective.d_loss(D(real), D(fake)).mean()
        if objective.penalty is not None:
            loss = loss + objective.penalty(D, real, fake).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return norms


@EXPERIMENTS.register(
    "vanishing-gradients",
    "Arjovsky & Bottou 2017 / Goodfellow et al. 2014: with disjoint supports, as D approaches optimality "
    "the minimax G loss has vanishing gradient while non-saturating, LSGAN and WGAN-GP gradients stay bounded",
)
def vanishing_gradients(out: Path, quick: bool, seed: int) -> dict:
    steps = 1000 if quick else 5000
    checkpoints = sorted({0} | {int(round(v)) for v in np.geomspace(1, steps, 25)})
    traces = {label: _vg_trace(name, args, steps, checkpoints, seed) for label, name, args in _VG_OBJECTIVES}
    ratios = {label: t[-1] / max(t) for label, t in traces.items()}

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, t in traces.items():
        ax.plot(np.array(checkpoints) + 1, t, marker=".", label=label)
    ax.set(xscale="log", yscale="log", xlabel="D training steps + 1", ylabel="||grad_theta L_G||",
           title="G gradient as D trains (real N(3, 0.1²), fake N(-3, 0.1²))")
    ax.legend()
    save_figure(fig, out)

    checks = {
        "minimax_final_over_peak": bound(ratios["minimax"], _VG_MINIMAX_MAX_RATIO),
        "ns_final_over_peak": bound(ratios["non-saturating"], _VG_NS_WGAN_MIN_RATIO, above=True),
        "lsgan_final_over_peak": bound(ratios["LSGAN (-1, 1, 0)"], _VG_LSGAN_MIN_RATIO, above=True),
        "wgan_gp_final_over_peak": bound(ratios["WGAN-GP"], _VG_NS_WGAN_MIN_RATIO, above=True),
    }
    return {
        "claim": (f"Real N(3, 0.1²) and a fixed generator N(-3, 0.1²) have disjoint supports. Training D for "
                  f"{steps} Adam steps, the minimax generator's gradient norm ends below {_VG_MINIMAX_MAX_RATIO:g} "
                  f"of its peak; the non-saturating and WGAN-GP (gp 10) gradients end at least "
                  f"{_VG_NS_WGAN_MIN_RATIO:g} of theirs; LSGAN (-1, 1, 0) ends at least {_VG_LSGAN_MIN_RATIO:g} "
                  f"of its peak (its optimal D is flat on the fake support, so it too decays, slowly). "
                  f"Final / peak: " + ", ".join(f"{k} {v:.2e}" for k, v in ratios.items()) + "."),
        "checks": checks,
        "d_steps": checkpoints,
        "grad_norms": traces,
        "final_over_peak": ratios,
    }


# ---------------------------------------------------------------------------------------------
# The bilinear game min_y max_x x*y.

_BG_RATIO_TOL = 1e-9


def _bilinear(eta, steps, alternating, start=(1.0, 1.0)):
    """Trajectory [steps + 1, 2] of gradient ascent on x / descent on y for f = x*y (float64)."""
    path = np.empty((steps + 1, 2))
    x, y = start
    path[0] = x, y
    for t in range(steps):
        if alternating:
            x = x + eta * y
            y = y - eta * x  # uses the new x
        else:
            x, y = x + eta * y, y - eta * x
        path[t + 1] = x, y
    return path


@EXPERIMENTS.register(
    "bilinear-game",
    "Mescheder et al. 2017 / Gidel et al. 2019: on min_y max_x x*y simultaneous gradient steps spiral out, "
    "the radius growing by sqrt(1 + eta^2) per step; alternating steps stay on a bounded orbit; neither reaches (0, 0)",
)
def bilinear_game(out: Path, quick: bool, seed: int) -> dict:
    eta = 0.1
    steps = 200 if quick else 2000
    sim = _bilinear(eta, steps, alternating=False)
    alt = _bilinear(eta, steps, alternating=True)
    r_sim = np.linalg.norm(sim, axis=1)
    r_alt = np.linalg.norm(alt, axis=1)
    ratios = r_sim[1:] / r_sim[:-1]
    expected = math.sqrt(1 + eta**2)
    worst = ratios[np.argmax(np.abs(ratios - expected))]
    # Alternating steps conserve x^2 + y^2 + eta*x*y (a symplectic map): the orbit is an ellipse
    # with radius between sqrt(c / (1 + eta/2)) and sqrt(c / (1 - eta/2)).
    c = alt[0, 0] ** 2 + alt[0, 1] ** 2 + eta * alt[0, 0] * alt[0, 1]
    r_lo, r_hi = math.sqrt(c / (1 + eta / 2)), math.sqrt(c / (1 - eta / 2))

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    for ax, path, title in ((axes[0], sim, f"simultaneous (radius x{expected:.5f}/step)"),
                            (axes[1], alt, "alternating (bounded orbit)")):
        ax.plot(path[:, 0], path[:, 1], lw=0.8)
        ax.plot(*path[0], "go", label="start")
        ax.plot(0, 0, "r*", ms=10, label="equilibrium (0, 0)")
        ax.set(title=title, xlabel="x (max player)", ylabel="y (min player)", aspect="equal")
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"min_y max_x x·y, eta = {eta}, {steps} steps")
    save_figure(fig, out)

    return {
        "claim": (f"min_y max_x x·y from (1, 1), eta = {eta}, {steps} steps in float64: every simultaneous step "
                  f"multiplies the radius by sqrt(1 + eta²) = {expected:.12f} (worst step within "
                  f"{_BG_RATIO_TOL:g} relative); alternating steps keep the radius in [{r_lo:.4f}, {r_hi:.4f}] "
                  f"(the level set of the conserved x² + y² + eta·x·y), so neither reaches (0, 0)."),
        "checks": {
            "simultaneous_radius_ratio": check(worst, expected, _BG_RATIO_TOL, relative=True),
            "alternating_radius_max": bound(r_alt.max(), r_hi * (1 + 1e-9)),
            "alternating_radius_min": bound(r_alt.min(), r_lo * (1 - 1e-9), above=True),
        },
        "eta": eta,
        "steps": steps,
        "simultaneous_final_radius": float(r_sim[-1]),
        "simultaneous_expected_final_radius": float(r_sim[0] * expected**steps),
        "alternating_radius_range": [float(r_alt.min()), float(r_alt.max())],
    }


# ---------------------------------------------------------------------------------------------
# Mode collapse on the 8-Gaussian ring.

_MC_RUNS = [("NS GAN", "toy-ring-ns"), ("WGAN-GP", "toy-ring-wgan-gp")]
_MC_MIN_MODES_WGAN_GP = 7  # WGAN-GP's final mode count: at least this
_MC_MIN_HQ_WGAN_GP = 0.05  # WGAN-GP's final high-quality fraction: at least this (quick, seeds 0-2: 0.10-0.18)


def _mode_stats(G, cfg, dataset, n_std=3.0, samples=False):
    """Histogram of high-quality samples per mode (nearest mode within n_std std) and the library's
    toy metrics (modes, hq, rkl), on the training loop's fixed evaluation latents (seed + 2); the
    samples themselves under "fake" if asked."""
    from ganlab.metrics.toy import toy_metrics
    from ganlab.training.evaluation import TOY_EVAL_SAMPLES
    from ganlab.training.latent import sample_z

    gen = torch.Generator().manual_seed(cfg.seed + 2)
    with torch.no_grad():
        fake = G(sample_z(TOY_EVAL_SAMPLES, cfg, torch.device("cpu"), generator=gen)).double()  # [n, 2]
    nearest_dist, nearest = torch.cdist(fake, dataset.modes.double()).min(dim=1)  # [n], [n]
    hq = nearest_dist <= n_std * dataset.mode_std
    counts = torch.bincount(nearest[hq], minlength=dataset.modes.shape[0]).tolist()  # [M]
    stats = {"counts": counts, **toy_metrics(fake, dataset.modes, dataset.mode_std, n_std=n_std)}
    return {**stats, "fake": fake.float()} if samples else stats


def _mc_run(preset, kimg, checkpoints, seed, run_dir, samples=False, **extra):
    """Train `preset` (with `extra` overrides) for `kimg` in segments ending at `checkpoints`
    (resuming each time, which the loop makes identical to one uninterrupted run) and return the
    mode statistics at each (with the final samples if asked), and the dataset."""
    from ganlab.resolve import make_config
    from ganlab.data import load_dataset
    from ganlab.presets import PRESETS
    from ganlab.rundir import FINAL
    from ganlab.training.loop import training_loop
    from ganlab.training.models import build_models
    from ganlab.utils.checkpoint import load_checkpoint

    overrides = {k: v for k, v in PRESETS[preset].items() if k != "description"}
    overrides.update(kimg=kimg, lr_decay_kimg=kimg, log_kimg=checkpoints[0], snapshot_kimg=kimg,
                     seed=seed, device="cpu", cpu_threads=1, tensorboard=False, **extra)
    cfg = make_config(overrides)
    dataset = load_dataset(cfg.data)
    G, _ = build_models(cfg, dataset, objective_of(cfg), torch.device("cpu"))
    G.eval()
    run_dir.mkdir(parents=True, exist_ok=True)
    state, rows = None, []
    for k in checkpoints:
        cfg.kimg = k
        training_loop(cfg, run_dir, state=state, progress=False, dataset=dataset)
        state = load_checkpoint(run_dir / FINAL)
        G.load_state_dict(state["G"])
        rows.append({"kimg": k, **_mode_stats(G, cfg, dataset, samples=samples and k == checkpoints[-1])})
    return rows, dataset


@EXPERIMENTS.register(
    "mode-collapse",
    "Metz et al. 2017 / Gulrajani et al. 2017 / Lin et al. 2018 (PacGAN protocol): on the 8-Gaussian ring "
    "WGAN-GP spreads over the modes early in training, while the non-saturating GAN's mode coverage is erratic "
    "(it can sit on one or two modes); mode histograms over training",
)
def mode_collapse(out: Path, quick: bool, seed: int) -> dict:
    kimg = 450.0 if quick else 1500.0
    checkpoints = [kimg * (i + 1) / 4 for i in range(4)]
    runs = {label: _mc_run(preset, kimg, checkpoints, seed, out / preset)[0] for label, preset in _MC_RUNS}

    fig, axes = plt.subplots(len(runs), len(checkpoints), figsize=(2.6 * len(checkpoints), 2.3 * len(runs)),
                             sharey=True, squeeze=False)
    for r, (label, rows) in enumerate(runs.items()):
        for c, row in enumerate(rows):
            ax = axes[r, c]
            ax.bar(range(len(row["counts"])), np.array(row["counts"]) / 2500)
            ax.set_xticks(range(len(row["counts"])))
            ax.set_title(f"{row['kimg']:g} kimg: {row['modes']} modes, hq {row['hq']:.0%}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{label}\nfraction of samples")
            if r == len(runs) - 1:
                ax.set_xlabel("mode")
    fig.suptitle(f"8-Gaussian ring: high-quality samples per mode (2,500 samples, seed {seed})")
    save_figure(fig, out)

    final = {label: rows[-1] for label, rows in runs.items()}
    summary = ", ".join(f"{label} {f['modes']} modes, hq {f['hq']:.1%}, reverse KL "
                        f"{'undefined' if f['rkl'] is None else format(f['rkl'], '.3f')}" for label, f in final.items())
    return {
        "claim": (f"8-Gaussian ring, presets toy-ring-ns / toy-ring-wgan-gp shortened to {kimg:g} kimg: WGAN-GP "
                  f"covers at least {_MC_MIN_MODES_WGAN_GP} of 8 modes at the end with at least "
                  f"{_MC_MIN_HQ_WGAN_GP:.0%} high-quality samples (checked). The NS GAN's coverage is reported, "
                  f"not asserted: whether it collapses depends on the seed and the length. Final (seed {seed}): "
                  f"{summary}."),
        "checks": {
            "wgan_gp_final_modes": bound(final["WGAN-GP"]["modes"], _MC_MIN_MODES_WGAN_GP, above=True),
            "wgan_gp_final_hq": bound(final["WGAN-GP"]["hq"], _MC_MIN_HQ_WGAN_GP, above=True),
        },
        "kimg": checkpoints,
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------------
# The Helvetica scenario: G trained too much without D.

_HV_PRESET = "toy-ring-wgan-gp"  # a run that covers the ring with one G step per round
_HV_N_GEN = (1, 3, 10)


def distinct_fraction(x, cell):
    """Occupied cells of a square grid of side `cell` per sample: 1 when every sample has a cell of
    its own, 1/n when all n samples coincide (a generator whose outputs collapsed to a point)."""
    cells = torch.floor(x.double() / cell).long()
    return torch.unique(cells, dim=0).shape[0] / x.shape[0]


@EXPERIMENTS.register(
    "helvetica",
    "Goodfellow et al. 2014 §6 / Goodfellow 2016 tutorial §5.1.1: G must not be trained too much without updating D, "
    "or it collapses too many z to the same x (\"the Helvetica scenario\"); on the 8-Gaussian ring, coverage and "
    "the fraction of distinct outputs fall as G steps per round of D steps rise from 1 to 3 to 10",
)
def helvetica(out: Path, quick: bool, seed: int) -> dict:
    kimg = 200.0 if quick else 1500.0
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    rows = {}
    for n_gen in _HV_N_GEN:
        for s in seeds:
            (final,), dataset = _mc_run(_HV_PRESET, kimg, [kimg], s, out / f"n_gen{n_gen}-seed{s}", samples=True,
                                        n_gen=n_gen)
            final["distinct"] = distinct_fraction(final["fake"], dataset.mode_std / 2)
            rows.setdefault(n_gen, []).append({"seed": s, **final})
    real = dataset.data[torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:2500]]
    real_distinct = distinct_fraction(real, dataset.mode_std / 2)
    mean = lambda n, key: float(np.mean([r[key] for r in rows[n]]))  # noqa: E731

    fig, axes = plt.subplots(1, len(_HV_N_GEN), figsize=(3.2 * len(_HV_N_GEN), 3.2), sharex=True, sharey=True)
    for ax, n_gen in zip(axes, _HV_N_GEN):
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.75", label="real")
        fake = rows[n_gen][0]["fake"].numpy()
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="C3", label="G")
        r = rows[n_gen][0]
        ax.set_title(f"{n_gen} G step{'s' if n_gen > 1 else ''} per round\n{r['modes']} modes, distinct {r['distinct']:.2f}",
                     fontsize=9)
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left", fontsize=7, markerscale=4)
    fig.suptitle(f"Helvetica scenario: {_HV_PRESET}, {kimg:g} kimg, seed {seeds[0]} (2,500 samples)", fontsize=10)
    save_figure(fig, out)

    for n_gen in rows:
        for r in rows[n_gen]:
            r.pop("fake")
    summary = "; ".join(f"{n} G steps: {mean(n, 'modes'):.1f} modes, hq {mean(n, 'hq'):.0%}, distinct "
                        f"{mean(n, 'distinct'):.3f}" for n in _HV_N_GEN)
    return {
        "claim": (f"{_HV_PRESET} at {kimg:g} kimg, seeds {', '.join(map(str, seeds))}, with 1, 3 and 10 G steps after "
                  f"each round of D steps (n_gen; the D steps and the images shown are the same): coverage (modes) and "
                  f"the fraction of distinct outputs (occupied cells of side std/2 per sample; real data "
                  f"{real_distinct:.3f}) are lower at 10 G steps than at 1. Means: {summary}."),
        "checks": {
            "modes_fall_from_1_to_10_g_steps": bound(mean(10, "modes") - mean(1, "modes"), -1.0),
            "distinct_falls_from_1_to_10_g_steps": bound(mean(10, "distinct") / mean(1, "distinct"), 0.8),
        },
        "real_distinct": real_distinct,
        "kimg": kimg,
        "runs": {str(n): rows[n] for n in _HV_N_GEN},
    }
