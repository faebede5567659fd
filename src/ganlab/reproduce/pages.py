"""Generated pages: every page (or marked block of a page) that shows results is written by code from
committed results files, and `ganlab reproduce --check` regenerates them all and compares.

Two kinds of generated text:
- a reproduction's page, docs/reproductions/NAME[/quick]/README.md, from the results.json beside it
  (ganlab.reproduce.run.render_page);
- a marked block inside any other markdown page (the README, docs/...):

      <!-- generated: NAME -->
      ...lines written by BLOCKS[NAME](root)...
      <!-- end generated: NAME -->

  where BLOCKS[NAME] reads committed results files under the repository root.

`update(root)` rewrites every generated page and block from the committed data; `check(root)` returns
the differences without writing anything.
"""

import re
from pathlib import Path

from ganlab.utils.registry import Registry

BLOCKS = Registry("generated block")
BEGIN = re.compile(r"^<!-- generated: ([A-Za-z0-9._-]+) -->$")
END = "<!-- end generated: {} -->"
PAGES = ("README.md", "docs")  # where marked blocks are looked for, under the root


def reproduction_pages(root):
    """[(README path, its generated text)] for every reproduction folder with a results.json."""
    from ganlab.reproduce import REPRODUCTIONS
    from ganlab.reproduce.run import docs_folder, render_page, results_from_file

    out = []
    for name in REPRODUCTIONS:
        for quick in (False, True):
            folder = docs_folder(Path(root) / "docs" / "reproductions", name, quick)
            if (folder / "results.json").is_file():
                rep = REPRODUCTIONS.lookup(name)()
                out.append((folder / "README.md", render_page(rep, results_from_file(folder / "results.json", name, quick))))
    return out


def fill_blocks(text, root, page="page"):
    """`text` with every marked block regenerated; a block without its end marker or of an unknown
    name is refused with one sentence naming the page."""
    from ganlab.errors import ConfigError

    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        out.append(lines[i])
        m = BEGIN.match(lines[i].strip())
        i += 1
        if not m:
            continue
        name = m.group(1)
        end = END.format(name)
        try:
            j = next(k for k in range(i, len(lines)) if lines[k].strip() == end)
        except StopIteration:
            raise ConfigError(f"{page}: generated block {name!r} has no end marker; expected a line {end!r}") from None
        if name not in BLOCKS:
            raise ConfigError(f"{page}: unknown generated block {name!r}; expected one of {', '.join(BLOCKS)}")
        out += BLOCKS.lookup(name)(Path(root))
        out.append(lines[j])
        i = j + 1
    return "\n".join(out)


def marked_pages(root):
    """[(path, its text with every marked block regenerated)] of the markdown pages holding blocks."""
    root = Path(root)
    paths = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    out = []
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text()
        if "<!-- generated: " in text:
            out.append((path, fill_blocks(text, root, str(path.relative_to(root)))))
    return out


def generated(root):
    return reproduction_pages(root) + marked_pages(root)


def first_difference(expected, found, context=40):
    """(line number, expected, found) at the first line that differs, or None; a long line is cut to
    `context` characters either side of its first differing character."""
    a, b = expected.split("\n"), found.split("\n")
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end of page>"
        y = b[i] if i < len(b) else "<end of page>"
        if x != y:
            col = next((k for k, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            lo = max(0, col - context)
            cut = lambda s: ("…" if lo else "") + s[lo:col + context] + ("…" if len(s) > col + context else "")  # noqa: E731
            return i + 1, cut(x), cut(y)
    return None


def check(root):
    """[(page, line number, regenerated line, committed line)]: one entry per page whose committed
    text differs from what its data generates (empty when every page agrees)."""
    root = Path(root)
    out = []
    for path, text in generated(root):
        found = path.read_text() if path.is_file() else ""
        diff = first_difference(text, found)
        if diff:
            out.append((path.relative_to(root), *diff))
    return out


def update(root):
    """Rewrite every generated page and block from the committed data; the pages changed."""
    from ganlab.reproduce.run import write_atomic

    root = Path(root)
    changed = []
    for path, text in generated(root):
        if not path.is_file() or path.read_text() != text:
            write_atomic(path, text)
            changed.append(path.relative_to(root))
    return changed


def _register_all():
    from ganlab.reproduce import blocks  # noqa: F401  (they register on import)


_register_all()
