"""`lenet-mnist`: a small LeNet-style MNIST classifier, shipped as safetensors inside the package.

Its penultimate layer (128-d) gives the features for FID/KID/precision-recall on MNIST, its softmax
the "MNIST score" (the Inception Score with this classifier, at most 10) and the class histogram
(classes covered, KL to uniform) that makes mode collapse on MNIST visible.

The weights are trained by `scripts/train_lenet.py` (seed 0) on 4,000 MNIST-5k digits, the first
400 of each class in file order; the other 1,000 are held out (`mnist5k_split`). The accuracy
measured there is written beside the weights in `lenet_mnist.json`.
"""

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError
from ganlab.metrics.extractors import EXTRACTORS, Extractor

WEIGHTS_PATH = Path(__file__).parent / "weights" / "lenet_mnist.safetensors"
TRAIN_PER_CLASS = 400  # MNIST-5k has 500 per class: 400 train, 100 held out


def mnist5k_split(labels):
    """(train_idx, heldout_idx) int64 of MNIST-5k labels [N]: the first TRAIN_PER_CLASS digits of
    each class in file order train, the rest are held out (4,000 / 1,000 on MNIST-5k)."""
    train, heldout = [], []
    for c in range(10):
        idx = (labels == c).nonzero().flatten()  # ascending = file order
        train.append(idx[:TRAIN_PER_CLASS])
        heldout.append(idx[TRAIN_PER_CLASS:])
    return torch.cat(train).sort().values, torch.cat(heldout).sort().values


class LeNet(nn.Module):
    """conv5x5 32 -> pool -> conv5x5 64 -> pool -> FC 128 -> FC 10 (LeCun et al. 1998, with ReLU,
    max-pooling and dropout before the classifier, which is active in training only)."""

    def __init__(self, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)        # [N, 32, 24, 24]
        self.conv2 = nn.Conv2d(32, 64, 5)       # [N, 64, 8, 8]
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, 10)
        self.dropout = nn.Dropout(dropout)

    def features(self, x):
        """Penultimate activations [N, 128] of images x [N, 1, 28, 28] in [-1, 1]."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)   # [N, 32, 12, 12]
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)   # [N, 64, 4, 4]
        return F.relu(self.fc1(h.flatten(1)))        # [N, 128]

    def forward(self, x):
        """Logits [N, 10]."""
        return self.fc2(self.dropout(self.features(x)))


class LeNetExtractor(Extractor):
    """LeNet features (penultimate layer) and class probabilities, both float64."""

    dim = 128
    num_classes = 10

    def __init__(self, net: LeNet, weights_id: str):
        super().__init__()
        self.net = net.eval()
        self.weights_id = weights_id

    def train(self, mode=True):
        # The classifier is frozen: dropout must never switch on, whatever the caller does.
        return super().train(False)

    def forward(self, x):
        if x.dim() == 4 and tuple(x.shape[1:]) == (1, 32, 32):
            x = x[:, :, 2:30, 2:30]  # MNIST padded to 32 (data.pad=2, LeNet-5's input): the centre
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ConfigError(f"the lenet-mnist extractor needs 1x28x28 images (or 1x32x32 padded by 2); "
                              f"got shape {tuple(x.shape)}")
        h = self.net.features(x.float())                    # [N, 128]
        logits = self.net.fc2(h)                            # [N, 10]
        return {"features": h.double(), "probs": F.softmax(logits.double(), dim=1)}


class StackedLeNetExtractor(Extractor):
    """Stacked-MNIST: the LeNet applied to each of the 3 channels (VEEGAN/PacGAN protocol).

    features: the three 128-d feature vectors side by side [N, 384]; probs: the joint over the
    1,000 modes 100 a + 10 b + c as the product of the three channels' softmaxes [N, 1000], so that
    its argmax is the triple of per-channel predictions (the protocol's mode of a sample).
    """

    dim = 3 * LeNetExtractor.dim
    num_classes = 10 ** 3

    def __init__(self, lenet: LeNetExtractor):
        super().__init__()
        self.lenet = lenet
        self.weights_id = f"stacked-{lenet.weights_id}"

    def train(self, mode=True):
        return super().train(False)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ConfigError(f"the lenet-stacked extractor needs Stacked-MNIST images 3x28x28 (or 3x32x32 padded "
                              f"by 2); got shape {tuple(x.shape)}")
        n = x.shape[0]
        out = self.lenet(x.reshape(n * 3, 1, *x.shape[2:]))             # each channel a digit
        p = out["probs"].view(n, 3, 10)                                   # [N, 3, 10]
        joint = p[:, 0, :, None, None] * p[:, 1, None, :, None] * p[:, 2, None, None, :]  # [N, 10, 10, 10]
        return {"features": out["features"].view(n, self.dim), "probs": joint.reshape(n, self.num_classes)}


def weights_id(path) -> str:
    """First 16 hex digits of the sha256 of the weights file: names cached real-data statistics."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_lenet(path=WEIGHTS_PATH, device="cpu") -> LeNetExtractor:
    """The extractor with the weights in `path` (safetensors: tensors only, no pickled code)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"the lenet-mnist weights {path} are missing; recreate them with "
                          f"`python scripts/train_lenet.py` (about 2 minutes on a CPU)")
    net = LeNet()
    net.load_state_dict(load_file(str(path)))
    for p in net.parameters():
        p.requires_grad_(False)
    return LeNetExtractor(net, weights_id(path)).to(device)


@EXTRACTORS.register("lenet-mnist", "LeNet-style MNIST classifier shipped with ganlab "
                                    "(scripts/train_lenet.py): 128-d penultimate features, "
                                    "10-class softmax (MNIST score, class histogram); 1x28x28")
def lenet_mnist(device="cpu"):
    return load_lenet(WEIGHTS_PATH, device)


@EXTRACTORS.register("lenet-stacked", "lenet-mnist on each channel of Stacked-MNIST (VEEGAN/PacGAN protocol): "
                                      "384-d features, softmax over the 1,000 modes as the product of "
                                      "the channels' softmaxes; 3x28x28")
def lenet_stacked(device="cpu"):
    return StackedLeNetExtractor(load_lenet(WEIGHTS_PATH, device))
