"""`inception-fid`: InceptionV3 as the FID reference computes it, for FID/KID (pool3) and IS.

The network is TensorFlow's `inception-2015-12-05` graph (the one TTUR's FID and openai's
Inception Score download), in the PyTorch port `pt_inception-2015-12-05-6726825d.pth` that
pytorch-fid and torch-fidelity load. Its parameter names are those of torchvision's Inception3
(num_classes=1008, no auxiliary head), so that file loads here with strict=True. The forward pass
differs from torchvision's InceptionV3 where pytorch-fid patches it (FIDInceptionA/C/E_1/E_2) to
reproduce the TF graph of Heusel et al. 2017's TTUR code (as pytorch-fid does):
  * the pool branch of Mixed_5b-5d (A), 6b-6e (C) and 7b (E_1) averages without the zero padding
    (TF's avg_pool excludes it: count_include_pad=False);
  * the pool branch of Mixed_7c (E_2) is a *max* pool, as in the TF graph;
  * the classifier has 1008 outputs (1000 ImageNet classes and 8 unused ones).
BatchNorm eps is 1e-3, as in TF and torchvision.

The weights cannot be downloaded by ganlab: name the file with `weights=` or the environment
variable GANLAB_INCEPTION_WEIGHTS, or put it in ganlab's cache folder (~/.cache/ganlab, or
$GANLAB_CACHE) under its own name. It is read with `torch.load(weights_only=True)` (tensors only,
never pickled code) or, for a `.safetensors` file, with safetensors.
"""

import hashlib
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError
from ganlab.metrics.extractors import EXTRACTORS, Extractor

ENV_VAR = "GANLAB_INCEPTION_WEIGHTS"
FILE_NAME = "pt_inception-2015-12-05-6726825d.pth"
# sha256 of that file (95,628,359 bytes), as pinned by several independent evaluation setups; its
# first 8 hex digits are the file-name suffix, following torch.hub's `name-<sha256 prefix>.ext`.
FILE_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
SIZE = 299
RESIZES = ("tf1", "torch")
CHUNK = 64  # images per forward pass


# ----------------------------------------------------------------------------------------------
# Network. Module names are the state-dict key names of the weights file: do not rename them.

