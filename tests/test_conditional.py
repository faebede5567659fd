"""The label path (ganlab.training.latent, ganlab.networks.conditional): latent codes [z | y], conditional
BatchNorm and the projection discriminator against their formulas in float64, ACGAN's loss terms
against hand-computed cross-entropies, one pass of D per batch for score and head, every objective
training with labels, the class-conditional metrics on generators whose answers are known, and the
refusals."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.errors import ConfigError
from ganlab.training.latent import Latent, sample_z
from ganlab.metrics.evaluate import Evaluator, MetricInputs, compute_metrics, intra_class_fid
from ganlab.metrics.frechet import fid
from ganlab.networks.conditional import ConditionalBatchNorm, ConditionalDiscriminator, ConditionalGenerator
from ganlab.objectives import OBJECTIVES, build_objective
from ganlab.training.view import DView
from ganlab.training.loop import training_loop

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"G.arch": "mlp", "D.arch": "mlp", "G.width": 16, "D.width": 16, "G.depth": 2, "D.depth": 2,
        "batch_size": 32, "kimg": 0.128, "log_kimg": 0.064, "snapshot_kimg": 0.128, "tensorboard": False,
        "cpu_threads": 1, "grid_n": 20}


def _cfg(**over):
    return make_config({**TINY, **{k.replace("__", "."): v for k, v in over.items()}})


# --- latent codes ------------------------------------------------------------------------------

def test_unconditional_codes_are_the_noise_drawn_as_before():
    cfg = _cfg(z_dim=5)
    lat = Latent(cfg)
    torch.manual_seed(3)
    w = lat.sample(7, "cpu")
    torch.manual_seed(3)
    assert torch.equal(w, sample_z(7, cfg, "cpu")) and lat.dim == 5 and lat.labels(w) is None


def test_conditional_codes_carry_the_class_exactly():
    lat = Latent(_cfg(z_dim=4, latent__classes="projection"), num_classes=10)
    y = torch.tensor([0, 9, 3, 3])
    w = lat.sample(4, "cpu", y=y)
    assert w.shape == (4, 5) and torch.equal(lat.labels(w), y)
    assert torch.equal(lat.labels(lat.sample(6, "cpu", y=7)), torch.full((6,), 7))
    drawn = lat.labels(lat.sample(20_000, "cpu", torch.Generator().manual_seed(0)))
    counts = torch.bincount(drawn, minlength=10).double()
    assert drawn.min() == 0 and drawn.max() == 9 and (counts / 2000 - 1).abs().max() < 0.1  # uniform
    with pytest.raises(ConfigError, match="class 10 does not exist"):
        lat.sample(2, "cpu", y=10)


def test_grid_has_one_class_per_row():
    lat = Latent(_cfg(latent__classes="acgan"), num_classes=10)
    w, cols = lat.grid(64, "cpu")
    assert cols == 6 and torch.equal(lat.labels(w), torch.arange(10).repeat_interleave(6))


def test_real_batch_and_fakes_share_classes():
    ds = load_dataset(_cfg().data)
    lat = Latent.of(_cfg(latent__classes="projection"), ds)
    idx = torch.tensor([5, 17, 400, 4999])
    real, w = lat.batch(ds, idx, "cpu")
    assert torch.equal(real, ds.batch(idx, "cpu")) and torch.equal(lat.labels(w), ds.labels[idx])


# --- networks against their formulas -----------------------------------------------------------

def test_conditional_batchnorm_is_batchnorm_then_the_class_affine():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3).double()
    cbn = ConditionalBatchNorm(bn, num_classes=4).double()
    with torch.no_grad():
        cbn.gamma.weight.normal_()
        cbn.beta.weight.normal_()
    x, y = torch.randn(6, 3, 2, 2, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 1, 1])
    cbn.y = y
    mean, var = x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    by_hand = (x - mean) / torch.sqrt(var + bn.eps) * cbn.gamma.weight[y][:, :, None, None] \
        + cbn.beta.weight[y][:, :, None, None]
    assert torch.allclose(cbn(x), by_hand, atol=1e-12)


def test_cbn_starts_at_the_family_batchnorm_for_every_class():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).double()
    with torch.no_grad():
        net[1].weight.normal_(1, 0.1)
    plain = [m for m in net.modules()]
    x = torch.randn(8, 4, dtype=torch.float64)
    expected = nn.Sequential(*plain[1:])(x)
    G = ConditionalGenerator(net, z_dim=4, num_classes=3, g_input="cbn").double()
    for y in range(3):
        w = torch.cat([x, torch.full((8, 1), float(y), dtype=torch.float64)], dim=1)
        assert torch.allclose(G(w), expected, atol=1e-12)
    assert len(G.cbns) == 1 and isinstance(G.net[1], ConditionalBatchNorm)


def test_concat_generator_sees_z_and_the_one_hot_class():
    torch.manual_seed(0)
    net = nn.Linear(3 + 4, 2).double()
    G = ConditionalGenerator(net, z_dim=3, num_classes=4, g_input="concat")
    z, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0])
    w = torch.cat([z, y.double()[:, None]], dim=1)
    assert torch.allclose(G(w), net(torch.cat([z, F.one_hot(y, 4).double()], dim=1)), atol=1e-12)


def _mlp_d():
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.LeakyReLU(0.2), nn.Linear(5, 1), nn.Flatten(0)).double()


def test_projection_discriminator_formula():
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018)."""
    torch.manual_seed(0)
    net = _mlp_d()
    D = ConditionalDiscriminator(net, "mlp", (6,), num_classes=3, projection=True, aux_dim=0).double()
    x, y = torch.randn(4, 6, dtype=torch.float64), torch.tensor([0, 2, 1, 2])
    phi = net[2](net[1](net[0](x)))
    by_hand = net[4](net[3](phi)) + (D.embed.weight[y] * phi).sum(dim=1)
    assert torch.allclose(D(x, y), by_hand, atol=1e-12)
    assert D.embed.weight.shape == (3, 5) and D.aux_head is None


