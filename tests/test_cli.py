"""CLI end to end: train, sample, list, resume equality, and every user error -> one line, exit 2."""

import json
from pathlib import Path

import pytest
import torch

from ganlab import rundir
from ganlab.cli.listing import LIST_KINDS
from ganlab.utils.checkpoint import load_checkpoint

SMALL_DCGAN = ["--preset", "mnist5k-dcgan-ns", "--set", "G.width=8", "--set", "D.width=8", "--quiet"]
TOY = ["--preset", "toy-ring-ns", "--set", "G.width=32", "--set", "D.width=32", "--quiet"]


def only_run_dir(root):
    (path,) = [p for p in Path(root).iterdir() if p.is_dir()]
    return path


@pytest.mark.parametrize("kind", LIST_KINDS)
def test_list_prints_one_registered_name_per_line(run_cli, kind):
    from ganlab.data import DATASETS
    from ganlab.metrics import METRICS
    from ganlab.networks import NETWORKS
    from ganlab.objectives import OBJECTIVES
    from ganlab.presets import PRESETS
    from ganlab.pretrained import index
    from ganlab.regularizers import CONSTRAINTS, PENALTIES
    from ganlab.training.gstep import G_STEPS

    reg = dict(objectives=OBJECTIVES, penalties=PENALTIES, constraints=CONSTRAINTS, g_steps=G_STEPS, networks=NETWORKS,
               datasets=DATASETS, presets=PRESETS, metrics=METRICS, pretrained=index())[kind]
    res = run_cli("list", kind)
    assert res.code == 0
    assert [line.split()[0] for line in res.out.splitlines()] == sorted(reg)


def test_every_preset_resolves(run_cli):
    from ganlab.presets import PRESETS

    for name in PRESETS:
        res = run_cli("train", "--preset", name, "--dry-run")
        assert res.code == 0, res.err
        assert "objective:" in res.out


def test_dry_run_applies_overrides(run_cli):
    res = run_cli("train", "--preset", "toy-ring-wgan-gp", "--set", "g_opt.lr=3e-4", "--set", "objective_args.gp_weight=1", "--dry-run")
    assert res.code == 0
    assert "lr: 0.0003" in res.out and "gp_weight: 1" in res.out


def test_train_toy_writes_the_run_directory(run_cli, tmp_path):
    res = run_cli("train", *TOY, "--kimg", "0.6", "--set", "log_kimg=0.25", "--set", "snapshot_kimg=0.5", "--out", tmp_path)
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path)
    assert f"run directory: {run}" in res.out
    records = rundir.read_metrics(run)
    assert [r["nimg"] for r in records] == [256, 512, 768]
    for r in records:
        assert {"kimg", "time_s", "loss_D", "loss_G", "D_real", "D_fake", "grad_norm_D", "grad_norm_G", "modes", "hq", "rkl"} <= set(r)
        assert 0 <= r["hq"] <= 1 and 0 <= r["modes"] <= 8
    assert (run / "config.yaml").is_file() and (run / rundir.LATEST).is_file() and (run / rundir.FINAL).is_file()
    assert sorted(p.name for p in run.glob("samples-*.png")) == ["samples-kimg00000.5.png", "samples-kimg00000.8.png"]

    res = run_cli("sample", run, "--n", "100", "--out", tmp_path / "s.png")
    assert res.code == 0, res.err
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_train_and_sample_images(run_cli, tmp_path):
    res = run_cli("train", *SMALL_DCGAN, "--kimg", "0.2", "--out", tmp_path)
    assert res.code == 0, res.err
    run = only_run_dir(tmp_path)
    res = run_cli("sample", run, "--n", "16", "--seed", "3")
    assert res.code == 0, res.err
    from PIL import Image

    img = Image.open(run / "sample-seed3.png")
    assert img.mode == "L" and img.size == (4 * 30 + 2, 4 * 30 + 2)


def _assert_same_state(a, b):
    assert set(a) == set(b)
    if "objective" in a:
        assert torch.equal(a["objective"]["k"], b["objective"]["k"])
    for key in ("G", "D") + (("G_ema",) if "G_ema" in a else ()):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), f"{key}.{name} differs"
    for key in ("g_opt", "d_opt"):
        for idx, st in a[key]["state"].items():
            for name, value in st.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b[key]["state"][idx][name])), f"{key}.{idx}.{name}"
    assert a["cur_nimg"] == b["cur_nimg"] and a["g_steps"] == b["g_steps"]
    assert torch.equal(a["rng_cpu"], b["rng_cpu"])


