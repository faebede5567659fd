"""Ship a trained run's generator with ganlab: fp16 safetensors in src/ganlab/pretrained/, its entry in
index.json (config, SHA-256, source, command) and the metrics measured on the shipped weights.

    python scripts/export_pretrained.py toy-ring studies/toy-frozen-ring/trials/cfg_0000 \\
        --description "8-Gaussian ring: the frozen toy-ring-r1 recipe, seed 100" \\
        --source docs/reproductions/pacgan-toy/frozen/ring.json --seed 100

The metrics are those `ganlab eval --pretrained NAME` prints (seed 0): modes, hq, rkl on toy data;
the run's own metrics on images (fid5k_lenet and mnist_score5k for `mnist5k`). `--folder` writes
elsewhere (tests).
"""

import argparse
import json
import sys
from pathlib import Path

import torch


def measure(name):
    """The metrics of the shipped generator `name`, as `ganlab eval --pretrained NAME` computes them."""
    from ganlab import pretrained
    from ganlab.data import load_dataset
    from ganlab.training.latent import Latent
    from ganlab.metrics.evaluate import Evaluator
    from ganlab.training.evaluation import evaluate_toy
    from ganlab.training.models import load_generator

    cfg, state = pretrained.load(name)
    dataset = load_dataset(cfg.data)
    dev = torch.device("cpu")
    G = load_generator(cfg, state, dataset, dev)
    if dataset.modes is not None:
        return evaluate_toy(G, cfg, dataset, dev, seed=0)
    latent = Latent.of(cfg, dataset)
    evaluator = Evaluator(MEASURED.get(name) or list(cfg.metrics), dataset, cfg.data, dev, latent)
    out = evaluator(G, lambda n, gen: latent.sample(n, dev, gen), seed=0)
    return {k: float(v) for k, v in out.items() if not k.endswith(("_std", "_kl"))}


# The metrics recorded for a generator: its run's own (config key `metrics`), unless named here.
MEASURED = {"mnist5k": ["fid5k_lenet", "mnist_score5k"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--description", required=True)
    ap.add_argument("--source", required=True, help="the committed results file that holds the run")
    ap.add_argument("--seed", type=int, required=True, help="the run's training seed")
    ap.add_argument("--checkpoint", default="final")
    ap.add_argument("--folder", type=Path, help="output folder (default: the package's pretrained/)")
    args = ap.parse_args(argv)

    from ganlab import pretrained

    if args.folder is not None:  # a test's copy of the package folder
        pretrained.FOLDER, pretrained.INDEX = args.folder, args.folder / "index.json"
    args.folder = pretrained.FOLDER
    source = json.loads(Path(args.source).read_text(encoding="utf-8"))
    entry = pretrained.export(args.run_dir, args.name, args.folder, args.checkpoint)
    entry.update(description=args.description, metrics={},
                 source={"results": str(args.source), "seed": args.seed, "command": source.get("command")},
                 measured_with=f"ganlab eval --pretrained {args.name}")
    index = pretrained.index()
    index[args.name] = entry
    pretrained.INDEX.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    entry["metrics"] = measure(args.name)
    index[args.name] = entry
    pretrained.INDEX.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.name}: {pretrained.describe(args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