def test_acgan_head_and_losses_by_hand():
    torch.manual_seed(0)
    net = _mlp_d()
    D = ConditionalDiscriminator(net, "mlp", (6,), num_classes=3, projection=False, aux_dim=3).double()
    cfg = _cfg(latent__classes="acgan", latent__class_weight=0.5, z_dim=2)
    lat = Latent(cfg, num_classes=3)
    real, fake = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2])
    w = lat.sample(4, "cpu", y=y).double()
    calls = []
    judge = D.judge
    D.judge = lambda x, yy: calls.append(1) or judge(x, yy)
    view = DView(D).given(y)
    s_r, _s_f = view(real), view(fake)  # what an objective does first
    loss, stats = lat.d_loss(view, real, fake, w)
    assert len(calls) == 2  # the heads came from the scoring passes
    phi = lambda x: net[2](net[1](net[0](x)))  # noqa: E731
    ce = lambda x: -F.log_softmax(D.aux_head(phi(x)), dim=1)[torch.arange(4), y].mean()  # noqa: E731
    assert math.isclose(loss.item(), 0.5 * (ce(real) + ce(fake)).item(), rel_tol=1e-6)
    assert torch.allclose(s_r, net[4](net[3](phi(real))), atol=1e-12)  # the score ignores the class
    assert math.isclose(lat.g_loss(view, fake, w).item(), 0.5 * ce(fake).item(), rel_tol=1e-6)
    assert set(stats) == {"class_ce_real", "class_ce_fake", "class_acc_real"}
    # fake_class_weight scales the fakes' term in D's loss only (0: the head learns from reals only)
    for fw in (0.0, 0.25):
        lat_f = Latent(_cfg(latent__classes="acgan", latent__class_weight=0.5, latent__fake_class_weight=fw, z_dim=2), num_classes=3)
        loss_f, _ = lat_f.d_loss(view, real, fake, w)
        assert math.isclose(loss_f.item(), 0.5 * (ce(real) + fw * ce(fake)).item(), rel_tol=1e-6)
        assert math.isclose(lat_f.g_loss(view, fake, w).item(), 0.5 * ce(fake).item(), rel_tol=1e-6)


def test_unconditional_view_is_unchanged():
    view = DView(_mlp_d())
    assert view.given(None) is view


# --- training --------------------------------------------------------------------------------

