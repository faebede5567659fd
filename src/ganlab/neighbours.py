"""Did G copy its training data? Generated samples beside their nearest training images, and the
memorisation check on nearest-neighbour distances.

Goodfellow et al. (2014, Fig. 2) show each sample beside its nearest training example: a copy
would look the same. A picture can only show a few samples; the check behind it compares two
distributions of distances to the training set, in pixel space and in the lenet-mnist features:

    fake -> train       each of n generated samples to its nearest training image
    held-out -> train   n real images G never saw to their nearest training image: the data's test
                        split where it has one (mnist, fashion-mnist, cifar10 with data.path),
                        else leave-one-out (n training images, each to its nearest *other*
                        training image: a fresh draw of the same distribution against m - 1
                        references instead of m)

A generator that does not copy puts its samples no closer to the training set than new real
images are: the median ratio fake / held-out is near 1 or above (above: its samples are off the
data, which FID measures), and about 5 % of the samples fall below the held-out distances' 5th
percentile. A copying generator drives both to 0 and 100 %. The one-sided Mann-Whitney U test
asks whether fake distances are smaller than held-out ones (p < 0.01: evidence of copying).
"""

from dataclasses import dataclass

import torch

from ganlab.metrics.knn import nearest

SPLIT_SOURCES = ("mnist", "fashion-mnist", "cifar10")  # sources whose loaders have a test split
LOW_QUANTILE = 0.05


def pixels(x):
    """Images [N, C, H, W] in [-1, 1] as vectors [N, C*H*W] (float64)."""
    return x.reshape(len(x), -1).double()


def feature_spaces(shape, device="cpu"):
    """[(name, images -> features [N, d])]: pixels always; lenet-mnist features for 1x28x28 (or
    1x32x32 padded) images."""
    spaces = [("pixels", pixels)]
    if tuple(shape) in ((1, 28, 28), (1, 32, 32)):
        from ganlab.metrics.lenet import lenet_mnist

        net = lenet_mnist(device)
        spaces.append(("lenet", lambda x: torch.cat([net(part.to(device))["features"].cpu() for part in x.split(500)])))
    return spaces


def held_out(cfg, dataset, n, generator):
    """(images [n', C, H, W] in [-1, 1], train indices [n'] to exclude or None, description): real
    images G did not see, or leave-one-out training images (module docstring)."""
    from omegaconf import OmegaConf

    from ganlab.data import load_dataset

    if cfg.data.name in SPLIT_SOURCES and cfg.data.split == "train":
        test_cfg = OmegaConf.merge(cfg.data, {"split": "test"})
        test = load_dataset(test_cfg)
        pick = torch.randperm(len(test), generator=generator)[:n]
        return test.batch(pick, "cpu"), None, f"{len(pick)} images of the {cfg.data.name} test split"
    pick = torch.randperm(len(dataset), generator=generator)[:n]
    return dataset.batch(pick, "cpu"), pick, f"{len(pick)} training images, each against the other training images (leave-one-out)"


@dataclass
class SpaceCheck:
    """The memorisation check in one feature space."""

    space: str
    fake: torch.Tensor            # [n] distance of each sample to its nearest training image
    held_out: torch.Tensor        # [n'] the same for held-out real images
    fake_idx: torch.Tensor        # [n, k] indices of each sample's nearest training images

    @property
    def medians(self):
        """(fake, held-out) medians (the mean of the middle two for an even count)."""
        return float(torch.quantile(self.fake, 0.5)), float(torch.quantile(self.held_out, 0.5))

    @property
    def median_ratio(self):
        fake, held = self.medians
        return fake / max(held, 1e-300)

    @property
    def below_low(self):
        """Fraction of samples closer than the held-out distances' LOW_QUANTILE quantile (~5 % honest)."""
        low = torch.quantile(self.held_out, LOW_QUANTILE)
        return float((self.fake < low).double().mean())

    @property
    def p_closer(self):
        """One-sided Mann-Whitney U p-value of 'fake distances are smaller than held-out ones'."""
        from scipy.stats import mannwhitneyu

        return float(mannwhitneyu(self.fake.numpy(), self.held_out.numpy(), alternative="less").pvalue)

    def summary(self):
        return {"space": self.space, "fake_median": self.medians[0], "held_out_median": self.medians[1],
                "median_ratio": self.median_ratio, f"below_held_out_q{int(LOW_QUANTILE * 100):02d}": self.below_low,
                "p_closer": self.p_closer}

    def verdict(self):
        if self.p_closer < 0.01 and self.below_low > 2 * LOW_QUANTILE:
            return "samples are closer to the training set than held-out images are: evidence of copying"
        return "no sign of copying: samples are no closer to the training set than held-out images"


def check(fake, train, held, exclude, spaces, k=3):
    """[SpaceCheck] of fakes, training and held-out images (all [N, C, H, W] in [-1, 1]) in each
    space; `exclude` the held-out rows' own training indices (leave-one-out) or None."""
    out = []
    for name, embed in spaces:
        f_train, f_fake, f_held = embed(train), embed(fake), embed(held)
        d_fake, i_fake = nearest(f_fake, f_train, k=k)
        d_held, _ = nearest(f_held, f_train, k=1, exclude=exclude)
        out.append(SpaceCheck(name, d_fake[:, 0].cpu(), d_held[:, 0].cpu(), i_fake.cpu()))
    return out


def panel(fake, train, checks, path, rows=8, title=None):
    """A PNG: `rows` samples, each beside its k nearest training images in every space, and the
    histograms of fake -> train and held-out -> train distances per space."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(ax, img):
        img = ((img.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
        ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])

    rows = min(rows, len(fake))
    k = checks[0].fake_idx.shape[1]
    cols = 1 + k * len(checks)
    fig = plt.figure(figsize=(0.95 * cols + 3.8, max(0.95 * rows, 2.4 * len(checks)) + 0.5))
    left, right = fig.subfigures(1, 2, width_ratios=[0.95 * cols, 3.8])
    axes = left.subplots(rows, cols, squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.06})
    for r in range(rows):
        show(axes[r][0], fake[r])
        for s, c in enumerate(checks):
            for j in range(k):
                show(axes[r][1 + s * k + j], train[c.fake_idx[r, j]])
    axes[0][0].set_title("sample", fontsize=8)
    for s, c in enumerate(checks):
        for j in range(k):
            axes[0][1 + s * k + j].set_title(f"{c.space} #{j + 1}", fontsize=8)
    hists = right.subplots(len(checks), 1, squeeze=False, gridspec_kw={"hspace": 0.55})[:, 0]
    for ax, c in zip(hists, checks):
        hi = float(torch.cat([c.fake, c.held_out]).max())
        bins = torch.linspace(0, hi * 1.02 + 1e-12, 40).numpy()
        ax.hist(c.held_out.numpy(), bins=bins, alpha=0.55, density=True, label="held-out -> train")
        ax.hist(c.fake.numpy(), bins=bins, alpha=0.55, density=True, label="sample -> train")
        ax.set_title(f"{c.space}: median ratio {c.median_ratio:.2f}\n{100 * c.below_low:.1f} % of samples below "
                     f"held-out q{int(LOW_QUANTILE * 100):02d}", fontsize=8)
        ax.set_xlabel("distance to the nearest training image", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path
