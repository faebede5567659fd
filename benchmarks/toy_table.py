"""Summarise toy-preset runs as the README's Markdown table: mean ± std over seeds of the final
modes, high-quality fraction and reverse KL, and the wall time.

Produce the runs (5 seeds x 4 presets; each run is single-threaded, so two run side by side):
    for p in toy-ring-ns toy-ring-wgan-gp toy-grid-ns toy-grid-wgan-gp; do for s in 0 1 2 3 4; do
        ganlab train --preset $p --seed $s --quiet --runs toy-runs/$p-$s; done; done
then:
    python benchmarks/toy_table.py toy-runs
"""

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from ganlab.rundir import read_metrics


def fmt(values, scale=1.0, digits=1):
    values = [v * scale for v in values if v is not None]
    if not values:
        return "n/a"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


def main(root):
    finals = defaultdict(list)
    for metrics in sorted(Path(root).glob("*/*/metrics.jsonl")):
        records = read_metrics(metrics.parent)
        cfg_text = (metrics.parent / "config.yaml").read_text()
        description = cfg_text.split("description: ", 1)[1].strip("'\"")
        preset = re.split(r":| with ", description, maxsplit=1)[0]  # "NAME: text" or "NAME with KEY=VALUE ..."
        finals[preset].append(records[-1])
    print("| preset | seeds | modes | high quality % | reverse KL | per-seed modes | wall time s |")
    print("|---|---|---|---|---|---|---|")
    for preset, recs in sorted(finals.items()):
        n_none = sum(r["rkl"] is None for r in recs)
        rkl = fmt([r["rkl"] for r in recs], digits=3) + (f" ({n_none} without HQ samples)" if n_none else "")
        print(f"| {preset} | {len(recs)} | {fmt([r['modes'] for r in recs])} | {fmt([r['hq'] for r in recs], scale=100)} "
              f"| {rkl} | {', '.join(str(r['modes']) for r in recs)} | {statistics.mean(r['time_s'] for r in recs):.0f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "toy-runs")
