"""What the reproduction pages share: the real data's own reference values (committed, never
recomputed by a page), the protocol-gap table, the LeNet and reference lines, metric tables over
seeds and eval points, and the sample figures."""

import functools
import json
from pathlib import Path

from ganlab.utils.stats import format_spread

REAL_REFERENCE = Path(__file__).parent / "real_reference.json"  # committed: the pages read it, never recompute


def reference_values(data="mnist5k"):
    """(score, [fids], classes) of `data` as committed in real_reference.json (written by
    record_real_reference; tests/test_pages.py recomputes it within a tolerance)."""
    from ganlab.errors import ConfigError

    try:
        entry = json.loads(REAL_REFERENCE.read_text(encoding="utf-8"))[data]
        return entry["mnist_score"], entry["fid_halves"], entry["classes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{REAL_REFERENCE} has no reference for {data!r} ({type(exc).__name__}); expected the file "
                          f"that ganlab.reproduce.tables.record_real_reference writes") from None


def record_real_reference(data="mnist5k"):
    """Compute the real data's reference values and write them, with how they were computed, into
    real_reference.json."""
    from ganlab.reproduce.run import provenance, write_atomic

    score, fids, classes = real_reference(data)
    current = json.loads(REAL_REFERENCE.read_text(encoding="utf-8")) if REAL_REFERENCE.is_file() else {}
    current[data] = {"mnist_score": score, "fid_halves": fids, "classes": classes, "provenance": provenance(None)}
    write_atomic(REAL_REFERENCE, json.dumps(current, indent=1, sort_keys=True) + "\n")
    return current[data]


@functools.lru_cache(maxsize=4)
def real_reference(data="mnist5k", splits=3):
    """The real data's own numbers under the LeNet protocols: (MNIST score of all its images in a
    seeded random order, 10 splits; [FID between two random halves, one per split seed]; digit
    classes among the classifier's predictions). The
    images are stored sorted by class, so the score's order must be shuffled for every split to
    see every class; the halves' FID is a floor a generator's fid5k_lenet is not expected to beat."""
    import torch

    from ganlab.config import DataConfig
    from ganlab.data import load_dataset
    from ganlab.metrics import extract_features, fid, inception_score

    ds = load_dataset(DataConfig(name=data))
    out = extract_features("lenet-mnist", ds.batch(torch.arange(len(ds)), "cpu"))
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))
    score, _ = inception_score(out["probs"][order], splits=10)
    fids = []
    for seed in range(splits):
        perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
        half = len(ds) // 2
        fids.append(fid(out["features"][perm[:half]], out["features"][perm[half:]]))
    return score, fids, len(out["probs"].argmax(1).unique())


def gap_table(rows, ours="ganlab (this page)", theirs="the paper"):
    """Markdown: the protocol gap as a table, one (what, ours, theirs) row each, and the sentence that
    a large gap makes the comparison indicative."""
    return ([f"| protocol | {ours} | {theirs} |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
            + ["", "The gap is large: every comparison with the published rows on this page is indicative only.", ""])


def lenet_line(stacked=False):
    """One markdown paragraph: what the LeNet behind the LeNet-based metrics was trained on and how
    well it classifies digits it never saw (from the record beside its weights)."""
    from ganlab.metrics.lenet import WEIGHTS_PATH

    info = json.loads(WEIGHTS_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    what = ("The LeNet that classifies each channel for `modes26k_stacked`" if stacked else
            "The LeNet behind every `*_lenet` metric and `mnist_score5k`")
    tail = ("So it has seen most of the digits the stacks are made of." if stacked else
            "So its features and classes have seen most of the digits they score, and fid5k_lenet is measured "
            "against the training set (all 5,000 digits G trains on), not held-out data.")
    return (f"{what} (`lenet-mnist`, weights {info['weights_id']}) was trained on {info['split']}; its accuracy on the "
            f"{info['num_test']:,} held-out digits is {100 * info['accuracy']:.1f} %. {tail}")


def reference_line(data="mnist5k"):
    """One markdown paragraph: the real data's reference values, to read the tables against."""
    score, fids, classes = reference_values(data)
    return (f"Real data, under the same LeNet protocols: {data} itself has mnist_score5k {score:.2f} (all its images, "
            f"shuffled, 10 splits) and {classes} classes; the FID between two random halves of it is "
            f"{format_spread(fids)} ({len(fids)} splits), a floor a generator's fid5k_lenet is not expected to beat.")


def metric_table(results, metric, points, labels=None, groups=None, digits=4):
    """Markdown: one row per config, one column per eval point (mean ± std over seeds)."""
    groups = groups or results.definition["objectives"]
    labels = labels or [f"{k:g} kimg" for k in points]
    lines = ["| config | seeds | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(points)]
    for g in groups:
        n = len(results.of(g))
        lines.append(f"| {g} | {n} | " + " | ".join(results.spread(g, metric, k, digits) for k in points) + " |")
    return lines


def nearest_grid(trial, kimg):
    """The trial's sample grid closest to `kimg` at or before it (or the first after), or None."""
    if not trial.grids:
        return None
    before = [g for g in trial.grids if g[0] <= kimg + 1e-6]
    return (before[-1] if before else trial.grids[0])[1]


def sample_figure(rows, path, col_labels, row_labels, size=2.2):
    """A figure of sample grids: rows x columns of PNG paths (None: an empty cell), saved at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    nr, nc = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(nr, nc, figsize=(size * nc + 1.2, size * nr + 0.4), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(nc):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            png = row[j] if j < len(row) else None
            if png is not None:
                with Image.open(png) as im:
                    ax.imshow(im.convert("RGB"))
            else:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center", fontsize=8, transform=ax.transAxes)
            if i == 0:
                ax.set_title(col_labels[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