CONTRACT = sorted(n for n in OBJECTIVES if build_objective(n).discriminator != "autoencoder")


@pytest.mark.parametrize("mode", ["projection", "acgan"])
@pytest.mark.parametrize("objective", CONTRACT)
def test_every_objective_trains_with_labels(tmp_path, objective, mode):
    """Penalties take their gradient with the class of each example fixed (real and fake of a row
    share it); losses stay finite and the run writes its checkpoint."""
    cfg = _cfg(data__name="ring8", data__n=2000, z_dim=2, objective=objective, latent__classes=mode)
    record = training_loop(cfg, tmp_path, progress=False)
    assert math.isfinite(record["loss_D"]) and math.isfinite(record["loss_G"])
    assert (tmp_path / "checkpoint-final.pt").is_file()
    if mode == "acgan":
        assert math.isfinite(record["class_ce_real"])


@pytest.mark.parametrize("second_order", [True, False])
def test_unrolled_g_step_passes_the_class(tmp_path, second_order):
    cfg = _cfg(data__name="ring8", data__n=2000, z_dim=2, latent__classes="projection", g_step="unrolled",
               g_step_args={"steps": 2, "second_order": second_order})
    assert math.isfinite(training_loop(cfg, tmp_path, progress=False)["loss_G"])


def test_dcgan_cbn_projection_on_mnist(tmp_path):
    cfg = _cfg(**{"G.arch": "dcgan", "D.arch": "dcgan", "G.width": 8, "D.width": 8, "latent.classes": "projection",
                  "objective": "wgan-gp", "D.spectral_norm": True})
    record = training_loop(cfg, tmp_path, progress=False)
    assert math.isfinite(record["loss_D"])
    state = torch.load(tmp_path / "checkpoint-final.pt", weights_only=True)
    assert any(".gamma.weight" in k for k in state["G"]) and any("embed" in k for k in state["D"])


def test_acgan_classifier_learns_real_digits(tmp_path):
    """The head classifies real digits well above chance after a short run (measured, not assumed)."""
    cfg = _cfg(latent__classes="acgan", kimg=3.0, log_kimg=1.0, snapshot_kimg=3.0, **{"G.width": 64, "D.width": 64})
    record = training_loop(cfg, tmp_path, progress=False)
    assert record["class_acc_real"] > 0.5


# --- metrics -----------------------------------------------------------------------------------

class _Replay(nn.Module):
    """A 'generator' that returns a real training digit of the class in its code (or ignores it)."""

    def __init__(self, ds, z_dim, honest=True):
        super().__init__()
        self.ds, self.z_dim, self.honest = ds, z_dim, honest
        self.by_class = [(ds.labels == k).nonzero().flatten() for k in range(10)]
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, w):
        y = w[:, self.z_dim].round().long() if self.honest else torch.zeros(len(w), dtype=torch.long)
        pick = (w[:, 0].abs() * 1e4).long()
        idx = torch.stack([self.by_class[k][p % len(self.by_class[k])] for k, p in zip(y.tolist(), pick)])
        return self.ds.batch(idx, "cpu")


def test_class_conditional_metrics_on_known_generators():
    cfg = _cfg(latent__classes="projection")
    ds = load_dataset(cfg.data)
    lat = Latent.of(cfg, ds)
    ev = Evaluator(["cond_acc5k_lenet", "intra_fid5k_lenet"], ds, cfg.data, "cpu", lat)
    honest = ev(_Replay(ds, cfg.z_dim), lambda n, gen: lat.sample(n, "cpu", gen), seed=0)
    ignoring = ev(_Replay(ds, cfg.z_dim, honest=False), lambda n, gen: lat.sample(n, "cpu", gen), seed=0)
    assert honest["cond_acc5k_lenet"] > 0.95            # lenet on its own training digits
    assert 0.05 < ignoring["cond_acc5k_lenet"] < 0.15   # every sample a 0: right for 1 class in 10
    assert honest["intra_fid5k_lenet"] < 10 < ignoring["intra_fid5k_lenet"]


