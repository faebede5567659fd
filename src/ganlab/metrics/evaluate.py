"""Evaluate a generator by registered metric names: one feature pass per extractor, real-data
statistics cached on disk, results as a flat dict of numbers; and `extract_features`, the
features of any images for the metric functions."""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from safetensors.torch import load_file, save_file

from ganlab.errors import ConfigError
from ganlab.metrics import METRICS
from ganlab.metrics.extractors import EXTRACTORS, Extractor
from ganlab.metrics.frechet import fid

BATCH = 250
REAL_SEED = 0  # the real reference set: `num` training items drawn with this seed (all when fewer)


def cache_dir():
    return Path(os.environ.get("GANLAB_CACHE", Path.home() / ".cache" / "ganlab")) / "stats"


def check_metrics(names, dataset_kind):
    """The MetricSpecs of `names`, refusing unknown names and image metrics on toy points."""
    specs = {}
    for name in names:
        spec = METRICS.lookup(name)
        if "modes" in spec.needs:
            raise ConfigError(f"metric {name!r} needs toy mixture data (2-D points with known modes); this run's data "
                              f"are images, whose metrics are feature metrics such as fid5k_lenet")
        if dataset_kind == "points" and spec.extractor != "identity":
            raise ConfigError(f"metric {name!r} needs images; this run's data are 2-D points (its metrics are modes, hq, rkl)")
        specs[name] = spec
    return specs


@torch.no_grad()
def _extract(extractor, batches):
    """Run the extractor over an iterable of image batches: (features float32 [N, d], probs or None)."""
    feats, probs = [], []
    for x in batches:
        out = extractor(x)
        feats.append(out["features"].float().cpu())
        if out.get("probs") is not None:
            probs.append(out["probs"].cpu())
    return torch.cat(feats), (torch.cat(probs).double() if probs else None)


def extract_features(extractor, images, *, device="cpu", batch_size=BATCH):
    """{'features': float32 [N, d], 'probs': float64 [N, K] or None} of `images`, on the CPU.

    extractor: a name in EXTRACTORS ('lenet-mnist', 'inception-fid', 'identity') or a built
    Extractor. images: a tensor in the library's data convention (float [N, C, H, W] in [-1, 1];
    points [N, D]) or an iterable of such batches. Weights load here, not at import.
    """
    if isinstance(extractor, str):
        extractor = EXTRACTORS.lookup(extractor)(device=device)
    elif not isinstance(extractor, Extractor):
        raise ConfigError(f"extractor must be a name in {sorted(EXTRACTORS)} or an Extractor, got {type(extractor).__name__}")
    extractor.eval()
    if torch.is_tensor(images):
        images = images.split(batch_size)
    features, probs = _extract(extractor, (x.to(device) for x in images))
    return {"features": features, "probs": probs}


