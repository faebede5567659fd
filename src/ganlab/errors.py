"""User-facing errors.

Every error a user can cause (a wrong key or value, a missing or corrupt file, a foreign
checkpoint, a device that is not there) is raised as a :class:`GanlabError` whose message is one
sentence naming the input and what was expected. The CLI prints it and exits with status 2.
"""

import difflib
import re

MESSAGE_LIMIT = 400  # characters of a DataError message: a sentence, not a dump


class GanlabError(Exception):
    """Bad input: the message is shown to the user as is."""


class ConfigError(GanlabError):
    """An unknown or invalid configuration key, value, preset or registry name."""


class DataError(GanlabError):
    """A dataset path or file that is missing, truncated or of the wrong format.

    The message is made one line by construction: it often embeds a file name or a library's
    exception text (Pillow, numpy, zipfile, pickle), either of which can hold newlines.
    """

    def __init__(self, message):
        super().__init__(one_line(message, MESSAGE_LIMIT))


class CheckpointError(GanlabError):
    """A run directory or checkpoint that is missing, corrupt or of another format."""


class DivergenceError(GanlabError):
    """Training produced NaN or infinite losses."""


def suggest(name, choices):
    """' (did you mean ...?)' for the close matches of `name` among `choices`, or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def shown(value, limit=60):
    """repr(value) for a message: one line (repr escapes newlines), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# A repr such as "<_io.BytesIO object at 0x7f...>" says nothing to a user and differs between runs.
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def one_line(text, limit: int = 1000) -> str:
    """`text` on one line of at most `limit` characters: control characters and runs of whitespace
    become one space, object reprs become "<...>", and an overlong text ends in "...".

    For messages that embed a library's exception text or a name taken from a file; the CLI
    formats every error with it (the one place errors are formatted).
    """
    text = _OBJECT_REPR.sub("<...>", str(text))
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."
