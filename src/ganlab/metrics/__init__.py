"""Metric registry: each name carries its protocol (statistic, sample count, feature extractor).

`fid5k_lenet` is the Fréchet distance between 5,000 generated images and 5,000 real training
images in the penultimate-layer features of the shipped MNIST classifier; numbers are comparable
only between identical names. The toy metrics (`modes`, `hq`, `rkl`) are computed during training
on toy data and follow PacGAN's protocol.
"""

from dataclasses import dataclass

from ganlab.utils.registry import Registry

METRICS = Registry("metric")


@dataclass(frozen=True)
class MetricSpec:
    kind: str                   # fid | kid | is | classes | pr | dc | toy
    extractor: str = "identity"  # entry of EXTRACTORS
    num: int = 0                # generated samples (and real samples, where the data has them)
    lower_is_better: bool = True


def _metric(name, description, **spec):
    METRICS.register(name, description)(MetricSpec(**spec))


for _name, _desc in (("modes", "toy mixtures: modes with at least one high-quality sample, of 2,500 (PacGAN protocol)"),
                     ("hq", "toy mixtures: fraction of 2,500 samples within 3 std of their nearest mode"),
                     ("rkl", "toy mixtures: KL(mode histogram of high-quality samples || uniform)")):
    _metric(_name, _desc, kind="toy", lower_is_better=_name == "rkl")

_metric("fid5k_lenet", "FID, 5k generated vs 5k real training images, lenet-mnist features (128-d)", kind="fid", extractor="lenet-mnist", num=5000)
_metric("kid5k_lenet", "KID (cubic kernel, 100 subsets of 1000), 5k vs 5k, lenet-mnist features", kind="kid", extractor="lenet-mnist", num=5000)
_metric("pr5k_lenet", "precision and recall (k = 3), 5k vs 5k, lenet-mnist features", kind="pr", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("dc5k_lenet", "density and coverage (k = 5), 5k vs 5k, lenet-mnist features", kind="dc", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("mnist_score5k", "MNIST score: Inception Score with the lenet-mnist classifier, 5k samples, 10 splits (max 10)", kind="is", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("classes5k_lenet", "digit classes covered by 5k samples (argmax of lenet-mnist) and KL of that histogram to uniform", kind="classes", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("fid10k_inception", "FID, 10k generated vs 10k real, InceptionV3 pool3 (FID weights from a local file)", kind="fid", extractor="inception-fid", num=10000)
_metric("kid10k_inception", "KID (cubic kernel, 100 subsets of 1000), 10k vs 10k, InceptionV3 pool3", kind="kid", extractor="inception-fid", num=10000)
_metric("is10k_inception", "Inception Score, 10k samples, 10 splits, FID-weights InceptionV3 logits", kind="is", extractor="inception-fid", num=10000, lower_is_better=False)
