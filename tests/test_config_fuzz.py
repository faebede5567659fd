"""Fuzzed config parsing: whatever the text, parse_overrides + make_config and config_from_yaml
either succeed or raise a GanlabError whose message is one line.

The default run is deterministic (derandomize) and takes a few seconds; the `slow` variants
(`make test-slow`) run the same properties on many more examples.
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from ganlab.config import _field_keys, parse_overrides
from ganlab.resolve import make_config
from ganlab.errors import GanlabError
from ganlab.resolve import config_from_yaml

KEYS = _field_keys() + ["objective_args.a", "objective_args.gp_weight", "objective_args.g_loss", "objective_args"]
VALID = ["g_opt.lr=1e-4", "kimg=0.5", "batch_size=32", "metrics=[fid5k_lenet,kid5k_lenet]", "objective_args.a=0",
         "D.norm=null", "wgan_warmup=true", "description=a run", "data.path=/tmp/x", "seed=7", "n_critic=null",
         "objective=lsgan", "data.channels=3", "objective_args={gp_weight: 1}", "rollback_lr_factor=0.25"]
# Characters that mean something to YAML, OmegaConf or a terminal, weighted up among random text.
SPECIAL = list("!&*[]{}#:,-?|>'\"%@`\\=$. \t\n\r\x00\x1b\x7f\u2028") + ["${", "!!", "---", "...", "nan", ".inf", "1e999", "99999999999999999999"]
TEXT = st.lists(st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=15).map("".join)


def assert_finite(cfg):
    """A config that was accepted holds only finite numbers."""
    for key in _field_keys():
        value = OmegaConf.select(cfg, key)
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
    for key, value in cfg.objective_args.items():
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)


def expect_user_error(run):
    """Run `run()`: it returns an all-finite config, or raises a GanlabError with a one-line message."""
    try:
        assert_finite(run())
    except GanlabError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        assert len(message) < 500, message
    # Anything else propagates and fails the property.


def check_overrides(items):
    def run():
        overrides = parse_overrides(items)
        assert isinstance(overrides, dict)
        return make_config(overrides)

    expect_user_error(run)


@st.composite
def mutated(draw):
    """A valid override with characters inserted, deleted or replaced."""
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(SPECIAL), st.characters()))
        text = {"insert": text[:i] + piece + text[i:], "delete": text[:i] + text[i + 1:],
                "replace": text[:i] + piece + text[i + 1:]}[op]
    return text


OVERRIDE_ITEMS = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), TEXT),  # a real key, random text
    mutated(),
    TEXT,  # no structure at all
)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                    st.sampled_from(["nan", ".inf", "${x}", "!!binary aGk=", "&a 1", "*a", math.nan, math.inf,
                                     -math.inf, 10 ** 400, 2 ** 64, 1e308]))
NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, 10 ** 400, -(2 ** 64), "nan", "-inf", "1e999"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)
VALID_DOC = OmegaConf.to_container(make_config({"objective": "wgan-gp", "objective_args.gp_weight": 1.0}))


@st.composite
def config_documents(draw):
    """A valid config mapping with one to three leaves (or new keys) set to random values."""
    doc = {k: dict(v) if isinstance(v, dict) else v for k, v in VALID_DOC.items()}
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS[:-1] + ["x", "data.x", "objective_args.gp_weight"]))
        section, _, leaf = key.rpartition(".")
        if section and not isinstance(doc.get(section), dict):
            doc[section] = {}
        (doc[section] if section else doc)[leaf] = draw(st.one_of(NOT_FINITE, VALUES))
    return doc


def yaml_text(doc):
    import yaml

    return yaml.safe_dump(doc, allow_unicode=True)


VALID_YAML = OmegaConf.to_yaml(make_config())
YAML_TEXTS = st.one_of(
    config_documents().map(yaml_text),
    st.builds(lambda i, piece: VALID_YAML[:i] + piece + VALID_YAML[i:], st.integers(0, len(VALID_YAML)),
              st.one_of(st.sampled_from(SPECIAL), TEXT)),
    TEXT,
)


def check_yaml(text):
    expect_user_error(lambda: config_from_yaml(text, "config.yaml"))


def fuzz(strategy, check, examples):
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategy)
    def run(x):
        check(x)

    run()


def test_fuzzed_overrides_fail_only_as_user_errors():
    fuzz(st.lists(OVERRIDE_ITEMS, min_size=1, max_size=3), check_overrides, 250)


def test_fuzzed_config_yaml_fails_only_as_user_errors():
    fuzz(YAML_TEXTS, check_yaml, 150)


def test_fuzzed_python_overrides_fail_only_as_user_errors():
    """Presets, studies and config.yaml hand make_config Python values, not text."""
    fuzz(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3), lambda d: expect_user_error(lambda: make_config(d)), 150)


@pytest.mark.slow
def test_fuzzed_overrides_fail_only_as_user_errors_long():
    fuzz(st.lists(OVERRIDE_ITEMS, min_size=1, max_size=3), check_overrides, 5000)


@pytest.mark.slow
def test_fuzzed_config_yaml_fails_only_as_user_errors_long():
    fuzz(YAML_TEXTS, check_yaml, 3000)


@pytest.mark.slow
def test_fuzzed_python_overrides_fail_only_as_user_errors_long():
    fuzz(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3), lambda d: expect_user_error(lambda: make_config(d)), 3000)
