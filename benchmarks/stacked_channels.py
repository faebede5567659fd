"""Where a Stacked-MNIST generator's KL comes from: each channel's digit shares beside the joint.

The protocol's KL is that of the histogram over the 1,000 modes (digit triples) against uniform. For
empirical histograms it splits exactly into the channels' own KLs against uniform over 10 digits and
the channels' dependence (their total correlation, >= 0):

    KL(p || U_1000) = sum_k KL(p_k || U_10) + [sum_k H(p_k) - H(p)]

so a generator that draws every channel with the same skewed digit shares and independently has a
joint KL of three times one channel's, and one that ties its channels together shows it in the last
term. The floor is the KL of a uniform histogram drawn N times (about 0.02 at N = 26,000).

    python benchmarks/stacked_channels.py runs/00007-stacked-pacdcgan2             # its latest checkpoint
    python benchmarks/stacked_channels.py runs/00007-stacked-pacdcgan2 --checkpoint final --n 26000
"""

import argparse
import sys

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


def split_kl(digits):
    """digits [N, 3] ints in 0..9 (each sample's digit per channel) -> {'joint': counts [1000],
    'channels': counts [3, 10], 'kl': KL of the joint, 'channel_kls': [3], 'dependence': total
    correlation}, with kl == sum(channel_kls) + dependence."""
    digits = np.asarray(digits)
    joint = np.bincount(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], minlength=1000)
    channels = np.stack([np.bincount(digits[:, k], minlength=10) for k in range(3)])
    return {"joint": joint, "channels": channels, "kl": kl_to_uniform(joint),
            "channel_kls": [kl_to_uniform(c) for c in channels],
            "dependence": sum(entropy(c) for c in channels) - entropy(joint)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", default="latest", help="latest, final, best or a path")
    parser.add_argument("--n", type=int, default=26000, help="samples (the protocol's 26,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    args = parser.parse_args()

    from ganlab import api
    from ganlab.errors import GanlabError
    from ganlab.metrics.class_probs import class_histogram
    from ganlab.metrics.evaluate import extract_features

    torch.set_num_threads(1)
    try:
        g = api.load_generator(args.run_dir, args.checkpoint)
        # The metric's own path (modes26k_stacked): the joint over the 1,000 modes, its argmax the triple of
        # per-channel digits 100 a + 10 b + c.
        probs = extract_features("lenet-stacked", g.sample(args.n, seed=args.seed))["probs"]
    except GanlabError as exc:
        print(f"stacked_channels.py: {exc}", file=sys.stderr)  # bad input: one sentence, exit status 2
        sys.exit(2)
    metric = class_histogram(probs)
    modes = probs.argmax(dim=1).numpy()
    s = split_kl(np.stack([modes // 100, modes // 10 % 10, modes % 10], axis=1))
    floor = kl_to_uniform(np.bincount(np.random.default_rng(0).integers(0, 1000, args.n), minlength=1000))
    print(f"{args.run_dir} at {g.kimg:g} kimg, {args.n} samples: modes {metric['classes_covered']}, "
          f"KL {metric['kl_to_uniform']:.4f} (a uniform histogram drawn {args.n} times: {floor:.4f})")
    for k, (c, kl) in enumerate(zip(s["channels"], s["channel_kls"])):
        print(f"channel {k}: digit shares % {' '.join(f'{v:.1f}' for v in 100 * c / c.sum())}; KL {kl:.4f}")
    print(f"channels {sum(s['channel_kls']):.4f} + dependence {s['dependence']:.4f} = {s['kl']:.4f}")


if __name__ == "__main__":
    main()
