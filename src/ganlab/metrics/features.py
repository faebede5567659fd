"""Streaming statistics of feature vectors: the shared input of FID, KID and precision/recall.

Moments are kept in float64 as (count, mean, M2 = sum of centred outer products) and combined with
the pairwise update of Chan, Golub & LeVeque (1979), so batches and processes merge exactly as if
all features had been seen at once, and features with a large mean do not lose precision (a
float32 raw-moment sum Σxxᵀ − nμμᵀ turned FID 1.104 into −0.139 on features with mean/sd = 100,
as in pytorch-fid). The covariance is unbiased, 1/(N − 1), as np.cov in TTUR
and pytorch-fid.
"""

import numpy as np
import torch

from ganlab.errors import GanlabError


class MetricInputError(GanlabError, ValueError):
    """Features or statistics of the wrong shape, size or value (a ValueError with a one-sentence message)."""


def _as_tensor(x):
    return torch.from_numpy(x) if isinstance(x, np.ndarray) else torch.as_tensor(x)


def as_features(x, name="features"):
    """`x` ([n, d] tensor or array, any float dtype) as a detached float64 tensor on its device.

    The one input check every metric goes through: it refuses anything but a 2-D matrix and any
    row holding NaN or infinity (a k-NN radius or a kernel mean would otherwise turn them into a
    plausible-looking number). `name` ('fake', 'real', 'probs', ...) is the input the message names.
    """
    x = _as_tensor(x)
    if x.ndim != 2:
        raise MetricInputError(f"{name} must be a 2-D [n, d] matrix, got shape {tuple(x.shape)}.")
    x = x.detach().to(torch.float64)
    bad = (~torch.isfinite(x)).any(dim=1)  # [n]
    if bad.any():
        first = int(bad.nonzero()[0])
        raise MetricInputError(f"{name} has {int(bad.sum())} of {x.shape[0]} rows with NaN or infinity (the first is row {first}); metrics need finite features.")
    return x


class FeatureStats:
    """Count, mean and covariance of a stream of [n, d] feature batches, in float64.

    keep_features: also keep the raw features (for KID, precision/recall), at most `max_items` of
    them (the first ones seen; None keeps all). The moments always use every item.
    """

    def __init__(self, keep_features=False, max_items=None):
        if max_items is not None and max_items < 0:
            raise MetricInputError(f"max_items must be None or >= 0, got {max_items}.")
        self.keep_features = keep_features
        self.max_items = max_items
        self.num_items = 0
        self._mean = None   # [d] float64
        self._m2 = None     # [d, d] float64, sum of (x - mean)(x - mean)^T
        self._kept = []     # list of [n_i, d] tensors in the dtype they came in

    @property
    def dim(self):
        return None if self._mean is None else self._mean.shape[0]

    def update(self, x, name="feature batch"):
        """Add a batch x [n, d] (tensor or array, any float dtype); `name` is what errors call it."""
        raw = _as_tensor(x)
        x = as_features(raw, name)
        if self.dim is not None and x.shape[1] != self.dim:
            raise MetricInputError(f"feature batch has dimension {x.shape[1]}, but earlier batches had {self.dim}.")
        if x.shape[0] == 0:
            return self
        if self.keep_features:
            room = x.shape[0] if self.max_items is None else self.max_items - self.num_kept
            if room > 0:
                self._kept.append(raw[:room].detach().to("cpu", copy=True))  # the caller may reuse its buffer
        mean = x.mean(dim=0)                 # [d]
        centred = x - mean                   # [n, d]
        self._combine(x.shape[0], mean, centred.T @ centred)
        return self

    def merge(self, other):
        """Add the items seen by `other` (another FeatureStats), e.g. from another process."""
        if other.num_items == 0:
            return self
        if self.dim is not None and other.dim != self.dim:
            raise MetricInputError(f"cannot merge statistics of dimension {other.dim} into dimension {self.dim}.")
        if self.keep_features:
            for kept in other._kept:
                room = kept.shape[0] if self.max_items is None else self.max_items - self.num_kept
                if room > 0:
                    self._kept.append(kept[:room])
        device = self._mean.device if self._mean is not None else other._mean.device
        self._combine(other.num_items, other._mean.to(device), other._m2.to(device))
        return self

    def _combine(self, n_b, mean_b, m2_b):
        # Chan et al. 1979: M2 = M2_a + M2_b + delta delta^T n_a n_b / n.
        if self.num_items == 0:
            self.num_items, self._mean, self._m2 = n_b, mean_b.clone(), m2_b.clone()
            return
        n_a, n = self.num_items, self.num_items + n_b
        delta = mean_b - self._mean                                   # [d]
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + torch.outer(delta, delta) * (n_a * n_b / n)
        self.num_items = n

    def mean(self):
        """[d] float64 mean of all items."""
        if self.num_items == 0:
            raise MetricInputError("no features were added, so there is no mean.")
        return self._mean.clone()

    def cov(self):
        """[d, d] float64 unbiased covariance, M2 / (N − 1)."""
        if self.num_items < 2:
            raise MetricInputError(f"a covariance needs at least 2 features, got {self.num_items}.")
        return self._m2 / (self.num_items - 1)

    @property
    def num_kept(self):
        return sum(k.shape[0] for k in self._kept)

    def features(self):
        """[n_kept, d] raw features kept so far (keep_features=True), on the CPU."""
        if not self.keep_features:
            raise MetricInputError("these statistics were built with keep_features=False, so no features were kept.")
        if not self._kept:
            raise MetricInputError("no features were added.")
        return torch.cat(self._kept)

    def state_dict(self):
        """Plain tensors only (torch.save with weights_only loading, or safetensors)."""
        d = 0 if self.dim is None else self.dim
        state = {
            "num_items": torch.tensor(self.num_items, dtype=torch.int64),
            "mean": self._mean.cpu() if self._mean is not None else torch.zeros(d, dtype=torch.float64),
            "m2": self._m2.cpu() if self._m2 is not None else torch.zeros(d, d, dtype=torch.float64),
        }
        if self.keep_features and self._kept:
            state["features"] = self.features()
        return state

    def load_state_dict(self, state):
        """Restore from state_dict(); keep_features and max_items stay as constructed."""
        self.num_items = int(state["num_items"])
        if self.num_items == 0:
            self._mean = self._m2 = None
        else:
            self._mean = state["mean"].to(torch.float64)
            self._m2 = state["m2"].to(torch.float64)
            if self._mean.ndim != 1 or self._m2.shape != (self._mean.shape[0],) * 2:
                raise MetricInputError(f"saved statistics have mean {tuple(self._mean.shape)} and M2 {tuple(self._m2.shape)}, expected [d] and [d, d].")
        self._kept = []
        if self.keep_features and "features" in state:
            self._kept = [state["features"][: self.max_items]]
        return self
