"""Feature extractors: networks that map images (or points) to the features metrics compare.

EXTRACTORS maps a name to a builder `fn(device) -> Extractor`. An extractor takes a batch in the
library's data convention (images float32 [N, C, H, W] in [-1, 1]; points [N, D]) and returns a
dict with "features" [N, d] and, for classifiers, "probs" [N, K] (rows sum to 1).
`weights_id` names the weights (a content hash), so cached real-data statistics are keyed by it.
"""

from torch import nn

from ganlab.utils.registry import Registry

EXTRACTORS = Registry("feature extractor")


class Extractor(nn.Module):
    """Base: subclasses set `dim`, `num_classes` (0 when there are no class probabilities) and
    `weights_id`, and implement `forward(x) -> {"features": [N, dim], "probs": [N, K] or None}`."""

    dim: int = 0
    num_classes: int = 0
    weights_id: str = "none"


class Identity(Extractor):
    """The data itself, flattened: for toy points, where metrics compare samples directly."""

    weights_id = "identity"

    def forward(self, x):
        return {"features": x.flatten(1).double(), "probs": None}


@EXTRACTORS.register("identity", "the samples themselves, flattened (toy data)")
def identity(device="cpu"):
    return Identity().to(device)

from ganlab.metrics import lenet  # noqa: F401, E402  (registers lenet-mnist; after EXTRACTORS exists)
from ganlab.metrics import inception  # noqa: F401, E402  (registers inception-fid)
