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
from typing import Callable, Tuple

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError
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

__all__ = ["METRICS", "MetricSpec", "metric_spec", "PROTOCOLS", *_EXPORTS]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


KNN_K = {"pr": 3, "dc": 5}  # neighbours of the k-NN radii: the papers' recommendations


@dataclass(frozen=True)
class MetricSpec:
    """One evaluation protocol. `compute(inputs, spec)` returns the metric's value, or {suffix: value}
    for several numbers (suffix "" is the metric itself: kid5k_lenet and kid5k_lenet_std). `needs`
    declares what it reads from the inputs (ganlab.metrics.evaluate.MetricInputs), so the evaluator
    computes only that and refuses a run that cannot give it:

        features  the extractor's features of the generated samples
        probs     the extractor's class probabilities of them (a classifier extractor)
        real      the features of `num` real training items (the reference set)
        labels    the class each generated sample was made for, and the reference items' classes
        codes     the categorical InfoGAN code of each generated sample
        modes     the mode positions of a toy mixture (computed during training, not here)
    """
    compute: Callable
    needs: Tuple[str, ...]
    extractor: str = "identity"  # entry of EXTRACTORS
    num: int = 0                # generated samples (and real samples, where the data has them)
    lower_is_better: bool = True
    subset_size: int = 1000     # kid: items of each set per random subset (100 subsets)
    min_real: int = 0           # fewest real items the protocol can use (KID's subset, k-NN's k + 1)
    scalar: bool = True         # one number per eval point: it can pick a run's best checkpoint and score a study


# The protocols: each compute reads only what its `needs` lists (functions import their maths lazily,
# so this module stays free of torch).

def _fid(x, spec):
    from ganlab.metrics.frechet import fid

    return fid(x.fake, x.real)


def _kid(x, spec):
    from ganlab.metrics.mmd import kid

    mean, std = kid(x.fake, x.real, subset_size=spec.subset_size)
    return {"": mean, "_std": std}


def _pr(x, spec):
    from ganlab.metrics.knn import precision_recall

    return {f"_{k}": v for k, v in precision_recall(x.fake, x.real, k=KNN_K["pr"]).items()}


def _dc(x, spec):
    from ganlab.metrics.knn import density_coverage

    return {f"_{k}": v for k, v in density_coverage(x.fake, x.real, k=KNN_K["dc"]).items()}


def _is(x, spec):
    from ganlab.metrics.class_probs import inception_score

    mean, std = inception_score(x.probs, splits=10)
    return {"": mean, "_std": std}


def _classes(x, spec):
    from ganlab.metrics.class_probs import class_histogram

    hist = class_histogram(x.probs)
    return {"": hist["classes_covered"], "_kl": hist["kl_to_uniform"]}


def _cond_acc(x, spec):
    return (x.probs.argmax(dim=1) == x.fake_labels).double().mean()


def _info_cat(x, spec):
    from ganlab.metrics.evaluate import category_error

    return category_error(x.probs.argmax(dim=1), x.fake_codes, x.probs.shape[1])


def _intra_fid(x, spec):
    from ganlab.metrics.evaluate import intra_class_fid

    return intra_class_fid(x.fake, x.fake_labels, x.real, x.real_labels)


def _toy(key):
    """The toy metric `key` (modes, hq or rkl) of the generated points against the mixture's modes
    (PacGAN's protocol; during training ganlab.training.evaluation calls the same toy_metrics)."""
    def compute(x, spec):
        from ganlab.metrics.toy import toy_metrics

        return toy_metrics(x.fake, x.modes, x.mode_std)[key]
    return compute


PROTOCOLS = {  # name -> what a MetricSpec of that protocol computes and needs
    "fid": dict(compute=_fid, needs=("features", "real"), min_real=2),
    "kid": dict(compute=_kid, needs=("features", "real")),
    "pr": dict(compute=_pr, needs=("features", "real"), min_real=KNN_K["pr"] + 1, lower_is_better=False, scalar=False),
    "dc": dict(compute=_dc, needs=("features", "real"), min_real=KNN_K["dc"] + 1, lower_is_better=False, scalar=False),
    "is": dict(compute=_is, needs=("probs",), lower_is_better=False),
    "classes": dict(compute=_classes, needs=("probs",), lower_is_better=False),
    "cond_acc": dict(compute=_cond_acc, needs=("probs", "labels"), lower_is_better=False),
    "info_cat": dict(compute=_info_cat, needs=("probs", "codes")),
    "intra_fid": dict(compute=_intra_fid, needs=("features", "real", "labels")),
}


