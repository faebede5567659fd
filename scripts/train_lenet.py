"""Train the `lenet-mnist` classifier and write its weights into the package (safetensors + JSON).

    python scripts/train_lenet.py                       # MNIST-5k: 4,000 train / 1,000 held out
    python scripts/train_lenet.py --mnist ~/data/mnist  # full MNIST IDX files: 60k train / 10k test
    python scripts/train_lenet.py --out /tmp/lenet.safetensors --epochs 2   # a quick try elsewhere
    python scripts/train_lenet.py --out /tmp/lenet.safetensors --epochs 1 --limit 500  # smoke run

Deterministic for a given seed and thread count (seeded shuffles and shifts, no data-dependent
control flow). The MNIST-5k split is `ganlab.metrics.lenet.mnist5k_split`: the first 400 digits of
each class in file order train, the other 100 of each class are held out; the held-out accuracy is
printed and written to the JSON sidecar beside the weights.
"""

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganlab.config import DataConfig
from ganlab.data import load_dataset
from ganlab.metrics.lenet import WEIGHTS_PATH, LeNet, mnist5k_split


def random_shift(x, max_shift, gen):
    """x [N, 1, H, W] in [-1, 1], each image shifted by its own integer (dy, dx) in ±max_shift,
    the uncovered border filled with background (-1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)                          # [N, 1, H+2s, W+2s]
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=gen)   # offsets into padded
    rows = (dy + torch.arange(h))[:, :, None]                                 # [N, H, 1]
    cols = (dx + torch.arange(w))[:, None, :]                                 # [N, 1, W]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)  # [N, 1, H, W]


@torch.no_grad()
def accuracy(net, x, y, batch=1000):
    net.eval()
    correct = sum(int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                  for i in range(0, len(x), batch))
    return correct / len(x)


def load_data(args):
    """(x_train, y_train, x_test, y_test, split description); images float32 in [-1, 1]."""
    if args.mnist is None:
        ds = load_dataset(DataConfig(name="mnist5k"))
        train_idx, test_idx = mnist5k_split(ds.labels)
        split = ("mnist5k: first 400 of each class in file order train (4,000), "
                 "the remaining 100 of each class held out (1,000)")
        return (ds.batch(train_idx, "cpu"), ds.labels[train_idx],
                ds.batch(test_idx, "cpu"), ds.labels[test_idx], split)
    train = load_dataset(DataConfig(name="mnist", path=args.mnist, split="train"))
    test = load_dataset(DataConfig(name="mnist", path=args.mnist, split="test"))
    everything = lambda ds: ds.batch(torch.arange(len(ds)), "cpu")  # noqa: E731
    return (everything(train), train.labels, everything(test), test.labels,
            f"mnist: train split ({len(train):,}), test split ({len(test):,})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", metavar="DIR", help="folder of MNIST IDX files (default: MNIST-5k)")
    parser.add_argument("--epochs", type=int, help="passes over the training set "
                                                   "(default: 30 on MNIST-5k, 4 on MNIST)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate, decayed to 0 "
                                                                "by a cosine over the run")
    parser.add_argument("--shift", type=int, default=2, help="random shift augmentation, pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    parser.add_argument("--limit", type=int, metavar="N", help="train on a seeded random N of the "
                                                               "training digits (a smoke run; default: all)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="weights file "
                        "(.safetensors); the JSON sidecar is written beside it")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (30 if args.mnist is None else 4)

    # Load data.
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_train, y_train, x_test, y_test, split = load_data(args)
    if args.limit is not None:
        keep = torch.randperm(len(x_train), generator=gen)[:args.limit]  # the file is sorted by class
        x_train, y_train = x_train[keep], y_train[keep]
        split += f"; training on {len(x_train):,} of them (--limit)"
    print(f"{split}; {epochs} epochs, batch {args.batch_size}, seed {args.seed}, "
          f"{torch.get_num_threads()} threads")

    # Build network.
    net = LeNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))

    # Train.
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        loss_sum = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            x = random_shift(x_train[idx], args.shift, gen) if args.shift else x_train[idx]
            loss = F.cross_entropy(net(x), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        if epoch == epochs - 1 or (epoch + 1) % max(1, epochs // 6) == 0:
            print(f"epoch {epoch + 1:3d}  loss {loss_sum / len(x_train):.4f}  "
                  f"held-out acc {accuracy(net, x_test, y_test):.4f}  "
                  f"{time.perf_counter() - start:.1f}s")
    train_time = time.perf_counter() - start

    # Evaluate.
    acc = accuracy(net, x_test, y_test)
    print(f"train time {train_time:.1f}s; held-out accuracy {acc:.4f} on {len(x_test):,} digits")

    # Save: tensors only (no pickle), contiguous so that safetensors accepts them.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(args.out))
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    info = {"accuracy": acc, "num_test": len(x_test), "split": split, "epochs": epochs,
            "batch_size": args.batch_size, "lr": args.lr, "shift": args.shift, "seed": args.seed,
            "train_time_s": round(train_time, 1), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "sha256": sha, "weights_id": sha[:16]}
    args.out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, weights_id {sha[:16]}) "
          f"and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
