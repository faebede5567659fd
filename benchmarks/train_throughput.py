"""Training throughput of the DCGAN-28 non-saturating step at batch 64 on MNIST-5k: ganlab's
training loop against a minimal hand-written PyTorch loop of the same networks and algorithm
(n_critic = 1, fresh z for the G step, Adam(2e-4, 0.5)), measured alternately in one run.

Usage: python benchmarks/train_throughput.py [--steps 300] [--rounds 3]
       python benchmarks/train_throughput.py --steps 1 --rounds 1   # a smoke run, in seconds
The last line is `ratio ganlab/handwritten: X.XX` (>= 0.95 means the library adds no overhead).
"""

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.objectives import objective_of
from ganlab.presets import PRESETS
from ganlab.training.loop import training_loop
from ganlab.training.models import build_models

BATCH = 64


def config(steps):
    return make_config({**PRESETS["mnist5k-dcgan-ns"], "batch_size": BATCH, "kimg": steps * BATCH / 1000,
                        "log_kimg": 1e6, "snapshot_kimg": 1e6, "device": "cpu"})


def handwritten(steps, dataset):
    """The textbook loop: sample, D step, G step; nothing else."""
    cfg = config(steps)
    torch.manual_seed(0)
    # The preset's own objective decides D's normalisation, as in the library's loop; the loss
    # below is its non-saturating formula written out.
    objective = objective_of(cfg)
    G, D = build_models(cfg, dataset, objective, torch.device("cpu"))
    g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = dataset.data.float() / 127.5 - 1  # [N, 1, 28, 28], pre-converted once
    start = time.perf_counter()
    for _ in range(steps):
        real = data[torch.randint(len(data), (BATCH,))]
        fake = G(torch.randn(BATCH, cfg.z_dim))
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = F.softplus(-D(G(torch.randn(BATCH, cfg.z_dim)))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
    d_loss.item()  # wait for the last step
    return steps * BATCH / (time.perf_counter() - start)


def ganlab_loop(steps, dataset):
    with tempfile.TemporaryDirectory() as tmp:
        record = training_loop(config(steps), tmp, progress=False, dataset=dataset)
    return record["nimg"] / record["time_s"]  # time_s: from the loop's start to its last log line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dataset = load_dataset(make_config({"data.name": "mnist5k"}).data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, DCGAN-28 NS, batch {BATCH}, {args.steps} steps/round")
    warmup = min(20, args.steps)
    handwritten(warmup, dataset), ganlab_loop(warmup, dataset)
    hand, lib = [], []
    for r in range(args.rounds):
        hand.append(handwritten(args.steps, dataset))
        lib.append(ganlab_loop(args.steps, dataset))
        print(f"round {r + 1}: handwritten {hand[-1]:7.1f} img/s   ganlab {lib[-1]:7.1f} img/s   "
              f"ratio {lib[-1] / hand[-1]:.2f}", flush=True)
    h, g = statistics.median(hand), statistics.median(lib)
    print(f"median: handwritten {h:.1f} img/s, ganlab {g:.1f} img/s")
    print(f"ratio ganlab/handwritten: {g / h:.2f}")


if __name__ == "__main__":
    main()
