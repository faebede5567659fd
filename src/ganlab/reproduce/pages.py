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

import posixpath
import re
import sys
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
    from ganlab.errors import ConfigError

    for name in REPRODUCTIONS:
        for quick in (False, True):
            folder = docs_folder(Path(root) / "docs" / "reproductions", name, quick)
            if (folder / "results.json").is_file():
                rep = REPRODUCTIONS.lookup(name)()
                try:
                    text = render_page(rep, results_from_file(folder / "results.json", name, quick))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ConfigError(f"{folder / 'results.json'} cannot be written up as {name!r} "
                                      f"({type(exc).__name__}: {exc}); expected the results.json that `ganlab "
                                      f"reproduce` writes") from None
                out.append((folder / "README.md", text))
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
        try:
            out += [relative_links(line, page) for line in BLOCKS.lookup(name)(Path(root))]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{page}: generated block {name!r} cannot be written from its data ({type(exc).__name__}: "
                              f"{exc}); expected the committed results files it reads") from None
        out.append(lines[j])
        i = j + 1
    return "\n".join(out)


LINK = re.compile(r"\]\((?![A-Za-z][A-Za-z0-9+.-]*:)([^)\s#]+)([^)]*)\)")  # not a URL, not an anchor


def relative_links(line, page):
    """A block's markdown links are written relative to the repository root; on the page they are
    made relative to the page's folder (`page`: its path under the root)."""
    here = posixpath.dirname(str(page).replace("\\", "/"))

    def fix(m):
        target = posixpath.relpath(m.group(1), here or ".")
        return f"]({target}{'/' if m.group(1).endswith('/') and not target.endswith('/') else ''}{m.group(2)})"
    return LINK.sub(fix, line)


def marked_pages(root):
    """[(path, its text with every marked block regenerated)] of the markdown pages holding blocks."""
    root = Path(root)
    paths = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    out = []
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
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


def check_root(root):
    """Refuse a root that is not a ganlab checkout (a check there would pass with nothing checked)."""
    from ganlab.errors import ConfigError

    root = Path(root)
    if not (root / "README.md").is_file() or not (root / "docs").is_dir():
        raise ConfigError(f"{root} has no README.md and docs/ folder; expected the repository root (--root)")


def unchecked(root, pages):
    """[(page, 0, what is expected, what was found)] for results that escape the check: a registered
    block used by no page, a reproduction page without the results.json it is written from."""
    root = Path(root)
    used = {m.group(1) for _, text in pages for line in text.split("\n") if (m := BEGIN.match(line.strip()))}
    out = [(Path("README.md"), 0, f"a page holding <!-- generated: {name} -->", "no page holds it")
           for name in BLOCKS if name not in used]
    for readme in sorted((root / "docs" / "reproductions").rglob("README.md")):
        if not (readme.parent / "results.json").is_file() and "<!-- generated: " not in readme.read_text(encoding="utf-8"):
            out.append((readme.relative_to(root), 0, "its results.json beside it, or generated blocks", "neither"))
    return out


def check(root):
    """(differences, pages checked): [(page, line number, regenerated line, committed line)], one
    entry per page whose committed text differs from what its data generates, or whose results
    escape the check (line 0); empty when every page agrees."""
    check_root(root)
    root = Path(root)
    pages = generated(root)
    out = []
    for path, text in pages:
        found = path.read_text(encoding="utf-8") if path.is_file() else ""
        diff = first_difference(text, found)
        if diff:
            out.append((path.relative_to(root), *diff))
    return out + unchecked(root, pages), len(pages)


def update(root):
    """Rewrite every generated page and block from the committed data; the pages changed."""
    from ganlab.reproduce.run import write_atomic

    check_root(root)
    root = Path(root)
    changed = []
    for path, text in generated(root):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
            changed.append(path.relative_to(root))
    return changed


def _echo(message, err=False):
    print(message, file=sys.stderr if err else sys.stdout)


def run_check(root, echo=_echo):
    """`ganlab reproduce --check`: say what differs (on stderr) and return the exit status (0 or 1)."""
    differences, n = check(root)
    for page, line, expected, found in differences:
        if line == 0:
            echo(f"{page}: results that the check cannot see: expected {expected}, found {found}", err=True)
        else:
            echo(f"{page}:{line}: differs from what its committed data generates: expected {expected!r}, "
                 f"found {found!r}", err=True)
    if differences:
        echo(f"ganlab: {len(differences)} generated page(s) differ; `ganlab reproduce --update` rewrites them "
             f"from the committed data", err=True)
        return 1
    echo(f"{n} generated page(s) agree with their committed data")
    return 0


def run_update(root, echo=_echo):
    """`ganlab reproduce --update`: rewrite the generated pages; say which; return 0."""
    changed = update(root)
    echo(f"rewrote {len(changed)} page(s)" + "".join(f"\n  {p}" for p in changed))
    return 0


def _register_all():
    from ganlab.reproduce import blocks  # noqa: F401  (they register on import)


_register_all()