def test_intra_class_fid_is_the_mean_of_per_class_fids():
    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(60, 3, generator=g, dtype=torch.float64), torch.randn(90, 3, generator=g, dtype=torch.float64)
    fl, rl = torch.arange(60) % 3, torch.arange(90) % 3
    expected = sum(fid(fake[fl == k], real[rl == k]) for k in range(3)) / 3
    assert math.isclose(intra_class_fid(fake, fl, real, rl), expected, rel_tol=1e-12)
    from ganlab.metrics import METRICS
    inputs = MetricInputs(fake, real=real, fake_labels=fl, real_labels=rl)
    out = compute_metrics({"intra_fid5k_lenet": METRICS["intra_fid5k_lenet"]}, {"lenet-mnist": inputs})
    assert math.isclose(out["intra_fid5k_lenet"], expected, rel_tol=1e-12)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("over, match", [
    ({"latent.classes": "proj"}, "latent.classes = 'proj' is not a way"),
    ({"latent.g_input": "film"}, "latent.g_input = 'film'"),
    ({"latent.classes": "acgan", "pack": 2}, "a pack of samples has no single class"),
    ({"latent.class_weight": -1.0}, "latent.class_weight"),
])
def test_bad_latent_settings_are_refused_with_the_config(over, match):
    with pytest.raises(ConfigError, match=match):
        make_config({**TINY, **over})


@pytest.mark.parametrize("over, match", [
    ({"latent.classes": "projection", "objective": "began"}, "auto-encoder, which takes no class labels"),
    ({"latent.classes": "projection", "data.name": "gauss1d"}, "needs a dataset with class labels"),
    ({"latent.classes": "projection", "latent.g_input": "cbn"}, "this G .* has none"),
    ({"latent.classes": "projection", "D.arch": "progressive", "G.arch": "progressive", "data.pad": 2},
     "D.arch = progressive cannot take class labels"),
])
def test_impossible_conditioning_is_refused_before_training(tmp_path, over, match):
    cfg = make_config({**TINY, **over})
    with pytest.raises(ConfigError, match=match):
        training_loop(cfg, lambda: tmp_path / "never", progress=False)
    assert not (tmp_path / "never").exists()


def test_conditional_metrics_refused_on_an_unconditional_run():
    cfg = _cfg()
    with pytest.raises(ConfigError, match="measure a class-conditional generator"):
        Evaluator(["cond_acc5k_lenet"], load_dataset(cfg.data), cfg.data, "cpu")


def test_cli_sample_class(tmp_path, run_cli):
    cfg_args = [f"{k}={v}" for k, v in {**TINY, "latent.classes": "acgan"}.items()]
    sets = sum((["--set", a] for a in cfg_args), [])
    assert run_cli("train", "--out", tmp_path, *sets).code == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    r = run_cli("sample", run, "--class", 3, "--n", 8, "--out", tmp_path / "threes.npz")
    assert r.code == 0, r.err
    r = run_cli("sample", run, "--class", 10)
    assert r.code == 2 and "--class 10" in r.err and "0..9" in r.err
    plain = tmp_path / "plain"
    sets = sum((["--set", f"{k}={v}"] for k, v in TINY.items()), [])
    assert run_cli("train", "--out", plain, *sets).code == 0
    r = run_cli("sample", next(plain.iterdir()), "--class", 1)
    assert r.code == 2 and "not class-conditional" in r.err


