"""`ganlab.metrics` as a Python API: what it exports, the (fake, real) argument order, and the
inputs every metric refuses (non-finite features, sets too small for the protocol)."""

import importlib.util
import inspect
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import ganlab.metrics
from ganlab.errors import GanlabError
from ganlab.metrics import (FeatureStats, MetricInputError, class_histogram, density_coverage, fid, inception_score, kid,
                            precision_recall, toy_metrics)

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]

# 1-D sets small enough to check by hand (k = 1: every radius is the distance to the nearest other point).
REAL = np.array([[0.0], [1.0], [2.0], [3.0]])                   # radii 1, 1, 1, 1
FAKE = np.array([[0.5], [1.5], [10.0], [11.0], [12.0]])         # radii 1, 1, 1, 1, 1


# ---------------------------------------------------------------- exports


METRIC_FUNCTIONS = ["fid", "frechet_distance", "kid", "precision_recall", "density_coverage", "inception_score",
                    "class_histogram", "toy_metrics", "extract_features"]


@pytest.mark.parametrize("name", METRIC_FUNCTIONS)
def test_metric_functions_are_exported_as_functions(name):
    assert name in ganlab.metrics.__all__
    assert inspect.isfunction(getattr(ganlab.metrics, name))


def test_every_export_resolves_and_no_submodule_bears_an_exported_name():
    for name in ganlab.metrics.__all__:
        getattr(ganlab.metrics, name)
        # A submodule `ganlab.metrics.kid` would replace the function on the package once imported.
        assert importlib.util.find_spec(f"ganlab.metrics.{name}") is None, name
    assert isinstance(ganlab.metrics.METRICS["kid5k_lenet"], ganlab.metrics.MetricSpec)
    with pytest.raises(AttributeError):
        ganlab.metrics.no_such_metric  # noqa: B018


def test_importing_the_registry_does_not_import_torch():
    code = "import sys, ganlab.metrics; from ganlab.metrics import METRICS; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(ROOT / "src")})


def test_metric_input_error_is_a_one_line_ganlab_error():
    assert issubclass(MetricInputError, GanlabError) and issubclass(MetricInputError, ValueError)


# ---------------------------------------------------------------- argument convention: fake first, real second


def test_precision_recall_takes_the_generated_set_first():
    # precision: fakes inside a real ball (‖g − r‖ ≤ 1): 0.5 and 1.5 of 5 -> 0.4.
    # recall: reals inside a fake ball: 0, 1, 2 (3 is 1.5 from 1.5) of 4 -> 0.75.
    expected = {"precision": 0.4, "recall": 0.75}
    assert precision_recall(fake=FAKE, real=REAL, k=1) == expected
    assert precision_recall(FAKE, REAL, k=1) == expected
    assert precision_recall(real=REAL, fake=FAKE, k=1) == expected
    assert precision_recall(fake=REAL, real=FAKE, k=1) == {"precision": 0.75, "recall": 0.4}


def test_density_coverage_takes_the_generated_set_first():
    # density: real balls (strict <) holding each fake: 2 + 2 + 0 + 0 + 0 over k·M = 5 -> 0.8.
    # coverage: real balls holding a fake: those of 0, 1, 2 of 4 -> 0.75.
    assert density_coverage(fake=FAKE, real=REAL, k=1) == {"density": 0.8, "coverage": 0.75}
    assert density_coverage(FAKE, REAL, k=1) == {"density": 0.8, "coverage": 0.75}
    assert density_coverage(fake=REAL, real=FAKE, k=1) == {"density": 1.0, "coverage": 0.4}


def test_fid_and_kid_take_fake_and_real_by_keyword():
    # 1-D Gaussians: FID = (μ1 − μ2)² + (σ1 − σ2)²; [0, 2] has mean 1, variance 2; [4, 6, 8] mean 6, variance 4.
    a, b = np.array([[0.0], [2.0]]), np.array([[4.0], [6.0], [8.0]])
    expected = 25 + (math.sqrt(2) - 2) ** 2
    assert fid(fake=a, real=b) == pytest.approx(expected, rel=1e-12)
    assert fid(fake=FeatureStats().update(a), real=FeatureStats().update(b)) == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal((30, 3)) + 1
    assert kid(fake=x, real=y, subset_size=20, n_subsets=3) == kid(x, y, subset_size=20, n_subsets=3)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        precision_recall(FAKE, REAL, 1)
    with pytest.raises(TypeError):
        density_coverage(FAKE, REAL, 1)
    with pytest.raises(TypeError):
        kid(FAKE, REAL, 10, 2)


