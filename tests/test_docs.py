"""The docs a newcomer reads: a short README, and no pointer to anything the repository does not hold
(the site itself is built with --strict by `make docs`, which CI runs: broken links fail there)."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Names of documents that live outside the repository (the team's notes): never cited by the project.
OUTSIDE = re.compile(r"REFERENCES(\.md)? ?§|metrics-anchors|research/[\w-]+\.md|\bissue \d+\b|\bseed 0\d\d\b")


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move detail to docs/"


def test_nothing_points_outside_the_repository():
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "src").rglob("*.py"),
             *(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "scripts").rglob("*.py"),
             *(ROOT / "docs").rglob("result*.json")]
    found = [f"{p.relative_to(ROOT)}:{i}: {m.group(0)}" for p in files if p != Path(__file__)
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if (m := OUTSIDE.search(line))]
    assert not found, found


def test_every_guide_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    missing = [p for p in pages if p not in nav]
    assert not missing, f"pages neither in mkdocs.yml's nav nor in its not_in_nav: {missing}"