def real_features(extractor_name, extractor, dataset, data_cfg, num, device):
    """Features of the real reference set, cached by extractor, weights, dataset and count."""
    key = json.dumps({"extractor": extractor_name, "weights": extractor.weights_id, "data": dict(data_cfg),
                      "num": num, "seed": REAL_SEED, "n_items": len(dataset)}, sort_keys=True, default=str)
    path = cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.safetensors"
    if path.is_file():
        try:
            return load_file(path)["features"]
        except Exception:  # a damaged cache file is recomputed, never trusted
            pass
    gen = torch.Generator().manual_seed(REAL_SEED)
    idx = torch.randperm(len(dataset), generator=gen)[:num]
    feats, _ = _extract(extractor, (dataset.batch(i, device) for i in idx.split(BATCH)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    save_file({"features": feats.contiguous()}, str(tmp))
    os.replace(tmp, path)
    return feats


def sample_batches(G, sample_z, num, seed, device, codes=None):
    """Yield `num` samples of G in batches, from latent codes of a generator seeded with `seed`;
    the codes are appended to the list `codes` when one is given."""
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = G.training
    G.eval()
    try:
        for start in range(0, num, BATCH):
            with torch.no_grad():
                w = sample_z(min(BATCH, num - start), gen)
                if codes is not None:
                    codes.append(w)
                yield G(w).clamp(-1, 1)
    finally:
        G.train(was_training)


@dataclass
class MetricInputs:
    """What the metrics of one extractor read (each only what its spec `needs`): the generated
    samples' features [N, d] and class probabilities [N, K] (None without a classifier), the real
    reference set's features [M, d], the class each sample was made for [N] and the reference
    items' classes [M], each sample's categorical InfoGAN code [N]."""
    fake: torch.Tensor
    probs: Optional[torch.Tensor] = None
    real: Optional[torch.Tensor] = None
    fake_labels: Optional[torch.Tensor] = None
    real_labels: Optional[torch.Tensor] = None
    fake_codes: Optional[torch.Tensor] = None
    modes: Optional[torch.Tensor] = None      # a toy mixture's mode centres [K, d] and their std
    mode_std: Optional[float] = None


def compute_metrics(specs, inputs):
    """{name: value} for MetricSpecs `specs` ({name: spec}), each computed from the MetricInputs of
    its extractor (`inputs`: {extractor: MetricInputs}); a spec giving several numbers adds each
    under name + suffix (kid5k_lenet, kid5k_lenet_std)."""
    out = {}
    for name, spec in specs.items():
        value = spec.compute(inputs[spec.extractor], spec)
        out.update({name + suffix: v for suffix, v in value.items()} if isinstance(value, dict) else {name: value})
    return {k: float(v) for k, v in out.items()}


def category_error(predicted, codes, num_classes):
    """InfoGAN's categorical code used as a classifier (Chen et al. 2016, Sec. 7.1): the fraction of
    samples whose classifier label differs from the label their code value is matched to, under the
    one-to-one matching of code values to classes that agrees most often (the Hungarian assignment
    on the [K, classes] confusion matrix; scipy's linear_sum_assignment)."""
    from scipy.optimize import linear_sum_assignment

    k = int(codes.max()) + 1 if len(codes) else 1
    confusion = torch.zeros(k, num_classes, dtype=torch.float64)
    confusion.index_put_((codes.long(), predicted.long()), torch.ones(len(codes), dtype=torch.float64), accumulate=True)
    rows, cols = linear_sum_assignment(confusion.numpy(), maximize=True)
    return 1.0 - confusion[rows, cols].sum().item() / max(1, len(codes))


def intra_class_fid(fake, fake_labels, real, real_labels):
    """Mean over the classes of the real items of FID(fakes made for the class, reals of the class)."""
    values = []
    for k in real_labels.unique().tolist():
        f, r = fake[fake_labels == k], real[real_labels == k]
        if len(f) < 2 or len(r) < 2:
            raise ConfigError(f"intra-class FID needs at least 2 samples of every class; class {k} has {len(f)} "
                              f"generated and {len(r)} real")
        values.append(fid(f, r))
    return sum(values) / len(values)


def _check_real_size(specs, extractor, n_real):
    """Refuse, before any sample is generated, protocols the reference set is too small for (KID's
    subsets, the k-NN radii)."""
    for name, spec in specs.items():
        if spec.extractor == extractor and n_real < spec.min_real:
            raise ConfigError(f"metric {name!r} needs at least {spec.min_real} real items (KID's subset size, or k + 1 "
                              f"for k-NN radii) and the dataset has {n_real}; use a larger dataset or an fid metric")


def _probe(extractor, name, dataset, device, metrics):
    """Refuse, before training starts, an extractor that cannot read this dataset's samples (lenet-mnist
    on RGB images, lenet-stacked on grey digits), by running it on two real items."""
    try:
        with torch.no_grad():
            extractor(dataset.batch(torch.arange(min(2, len(dataset))), device))
    except ConfigError as e:
        raise ConfigError(f"metrics {', '.join(metrics)} cannot be computed on dataset {dataset.name!r} of shape "
                          f"{dataset.shape}: {e}") from e


class Evaluator:
    """Metrics of one run's generator: extractors and real features are loaded once, so calling it
    every few kimg during training costs only the generated samples' feature pass."""

    def __init__(self, names, dataset, data_cfg, device, latent=None, progress=False):
        self.specs = check_metrics(names, dataset.kind)
        self.progress = progress  # a bar on stderr over the generated batches (`ganlab eval`; not in training)
        self.device, self.latent = device, latent  # ganlab.training.latent.Latent: reads classes and codes of latent codes
        conditional = [m for m, s in self.specs.items() if "labels" in s.needs]
        coded = [m for m, s in self.specs.items() if "codes" in s.needs]
        if coded and (latent is None or not latent.k):
            raise ConfigError(f"metrics {', '.join(coded)} measure a categorical InfoGAN code; this run has none "
                              f"(expected latent.categorical >= 2, or other metrics)")
        if conditional and (latent is None or not latent.mode):
            raise ConfigError(f"metrics {', '.join(conditional)} measure a class-conditional generator; this run is "
                              f"unconditional (expected latent.classes=projection or acgan, or other metrics)")
        if conditional and dataset.labels is None:
            raise ConfigError(f"metrics {', '.join(conditional)} need a dataset with class labels; {dataset.name!r} has none")
        self.extractors, self.real, self.real_labels = {}, {}, {}
        for name in {s.extractor for s in self.specs.values()}:
            ext = EXTRACTORS.lookup(name)(device=device)
            ext.eval()
            _probe(ext, name, dataset, device, [m for m, s in self.specs.items() if s.extractor == name])
            self.extractors[name] = ext
            num = max(s.num for s in self.specs.values() if s.extractor == name)
            needs_real = any("real" in s.needs for s in self.specs.values() if s.extractor == name)
            if needs_real:
                self.real[name] = real_features(name, ext, dataset, data_cfg, num, device)
                if dataset.labels is not None:  # the classes of the same reference items
                    idx = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(REAL_SEED))[:num]
                    self.real_labels[name] = dataset.labels[idx]
                _check_real_size(self.specs, name, self.real[name].shape[0])

    def __call__(self, G, sample_z, seed=0):
        inputs = {}
        for name, ext in self.extractors.items():
            num = max(s.num for s in self.specs.values() if s.extractor == name)
            codes = []
            batches = sample_batches(G, sample_z, num, seed, self.device, codes)
            if self.progress:
                from tqdm.auto import tqdm

                batches = tqdm(batches, total=-(-num // BATCH), desc=f"{name} features of {num} samples", leave=False)
            features, probs = _extract(ext, batches)
            x = inputs[name] = MetricInputs(features, probs, self.real.get(name), real_labels=self.real_labels.get(name))
            if self.latent is not None and self.latent.mode:
                x.fake_labels = self.latent.labels(torch.cat(codes)).cpu()
            if self.latent is not None and self.latent.k:
                x.fake_codes = self.latent.categories(torch.cat(codes)).cpu()
        return compute_metrics(self.specs, inputs)

    @property
    def primary(self):
        """(name, lower_is_better) of the first metric: the one `best` checkpoints follow."""
        name = next(iter(self.specs))
        return name, self.specs[name].lower_is_better