def metric_spec(protocol, extractor="identity", **options):
    """A MetricSpec of protocol `protocol` (a key of PROTOCOLS) on `extractor`'s features; options
    (num, subset_size, lower_is_better) as MetricSpec's. KID's fewest real items is its subset size."""
    spec = {**PROTOCOLS[protocol], "extractor": extractor, **options}
    if protocol == "kid":
        spec["min_real"] = spec.get("subset_size", 1000)
    return MetricSpec(**spec)


def _metric(name, description, kind, **spec):
    METRICS.register(name, description)(metric_spec(kind, **spec))


for _name, _desc in (("modes", "toy mixtures: modes with at least one high-quality sample, of 2,500 (PacGAN protocol)"),
                     ("hq", "toy mixtures: fraction of 2,500 samples within 3 std of their nearest mode"),
                     ("rkl", "toy mixtures: KL(mode histogram of high-quality samples || uniform)")):
    METRICS.register(_name, _desc)(MetricSpec(compute=_toy(_name), needs=("features", "modes"), lower_is_better=_name == "rkl"))

_metric("fid5k_lenet", "FID, 5k generated vs 5k real training images, lenet-mnist features (128-d)", "fid", extractor="lenet-mnist", num=5000)
_metric("kid5k_lenet", "KID (cubic kernel, 100 subsets of 1000), 5k vs 5k, lenet-mnist features", "kid", extractor="lenet-mnist", num=5000)
_metric("pr5k_lenet", "precision and recall (k = 3), 5k vs 5k, lenet-mnist features", "pr", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("dc5k_lenet", "density and coverage (k = 5), 5k vs 5k, lenet-mnist features", "dc", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("mnist_score5k", "MNIST score: Inception Score with the lenet-mnist classifier, 5k samples, 10 splits (max 10)", "is", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("classes5k_lenet", "digit classes covered by 5k samples (argmax of lenet-mnist) and KL of that histogram to uniform", "classes", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("modes26k_stacked", "Stacked-MNIST: modes of 1,000 covered by 26k samples (lenet-mnist per channel; VEEGAN/PacGAN protocol) and KL of that histogram to uniform", "classes", extractor="lenet-stacked", num=26000, lower_is_better=False)
_metric("cond_acc5k_lenet", "class-conditional G: fraction of 5k samples (classes uniform) that lenet-mnist assigns to the class they were generated for", "cond_acc", extractor="lenet-mnist", num=5000, lower_is_better=False)
_metric("intra_fid5k_lenet", "class-conditional G: mean over classes of the FID between the samples made for a class and the real items of that class (5k and 5k in all), lenet-mnist features", "intra_fid", extractor="lenet-mnist", num=5000)
_metric("info_err5k_lenet", "InfoGAN: error of the categorical code as a digit classifier, 5k samples, code values matched to lenet-mnist's digits by a Hungarian assignment (Chen et al. 2016: about 5 %)", "info_cat", extractor="lenet-mnist", num=5000)
_metric("fid10k_inception", "FID, 10k generated vs 10k real, InceptionV3 pool3 (FID weights from a local file)", "fid", extractor="inception-fid", num=10000)
_metric("kid10k_inception", "KID (cubic kernel, 100 subsets of 1000), 10k vs 10k, InceptionV3 pool3", "kid", extractor="inception-fid", num=10000)
_metric("is10k_inception", "Inception Score, 10k samples, 10 splits, FID-weights InceptionV3 logits", "is", extractor="inception-fid", num=10000, lower_is_better=False)


@config_check("metrics: names, and a primary metric giving one number at each eval point")
def _check(cfg):
    for name in cfg.metrics or ():
        METRICS.lookup(name)
    if cfg.metrics:
        first = METRICS[cfg.metrics[0]]
        if not first.scalar or "modes" in first.needs:  # toy metrics come with the log rows, not at eval points
            raise ConfigError(f"metrics[0] = {cfg.metrics[0]!r} cannot be the primary metric; expected an fid, kid, score, "
                              f"classes or class-conditional metric first")
