"""`ganlab sample --out FILE.npz | DIR/`: samples other tools can score, read back by `ganlab eval --fake`."""

import numpy as np
import pytest
import torch
from PIL import Image

import ganlab

pytestmark = pytest.mark.usefixtures("one_thread")

@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    cfg = ganlab.configure("mnist5k-dcgan-ns", kimg=0.2, **{"G.width": 8, "D.width": 8})
    return ganlab.train(cfg, out=tmp_path_factory.mktemp("img"), progress=False)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    cfg = ganlab.configure("toy-ring-ns", kimg=0.3, **{"G.width": 32, "D.width": 32})
    return ganlab.train(cfg, out=tmp_path_factory.mktemp("toy"), progress=False)


def test_npz_of_images_holds_uint8_nhwc_equal_to_the_generator(run_cli, image_run, tmp_path):
    res = run_cli("sample", image_run, "--n", "300", "--seed", "4", "--out", tmp_path / "s.npz")
    assert res.code == 0, res.err
    with np.load(tmp_path / "s.npz") as f:
        assert f.files == ["x"]
        x = f["x"]
    assert x.dtype == np.uint8 and x.shape == (300, 28, 28, 1)
    expected = ganlab.load_generator(image_run).sample(300, seed=4)  # [-1, 1] floats
    assert np.abs(x.astype(np.float64) - ((expected.numpy().transpose(0, 2, 3, 1) + 1) * 127.5)).max() <= 0.5 + 1e-4
    assert len(np.unique(x.reshape(300, -1), axis=0)) == 300  # different codes, different samples


def test_npz_of_points_holds_float32(run_cli, toy_run, tmp_path):
    res = run_cli("sample", toy_run, "--n", "1000", "--out", tmp_path / "p.npz")
    assert res.code == 0, res.err
    with np.load(tmp_path / "p.npz") as f:
        assert f["x"].dtype == np.float32 and f["x"].shape == (1000, 2)
        torch.testing.assert_close(torch.from_numpy(f["x"]), ganlab.load_generator(toy_run).sample(1000))


def test_folder_gets_one_png_per_sample_and_eval_reads_both(run_cli, image_run, tmp_path):
    res = run_cli("sample", image_run, "--n", "40", "--out", f"{tmp_path / 'pngs'}/")
    assert res.code == 0, res.err
    files = sorted((tmp_path / "pngs").iterdir())
    assert [p.name for p in files[:2]] == ["000000.png", "000001.png"] and len(files) == 40
    with Image.open(files[0]) as img:
        assert img.mode == "L" and img.size == (28, 28)
    assert run_cli("sample", image_run, "--n", "40", "--out", tmp_path / "s.npz").code == 0
    with np.load(tmp_path / "s.npz") as f:
        np.testing.assert_array_equal(np.asarray(Image.open(files[7]))[..., None], f["x"][7])
    res = run_cli("eval", "--real", tmp_path / "s.npz", "--fake", tmp_path / "pngs", "--extractor", "lenet-mnist")
    assert res.code == 0, res.err
    fid = float(next(line for line in res.out.splitlines() if "fid_lenet" in line).split()[-1])
    assert abs(fid) < 1e-6  # the same 40 images, through two formats


def test_a_non_empty_folder_is_refused_before_sampling(run_cli, image_run, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    res = run_cli("sample", image_run, "--n", "4", "--out", tmp_path / "taken")
    assert res.code == 2 and "not empty" in res.err and len(res.err.strip().splitlines()) == 1
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]


def test_one_png_per_point_sample_is_refused(run_cli, toy_run, tmp_path):
    res = run_cli("sample", toy_run, "--n", "4", "--out", f"{tmp_path / 'pts'}/")
    assert res.code == 2 and "FILE.npz" in res.err
    assert not (tmp_path / "pts").exists()
