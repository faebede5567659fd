"""Inception Score (Salimans et al. 2016) and the class histogram of a classifier's predictions.

IS = exp(E_x KL(p(y|x) ‖ p(y))), computed per split with p(y) the mean prediction over the split,
reported as mean ± std over `splits` contiguous slices [i·N/splits, (i+1)·N/splits) (openai/
improved-gan; std with ddof=0 as np.std) (Salimans et al. 2016). With an MNIST
classifier this is the "MNIST score", at most the number of classes.
"""

import math

import torch

from ganlab.metrics.features import MetricInputError, as_features


def _as_probs(probs):
    p = as_features(probs, "probs")  # [N, K] float64
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise MetricInputError(f"probs must be a non-empty [N, K] matrix, got shape {tuple(p.shape)}.")
    if (p < 0).any():  # NaN and infinity were refused by as_features
        raise MetricInputError("probs must be non-negative class probabilities.")
    if not torch.allclose(p.sum(dim=1), torch.ones_like(p[:, 0]), atol=1e-4):
        raise MetricInputError("each row of probs must sum to 1 (pass softmax outputs, not logits).")
    return p


def inception_score(probs, *, splits=10):
    """(mean, std) of exp(E_x KL(p(y|x) ‖ p(y))) over `splits` contiguous slices of probs [N, K],
    the class probabilities of N generated samples (softmax outputs; Salimans et al. 2016)."""
    p = _as_probs(probs)
    n = p.shape[0]
    if not 1 <= splits <= n:
        raise MetricInputError(f"splits must be between 1 and the number of samples ({n}), got {splits}.")
    scores = []
    for i in range(splits):
        part = p[i * n // splits: (i + 1) * n // splits]             # [n_i, K]
        marginal = part.mean(dim=0, keepdim=True)                     # [1, K] p(y) of the split
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(dim=1)  # 0 log 0 = 0
        scores.append(math.exp(float(kl.mean())))
    scores = torch.tensor(scores, dtype=torch.float64)
    return float(scores.mean()), float(scores.std(correction=0))


def class_histogram(probs):
    """{'classes_covered': classes that are the argmax of ≥ 1 sample, 'kl_to_uniform': KL(h ‖ uniform)}.

    h is the histogram of argmax classes over the K columns of probs [N, K]; KL(h ‖ U) = Σ h log(h K),
    0 when every class is predicted equally often, log K when all samples fall in one class.
    """
    p = _as_probs(probs)
    k = p.shape[1]
    counts = torch.bincount(p.argmax(dim=1), minlength=k).to(torch.float64)  # [K]
    h = counts / counts.sum()
    return {"classes_covered": int((counts > 0).sum()), "kl_to_uniform": float(torch.xlogy(h, h * k).sum())}