@pytest.mark.parametrize("args", [
    SMALL_DCGAN,
    TOY + ["--set", "objective=wgan-gp", "--set", "lr_decay_kimg=2.5"],
    TOY + ["--set", "objective=wgan", "--set", "wgan_warmup=true", "--set", "g_opt.name=rmsprop", "--set", "batch_size=8"],
    TOY + ["--set", "objective=lsgan-mm", "--set", "z_prior=uniform"],
    SMALL_DCGAN + ["--set", "objective=wgan-gp", "--set", "bf16=true"],
    TOY + ["--set", "objective=began", "--set", "ema_kimg=0.5"],
    SMALL_DCGAN + ["--set", "objective=dragan", "--set", "ema_kimg=1"],
], ids=["dcgan-ns", "toy-wgan-gp", "toy-wgan-warmup", "toy-lsgan-mm", "dcgan-wgan-gp-bf16", "toy-began-ema", "dcgan-dragan-ema"])
def test_resume_is_bit_exact(run_cli, tmp_path, args):
    """2 kimg in one go == 1 kimg, then resumed to 2 kimg."""
    common = list(args) + ["--set", "log_kimg=0.5", "--set", "snapshot_kimg=0.5"]
    assert run_cli("train", *common, "--kimg", "2", "--out", tmp_path / "a").code == 0
    assert run_cli("train", *common, "--kimg", "1", "--out", tmp_path / "b").code == 0
    run_b = only_run_dir(tmp_path / "b")
    res = run_cli("train", "--resume", run_b, "--kimg", "2", "--quiet")
    assert res.code == 0, res.err
    a = load_checkpoint(only_run_dir(tmp_path / "a") / rundir.FINAL)
    b = load_checkpoint(run_b / rundir.FINAL)
    assert a["cur_nimg"] >= 2000
    _assert_same_state(a, b)


# --- errors: one line, exit status 2, nothing written -----------------------------------------

def assert_user_error(res, *fragments):
    assert res.code == 2, (res.code, res.out, res.err)
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1, res.err
    assert "Traceback" not in res.err
    for frag in fragments:
        assert frag in lines[0], lines[0]


