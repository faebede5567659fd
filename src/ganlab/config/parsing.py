"""Dotted-key overrides into a Config: `--set` values parsed as plain YAML scalars (tags, anchors,
nesting and control text refused), every value type- and range-checked as the schema says, and
each failure one sentence naming the key (`parse_config` in validation.py merges and validates)."""

import math
import re
import unicodedata

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.config.ranges import expected, schema
from ganlab.errors import ConfigError, shown, suggest


def _show(value):
    return shown(OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value)


def _bad_text(key, text):
    """A message for a string holding a control character or an interpolation, else None."""
    ch = next((c for c in text if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")), None)
    if ch is not None:
        return f"{key} = {_show(text)} holds the control character {ch!r}; expected printable text"
    if "${" in text:
        return f"{key} = {_show(text)} holds an interpolation (${{...}}), which ganlab does not resolve; expected {expected(key)}"
    return None


def _to_number(key, value, spec):
    """`value` as spec.kind (int or float), or a ConfigError naming the key."""
    wrong = ConfigError(f"{key} = {_show(value)} has the wrong type; expected {spec.kind.__name__}, {expected(key)}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise wrong
    if isinstance(value, str):
        try:
            value = int(value) if spec.kind is int else float(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                raise wrong from None
    if isinstance(value, int) and spec.kind is float:
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(f"{key} = {_show(value)} is out of range; expected {expected(key)}") from None
    if isinstance(value, float) and spec.kind is int:
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r} is out of range; expected {expected(key)}")
        if not value.is_integer():
            raise wrong
        return int(value)
    return value


def check_value(key, value):
    """`value` for `key` as the schema types it (numbers parsed from text), refused with a one-line
    ConfigError when it is out of range, not finite, of the wrong shape or holds control text."""
    spec = schema().get(key)
    if isinstance(value, str) and (problem := _bad_text(key, value)):
        raise ConfigError(problem)
    if spec is None or value is None:
        return value
    if spec.kind in (int, float):
        value = _to_number(key, value, spec)
        if value not in spec.range:
            raise ConfigError(f"{key} = {_show(value)} is out of range; expected {expected(key)}")
    elif spec.kind is list or spec.kind is dict:
        items = value.values() if isinstance(value, (dict, DictConfig)) else value
        keys = value.keys() if isinstance(value, (dict, DictConfig)) else []
        shaped = isinstance(value, (dict, DictConfig) if spec.kind is dict else (list, tuple, ListConfig))
        if not shaped or not all(isinstance(k, str) for k in keys) or not all(_scalar(v) for v in items):
            raise ConfigError(f"{key} = {_show(value)} has the wrong type; expected {expected(key)} (plain values, not nested)")
        for v in [*keys, *items]:
            if isinstance(v, str) and (problem := _bad_text(key, v)):
                raise ConfigError(problem)
    return value


def _scalar(v):
    return v is None or isinstance(v, (bool, int, float, str))


def _field_keys():
    """All dotted keys of the Config dataclass, e.g. ['description', 'data.name', ..., 'g_opt.lr']."""
    return list(schema())


def _check_key(key):
    """Refuse a dotted key that is not in the schema, listing close matches."""
    if re.fullmatch(r"(objective|penalty|constraint|g_step)_args\.[A-Za-z_]\w{0,63}", key):
        return  # checked against the objective's (penalty's, constraint's, G step's) own arguments later
    valid = _field_keys()
    if key not in valid:
        raise ConfigError(f"unknown config key {_show(key)}{suggest(key, valid)}; `ganlab train --dry-run` shows every key")


_YAML_EXTRAS = {  # token -> the YAML feature it belongs to; none has a use in one --set value
    yaml.TagToken: "a YAML tag", yaml.AnchorToken: "a YAML anchor", yaml.AliasToken: "a YAML alias",
    yaml.DirectiveToken: "a YAML directive", yaml.DocumentStartToken: "a YAML document marker",
    yaml.DocumentEndToken: "a YAML document marker",
}


def parse_overrides(items):
    """['g_opt.lr=1e-4', ...] -> {'g_opt.lr': 1e-4, ...}. Values are YAML scalars (flat lists for
    list keys such as metrics, flat mappings for objective_args); tags, anchors, aliases, comments,
    documents, nesting and control characters are refused, and numbers are range-checked here."""
    parsed = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {_show(item)} is not of the form KEY=VALUE (e.g. --set g_opt.lr=1e-4)")
        _check_key(key)
        parsed[key] = check_value(key, _parse_value(key, text))
    return parsed


def _parse_value(key, text):
    """One --set value as a Python value; see parse_overrides."""
    def refuse(problem):
        return ConfigError(f"--set {key}={_show(text)} {problem}; expected {expected(key)}")

    if text.strip() == "":
        return None
    if problem := _bad_text(key, text):
        raise ConfigError("--set " + problem)
    try:
        tokens = [t for t in yaml.scan(text, Loader=yaml.SafeLoader)
                  if not isinstance(t, (yaml.StreamStartToken, yaml.StreamEndToken))]
    except yaml.YAMLError:
        raise refuse("is not a valid YAML value") from None
    depth = 0
    for token in tokens:
        if type(token) in _YAML_EXTRAS:
            raise refuse(f"uses {_YAML_EXTRAS[type(token)]}")
        if isinstance(token, yaml.ScalarToken) and token.style in ("|", ">"):
            raise refuse("uses a YAML block scalar")
        depth += isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken))
        depth -= isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken))
        if depth > 1 or isinstance(token, (yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken)) and tokens[0] is not token:
            raise refuse("is nested")
    if not tokens or tokens[-1].end_mark.index < len(text.rstrip()):
        raise refuse("holds a YAML comment (#); quote the value to keep the #")
    try:
        value = OmegaConf.from_dotlist([f"v={text}"])["v"]  # YAML as OmegaConf reads it (1e-4 is a float)
    except (yaml.YAMLError, OmegaConfBaseException, ValueError):
        raise refuse("is not a valid YAML value") from None
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value)
    spec = schema().get(key)
    kind = spec.kind if spec else None
    if isinstance(value, list) and kind is not list:
        raise refuse("is a list")
    if isinstance(value, dict) and kind is not dict:
        raise refuse("is a mapping (quote it if it is text)")
    if kind is str and not isinstance(value, str) and value is not None and tokens[0].plain:
        return text.strip()  # data.path=yes is the folder 'yes', not True; description=1:20 is not 80
    if kind in (int, float) and isinstance(value, (int, float)) and ":" in text:
        raise refuse("uses YAML's base-60 notation")
    return value


def _expected_type(cfg, key):
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    node = parent._get_node(leaf)
    kind = getattr(node, "_metadata", None)
    ref = getattr(kind, "ref_type", None)
    name = getattr(ref, "__name__", str(ref)).replace("Optional[", "").rstrip("]") if ref else "another type"
    return f"{name}, {expected(key)}" if key in schema() else name
