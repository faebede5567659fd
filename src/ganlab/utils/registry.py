"""Small name registries: the single source of truth for every user-facing choice.

The CLI's `ganlab list`, config validation, the tests and the study runner all enumerate the same
registry, so adding an entry is one decorated definition and nothing else.
"""

from ganlab.errors import ConfigError, shown, suggest


class Registry(dict):
    """A dict name -> object, with a description per entry and a helpful lookup error."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind  # e.g. "objective"; used in error messages
        self.descriptions = {}

    def register(self, name, description=""):
        """Decorator: `@DATASETS.register("ring8", "8 Gaussians on a circle")`."""

        def add(obj):
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = obj
            self.descriptions[name] = description
            return obj

        return add

    def lookup(self, name):
        """The entry `name`, or a ConfigError listing the valid names."""
        if name not in self:
            raise ConfigError(
                f"unknown {self.kind} {shown(name)}{suggest(name, self)}; "
                f"expected one of: {', '.join(sorted(self))}"
            )
        return self[name]