# ---------------------------------------------------------------- non-finite features


def _rng_features(n, d=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def _probs(n, seed=0):
    return np.random.default_rng(seed).dirichlet(np.ones(4), size=n)


CALLS = {  # metric -> (call(fake, real), the inputs it takes)
    "fid": (lambda f, r: fid(f, r), ("fake", "real")),
    "kid": (lambda f, r: kid(f, r, subset_size=10, n_subsets=2), ("fake", "real")),
    "precision_recall": (lambda f, r: precision_recall(fake=f, real=r), ("fake", "real")),
    "density_coverage": (lambda f, r: density_coverage(fake=f, real=r), ("fake", "real")),
    "toy_metrics": (lambda f, r: toy_metrics(f, torch.zeros(8, 3, dtype=torch.float64), 0.1), ("fake",)),
    "FeatureStats": (lambda f, r: FeatureStats().update(f, "fake"), ("fake",)),
}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("metric, side", [(m, s) for m, (_, sides) in CALLS.items() for s in sides])
def test_non_finite_features_are_refused_naming_the_input(metric, side, bad):
    call, _ = CALLS[metric]
    inputs = {"fake": _rng_features(20, seed=1), "real": _rng_features(30, seed=2)}
    inputs[side][[3, 7], 1] = bad
    n = len(inputs[side])
    with pytest.raises(MetricInputError, match=rf"^{side} has 2 of {n} rows with NaN or infinity \(the first is row 3\)"):
        call(inputs["fake"], inputs["real"])


@pytest.mark.parametrize("metric", [inception_score, class_histogram])
def test_non_finite_probabilities_are_refused(metric):
    probs = _probs(20)
    probs[5, 0] = np.nan
    with pytest.raises(MetricInputError, match=r"^probs has 1 of 20 rows with NaN or infinity"):
        metric(probs)


# ---------------------------------------------------------------- sizes the protocol cannot use


def test_kid_refuses_fewer_features_than_the_subset_size():
    fake, real = _rng_features(300, seed=3), _rng_features(2000, seed=4)
    with pytest.raises(MetricInputError, match=r"subsets of 1000 features but got 300 fake and 2000 real; "
                                               r"pass subset_size= at most 300 \(e\.g\. 150"):
        kid(fake, real)
    mean, std = kid(fake, real, subset_size=150, n_subsets=10)  # asked for explicitly
    assert math.isfinite(mean) and std > 0


def test_kid_with_a_subset_of_a_whole_set_is_allowed_when_asked_for():
    fake, real = _rng_features(50, seed=5), _rng_features(50, seed=6)
    mean, std = kid(fake, real, subset_size=50, n_subsets=3)
    assert math.isfinite(mean) and std < 1e-12  # every subset is the whole set (permuted): why the default refuses


def test_knn_metrics_refuse_k_not_below_the_set_size_naming_the_set():
    with pytest.raises(MetricInputError, match="more than k fake features"):
        precision_recall(fake=_rng_features(3), real=_rng_features(10), k=3)
    with pytest.raises(MetricInputError, match="more than k real features"):
        precision_recall(fake=_rng_features(10), real=_rng_features(3), k=3)
    with pytest.raises(MetricInputError, match="more than k real features"):
        density_coverage(fake=_rng_features(10), real=_rng_features(5), k=5)
    assert set(density_coverage(fake=_rng_features(2), real=_rng_features(10), k=5)) == {"density", "coverage"}


# ---------------------------------------------------------------- the documented example


def _docstring_example():
    doc = ganlab.metrics.__doc__
    block = doc.split("Example (run verbatim by tests/test_metrics_api.py)::\n", 1)[1].split("\nRegistry:", 1)[0]
    return textwrap.dedent(block).strip() + "\n"


def test_the_documented_example_runs(capsys):
    code = _docstring_example()
    assert "fid(fake[" in code and "precision_recall(fake=" in code
    exec(compile(code, "ganlab.metrics example", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert float(lines[0]) >= 0 and "precision" in lines[2]


def test_the_guide_example_is_the_docstring_example():
    guide = (ROOT / "docs" / "guide" / "api.md").read_text()
    section = re.search(r"## Python API — metrics\n(.*?)(?=\n## |\Z)", guide, re.S)
    assert section is not None, "docs/guide/api.md lost its 'Python API — metrics' section"
    (code,) = re.findall(r"```python\n(.*?)```", section.group(1), re.S)[:1]
    assert code.strip() == _docstring_example().strip()
