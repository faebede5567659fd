"""Config resolution: defaults <- preset <- --set, and the checks on keys and values."""

import pytest

from ganlab.config import _field_keys, parse_overrides
from ganlab.resolve import make_config
from ganlab.errors import ConfigError
from ganlab.presets import PRESETS


def test_defaults_validate_and_cover_every_key():
    cfg = make_config()
    assert cfg.objective == "nonsaturating" and cfg.data.name == "mnist5k"
    assert "g_opt.lr" in _field_keys() and "data.path" in _field_keys()


def test_overrides_are_parsed_as_yaml_scalars():
    assert parse_overrides(["g_opt.lr=1e-4", "wgan_warmup=true", "data.path=/x", "n_critic=null"]) == {
        "g_opt.lr": 1e-4, "wgan_warmup": True, "data.path": "/x", "n_critic": None}


def test_every_preset_cites_and_validates():
    for name, overrides in PRESETS.items():
        cfg = make_config(overrides)
        assert len(PRESETS.descriptions[name]) > 20
        assert cfg.description == PRESETS.descriptions[name]


def test_int_field_accepts_integral_float_but_not_text():
    assert make_config({"batch_size": 32}).batch_size == 32
    with pytest.raises(ConfigError, match="batch_size = 'x' has the wrong type; expected int"):
        make_config({"batch_size": "x"})


@pytest.mark.parametrize("key, value, match", [
    ("kimg", 0, r"kimg = 0.0 is out of range; expected a finite kimg in \[1e-6, 1e9\]"),
    ("n_critic", 0, "n_critic = 0 is out of range"),
    ("d_opt.name", "sgd", "d_opt.name = 'sgd' is out of range; expected adam or rmsprop"),
    ("device", "tpu", "device = 'tpu' is out of range"),
    ("G.arch", "resnet9", "unknown network 'resnet9'"),
    ("data.name", "ring", "unknown dataset 'ring'"),
    ("D.normm", "batch", "unknown config key 'D.normm'.*'D.norm'"),
])
def test_bad_values_name_the_key(key, value, match):
    with pytest.raises(ConfigError, match=match):
        make_config({key: value})
