"""GAN metrics as functions of features, and the registry of evaluation protocols.

Argument convention (torch-fidelity's order): **generated first, real second**, named `fake` and
`real`, in every metric that compares two sets::

    fid(fake, real)                      kid(fake, real, subset_size=1000)
    precision_recall(fake, real, k=3)    density_coverage(fake, real, k=5)

Precision/recall and density/coverage are asymmetric (precision is about the fakes, recall about
the reals), so a swap gives wrong numbers silently: pass `fake=` and `real=` by keyword when in
doubt; options (k, subset_size, splits, ...) are keyword-only. Features are [n, d] tensors or
arrays of any float dtype (computed in float64); `extract_features` gives them for images.
Every metric refuses NaN or infinite features with a one-line `MetricInputError` (a GanlabError:
the CLI prints it and exits with status 2) naming the input, and refuses sizes its protocol
cannot use (KID with fewer features than `subset_size`, k-NN metrics with k ≥ n).

Example (run verbatim by tests/test_metrics_api.py)::

    import torch
    from ganlab.metrics import extract_features, fid, inception_score, kid, precision_recall

    real_images = torch.rand(600, 1, 28, 28) * 2 - 1      # stand-ins: [N, C, H, W] in [-1, 1]
    fake_images = torch.rand(500, 1, 28, 28) * 2 - 1
    real = extract_features("lenet-mnist", real_images)    # {'features': [600, 128], 'probs': [600, 10]}
    fake = extract_features("lenet-mnist", fake_images)

    print(fid(fake["features"], real["features"]))                        # generated first, real second
    print(kid(fake["features"], real["features"], subset_size=250))       # (mean, std); each set >= subset_size
    print(precision_recall(fake=fake["features"], real=real["features"], k=3))  # asymmetric: name both
    print(inception_score(fake["probs"], splits=10))                      # (mean, std), the MNIST score

Registry: `fid5k_lenet` is the Fréchet distance between 5,000 generated images and 5,000 real
training images in the penultimate-layer features of the shipped MNIST classifier; numbers are
comparable only between identical names. `modes26k_stacked` counts the Stacked-MNIST modes (the
triples of per-channel digits) among 26,000 samples, with `modes26k_stacked_kl` the KL of their
histogram to uniform over the 1,000 modes (VEEGAN / PacGAN Table 2). The toy metrics (`modes`, `hq`, `rkl`) are computed
during training on toy data and follow PacGAN's protocol.

The functions load lazily (PEP 562), so `from ganlab.metrics import METRICS` stays free of torch
and no extractor weights load until `extract_features` or an EXTRACTORS builder is called.
"""

import importlib
from dataclasses import dataclass

from ganlab.utils.registry import Registry

METRICS = Registry("metric")

_EXPORTS = {  # public name -> submodule that defines it; no submodule bears an exported name
    "fid": "frechet", "frechet_distance": "frechet",
    "kid": "mmd",
    "precision_recall": "knn", "density_coverage": "knn",
    "inception_score": "class_probs", "class_histogram": "class_probs",
    "toy_metrics": "toy", "max_rkl": "toy",
    "FeatureStats": "features", "MetricInputError": "features",
    "extract_features": "evaluate", "Evaluator": "evaluate",
    "EXTRACTORS": "extractors", "Extractor": "extractors",
}

__all__ = ["METRICS", "MetricSpec", *_EXPORTS]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


@dataclass(frozen=True)
class MetricSpec:
    kind: str                   # fid | kid | is | classes | pr | dc | toy | cond_acc | intra_fid (class-conditional G) | info_cat (InfoGAN)
    extractor: str = "identity"  # entry of EXTRACTORS
    num: int = 0                # generated samples (and real samples, where the data has them)
    lower_is_better: bool = True
    subset_size: int = 1000     # kid: items of each set per random subset (100 subsets)


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
_metric("modes26k_stacked", "Stacked-MNIST: modes of 1,000 covered by 26k samples (lenet-mnist per channel; VEEGAN/PacGAN protocol) and KL of that histogram to uniform", kind="classes", extractor="lenet-stacked", num=26000, lower_is_better=False)
_metric("cond_acc5k_lenet", "class-conditional G: fraction of 5k samples (classes uniform) that lenet-mnist assigns to the class they were generated for", kind="cond_acc", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("intra_fid5k_lenet", "class-conditional G: mean over classes of the FID between the samples made for a class and the real items of that class (5k and 5k in all), lenet-mnist features", kind="intra_fid", extractor="lenet-mnist", num=5000)
_metric("info_err5k_lenet", "InfoGAN: error of the categorical code as a digit classifier, 5k samples, code values matched to lenet-mnist's digits by a Hungarian assignment (Chen et al. 2016: about 5 %)", kind="info_cat", extractor="lenet-mnist", num=5000)
_metric("fid10k_inception", "FID, 10k generated vs 10k real, InceptionV3 pool3 (FID weights from a local file)", kind="fid", extractor="inception-fid", num=10000)
_metric("kid10k_inception", "KID (cubic kernel, 100 subsets of 1000), 10k vs 10k, InceptionV3 pool3", kind="kid", extractor="inception-fid", num=10000)
_metric("is10k_inception", "Inception Score, 10k samples, 10 splits, FID-weights InceptionV3 logits", kind="is", extractor="inception-fid", num=10000, lower_is_better=False)
