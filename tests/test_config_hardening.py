"""Config values are finite and in range at parse time, and `--set` refuses YAML surprises.

Every bad value ends as one ConfigError whose message is one line naming the key; the numeric
keys are found by walking the Config dataclass here (not from config.py's own table), so a new
numeric key is covered, and must have a range, the day it is added.
"""

import dataclasses
import math
import typing

import pytest

from ganlab import config as config_module
from ganlab.config import Config, parse_overrides
from ganlab.resolve import make_config
from ganlab.errors import ConfigError, GanlabError
from ganlab.objectives import OBJECTIVES, build_objective, objective_params
from ganlab.resolve import config_from_yaml


def _leaves(cls=Config, prefix=""):
    """(dotted key, type hint) of every leaf field, found by walking the dataclasses."""
    for name, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            yield from _leaves(hint, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", hint


def _base(hint):
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) is typing.Union else hint


NUMERIC = sorted(key for key, hint in _leaves() if _base(hint) in (int, float))
INTEGER = [key for key, hint in _leaves() if _base(hint) is int]

NOT_FINITE = ["nan", ".nan", "NaN", ".NaN", "NAN", "inf", "-inf", ".inf", "-.Inf", "+.inf", ".INF",
              "Infinity", "1e999", "-1e999", "1.5e400"]
HUGE = ["99999999999999999999999999", "-99999999999999999999999999", "18446744073709551616", "1e300"]


def assert_refused(exc_info, key):
    message = str(exc_info.value)
    assert "\n" not in message and "\r" not in message, message
    assert key in message, message
    assert "expected" in message, message
    return message


def assert_out_of_range(exc_info, key):
    """Refused as out of range, naming the documented range (not only its sign)."""
    message = assert_refused(exc_info, key)
    assert "is out of range; expected" in message, message
    assert "finite" in message or "an integer in" in message or " or " in message, message


def test_every_numeric_key_has_a_range():
    assert {"max_rollbacks", "rollback_lr_factor", "data.n", "g_opt.lr", "D.width"} <= set(NUMERIC)
    specs = config_module.schema()
    for key in NUMERIC:
        assert specs[key].range is not None, key
        assert any(s in config_module.expected(key) for s in ("in [", "in (", " or ")), key


def test_a_numeric_field_without_a_range_is_a_programming_error():
    @dataclasses.dataclass
    class Extra:
        new_size: int = 1

    with pytest.raises(TypeError, match="Extra.new_size is numeric but has no Range"):
        config_module.schema(Extra)


# --- Not finite, huge, out of range: every numeric key -----------------------------------------

@pytest.mark.parametrize("key", NUMERIC)
@pytest.mark.parametrize("text", NOT_FINITE)
def test_not_finite_spellings_are_refused_at_parse_time(key, text):
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides([f"{key}={text}"])
    assert_out_of_range(exc_info, key)


@pytest.mark.parametrize("key", NUMERIC)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf", 10 ** 400, -10 ** 400],
                         ids=["nan", "inf", "-inf", "'nan'", "'inf'", "10**400", "-10**400"])
def test_not_finite_and_huge_python_values_are_refused_by_make_config(key, value):
    with pytest.raises(ConfigError) as exc_info:
        make_config({key: value})
    assert_out_of_range(exc_info, key)


@pytest.mark.parametrize("key", NUMERIC)
@pytest.mark.parametrize("text", HUGE)
def test_huge_numbers_are_refused(key, text):
    with pytest.raises(ConfigError) as exc_info:
        make_config(parse_overrides([f"{key}={text}"]))
    assert_out_of_range(exc_info, key)


def _edges(key):
    """(inside, outside) values at both ends of the documented range of `key`."""
    rng = config_module.schema()[key].range
    integer = key in INTEGER
    if rng.values:
        return list(rng.values), [min(rng.values) - 1, max(rng.values) + 1, *(v for v in range(min(rng.values), max(rng.values)) if v not in rng.values)]
    step = 1 if integer else max(abs(rng.lo), abs(rng.hi), 1) * 1e-9
    inside, outside = [], []
    for bound, sign, open_ in ((rng.lo, -1, rng.lo_open), (rng.hi, 1, rng.hi_open)):
        if open_:
            outside.append(bound)
            inside.append(bound - sign * (1 if integer else step if bound else 1e-9))
        else:
            inside.append(bound)
            outside.append(bound + sign * step)
    return inside, outside


@pytest.mark.parametrize("key", NUMERIC)
def test_values_just_outside_the_documented_range_are_refused_and_the_edges_accepted(key):
    inside, outside = _edges(key)
    for value in outside:
        with pytest.raises(ConfigError) as exc_info:
            make_config({key: value})
        assert_out_of_range(exc_info, key)
    for value in inside:
        companion = {"batch_size": value} if key == "pack" else {}  # a batch must split into packs
        assert make_config({key: value, **companion}) is not None, value


