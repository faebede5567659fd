"""The generated blocks of markdown pages (see ganlab.reproduce.pages): each reads committed results
files under the repository root and returns the block's lines."""

import json
from pathlib import Path

from ganlab.reproduce.pages import BLOCKS
from ganlab.utils.stats import mean_spread

FROZEN = Path("docs/reproductions/pacgan-toy/frozen")
FROZEN_FILES = {"ring": "ring.json", "grid": "grid.json"}


def _read(root, rel):
    from ganlab.errors import ConfigError

    path = Path(root) / rel
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{rel} cannot be read ({type(exc).__name__}); expected the committed results file "
                          f"that `ganlab study export` writes") from None


def _finals(data):
    """{config: [(seed, {metric: value at the last eval point}, time_s)]} of the completed trials."""
    out = {}
    for t in data["trials"]:
        if t["state"] != "COMPLETE":
            continue
        last = {m: series[max(series, key=float)] for m, series in t["evals"].items() if series}
        out.setdefault(t["config"], []).append((t["seed"], last, t["time_s"]))
    return out


def _mean_se(values, digits=3, scale=1.0):
    import math

    mean, std, n, _ = mean_spread([v * scale for v in values if v is not None])
    if n == 0:
        return "-"
    return f"{mean:.{digits}g}" + (f" ± {std / math.sqrt(n):.{digits}g}" if std is not None else "")


@BLOCKS.register("pacgan-toy-frozen", "the frozen toy recipes on fresh seeds against PacGAN Table 1 (computed verdicts)")
def pacgan_toy_frozen(root):
    from ganlab.presets import PRESETS
    from ganlab.reproduce.mode_collapse import toy_comparison
    from ganlab.reproduce.published import PACGAN_TOY_KIMG
    from ganlab.reproduce.run import recipe_hash

    lines = []
    for d, name in FROZEN_FILES.items():
        data = _read(root, FROZEN / name)
        if data is None:
            lines += [f"### {d}", "", f"No results file yet ({FROZEN / name}).", ""]
            continue
        definition = data["definition"]
        (config,) = definition["objectives"]
        preset = definition["grid"][0]["preset"]
        rows = sorted(_finals(data).get(config, []))
        kimg = definition["kimg"]
        first, k = definition["seed"], definition["trials"]
        stored, today = data.get("recipes", {}).get(config), recipe_hash(definition, config)
        lines += [f"### {d}: preset `{preset}`, seeds {first}-{first + k - 1}", "",
                  f"{PRESETS[preset]['description'].split(': ', 1)[-1]}. Recipe hash {stored} "
                  + ("(the preset today gives the same)." if stored == today else
                     f"(the preset today gives {today}: it has changed since these trials ran, and this table is not "
                     f"of the preset as it is now)."),
                  f"{len(rows)} of {k} trials complete; command: `{data.get('command')}`; results file "
                  f"[{name}]({name}).", ""]
        if not rows:
            lines += ["No trial has finished yet.", ""]
            continue
        lines += ["| seed | modes | high quality % | reverse KL | wall time, s |", "|---|---|---|---|---|"]
        for seed, last, time_s in rows:
            lines.append(f"| {seed} | {last['modes']:g} | {100 * last['hq']:.1f} | {last['rkl']:.2g} | {time_s:.0f} |")
        finals = {m: [last.get(m) for _, last, _ in rows] for m in ("modes", "hq", "rkl")}
        lines.append(f"| mean ± s.e. | {_mean_se(finals['modes'])} | {_mean_se(finals['hq'], scale=100)} | "
                     f"{_mean_se(finals['rkl'], digits=2)} | {sum(t for _, _, t in rows) / len(rows):.0f} |")
        lines += [""] + toy_comparison(finals, d) + [""]
        lines += ["Protocol gap:", "", "| | ganlab (this table) | PacGAN Table 1 |", "|---|---|---|",
                  f"| length | {kimg:g} kimg of samples ({kimg / PACGAN_TOY_KIMG:.3g} of theirs) | 400 epochs of 100,000 "
                  f"samples = {PACGAN_TOY_KIMG:g} kimg |",
                  f"| seeds | {len(rows)} fresh seeds ({first}-{first + k - 1}); the recipe was chosen on seeds 0-1 "
                  f"| 10 |",
                  "| data, metric | the same protocol (2,500 samples, 3 std, modes / high quality / reverse KL) | |",
                  "| objective | non-saturating + R1 (γ 10) | non-saturating (GAN), packed D (PacGAN-m) |",
                  "| networks | G MLP 4×128 ReLU" + (" + BatchNorm" if d == "grid" else "") + ", D MLP 3×128 LeakyReLU "
                  "| G 4×400 ReLU + BatchNorm, D 3 maxout layers (200 units × 5 pieces) |",
                  "| optimiser, batch | Adam(1e-3, 0.5, 0.9) decayed linearly to 0, batch 256 | Adam(1e-4, 0.8), batch "
                  "100 (packed) examples |", ""]
    return lines
