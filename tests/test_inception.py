"""inception-fid: key names and shapes of the reference file, loading (torch.save, safetensors,
argument, environment variable), errors, the resize, and outputs — all with generated weights,
since the real pt_inception-2015-12-05-6726825d.pth cannot be downloaded here."""

import hashlib
import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from ganlab.errors import ConfigError
from ganlab.metrics.extractors import EXTRACTORS
from ganlab.metrics.inception import (ENV_VAR, FILE_NAME, FIDInceptionV3, _avg_pool, preprocess,
                                      resize_tf1)


# A few keys of the real file with their shapes; every key name of the file is that of
# torchvision's Inception3(num_classes=1008, aux_logits=False), which pytorch-fid loads it into
# with strict=True (pytorch-fid 0.3.0 src/pytorch_fid/inception.py).
KNOWN_KEYS = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
    "Mixed_7c.branch_pool.bn.num_batches_tracked": (),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}
# 94 conv+BN units x 6 entries + fc weight and bias; "566 entries" is what a strict CPU load of the
# real file reports in a published evaluation log.
NUM_ENTRIES = 566
# torchvision documents 27,161,264 parameters for Inception3 with its auxiliary head and 1000
# classes; less the head (98,560 + 2,459,136 + 769,000) and plus 8 more classes (8 x 2049).
NUM_PARAMS = 27_161_264 - 3_326_696 + 8 * 2049


def random_state_dict(seed=0):
    """Weights of the right names and shapes, He-scaled so activations neither vanish nor explode."""
    g = torch.Generator().manual_seed(seed)
    state = FIDInceptionV3().state_dict()
    for k, v in state.items():
        if k.endswith("conv.weight"):
            state[k] = torch.randn(v.shape, generator=g) * math.sqrt(2 / v[0].numel())
        elif k.endswith(("running_var", "bn.weight")):
            state[k] = torch.rand(v.shape, generator=g) + 0.5
        elif k.endswith(("running_mean", "bn.bias")):
            state[k] = torch.randn(v.shape, generator=g) * 0.1
        elif k == "fc.weight":
            state[k] = torch.randn(v.shape, generator=g) * 0.05
        elif k == "fc.bias":
            state[k] = torch.randn(v.shape, generator=g)
    return state