class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm(eps=1e-3) -> ReLU; keys `<name>.conv.weight`, `<name>.bn.*`."""

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x):
    # TF's 3x3/1 SAME average pool divides by the number of real (non-padding) pixels.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block (Mixed_5b-5d): 64 + 64 + 96 + pool_features channels."""

    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """35x35 -> 17x17 reduction (Mixed_6a): 384 + 96 + cin channels."""

    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (Mixed_6b-6e): 4 x 192 channels."""

    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """17x17 -> 8x8 reduction (Mixed_7a): 320 + 192 + cin channels."""

    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3/3x1 outputs (Mixed_7b, 7c): 320 + 768 + 768 + 192 channels.
    pool="avg" (Mixed_7b, padding excluded) or "max" (Mixed_7c, as in the TF graph)."""

    def __init__(self, cin, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = _avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The FID InceptionV3 on normalised 299x299 inputs [N, 3, 299, 299]."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, 1008)

    def pool3(self, x):
        """pool_3 features [N, 2048] of x [N, 3, 299, 299]."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # [N, 64, 147, 147]
        x = F.max_pool2d(x, 3, stride=2)                                   # [N, 64, 73, 73]
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))                      # [N, 192, 71, 71]
        x = F.max_pool2d(x, 3, stride=2)                                   # [N, 192, 35, 35]
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a,  # -> [N, 768, 17, 17]
                      self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e,
                      self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):        # -> [N, 2048, 8, 8]
            x = block(x)
        return x.mean(dim=(2, 3))                                          # [N, 2048]


# ----------------------------------------------------------------------------------------------
# Resizing to 299x299.

def _tf1_taps(n_in, n_out, device):
    """Source indices (lo, hi) and weights of TF1 ResizeBilinear along one axis.

    TF1 (align_corners=False, half_pixel_centers=False, the op in TTUR's graph) samples output
    pixel i at source coordinate i * (n_in / n_out), computed in float32, with
    lo = floor, hi = min(lo + 1, n_in - 1), weight = coordinate - lo.
    """
    scale = torch.tensor(n_in / n_out, dtype=torch.float32)
    src = torch.arange(n_out, dtype=torch.float32) * scale
    lo = src.floor()
    frac = src - lo
    lo = lo.long()
    hi = (lo + 1).clamp(max=n_in - 1)
    return lo.to(device), hi.to(device), frac.to(device)


def resize_tf1(x, size=SIZE):
    """x [N, C, H, W] float32 -> [N, C, size, size] as TF1's ResizeBilinear does it (no half-pixel
    centres, no antialias), interpolating along the width first, then the height, in the
    `a + (b - a) * w` form TF uses (torch-fidelity reproduces this op)."""
    ylo, yhi, wy = _tf1_taps(x.shape[2], size, x.device)
    xlo, xhi, wx = _tf1_taps(x.shape[3], size, x.device)
    top, bottom = x[:, :, ylo], x[:, :, yhi]                  # [N, C, size, W]
    top = top[..., xlo] + (top[..., xhi] - top[..., xlo]) * wx
    bottom = bottom[..., xlo] + (bottom[..., xhi] - bottom[..., xlo]) * wx
    return top + (bottom - top) * wy[:, None]                 # [N, C, size, size]


def resize_torch(x, size=SIZE):
    """pytorch-fid's resize: F.interpolate bilinear, align_corners=False (half-pixel centres), no
    antialias."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)


def preprocess(x, resize="tf1"):
    """Images [N, C, H, W] in [-1, 1] (C = 1 or 3) -> the network input [N, 3, 299, 299].

    Pixels are first rounded to the 8-bit levels the references read from image files
    (p = round((x + 1) * 127.5), as StyleGAN2-ADA quantises generator output; exact for ganlab's
    real data, which is p / 127.5 - 1). Then
      resize="tf1"   (default, TTUR and torch-fidelity): TF1 bilinear resize of p, then (p - 128) / 128;
      resize="torch" (pytorch-fid): F.interpolate of p / 255, then 2v - 1.
    The two give slightly different FIDs (0.08 on LSUN, as pytorch-fid's README reports).
    """
    p = ((x.float() + 1) * 127.5).round().clamp(0, 255)     # [N, C, H, W] 8-bit levels
    if resize == "tf1":
        if p.shape[2:] != (SIZE, SIZE):
            p = resize_tf1(p)
        v = (p - 128) / 128
    else:
        v = p / 255
        if v.shape[2:] != (SIZE, SIZE):
            v = resize_torch(v)
        v = 2 * v - 1
    return v.expand(-1, 3, -1, -1)                           # grey: the one channel as R, G and B


# ----------------------------------------------------------------------------------------------
# Extractor.

class InceptionExtractor(Extractor):
    """pool3 features [N, 2048] and 1008-class probabilities, both float64, of images in [-1, 1].

    "probs" is softmax(pool3 · Wᵀ) without the classifier bias, as openai's Inception Score code
    computes it from the same TF graph (`softmax/logits/MatMul`); torch-fidelity calls these
    `logits_unbiased`. These are the same weights the original IS used, but through the PyTorch
    port and its resize, so IS values agree with TF-computed ones only to a small tolerance; the
    8 extra classes beyond ImageNet's 1000 are kept, as in the original.
    """

    dim = 2048
    num_classes = 1008

    def __init__(self, net: FIDInceptionV3, weights_id: str, resize="tf1"):
        super().__init__()
        self.net = net.eval()
        self.resize = resize
        # The resize changes the features, so cached statistics must not be shared across modes.
        self.weights_id = weights_id if resize == "tf1" else f"{weights_id}-{resize}"

    def train(self, mode=True):
        # Frozen network: BatchNorm must keep its running statistics whatever the caller does.
        return super().train(False)

    @torch.no_grad()
    def forward(self, x):
        if x.dim() != 4 or x.shape[1] not in (1, 3) or not x.is_floating_point():
            raise ConfigError(f"the inception-fid extractor needs float images [N, 1 or 3, H, W] in "
                              f"[-1, 1]; got {x.dtype} of shape {tuple(x.shape)}")
        # Chunks of CHUNK images bound the memory taken by the 299x299 activations.
        h = torch.cat([self.net.pool3(preprocess(c, self.resize)) for c in x.split(CHUNK)])
        h = h.double()                                                        # [N, 2048]
        logits = h @ self.net.fc.weight.double().T                            # [N, 1008], no bias
        return {"features": h, "probs": F.softmax(logits, dim=1)}


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reason(exc):
    """The informative sentence of a loading error (torch's weights-only message is a page long)."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:  # pickled code or objects: refused, never run
        return "it holds more than tensors (" + text.split("WeightsUnpickler error:")[1].split(".")[0].strip() + ")"
    lines = text.strip().splitlines()
    return lines[0].split(". ")[0] if lines else type(exc).__name__


def _read_state_dict(path: Path):
    """The tensors in `path` (torch.save file or .safetensors), without ever running pickled code."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any parse failure (bad zip, refused global, bad header) is bad input
        raise ConfigError(f"the Inception weights {path} could not be read as a state dict of tensors "
                          f"(expected {FILE_NAME}): {_reason(exc)}") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ConfigError(f"the Inception weights {path} do not hold a flat state dict of tensors "
                          f"(expected {FILE_NAME})")
    return state


def _check_state_dict(state, net, path):
    """ConfigError naming the first key that is missing, unexpected or of the wrong shape."""
    expected = net.state_dict()
    for key, ref in expected.items():
        if key not in state:
            if key.endswith(".num_batches_tracked"):
                continue  # training-only counter; older exports omit it
            raise ConfigError(f"the Inception weights {path} lack the key {key!r} of {FILE_NAME}")
        if tuple(state[key].shape) != tuple(ref.shape):
            raise ConfigError(f"the Inception weights {path} have {key!r} of shape {tuple(state[key].shape)}, "
                              f"where {FILE_NAME} has {tuple(ref.shape)}")
    for key in state:
        if key not in expected:
            raise ConfigError(f"the Inception weights {path} have the key {key!r}, which {FILE_NAME} has not")


def load_inception(path, device="cpu", resize="tf1") -> InceptionExtractor:
    """The extractor with the weights in `path`; ConfigError if it is missing or not the FID net."""
    if resize not in RESIZES:
        raise ConfigError(f"unknown inception resize {resize!r}; expected one of: {', '.join(RESIZES)}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"the Inception weights file {path} does not exist; expected {FILE_NAME} "
                          f"(sha256 {FILE_SHA256[:8]}...), named by weights= or ${ENV_VAR}")
    state = _read_state_dict(path)
    with torch.device("meta"):
        net = FIDInceptionV3()  # no wasted random init: every tensor comes from the file
    _check_state_dict(state, net, path)
    for key, ref in net.state_dict().items():
        if key.endswith(".num_batches_tracked"):
            state[key] = torch.zeros((), dtype=torch.long)
        else:
            state[key] = state[key].to(ref.dtype)
    net.load_state_dict(state, strict=True, assign=True)
    net.requires_grad_(False)
    digest = file_sha256(path)
    if path.suffix != ".safetensors" and digest != FILE_SHA256:
        warnings.warn(f"{path} is not the reference {FILE_NAME} (its sha256 starts {digest[:8]}): "
                      f"its FID values are not comparable with published ones", stacklevel=2)
    return InceptionExtractor(net, digest[:16], resize).to(device)


@EXTRACTORS.register("inception-fid", "InceptionV3 with the FID weights (pt_inception-2015-12-05; "
                                      f"file from weights=, ${ENV_VAR} or ganlab's cache folder): 2048-d pool3 features, "
                                      "1008-class softmax (IS); any size, resized to 299x299")
def inception_fid(device="cpu", weights=None, resize="tf1"):
    weights = weights or os.environ.get(ENV_VAR) or (default_path() if default_path().is_file() else None)
    if not weights:
        raise ConfigError(f"the inception-fid extractor needs the FID Inception weights, which ganlab does not "
                          f"download: put {FILE_NAME} (95,628,359 bytes, sha256 {FILE_SHA256[:8]}..., the file "
                          f"pytorch-fid fetches from its GitHub release) at {default_path()}, or name its path with "
                          f"`ganlab eval --inception-weights PATH` or ${ENV_VAR}")
    return load_inception(weights, device, resize)


def default_path():
    """Where the weights are looked for when neither weights= nor the environment names them."""
    return Path(os.environ.get("GANLAB_CACHE", Path.home() / ".cache" / "ganlab")).expanduser() / FILE_NAME
