"""Generated pages: every committed page with results regenerates exactly from its committed data, a
number changed by hand fails the check, and the check writes nothing."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def copy_of_pages(tmp_path_factory):
    """README.md and docs/ copied into a temporary root (the tests edit the copy, never the repository)."""
    root = tmp_path_factory.mktemp("root")
    shutil.copy(ROOT / "README.md", root / "README.md")
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("*.png", "*.html"))
    return root


def _digest(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def test_committed_pages_agree_with_their_data_and_the_check_writes_nothing(run_cli):
    before = _digest(ROOT / "docs"), (ROOT / "README.md").read_bytes()
    r = run_cli("reproduce", "--check", "--root", ROOT)
    assert r.code == 0, r.err
    assert "generated page(s) agree with their committed data" in r.out
    assert (_digest(ROOT / "docs"), (ROOT / "README.md").read_bytes()) == before


def test_every_reproduction_page_has_its_results_file():
    for readme in (ROOT / "docs" / "reproductions").rglob("README.md"):
        assert (readme.parent / "results.json").is_file() or "<!-- generated: " in readme.read_text(), readme


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))
    return text


@pytest.mark.parametrize("page,old,new", [
    ("docs/reproductions/lucic-mnist5k/README.md", "| wgan | 443.9 | 5 |", "| wgan | 443.8 | 5 |"),
    ("docs/reproductions/pacgan-toy/quick/README.md", "Of 15 column comparisons", "Of 16 column comparisons"),
    ("docs/reproductions/pacgan-toy/frozen/README.md", "| 100 | 8 |", "| 100 | 7 |"),
])
def test_a_number_changed_by_hand_fails_the_check(copy_of_pages, run_cli, page, old, new):
    path = copy_of_pages / page
    original = _edit(path, old, new)
    try:
        r = run_cli("reproduce", "--check", "--root", copy_of_pages)
        assert r.code == 1
        first = r.err.strip().splitlines()[0]
        assert first.startswith(f"{page}:") and "differs from what its committed data generates" in first, r.err
        found = first.split(", found ", 1)[1]
        assert (new.split(" | ")[1] if new.count("|") > 2 and "443" in new else new) in found, first
        # --update rewrites the page from the data, and the check passes again.
        r = run_cli("reproduce", "--update", "--root", copy_of_pages)
        assert r.code == 0 and page in r.out, r.out
        assert path.read_text() == original
        assert run_cli("reproduce", "--check", "--root", copy_of_pages).code == 0
    finally:
        path.write_text(original)


def test_a_changed_result_changes_the_page(copy_of_pages, run_cli):
    """The data decides the page: an edited results file fails the check until the page is regenerated."""
    path = copy_of_pages / "docs/reproductions/pacgan-toy/frozen/ring.json"
    original = path.read_text()
    data = json.loads(original)
    done = next(t for t in data["trials"] if t["state"] == "COMPLETE")
    last = max(done["evals"]["modes"], key=float)
    done["evals"]["modes"][last] = 3.0
    path.write_text(json.dumps(data))
    try:
        r = run_cli("reproduce", "--check", "--root", copy_of_pages)
        assert r.code == 1 and "docs/reproductions/pacgan-toy/frozen/README.md:" in r.err, r.err
    finally:
        path.write_text(original)


def test_marked_blocks_refuse_unknown_names_and_missing_ends(tmp_path, run_cli):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# x\n<!-- generated: nope -->\n<!-- end generated: nope -->\n")
    r = run_cli("reproduce", "--check", "--root", tmp_path)
    assert r.code == 2 and "README.md: unknown generated block 'nope'" in r.err and len(r.err.strip().splitlines()) == 1
    (tmp_path / "README.md").write_text("# x\n<!-- generated: pacgan-toy-frozen -->\n")
    r = run_cli("reproduce", "--check", "--root", tmp_path)
    assert r.code == 2 and "has no end marker" in r.err, r.err


def test_check_and_update_take_no_name(run_cli):
    r = run_cli("reproduce", "pacgan-toy", "--check")
    assert r.code == 2 and "take no NAME" in r.err
    r = run_cli("reproduce")
    assert r.code == 2 and "missing NAME" in r.err


def test_first_difference_names_the_line():
    from ganlab.reproduce.pages import first_difference

    assert first_difference("a\nb\nc", "a\nb\nc") is None
    assert first_difference("a\nb\nc", "a\nB\nc") == (2, "b", "B")
    assert first_difference("a\nb", "a") == (2, "b", "<end of page>")
    long = "x" * 100
    assert first_difference(long + "1" + long, long + "2" + long, context=3) == (1, "…xxx1xx…", "…xxx2xx…")


def test_a_final_value_is_the_last_eval_points_or_none():
    from ganlab.reproduce.run import final

    evals = {"modes": {100.0: 8, 200.0: 0}, "hq": {100.0: 0.9, 200.0: 0.0}, "rkl": {100.0: 0.01, 200.0: None}}
    assert final(evals, "modes") == 0 and final(evals, "hq") == 0.0
    assert final(evals, "rkl") is None  # no high-quality sample at the end: not the earlier 0.01
    del evals["rkl"][200.0]  # a file that dropped the None: still not the earlier point's value
    assert final(evals, "rkl") is None
    assert final({}, "rkl") is None


def test_the_check_refuses_a_root_that_is_not_a_checkout(tmp_path, run_cli):
    r = run_cli("reproduce", "--check", "--root", tmp_path)
    assert r.code == 2 and "expected the repository root" in r.err and len(r.err.strip().splitlines()) == 1


def test_results_that_escape_the_check_fail_it(copy_of_pages, run_cli):
    readme = copy_of_pages / "docs" / "guide" / "theory.md"
    original = readme.read_text()
    start, end = "<!-- generated: theory -->", "<!-- end generated: theory -->"
    a, b = original.index(start), original.index(end) + len(end)
    readme.write_text(original[:a] + original[a + len(start):b - len(end)] + original[b:])  # markers gone
    try:
        r = run_cli("reproduce", "--check", "--root", copy_of_pages)
        assert r.code == 1 and "<!-- generated: theory -->" in r.err and "no page holds it" in r.err, r.err
    finally:
        readme.write_text(original)
    page = copy_of_pages / "docs/reproductions/orphan/README.md"
    page.parent.mkdir()
    page.write_text("# a page with a number, 42, and no data\n")
    try:
        r = run_cli("reproduce", "--check", "--root", copy_of_pages)
        assert r.code == 1 and "docs/reproductions/orphan/README.md: results that the check cannot see" in r.err
    finally:
        page.unlink()
        page.parent.rmdir()


def test_unreadable_data_is_one_sentence_and_exit_2(copy_of_pages, run_cli):
    result = copy_of_pages / "docs/theory/bilinear-game/result.json"
    original = result.read_text()
    result.write_text(original[:50])  # truncated
    try:
        r = run_cli("reproduce", "--check", "--root", copy_of_pages)
        assert r.code == 2 and "bilinear-game/result.json cannot be read" in r.err, r.err
        assert len(r.err.strip().splitlines()) == 1
    finally:
        result.write_text(original)


def test_a_run_without_a_final_value_gets_no_verdict_and_misses_the_goal():
    from ganlab.reproduce.mode_collapse import mean_se, toy_comparison

    good = {"modes": [8.0] * 9, "hq": [0.98] * 9, "rkl": [0.003, 0.004] * 4 + [0.003]}
    collapsed = {k: v + [0.0 if k != "rkl" else None] for k, v in good.items()}
    text = "\n".join(toy_comparison(collapsed, "ring"))
    assert "no test (1 of 10 runs without a value)" in text
    assert "not met (" in text and "reverse KL" in text.split("not met (")[1]
    assert mean_se(collapsed["rkl"], digits=2).endswith("(1 of 10 without)")
    assert "met." in "\n".join(toy_comparison(good, "ring"))


def test_the_committed_real_reference_is_what_the_data_gives():
    """The pages read MNIST-5k's own reference values from real_reference.json; recomputed here (the
    last digits of a float32 network's features may differ between machines, hence the tolerance)."""
    from ganlab.reproduce.tables import real_reference, reference_values

    score, fids, classes = reference_values("mnist5k")
    fresh = real_reference("mnist5k")
    assert fresh[0] == pytest.approx(score, rel=1e-6) and fresh[2] == classes
    assert fresh[1] == pytest.approx(fids, rel=1e-5)


