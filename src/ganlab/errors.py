"""User-facing errors.

Every error a user can cause (a wrong key or value, a missing or corrupt file, a foreign
checkpoint, a device that is not there) is raised as a :class:`GanlabError` whose message is one
sentence naming the input and what was expected. The CLI prints it and exits with status 2.
"""

import difflib


class GanlabError(Exception):
    """Bad input: the message is shown to the user as is."""


class ConfigError(GanlabError):
    """An unknown or invalid configuration key, value, preset or registry name."""


class DataError(GanlabError):
    """A dataset path or file that is missing, truncated or of the wrong format."""


class CheckpointError(GanlabError):
    """A run directory or checkpoint that is missing, corrupt or of another format."""


class DivergenceError(GanlabError):
    """Training produced NaN or infinite losses."""


def one_line(message, limit=1000):
    """`message` as one line: every run of white space (a library's multi-line text passed through)
    folded to one space, and cut to `limit` characters. The CLI formats every error with it."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(name, choices):
    """' (did you mean ...?)' for the close matches of `name` among `choices`, or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def shown(value, limit=60):
    """repr(value) for a message: one line (repr escapes newlines), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