def sample_image(seed=1, size=32):
    """[1, 3, size, size] in [-1, 1] on the 8-bit grid (as ganlab's real data), and its uint8 form."""
    p = torch.randint(0, 256, (1, 3, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return p.float() / 127.5 - 1, p


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """(state dict, .pth path, .safetensors path without the num_batches_tracked counters)."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("inception")
    state = random_state_dict()
    pth = root / FILE_NAME
    # The real file (2019) is most likely in torch's legacy, pre-zip format: its size, 95,628,359
    # bytes, is within 0.005% of a legacy save of these 566 tensors and 0.1% below a zip save.
    torch.save(state, pth, _use_new_zipfile_serialization=False)
    st = root / "inception.safetensors"
    save_file({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, str(st))
    return state, pth, st


def build(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generated weights are not the reference file
        return EXTRACTORS.lookup("inception-fid")(**kwargs)


def test_keys_and_shapes_are_those_of_the_reference_file():
    net = FIDInceptionV3()
    state = net.state_dict()
    for key, shape in KNOWN_KEYS.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == NUM_ENTRIES
    assert sum(p.numel() for p in net.parameters()) == NUM_PARAMS == 23_850_960
    assert not any(k.startswith("AuxLogits") for k in state)


def test_load_by_argument_outputs_and_weights_id(weights):
    _, pth, _ = weights
    with pytest.warns(UserWarning, match="not the reference"):
        ext = EXTRACTORS.lookup("inception-fid")(device="cpu", weights=str(pth))
    assert (ext.dim, ext.num_classes) == (2048, 1008)
    assert ext.weights_id == hashlib.sha256(pth.read_bytes()).hexdigest()[:16]
    x = torch.rand(2, 3, 20, 24, generator=torch.Generator().manual_seed(2)) * 2 - 1
    out = ext(x)
    assert out["features"].shape == (2, 2048) and out["features"].dtype == torch.float64
    assert out["probs"].shape == (2, 1008) and out["probs"].dtype == torch.float64
    torch.testing.assert_close(out["probs"].sum(dim=1), torch.ones(2, dtype=torch.float64))
    assert (out["features"] >= 0).all() and out["features"].abs().sum() > 0  # mean of ReLU outputs
    ext.train()
    assert not ext.net.training  # BatchNorm must stay in eval mode


def test_env_var_and_grey_images(weights, monkeypatch):
    _, pth, _ = weights
    monkeypatch.setenv(ENV_VAR, str(pth))
    ext = build(device="cpu")
    grey = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    torch.testing.assert_close(ext(grey)["features"], ext(grey.repeat(1, 3, 1, 1))["features"], rtol=0, atol=0)
    # weights= wins over the variable
    monkeypatch.setenv(ENV_VAR, "/nonexistent/ignored.pth")
    assert build(weights=pth).weights_id == ext.weights_id


def test_safetensors_without_batch_counters_gives_the_same_features(weights):
    _, pth, st = weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not the reference file" warning for safetensors
        ext_st = EXTRACTORS.lookup("inception-fid")(weights=st)
    x, _ = sample_image()
    torch.testing.assert_close(ext_st(x), build(weights=pth)(x), rtol=0, atol=0)


# (resize, pool3[0, :4], pool3 sum, (argmax, max) of probs), recorded once with the reference
# implementations as described in test_features_match_torch_fidelity_and_pytorch_fid.
GOLDEN = [
    ("tf1", [0.0, 0.008574, 0.044206, 8.365486], 4475.094845, (980, 0.975733)),
    ("torch", [0.0, 0.017685, 0.036667, 8.292117], 4480.526531, (980, 0.974638)),
]


def test_features_match_torch_fidelity_and_pytorch_fid():
    """Recorded from the reference implementations on these generated weights (seed 0) and image
    (seed 1): torch-fidelity 0.4.0 FeatureExtractorInceptionV3 ('2048', 'logits_unbiased', uint8
    input) for resize="tf1", pytorch-fid 0.3.0 InceptionV3(resize_input, normalize_input, [0, 1]
    input) for resize="torch"; both load the weights file with strict=True."""
    from ganlab.metrics.inception import InceptionExtractor

    net = FIDInceptionV3()
    net.load_state_dict(random_state_dict())
    x, _ = sample_image()
    for resize, first, total, top in GOLDEN:
        out = InceptionExtractor(net, "test", resize)(x)
        torch.testing.assert_close(out["features"][0, :4], torch.tensor(first, dtype=torch.float64),
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(out["features"].sum().item(), total, rtol=1e-4, atol=0)
        assert out["probs"][0].argmax().item() == top[0]
        torch.testing.assert_close(out["probs"][0].max().item(), top[1], rtol=1e-4, atol=0)


def test_resize_known_values():
    """TF1 samples output i at i * in/out; PyTorch's align_corners=False at (i + 0.5) * in/out - 0.5."""
    row = torch.tensor([0.0, 4.0]).view(1, 1, 1, 2).expand(1, 1, 2, 2)
    assert resize_tf1(row, size=4)[0, 0, 0].tolist() == [0.0, 2.0, 4.0, 4.0]
    assert F.interpolate(row, size=(4, 4), mode="bilinear", align_corners=False)[0, 0, 0].tolist() == [0.0, 1.0, 3.0, 4.0]
    # Recorded with TensorFlow 2.21 tf.compat.v1.image.resize_bilinear (align_corners=False,
    # half_pixel_centers=False) on CPU, float32 rounding included; 32x32 -> 299 checkerboards and
    # random 28..512-pixel images were bit-exact too.
    x = torch.tensor([[0.0, 10, 20], [30, 40, 50], [60, 70, 255]]).view(1, 1, 3, 3)
    tf = [[0.0, 6.0, 12.0, 18.0, 20.0], [18.0, 24.0, 30.0, 36.0, 38.0],
          [36.0, 42.0, 55.000003814697266, 82.00001525878906, 91.00001525878906],
          [54.0, 60.0, 94.00001525878906, 184.00003051757812, 214.00001525878906],
          [60.0, 66.0, 107.00000762939453, 218.00001525878906, 255.0]]
    torch.testing.assert_close(resize_tf1(x, size=5)[0, 0], torch.tensor(tf), rtol=0, atol=0)


def test_preprocess_modes():
    x, p = sample_image(size=16)
    # resize="torch" is pytorch-fid's pipeline on the [0, 1] image: interpolate, then 2v - 1.
    want = 2 * F.interpolate(p.float() / 255, size=(299, 299), mode="bilinear", align_corners=False) - 1
    torch.testing.assert_close(preprocess(x, "torch"), want, rtol=0, atol=1e-6)
    # resize="tf1" is (p - 128) / 128 of the TF1-resized 8-bit image.
    torch.testing.assert_close(preprocess(x, "tf1"), (resize_tf1(p.float()) - 128) / 128, rtol=0, atol=0)
    # 299x299 inputs pass unchanged in both modes; values off the 8-bit grid are rounded onto it.
    x299, p299 = sample_image(size=299)
    torch.testing.assert_close(preprocess(x299 + 0.001, "tf1"), (p299.float() - 128) / 128, rtol=0, atol=0)
    torch.testing.assert_close(preprocess(x299, "torch"), 2 * (p299.float() / 255) - 1, rtol=0, atol=1e-6)


def test_tf_style_avg_pool_excludes_padding():
    # Corner of a constant image: TF averages the 4 real pixels (1.0); count_include_pad gives 4/9.
    assert _avg_pool(torch.ones(1, 1, 5, 5))[0, 0, 0, 0].item() == 1.0


def test_missing_variable_or_file(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ConfigError, match=f"{FILE_NAME}.*--inception-weights PATH.*{ENV_VAR}"):
        EXTRACTORS.lookup("inception-fid")()
    with pytest.raises(ConfigError, match="nope.pth does not exist.*pt_inception-2015-12-05-6726825d.pth"):
        EXTRACTORS.lookup("inception-fid")(weights=tmp_path / "nope.pth")


def test_wrong_keys_or_shapes(weights, tmp_path):
    state, _, _ = weights
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "Mixed_6c.branch7x7_2.bn.running_var"},
                    "lack the key 'Mixed_6c.branch7x7_2.bn.running_var'"),
        # torchvision's ImageNet weights: 1000 classes (and an auxiliary head)
        "imagenet": ({**state, "fc.weight": torch.zeros(1000, 2048), "AuxLogits.fc.bias": torch.zeros(1000)},
                     r"'fc.weight' of shape \(1000, 2048\), where .* has \(1008, 2048\)"),
        "extra": ({**state, "AuxLogits.fc.bias": torch.zeros(1000)}, "the key 'AuxLogits.fc.bias', which"),
        "not a dict": ([torch.zeros(3)], "flat state dict"),
    }
    for name, (obj, message) in cases.items():
        path = tmp_path / f"{name}.pth"
        torch.save(obj, path)
        with pytest.raises(ConfigError, match=message) as info:
            build(weights=path)
        assert str(path) in str(info.value)
    path = tmp_path / "truncated.pth"
    path.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(ConfigError, match="could not be read"):
        build(weights=path)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(ConfigError, match="could not be read"):
        build(weights=path)


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def test_pickled_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": _Payload(marker)}, path)
    with pytest.raises(ConfigError, match=r"could not be read.*more than tensors \(Unsupported global"):
        EXTRACTORS.lookup("inception-fid")(weights=path)
    assert not marker.exists()
    # The payload is live: an unsafe load would have run it.
    torch.load(path, weights_only=False)
    assert marker.read_text() == "ran"


def test_bad_input_shape(weights):
    ext = build(weights=weights[1])
    with pytest.raises(ConfigError, match="1 or 3"):
        ext(torch.zeros(1, 2, 8, 8))
    assert build(weights=weights[1], resize="torch").weights_id.endswith("-torch")