def test_image_folders_with_one_subfolder_per_class_have_labels(tmp_path):
    from PIL import Image

    for cls, n in (("cat", 2), ("ant", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(make_config({"data.name": "images", "data.path": str(tmp_path), "data.resolution": 8}).data)
    assert ds.num_classes == 2 and ds.labels.tolist() == [0, 0, 0, 1, 1]  # ant (sorted first) = 0
    Image.new("RGB", (8, 8)).save(tmp_path / "loose.png")  # an image outside the class folders: no labels
    ds = load_dataset(make_config({"data.name": "images", "data.path": str(tmp_path), "data.resolution": 8}).data)
    assert ds.labels is None


# --- InfoGAN -----------------------------------------------------------------------------------

def test_infogan_code_layout():
    lat = Latent(_cfg(z_dim=3, latent__categorical=4, latent__continuous=2))
    w = lat.sample(500, "cpu", torch.Generator().manual_seed(0))
    assert w.shape == (500, 3 + 4 + 2) and lat.aux_dim == 6 and lat.g_extra == 6 and lat.labels(w) is None
    onehot = w[:, 3:7]
    assert torch.equal(onehot.sum(1), torch.ones(500)) and set(onehot.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(lat.categories(w), onehot.argmax(1)) and set(lat.categories(w).tolist()) == {0, 1, 2, 3}
    assert w[:, 7:].abs().max() <= 1
    both = Latent(_cfg(z_dim=3, latent__classes="acgan", latent__categorical=4), num_classes=10)
    w = both.sample(8, "cpu", y=5)
    assert w.shape == (8, 3 + 1 + 4) and torch.equal(both.labels(w), torch.full((8,), 5)) and both.aux_dim == 14


def test_infogan_terms_by_hand():
    cfg = _cfg(z_dim=2, latent__categorical=3, latent__continuous=2, latent__info_weight=0.5)
    lat = Latent(cfg)
    w = lat.sample(6, "cpu", torch.Generator().manual_seed(1))
    q = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    loss, stats = lat._info(q, w)
    cat, cont = w[:, 2:5].argmax(1), w[:, 5:]
    ce = -F.log_softmax(q[:, :3], dim=1)[torch.arange(6), cat].mean()
    sq = 0.5 * ((q[:, 3:] - cont) ** 2).sum(1).mean()
    assert math.isclose(loss.item(), 0.5 * (ce + sq).item(), rel_tol=1e-6)
    assert math.isclose(stats["info_mi_cat"].item(), math.log(3) - ce.item(), rel_tol=1e-6)


def test_category_error_is_the_hungarian_matched_error():
    from ganlab.metrics.evaluate import category_error

    codes = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    assert category_error(codes.roll(0) * 0 + torch.tensor([4, 4, 4, 7, 7, 1, 1, 1]), codes, 10) == 0.0  # a relabelling
    # code 0 -> mostly 3, code 1 -> 3 as well (only one may take it), code 2 -> 5: best matching 0->3, 1->8, 2->5
    predicted = torch.tensor([3, 3, 8, 3, 8, 5, 5, 3])
    assert math.isclose(category_error(predicted, codes, 10), 1 - (2 + 1 + 2) / 8)


@pytest.mark.parametrize("extra", [{}, {"latent.classes": "acgan"}, {"latent.classes": "projection"}])
def test_infogan_trains_and_q_recovers_the_code(tmp_path, extra):
    """On the 8-Gaussian ring, after 16 kimg Q's bound on I(c; G(z, c)) is far above chance (0) —
    measured on the run: G has learnt to make its categorical code visible."""
    cfg = make_config({**TINY, "data.name": "ring8", "data.n": 5000, "z_dim": 2, "G.width": 64, "D.width": 64,
                       "batch_size": 64, "kimg": 16.0, "log_kimg": 4.0, "snapshot_kimg": 16.0, "g_opt.lr": 1e-3,
                       "latent.categorical": 8, "latent.continuous": 1, **extra})
    record = training_loop(cfg, tmp_path, progress=False)
    assert record["info_mi_cat"] > 0.3  # nats; the bound ln 8 = 2.08


def test_infogan_metric_refused_without_codes():
    cfg = _cfg()
    with pytest.raises(ConfigError, match="categorical InfoGAN code"):
        Evaluator(["info_err5k_lenet"], load_dataset(cfg.data), cfg.data, "cpu", Latent(cfg))


def test_python_api_samples_a_chosen_class(tmp_path, run_cli):
    import ganlab

    sets = sum((["--set", f"{k}={v}"] for k, v in {**TINY, "latent.classes": "projection"}.items()), [])
    assert run_cli("train", "--out", tmp_path, *sets).code == 0
    gen = ganlab.load_generator(next(p for p in tmp_path.iterdir() if p.is_dir()), checkpoint="final")
    assert gen.latent.mode == "projection" and gen.latent.num_classes == 10
    threes, again, sevens = gen.sample(6, seed=1, y=3), gen.sample(6, seed=1, y=3), gen.sample(6, seed=1, y=7)
    assert threes.shape == (6, 1, 28, 28) and torch.equal(threes, again) and not torch.equal(threes, sevens)
