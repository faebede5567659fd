"""The README's demo table: fid5k_lenet and mnist_score5k of MNIST-5k runs at chosen kimg, mean ± std
over seeds with each seed's value, and the real-data reference row the numbers should be read against.

Produce the runs (three seeds of one preset, evaluated every 50 kimg; add --set cpu_threads=1 on a
busy machine), then summarise them at the kimg you want to quote:
    for s in 0 1 2; do ganlab train --preset mnist5k --seed $s --eval-every 50 --quiet --runs demo-runs/mnist5k-$s; done
    python benchmarks/demo_table.py demo-runs --at 250 500 --reference

Each run directory holds the metrics.jsonl its training wrote; a row at kimg K is the evaluation
whose kimg is nearest K within half a batch (training evaluates at the first step past each
multiple of --eval-every). `--reference` scores MNIST-5k itself under the same protocols: its MNIST
score (the 5,000 digits in a seeded random order: they are stored sorted by class, and the score's
10 splits must each see every class) and the FID between two random halves of it (2,500 vs 2,500,
three splits), the floor that a generator's fid5k_lenet cannot be expected to beat.
"""

import argparse
import re
import statistics
from pathlib import Path

from ganlab.rundir import read_metrics

METRICS = ("fid5k_lenet", "mnist_score5k")


def fmt(values, digits):
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


def row_at(records, kimg, batch_kimg):
    """The evaluated record nearest `kimg` (within half a batch), or None."""
    rows = [r for r in records if all(m in r for m in METRICS)]
    best = min(rows, key=lambda r: abs(r["kimg"] - kimg), default=None)
    return best if best is not None and abs(best["kimg"] - kimg) <= batch_kimg / 2 + 1e-9 else None


def runs_of(root):
    """{preset name: [(seed, records, batch_kimg)]} of every run under root (the CLI writes the
    description as "NAME: text", or "NAME with KEY=VALUE, ...: text" after --set)."""
    from omegaconf import OmegaConf

    runs = {}
    for metrics in sorted(Path(root).glob("**/metrics.jsonl")):
        cfg = OmegaConf.load(metrics.parent / "config.yaml")
        name = re.split(r":| with ", str(cfg.description), maxsplit=1)[0]
        runs.setdefault(name, []).append((int(cfg.seed), read_metrics(metrics.parent), cfg.batch_size / 1000))
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="folder holding the run directories (searched recursively)")
    ap.add_argument("--at", type=float, nargs="+", required=True, help="kimg at which to read each run")
    ap.add_argument("--reference", action="store_true", help="add MNIST-5k's own reference row")
    args = ap.parse_args(argv)
    print("| run | kimg | seeds | fid5k_lenet | mnist_score5k | per seed (fid / score) |")
    print("|---|---|---|---|---|---|")
    for name, runs in sorted(runs_of(args.root).items()):
        for kimg in args.at:
            found = [(seed, row_at(records, kimg, batch)) for seed, records, batch in sorted(runs)]
            found = [(seed, r) for seed, r in found if r is not None]
            if not found:
                continue
            fids = [r["fid5k_lenet"] for _, r in found]
            scores = [r["mnist_score5k"] for _, r in found]
            per_seed = ", ".join(f"s{seed} {r['fid5k_lenet']:.1f} / {r['mnist_score5k']:.2f}" for seed, r in found)
            print(f"| {name} | {kimg:g} | {len(found)} | {fmt(fids, 1)} | {fmt(scores, 2)} | {per_seed} |")
    if args.reference:
        from ganlab.reproduce.tables import real_reference

        score, fids, _ = real_reference()
        halves = ", ".join(f"{f:.1f}" for f in fids)
        print(f"| MNIST-5k itself (score: all 5,000; FID: two halves of 2,500) | - | {len(fids)} splits "
              f"| {fmt(fids, 1)} | {score:.2f} | halves {halves} |")


if __name__ == "__main__":
    main()
