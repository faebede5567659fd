"""Where a Stacked-MNIST generator's KL comes from: each channel's digit shares beside the joint.

The protocol's KL is that of the histogram over the 1,000 modes (digit triples) against uniform. For
empirical histograms it splits exactly into the channels' own KLs against uniform over 10 digits and
the channels' dependence (their total correlation, >= 0):

    KL(p || U_1000) = sum_k KL(p_k || U_10) + [sum_k H(p_k) - H(p)]

so a generator that draws every channel with the same skewed digit shares and independently has a
joint KL of three times one channel's, and one that ties its channels together shows it in the last
term. The floor is the KL of a uniform histogram drawn N times (about 0.019 at N = 26,000).

    python benchmarks/stacked_channels.py runs/00007-stacked-pacdcgan2             # its latest checkpoint
    python benchmarks/stacked_channels.py runs/00007-stacked-pacdcgan2 --checkpoint final --n 26000
"""

import argparse

import numpy as np
import torch


def kl_to_uniform(counts):
    """KL(counts / sum || uniform over len(counts)) in nats; empty bins contribute 0."""
    p = counts / counts.sum()
    p = p[p > 0]
    return float((p * np.log(p * len(counts))).sum())


def entropy(counts):
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def decompose(digits):
    """digits [N, 3] ints in 0..9 -> (joint counts [1000], channel counts [3, 10])."""
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    return np.bincount(modes, minlength=1000), np.stack([np.bincount(digits[:, k], minlength=10) for k in range(3)])


def classify(x, batch=2000):
    """The digit lenet-mnist reads in each channel of x [N, 3, H, W] -> [N, 3] (the protocol's mode)."""
    from ganlab.metrics.lenet import load_lenet

    lenet = load_lenet()
    with torch.no_grad():
        return torch.stack([torch.cat([lenet(x[i:i + batch, k:k + 1])["probs"].argmax(1)
                                       for i in range(0, len(x), batch)]) for k in range(3)], 1).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", default="latest", help="latest, final, best or a path")
    parser.add_argument("--n", type=int, default=26000, help="samples (the protocol's 26,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    args = parser.parse_args()

    from ganlab import api

    torch.set_num_threads(1)
    g = api.load_generator(args.run_dir, args.checkpoint)
    joint, channels = decompose(classify(g.sample(args.n, seed=args.seed)))
    channel_kls = [kl_to_uniform(c) for c in channels]
    dependence = sum(entropy(c) for c in channels) - entropy(joint)
    floor = kl_to_uniform(np.bincount(np.random.default_rng(0).integers(0, 1000, args.n), minlength=1000))
    print(f"{args.run_dir} at {g.kimg:g} kimg, {args.n} samples: modes {int((joint > 0).sum())}, "
          f"KL {kl_to_uniform(joint):.4f} (a uniform histogram drawn {args.n} times: {floor:.4f})")
    for k, (c, kl) in enumerate(zip(channels, channel_kls)):
        print(f"channel {k}: digit shares % {' '.join(f'{v:.1f}' for v in 100 * c / c.sum())}; KL {kl:.4f}")
    print(f"channels {sum(channel_kls):.4f} + dependence {dependence:.4f} = {sum(channel_kls) + dependence:.4f}")


if __name__ == "__main__":
    main()