def test_the_bf16_verdict_is_computed_from_the_results_file(copy_of_pages):
    from ganlab.reproduce.blocks import bf16

    def trial(config, seed, fid, score):
        return {"config": config, "seed": seed, "state": "COMPLETE", "time_s": 100.0,
                "evals": {"fid5k_lenet": {"300.0": fid}, "mnist_score5k": {"300.0": score}}}

    path = copy_of_pages / "docs/results/bf16/results.json"
    definition = {"objectives": ["fp32", "bf16"], "trials": 3, "seed": 100}
    same = [trial("fp32", s, f, 7.5) for s, f in ((100, 150.0), (101, 160.0), (102, 155.0))] + \
           [trial("bf16", s, f, 7.5 + 0.01 * i) for i, (s, f) in enumerate(((100, 152.0), (101, 158.0), (102, 156.0)))]
    path.write_text(json.dumps({"command": "c", "definition": definition, "trials": same}))
    try:
        text = "\n".join(bf16(copy_of_pages))
        assert "fid5k_lenet tie" in text and "the long studies may run in bf16" in text
        worse = same[:3] + [trial("bf16", s, f, 7.5) for s, f in ((100, 250.0), (101, 255.0), (102, 260.0))]
        path.write_text(json.dumps({"command": "c", "definition": definition, "trials": worse}))
        text = "\n".join(bf16(copy_of_pages))
        assert "fid5k_lenet worse" in text and "the long studies run in fp32" in text
        path.write_text(json.dumps({"command": "c", "definition": definition, "trials": same[:4]}))
        assert "Verdict: not yet" in "\n".join(bf16(copy_of_pages))
    finally:
        path.unlink()


def test_block_links_are_made_relative_to_their_page():
    from ganlab.reproduce.pages import relative_links

    line = "[a](docs/results/x.json) [b](docs/theory/mle-kl/) [u](https://example.org/x) [h](#top)"
    assert relative_links(line, "README.md") == line
    assert relative_links(line, "docs/guide/page.md") == \
        "[a](../results/x.json) [b](../theory/mle-kl/) [u](https://example.org/x) [h](#top)"
    assert relative_links("[r](docs/r/ring.json)", "docs/r/README.md") == "[r](ring.json)"
