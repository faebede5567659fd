"""The nearest-training-neighbour check (ganlab.neighbours, `ganlab neighbours`): nearest() against
brute force in float64, the statistics on generators whose answer is known (a copier, an honest
sampler of the same distribution), leave-one-out against truly fresh data, the test split, the
command and its refusals."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.distance import cdist

from ganlab.metrics.features import MetricInputError
from ganlab.metrics.knn import nearest
from ganlab.neighbours import SpaceCheck, check, held_out, pixels

pytestmark = pytest.mark.usefixtures("one_thread")


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(70, 9)), rng.normal(size=(130, 9))
    d, i = nearest(q, r, k=4, batch_size=16)  # several blocks
    full = cdist(q, r)
    order = np.argsort(full, axis=1)[:, :4]
    assert np.array_equal(i.numpy(), order)
    np.testing.assert_allclose(d.numpy(), np.take_along_axis(full, order, 1), rtol=1e-12, atol=1e-12)


def test_nearest_excludes_own_row_and_keeps_exact_ties():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(40, 5)) * 80  # large norms: the expansion must still give exact zeros
    r[7] = r[3]                         # a duplicate: row 3's nearest other row is at distance 0
    d, i = nearest(r[:10], r, k=1, exclude=torch.arange(10))
    assert (i[:, 0] != torch.arange(10)).all()
    assert i[3, 0] == 7 and d[3, 0] == 0.0 and i[7, 0] == 3 and d[7, 0] == 0.0
    brute = cdist(r[:10], r)
    brute[np.arange(10), np.arange(10)] = np.inf
    np.testing.assert_allclose(d[:, 0].numpy(), brute.min(1), rtol=1e-10, atol=1e-12)
    d, i = nearest(r[:2], r, exclude=torch.tensor([-1, 1]))  # -1: nothing excluded for that row
    assert i[0, 0] == 0 and d[0, 0] == 0.0 and i[1, 0] != 1
    with pytest.raises(MetricInputError, match="needs at least 3 reference rows"):
        nearest(r[:1], r[:2], k=2, exclude=torch.tensor([0]))


def _images(n, seed):
    """n 'images' [n, 1, 4, 4] from one Gaussian (a distribution whose fresh draws we can make)."""
    return torch.randn(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed)).double()


def test_a_copier_is_caught_and_an_honest_sampler_is_not():
    train = _images(3000, 0)
    loo = torch.arange(0, 3000, 3)[:1000]  # leave-one-out held-out rows
    held = train[loo]
    space = [("pixels", pixels)]
    copier = train[torch.randperm(3000, generator=torch.Generator().manual_seed(1))[:1000]]
    (c,) = check(copier, train, held, loo, space)
    assert c.median_ratio == 0.0 and c.below_low == 1.0 and c.p_closer < 1e-100
    assert "evidence of copying" in c.verdict()
    assert torch.equal(train[c.fake_idx[:, 0]], copier)  # its nearest neighbour is the image it copied
    honest = _images(1000, 2)  # fresh draws of the same distribution
    (h,) = check(honest, train, held, loo, space)
    assert abs(h.median_ratio - 1) < 0.06
    assert abs(h.below_low - 0.05) < 0.025  # binomial sd ~0.007 at n = 1000
    assert h.p_closer > 0.01 and "no sign of copying" in h.verdict()
    # Leave-one-out stands in for fresh data: the two held-out medians agree (m - 1 vs m references).
    fresh = _images(1000, 3)
    (f,) = check(fresh, train, held, loo, space)
    assert abs(f.median_ratio - 1) < 0.06


def test_summary_holds_the_numbers():
    c = SpaceCheck("pixels", torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0, 8.0]), torch.zeros(3, 1, dtype=torch.long))
    s = c.summary()
    assert s["fake_median"] == 2.0 and s["held_out_median"] == 5.0 and s["median_ratio"] == 0.4
    # q05 of [2, 4, 6, 8] (linear interpolation) is 2.3: two of the three samples are below it
    assert s["below_held_out_q05"] == pytest.approx(2 / 3)
    assert 0 < s["p_closer"] < 0.5


def test_held_out_uses_the_test_split_where_the_data_has_one(tmp_path):
    from omegaconf import OmegaConf

    from ganlab.resolve import make_config
    from ganlab.data import load_dataset
    from test_data import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 12)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", 0x803, (n, 28, 28), images.tobytes())
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", 0x801, (n,), (np.arange(n, dtype=np.uint8) % 10).tobytes())
    cfg = make_config({"data.name": "mnist", "data.path": str(tmp_path)})
    train = load_dataset(cfg.data)
    x, exclude, text = held_out(cfg, train, 100, torch.Generator().manual_seed(0))
    test = load_dataset(OmegaConf.merge(cfg.data, {"split": "test"}))
    assert exclude is None and "test split" in text and len(x) == 12
    assert {tuple(row.flatten().tolist()) for row in x} == {tuple(row.flatten().tolist()) for row in test.batch(torch.arange(12), "cpu")}
    loo_cfg = make_config({"data.name": "mnist5k"})
    mnist5k = load_dataset(loo_cfg.data)
    x, exclude, text = held_out(loo_cfg, mnist5k, 50, torch.Generator().manual_seed(0))
    assert "leave-one-out" in text and torch.equal(x, mnist5k.batch(exclude, "cpu"))


def test_neighbours_command(tmp_path, run_cli):
    sets = sum((["--set", f"{k}={v}"] for k, v in {"G.width": 8, "D.width": 8, "kimg": 0.128, "batch_size": 32,
                                                      "tensorboard": False, "cpu_threads": 1}.items()), [])
    assert run_cli("train", "--out", tmp_path, *sets).code == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    r = run_cli("neighbours", run, "--n", 200, "--rows", 3, "--k", 2, "--out", tmp_path / "nn.png", "--json", tmp_path / "nn.json")
    assert r.code == 0, r.err
    assert "leave-one-out" in r.out and "pixels" in r.out and "lenet" in r.out
    numbers = json.loads((tmp_path / "nn.json").read_text())
    assert [s["space"] for s in numbers["spaces"]] == ["pixels", "lenet"] and numbers["n"] == 200
    assert all(s["fake_median"] > 0 for s in numbers["spaces"])  # 128 images of training: no copies yet
    assert Image.open(tmp_path / "nn.png").size[0] > 300
    r = run_cli("neighbours", run, "--n", 1)
    assert r.code == 2
    # Default outputs land in the run directory, where the report shows them.
    assert run_cli("neighbours", run, "--n", 100, "--rows", 2).code == 0
    assert (run / "neighbours-seed0.png").is_file() and (run / "neighbours-seed0.json").is_file()
    assert run_cli("interpolate", run, "--rows", 2, "--steps", 3).code == 0
    assert run_cli("report", run).code == 0
    html = (run / "report.html").read_text()
    assert "Latent space and nearest training images" in html and "interpolate-seed0.png" in html
    assert "neighbours-seed0.png" in html and "median held-out -&gt; train" in html
    toy = tmp_path / "toy"
    toy_sets = ["--set", "data.name=ring8", "--set", "G.arch=mlp", "--set", "D.arch=mlp", "--set", "kimg=0.128", "--set", "tensorboard=false", "--set", "cpu_threads=1"]
    assert run_cli("train", "--out", toy, *toy_sets).code == 0
    r = run_cli("neighbours", next(p for p in toy.iterdir() if p.is_dir()))
    assert r.code == 2 and "expected a run on images" in r.err