def test_range_messages_read_as_one_sentence():
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides(["g_opt.lr=nan"])
    assert str(exc_info.value) == "g_opt.lr = nan is out of range; expected a finite learning rate in (0, 10]"
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides(["n_critic=0"])
    assert str(exc_info.value) == ("n_critic = 0 is out of range; expected an integer in [1, 1000] "
                                   "(or null for the objective's default)")


def test_validate_catches_a_value_set_after_make_config():
    cfg = make_config()
    cfg.kimg = math.inf  # as `ganlab train --kimg inf` does today (see ganlab/cli/train.py)
    with pytest.raises(ConfigError, match=r"^kimg = inf is out of range; expected a finite kimg"):
        config_module.validate(cfg)


# --- --set: YAML features, shapes and control characters ---------------------------------------

KEYS_BY_KIND = ["g_opt.lr", "batch_size", "wgan_warmup", "objective", "data.path", "D.norm", "metrics",
                "objective_args.a"]

SURPRISES = {
    "tag": ["!!python/object:os.system x", "!!python/object/apply:os.system [ls]", "!!binary aGk=",
            "!!set {a}", "!!timestamp 2001-01-01", "!!str 1", "!!float 1", "!python/name:os.system",
            "!<tag:yaml.org,2002:int> 1", "[!!binary aGk=]"],
    "anchor/alias": ["&a 1", "*a", "[&a 1, *a]", "{a: &x 1, b: *x}"],
    "document": ["--- 1", "... ", "%YAML 1.1", "1\n---\n2"],
    "comment": ["1 #c", "#c", "[a] # c"],
    "block scalar": ["|", ">", "|-"],
    "interpolation": ["${oc.env:HOME}", "${x}", "a${b}"],
    "control character": ["1\x00", "\x1b[31mred", "1\r", "a\tb", "1\x7f", "a\u2028b", "a\u202eb", "1\n2"],
    "syntax": ["'", '"', "[", "{", "]", "@x", "`x", "[a,b]x", '"a" b', "a: b: c"],
}
MAPPINGS_AND_LISTS = ["[1]", "[]", "{a: 1}", "{}", "a: b", "- 1", "[1, [2]]", "[{a: 1}]"]


@pytest.mark.parametrize("key", KEYS_BY_KIND)
@pytest.mark.parametrize("text", [t for ts in SURPRISES.values() for t in ts])
def test_yaml_surprises_in_set_are_refused_with_one_line(key, text):
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides([f"{key}={text}"])
    assert_refused(exc_info, key)


@pytest.mark.parametrize("key", [k for k in KEYS_BY_KIND if k != "metrics"])
@pytest.mark.parametrize("text", MAPPINGS_AND_LISTS)
def test_lists_and_mappings_where_a_value_is_expected_are_refused(key, text):
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides([f"{key}={text}"])
    assert_refused(exc_info, key)


@pytest.mark.parametrize("text", ["[[a]]", "[{a: 1}]", "{a: 1}", "fid5k_lenet", "a: b", "- [a]"])
def test_metrics_takes_a_flat_list_only(text):
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides([f"metrics={text}"])
    assert_refused(exc_info, "metrics")


def test_tag_message_names_key_value_and_expectation():
    with pytest.raises(ConfigError) as exc_info:
        parse_overrides(["g_opt.lr=!!python/object:os.system x"])
    assert str(exc_info.value) == ("--set g_opt.lr='!!python/object:os.system x' uses a YAML tag; "
                                   "expected a finite learning rate in (0, 10]")


@pytest.mark.parametrize("item, value", [
    ("metrics=[fid5k_lenet,kid5k_lenet]", ["fid5k_lenet", "kid5k_lenet"]),
    ("metrics=[]", []),
    ("objective_args.a=0", 0),
    ("D.norm=null", None),
    ("D.norm=layer", "layer"),
    ("n_critic=null", None),
    ("n_critic=", None),
    ("g_opt.lr=1e-4", 1e-4),
    ("kimg=1_000", 1000.0),
    ("batch_size=32.0", 32),
    ("wgan_warmup=true", True),
    ("description='a run: with colon'", "a run: with colon"),
    ("description='1 #1'", "1 #1"),
    ("data.path=/x/y z", "/x/y z"),
    ("data.path=yes", "yes"),          # a folder named yes, not True
    ("description=1:20", "1:20"),      # not YAML 1.1's base-60 integer 80
    ("description=12e3", "12e3"),
    ("objective_args.g_loss=saddle", "saddle"),
    ("objective_args={a: 0, b: 1}", {"a": 0, "b": 1}),
])
def test_legit_values_keep_working(item, value):
    parsed = parse_overrides([item])
    assert parsed == {item.partition("=")[0]: value}
    assert type(parsed[item.partition("=")[0]]) is type(value)


