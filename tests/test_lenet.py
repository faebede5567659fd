"""The shipped `lenet-mnist` classifier: loads without pickle, classifies the held-out MNIST-5k
digits, and its softmax behaves as the MNIST score and class histogram expect."""

import hashlib

import pytest
import torch

from ganlab.config import DataConfig
from ganlab.data import load_dataset
from ganlab.errors import ConfigError
from ganlab.metrics import class_histogram, inception_score
from ganlab.metrics.extractors import EXTRACTORS
from ganlab.metrics.lenet import WEIGHTS_PATH, LeNetExtractor, load_lenet, mnist5k_split


@pytest.fixture(scope="module")
def lenet():
    return EXTRACTORS.lookup("lenet-mnist")()


@pytest.fixture(scope="module")
def heldout():
    """(images float32 [1000, 1, 28, 28] in [-1, 1], labels [1000]) never seen in training."""
    ds = load_dataset(DataConfig(name="mnist5k"))
    _, idx = mnist5k_split(ds.labels)
    return ds.batch(idx, "cpu"), ds.labels[idx]


@pytest.fixture(scope="module")
def heldout_out(lenet, heldout):
    with torch.no_grad():
        return lenet(heldout[0])


def test_split_is_400_train_100_heldout_per_class():
    labels = load_dataset(DataConfig(name="mnist5k")).labels
    train, test = mnist5k_split(labels)
    assert len(train) == 4000 and len(test) == 1000
    assert len(set(train.tolist()) | set(test.tolist())) == 5000
    assert torch.bincount(labels[test], minlength=10).tolist() == [100] * 10
    # First 400 of each class in file order: each training index precedes the held-out ones of its class.
    for c in range(10):
        assert train[labels[train] == c].max() < test[labels[test] == c].min()


def test_weights_load_without_pickle(monkeypatch):
    assert WEIGHTS_PATH.is_file() and WEIGHTS_PATH.stat().st_size < 2_000_000

    def no_pickle(*args, **kwargs):
        raise AssertionError("the lenet weights must not be unpickled")

    monkeypatch.setattr(torch, "load", no_pickle)
    extractor = load_lenet()
    assert isinstance(extractor, LeNetExtractor)
    assert not any(p.requires_grad for p in extractor.parameters())


def test_weights_id_is_the_sha256_prefix_and_stable(lenet):
    digest = hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()
    assert lenet.weights_id == digest[:16]
    assert EXTRACTORS["lenet-mnist"]().weights_id == lenet.weights_id


def test_heldout_accuracy_at_least_97_percent(heldout, heldout_out):
    _, labels = heldout
    acc = (heldout_out["probs"].argmax(dim=1) == labels).double().mean().item()
    assert acc >= 0.97, f"held-out accuracy {acc:.4f}"


def test_shapes_dtypes_and_probabilities(lenet, heldout_out):
    assert (lenet.dim, lenet.num_classes) == (128, 10)
    feats, probs = heldout_out["features"], heldout_out["probs"]
    assert feats.shape == (1000, 128) and feats.dtype == torch.float64
    assert probs.shape == (1000, 10) and probs.dtype == torch.float64
    assert torch.isfinite(feats).all() and (probs >= 0).all()
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(1000, dtype=torch.float64))


def test_eval_mode_is_kept(lenet, heldout):
    # Dropout must stay off even if a caller switches the module to training mode.
    x = heldout[0][:16]
    lenet.train()
    with torch.no_grad():
        a, b = lenet(x)["features"], lenet(x)["probs"]
    torch.testing.assert_close(a, lenet(x)["features"])
    torch.testing.assert_close(b, lenet(x)["probs"])
    assert not lenet.training


@pytest.mark.parametrize("shape", [(4, 3, 28, 28), (4, 1, 30, 30), (4, 784), (1, 28, 28)])
def test_wrong_shape_is_a_config_error(lenet, shape):
    with pytest.raises(ConfigError, match=r"needs 1x28x28 images \(or 1x32x32 padded by 2\); got shape"):
        lenet(torch.zeros(shape))


def test_missing_weights_name_the_path_and_the_script(tmp_path):
    missing = tmp_path / "lenet_mnist.safetensors"
    with pytest.raises(ConfigError, match="scripts/train_lenet.py") as err:
        load_lenet(missing)
    assert str(missing) in str(err.value)


def test_mnist_score_and_class_histogram_of_real_digits(heldout_out):
    # MNIST-5k is sorted by class and IS splits are contiguous, so shuffle first: in file order each
    # split would hold one class and score about 1.
    probs = heldout_out["probs"]
    shuffled = probs[torch.randperm(len(probs), generator=torch.Generator().manual_seed(0))]
    mean, _ = inception_score(shuffled, splits=10)
    assert 8.0 < mean <= 10.0
    assert inception_score(probs, splits=10)[0] < 1.5
    hist = class_histogram(heldout_out["probs"])
    assert hist["classes_covered"] == 10
    assert hist["kl_to_uniform"] < 0.01


def test_one_digit_repeated_covers_one_class(lenet, heldout):
    x = heldout[0][:1].expand(1000, 1, 28, 28)
    with torch.no_grad():
        probs = lenet(x)["probs"]
    hist = class_histogram(probs)
    assert hist["classes_covered"] == 1
    torch.testing.assert_close(hist["kl_to_uniform"], torch.log(torch.tensor(10.0)).item())
    mean, _ = inception_score(probs, splits=10)
    assert mean == pytest.approx(1.0, abs=1e-6)
