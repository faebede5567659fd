"""Curves for the HTML report as PNG bytes (matplotlib, Agg backend: no display needed)."""

import io
from dataclasses import dataclass, field

MAX_LEGEND = 12  # more runs than this: the table names them, the legend would hide the curves

# Curves drawn for every run: (title, keys, log scale); toy metrics' titles.
GROUPS = (("losses", ("loss_D", "loss_G"), False), ("D outputs (raw scores)", ("D_real", "D_fake"), False),
          ("gradient norms", ("grad_norm_D", "grad_norm_G"), True), ("learning rates", ("lr_G", "lr_D"), False))
TITLES = {"modes": "modes captured", "hq": "high-quality share of samples", "rkl": "reverse KL of the mode histogram"}


@dataclass
class Panel:
    """One small plot: lines against kimg, optional best-point stars, eval points and vertical lines."""
    title: str
    lines: list = field(default_factory=list)    # [(label, [kimg], [value])]
    best: list = field(default_factory=list)     # [(label, kimg, value)]
    points: list = field(default_factory=list)   # [(label, [kimg], [value])]: `ganlab eval` results
    bands: list = field(default_factory=list)    # [(label, [kimg], [low], [high])]: spread around a line
    vlines: list = field(default_factory=list)   # [kimg]: rollbacks (where the losses diverged)
    logy: bool = False

    @property
    def empty(self):
        return not any(xs for _, xs, _ in self.lines + self.points)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def render(panel, size=(5.0, 3.0), dpi=90):
    """PNG bytes of `panel`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    try:
        _draw(ax, panel)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()


def _draw(ax, panel):
    colors = {}
    for label, xs, ys in panel.lines:
        (line,) = ax.plot(xs, ys, lw=1.2, marker="." if len(xs) < 30 else None, label=label)
        colors[label] = line.get_color()
    for label, xs, lo, hi in panel.bands:
        ax.fill_between(xs, lo, hi, color=colors.get(label, "tab:gray"), alpha=0.25, lw=0)
    for label, xs, ys in panel.points:
        ax.scatter(xs, ys, marker="x", s=40, color=colors.get(label, "k"), zorder=4, label=f"{label} (eval)")
    for label, x, y in panel.best:
        if x is not None:
            ax.scatter([x], [y], marker="*", s=160, color=colors.get(label, "gold"), edgecolors="k", zorder=5,
                       label=f"best {y:.4g}" if len(panel.best) == 1 else None)
    for i, x in enumerate(panel.vlines):
        ax.axvline(x, color="tab:red", ls="--", lw=1, label="rollback" if i == 0 else None)
    if panel.logy and all(y > 0 for _, _, ys in panel.lines for y in ys):
        ax.set_yscale("log")
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel("kimg", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    labelled = [t for t in ax.get_legend_handles_labels()[1] if not t.startswith("_")]
    if 1 < len(labelled) <= MAX_LEGEND or (labelled and (panel.best or panel.vlines)):
        ax.legend(fontsize=7)