def test_legit_values_make_a_config():
    cfg = make_config(parse_overrides(["objective=lsgan", "objective_args.a=0", "metrics=[fid5k_lenet,kid5k_lenet]",
                                       "D.norm=null", "data.path=yes", "g_opt.lr=3e-4", "seed=4294967295"]))
    assert (cfg.objective_args.a, list(cfg.metrics), cfg.D.norm, cfg.data.path) == (0, ["fid5k_lenet", "kid5k_lenet"], None, "yes")


# --- objective_args ---------------------------------------------------------------------------

NUMERIC_ARGS = sorted((name, arg) for name in OBJECTIVES for arg, default in objective_params(name).items()
                      if not isinstance(default, str))


@pytest.mark.parametrize("objective, arg", NUMERIC_ARGS)
@pytest.mark.parametrize("text", ["nan", ".nan", "inf", "-.Inf", "1e999", "99999" * 80])
def test_objective_args_must_be_finite(objective, arg, text):
    with pytest.raises(ConfigError) as exc_info:
        make_config({"objective": objective, **parse_overrides([f"objective_args.{arg}={text}"])})
    assert "finite" in assert_refused(exc_info, f"objective_args.{arg}")


@pytest.mark.parametrize("objective, arg", NUMERIC_ARGS)
@pytest.mark.parametrize("value", [math.nan, -math.inf, 10 ** 400], ids=["nan", "-inf", "10**400"])
def test_build_objective_refuses_values_that_are_not_finite(objective, arg, value):
    with pytest.raises(ConfigError) as exc_info:
        build_objective(objective, {arg: value})
    assert "is out of range; expected a finite number" in assert_refused(exc_info, f"objective_args.{arg}")


def test_mean_matching_weight_is_not_negative():
    with pytest.raises(ConfigError) as exc_info:
        build_objective("lsgan-mm", {"weight": -1.0})
    assert "out of range" in assert_refused(exc_info, "objective_args.weight")


# --- config.yaml gets the same checks -------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("g_opt: {lr: .inf}", "g_opt.lr"),
    ("kimg: .inf", "kimg"),
    ("seed: 1e999", "seed"),
    ("batch_size: 99999999999999999999", "batch_size"),
    ("ema_kimg: .nan", "ema_kimg"),
    ("max_rollbacks: .inf", "max_rollbacks"),
    ("rollback_lr_factor: .nan", "rollback_lr_factor"),
    ("objective: lsgan\nobjective_args: {a: .nan}", "objective_args.a"),
    ("description: ${oc.env:HOME}", "description"),
    ("metrics: [[fid5k_lenet]]", "metrics"),
])
def test_config_yaml_gets_the_same_checks(text, key):
    with pytest.raises(GanlabError) as exc_info:
        config_from_yaml(text, "config.yaml")
    message = assert_refused(exc_info, key)
    if key in NUMERIC:
        assert_out_of_range(exc_info, key)
    else:
        assert "finite" in message or "interpolation" in message or "not nested" in message, message


# --- Through the CLI -------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--set", "g_opt.lr=nan"], "g_opt.lr = nan is out of range; expected a finite learning rate"),
    (["--set", "d_opt.lr=.inf"], "d_opt.lr = inf is out of range"),
    (["--set", "kimg=1e999"], "kimg = inf is out of range"),
    (["--set", "g_opt.lr=!!python/object:os.system x"], "g_opt.lr='!!python/object:os.system x' uses a YAML tag"),
    (["--set", "g_opt.lr=!!binary aGk="], "g_opt.lr='!!binary aGk=' uses a YAML tag"),
    (["--set", "g_opt.lr=!!set {a}"], "uses a YAML tag"),
    (["--set", "g_opt.lr=!!timestamp 2001-01-01"], "uses a YAML tag"),
    (["--set", "batch_size=[1, 2]"], "batch_size='[1, 2]' is a list"),
    (["--set", "objective=wgan-gp", "--set", "objective_args.gp_weight=nan"], "objective_args.gp_weight = 'nan' is out of range"),
    (["--seed", "99999999999999999999"], "seed = 99999999999999999999 is out of range"),
    (["--eval-every", "inf"], "eval_kimg = inf is out of range"),
])
def test_cli_refuses_with_one_line_and_writes_nothing(run_cli, tmp_path, args, fragment):
    res = run_cli("train", "--preset", "toy-ring-ns", *args, "--out", tmp_path, "--quiet")
    assert res.code == 2, (res.code, res.out, res.err)
    assert len(res.err.splitlines()) == 1 and "Traceback" not in res.err, res.err
    assert res.err.startswith("ganlab: error: ") and fragment in res.err, res.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--kimg", "--epochs"])
@pytest.mark.parametrize("value", ["nan", "inf", "1e300"])
def test_cli_kimg_option_is_checked_like_the_key(run_cli, tmp_path, option, value):
    res = run_cli("train", "--preset", "toy-ring-ns", option, value, "--dry-run", "--out", tmp_path)
    assert res.code == 2 and len(res.err.splitlines()) == 1, (res.code, res.out, res.err)
