"""The Python API (ganlab.api): config, networks, training, loading and sampling without the CLI;
and the one place the CLI formats errors."""

import pytest
import torch

import ganlab
from ganlab import rundir
from ganlab.errors import CheckpointError, ConfigError, DataError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_config_applies_preset_then_overrides():
    cfg = ganlab.configure("toy-ring-wgan-gp", **{"g_opt.lr": 1e-3, "kimg": 2})
    assert cfg.objective == "wgan-gp" and cfg.g_opt.lr == 1e-3 and cfg.kimg == 2
    assert cfg.description.startswith("toy-ring-wgan-gp with g_opt.lr=0.001, kimg=2 (the base: ")  # as `ganlab train` says it
    with pytest.raises(ConfigError, match="g_opt.lrr"):
        ganlab.configure("demo", **{"g_opt.lrr": 1})


def test_build_networks_shapes_follow_the_data():
    cfg = ganlab.configure("mnist5k-dcgan-ns", **{"G.width": 8, "D.width": 8})
    G, D = ganlab.build_networks(cfg)
    x = G(torch.randn(3, cfg.z_dim))
    assert x.shape == (3, 1, 28, 28) and D(x).shape == (3,)


def test_train_load_and_sample(tmp_path):
    cfg = ganlab.configure("toy-ring-ns", kimg=0.3, **{"G.width": 16, "D.width": 16})
    run = ganlab.train(cfg, out=tmp_path, progress=False)
    assert (run / rundir.FINAL).is_file() and rundir.read_identity(run)
    gen = ganlab.load_generator(run)
    assert gen.kimg == pytest.approx(0.512) and gen.config.z_dim == 2
    a, b = gen.sample(600, seed=1, batch_size=256), gen.sample(600, seed=1)
    assert a.shape == (600, 2)
    torch.testing.assert_close(a, b)  # batching does not change the samples
    assert not torch.equal(a, gen.sample(600, seed=2))


def test_load_generator_refuses_a_missing_run(tmp_path):
    with pytest.raises(CheckpointError, match="not a run directory"):
        ganlab.load_generator(tmp_path / "nope")


def test_multi_line_library_messages_print_as_one_line(run_cli, monkeypatch):
    import ganlab.resolve

    def broken(*args, **kwargs):
        raise DataError("data.path: 'x.png' is not a readable image: cannot identify\n  image file\n\n(truncated?)")

    monkeypatch.setattr(ganlab.resolve, "load_run", broken)
    res = run_cli("sample", "anything")
    assert res.code == 2
    assert res.err == "ganlab: error: data.path: 'x.png' is not a readable image: cannot identify image file (truncated?)\n"


def test_usage_errors_are_one_line_with_exit_2(run_cli):
    for args in (["train", "--kimg", "0"], ["sample"], ["nope"], ["train", "--bogus"]):
        res = run_cli(*args)
        assert res.code == 2 and len(res.err.strip().splitlines()) == 1, (args, res.err)
        assert res.err.startswith("ganlab: error: ") and "--help" in res.err


def test_an_unwritable_output_is_one_line(run_cli, tmp_path):
    (tmp_path / "file").write_text("")
    res = run_cli("train", "--preset", "toy-ring-ns", "--kimg", "0.1", "--quiet", "--out", tmp_path / "file" / "runs")
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1 and "file" in res.err, res.err


def test_api_names_are_not_shadowed_by_submodules():
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(ganlab.__path__, "ganlab."):
        importlib.import_module(info.name)  # a submodule named like an API function would replace it
    for name in ganlab.__all__:
        assert callable(getattr(ganlab, name)) and not isinstance(getattr(ganlab, name), type(ganlab)), name