@pytest.mark.parametrize("args, fragments", [
    (["--preset", "toy-ring-nss"], ["unknown preset 'toy-ring-nss'", "did you mean 'toy-ring-ns'"]),
    (["--set", "objective=wgangp"], ["unknown objective 'wgangp'", "wgan-gp"]),
    (["--set", "g_opt.lrr=1"], ["unknown config key 'g_opt.lrr'", "g_opt.lr"]),
    (["--set", "batch_size=many"], ["batch_size", "expected int"]),
    (["--set", "batch_size=0"], ["batch_size = 0 is out of range"]),
    (["--set", "g_opt.beta1=1.5"], ["g_opt.beta1 = 1.5 is out of range", "[0, 1)"]),
    (["--set", "z_prior=cauchy"], ["z_prior", "normal or uniform"]),
    (["--set", "objective_args.gp_weight=3"], ["objective_args.gp_weight", "'nonsaturating'"]),
    (["--set", "noequals"], ["KEY=VALUE"]),
    (["--set", "data.name=mnist", "--set", "data.path=/nonexistent/mnist"], ["/nonexistent/mnist"]),
    (["--device", "cuda"], ["cuda", "expected"]),
    (["--resume", "/nonexistent/run"], ["is not a run directory"]),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, args, fragments):
    if "--device" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    res = run_cli("train", *args, "--out", tmp_path / "runs", "--quiet")
    assert_user_error(res, *fragments)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.fixture
def toy_run(run_cli, tmp_path):
    assert run_cli("train", *TOY, "--kimg", "0.3", "--out", tmp_path / "runs").code == 0
    return only_run_dir(tmp_path / "runs")


def test_resume_with_a_changed_config_is_refused_unless_forced(run_cli, toy_run):
    before = (toy_run / rundir.LATEST).read_bytes()
    res = run_cli("train", "--resume", toy_run, "--set", "g_opt.lr=0.001", "--kimg", "0.6", "--quiet")
    assert_user_error(res, "changed config", "g_opt.lr", "--force")
    assert (toy_run / rundir.LATEST).read_bytes() == before
    res = run_cli("train", "--resume", toy_run, "--set", "g_opt.lr=0.001", "--kimg", "0.6", "--force", "--quiet")
    assert res.code == 0, res.err
    assert "lr: 0.001" in (toy_run / "config.yaml").read_text()


def test_checkpoint_of_another_format_version_is_refused(run_cli, toy_run):
    state = load_checkpoint(toy_run / rundir.LATEST)
    state["version"] = 99
    torch.save(state, toy_run / rundir.LATEST)
    assert_user_error(run_cli("train", "--resume", toy_run, "--kimg", "1"), "format version 99")
    assert_user_error(run_cli("sample", toy_run), "format version 99")


class Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_checkpoint_that_would_unpickle_code_is_refused(run_cli, toy_run, capsys):
    torch.save({"format": "ganlab-checkpoint", "version": 1, "evil": Evil()}, toy_run / rundir.LATEST)
    res = run_cli("sample", toy_run)
    assert_user_error(res, "cannot be read", "code")
    assert "code ran" not in res.out


def test_truncated_checkpoint_is_refused(run_cli, toy_run):
    data = (toy_run / rundir.LATEST).read_bytes()
    (toy_run / rundir.LATEST).write_bytes(data[: len(data) // 2])
    assert_user_error(run_cli("sample", toy_run), "corrupt or truncated")


def test_diverging_losses_stop_with_one_line_and_keep_the_last_good_checkpoint(run_cli, tmp_path):
    args = TOY + ["--set", "objective=lsgan", "--set", "log_kimg=0.256", "--set", "snapshot_kimg=0.256", "--out", tmp_path]
    # Sane first half: a good checkpoint exists.
    assert run_cli("train", *args, "--kimg", "0.25").code == 0
    run = only_run_dir(tmp_path)
    good = load_checkpoint(run / rundir.LATEST)
    # Targets of 1e38 overflow float32 in the squared error: the losses become infinite, and no
    # rollback with lower learning rates can help: after max_rollbacks (3) the run stops.
    res = run_cli("train", "--resume", run, "--force", "--set", "objective_args.b=1e38", "--kimg", "5", "--quiet")
    assert_user_error(res, "diverged", "NaN or infinite", "after 3 rollback(s)")
    after = load_checkpoint(run / rundir.LATEST)
    for net in ("G", "D"):
        for key, value in good[net].items():
            assert torch.equal(after[net][key], value), key
    assert after["health"] == {"rollbacks": 3, "lr_scale": 0.125}
    rows = [r for r in rundir.read_metrics(run) if r.get("event") == "rollback"]
    assert [r["rollbacks"] for r in rows] == [1, 2, 3]
    # With rollbacks off the checkpoint is not even rewritten.
    good = (run / rundir.LATEST).read_bytes()
    res = run_cli("train", "--resume", run, "--force", "--set", "max_rollbacks=0", "--kimg", "5", "--quiet")
    assert_user_error(res, "diverged", "NaN or infinite")
    assert (run / rundir.LATEST).read_bytes() == good


def test_metrics_jsonl_is_valid_json(run_cli, toy_run):
    for line in (toy_run / "metrics.jsonl").read_text().splitlines():
        json.loads(line)


def test_network_that_does_not_fit_the_data_writes_nothing(run_cli, tmp_path):
    res = run_cli("train", "--preset", "toy-ring-ns", "--set", "G.arch=dcgan", "--out", tmp_path / "runs", "--quiet")
    assert_user_error(res, "dcgan", "(2,)")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_truncated_idx_file_is_one_line_and_exit_2(run_cli, tmp_path):
    import struct

    folder = tmp_path / "mnist"
    folder.mkdir()
    # Header for 10 images of 28x28, but only 100 bytes of pixels.
    (folder / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, 10, 28, 28) + bytes(100))
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, 10) + bytes(10))
    res = run_cli("train", "--set", "data.name=mnist", "--set", f"data.path={folder}", "--out", tmp_path / "runs", "--quiet")
    assert_user_error(res, "train-images-idx3-ubyte", "truncated")
    assert not (tmp_path / "runs").exists()


def test_epochs_are_converted_to_kimg_from_the_dataset_size(run_cli):
    res = run_cli("train", "--preset", "demo", "--epochs", "2", "--dry-run")
    assert res.code == 0, res.err
    assert "kimg: 10.0" in res.out  # 2 passes over MNIST-5k's 5,000 digits


def test_kimg_and_epochs_together_is_a_usage_error(run_cli):
    res = run_cli("train", "--kimg", "1", "--epochs", "1", "--dry-run")
    assert res.code == 2 and "not both" in res.err


def test_linear_lr_decay_follows_images_shown(run_cli, tmp_path):
    args = TOY + ["--set", "lr_decay_kimg=1.024", "--set", "g_opt.lr=1e-3", "--set", "d_opt.lr=2e-3", "--out", tmp_path]
    assert run_cli("train", *args, "--kimg", "0.5").code == 0  # 2 iterations of 256 images
    state = load_checkpoint(only_run_dir(tmp_path) / rundir.FINAL)
    # The last iteration started at 256 images: lr = base * (1 - 256 / 1024).
    assert state["g_opt"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.75)
    assert state["d_opt"]["param_groups"][0]["lr"] == pytest.approx(2e-3 * 0.75)
