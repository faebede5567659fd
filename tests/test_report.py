"""`ganlab report`: the HTML report of a run, of several runs and of a study, from tiny real runs;
user text is escaped; missing pieces do not crash; headless Chromium opens the file, every image
decodes and nothing is logged to the console."""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ganlab.cli import main
from ganlab.errors import CheckpointError
from ganlab.report.html import pick_grids, write_report

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = ["--preset", "toy-ring-ns", "--set", "G.width=16", "--set", "D.width=16", "--kimg", "1",
       "--set", "log_kimg=0.25", "--set", "snapshot_kimg=0.25", "--quiet"]
IMAGES = ["--preset", "mnist5k-dcgan-ns", "--set", "G.width=8", "--set", "D.width=8", "--kimg", "0.5",
          "--set", "log_kimg=0.125", "--set", "snapshot_kimg=0.25", "--set", "metrics=[fid5k_lenet]",
          "--eval-every", "0.5", "--quiet"]  # one evaluation, at the end: best.json
ROLLBACK = {"event": "rollback", "kimg": 0.5, "nimg": 500, "diverged_kimg": 0.75,
            "problem": "loss_D is nan <img src=x onerror=alert(1)>", "rollbacks": 1, "lr_scale": 0.5}


def train(root, args):
    main(["train", *args, "--out", str(root)])
    (run,) = [p for p in Path(root).iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(toy run, image run): real, tiny; the toy one with a rollback row and a `ganlab eval` row added."""
    base = tmp_path_factory.mktemp("report")
    toy, image = train(base / "toy", TOY), train(base / "images", IMAGES)
    with open(toy / "metrics.jsonl", "a") as f:
        f.write(json.dumps(ROLLBACK) + "\n")
        f.write(json.dumps({"eval": True, "checkpoint": "latest", "kimg": 1.0, "seeds": 3, "hq": 0.25,
                            "hq_seed_std": 0.01}) + "\n")
    return toy, image


def copy_run(src, dst, **changes):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report.html", "*.pt"))
    cfg = OmegaConf.load(dst / "config.yaml")
    for key, value in changes.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    OmegaConf.save(cfg, dst / "config.yaml")
    return dst


def images_in(text):
    return re.findall(r'<img [^>]*src="([^"]*)"', text)


def assert_self_contained(text):
    assert "<script" not in text.lower()
    assert all(src.startswith("data:image/png;base64,") for src in images_in(text))
    assert not re.search(r'(?:src|href)="(?!data:)', text), "a link or image that is not inline"


def test_run_report_shows_the_run(runs):
    toy, _ = runs
    out = write_report([toy])
    assert out == toy / "report.html"
    text = out.read_text()
    assert_self_contained(text)
    for fragment in ("toy-ring-ns with G.width=16, D.width=16", "8-Gaussian ring", "nonsaturating", "mlp, width 16, depth 4", "ring8",
                     "1.024 kimg of 1 kimg planned, finished", "Samples from one fixed z", "losses", "gradient norms",
                     "modes captured", "high-quality share", "Rollbacks", "loss_D is nan", "Evaluations (ganlab eval)",
                     "0.25 ± 0.01", "Resolved config (config.yaml)", "rollback_lr_factor",
                     "Provenance", "ganlab train --preset toy-ring-ns --set G.width=16", "provenance.jsonl", "learning rates"):
        assert fragment in text, fragment
    grids = len(list(toy.glob("samples-kimg*.png")))
    curves = 6  # losses, D outputs, gradient norms, learning rates, modes, hq (rkl is null: a note)
    assert len(images_in(text)) == min(grids, 6) + 1 + curves
    assert "no value yet" in text


def test_image_run_report_takes_the_best_point_from_best_json(runs):
    _, image = runs
    best = json.loads((image / "best.json").read_text())
    text = write_report([image], image / "r.html").read_text()
    assert_self_contained(text)
    assert f"fid5k_lenet {best['value']:.4g} at {best['kimg']:g} kimg (best.json" in text
    assert "dcgan, width 8" in text and "mnist5k" in text


def test_user_text_is_escaped(runs, tmp_path):
    toy, _ = runs
    run = copy_run(toy, tmp_path / "run <b>bold</b>", description="<script>alert(1)</script>")
    text = write_report([run]).read_text()
    assert_self_contained(text)
    assert "<b>" not in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_a_run_without_metrics_or_grids_says_so(runs, tmp_path):
    toy, _ = runs
    run = tmp_path / "00000-early"
    run.mkdir()
    shutil.copy(toy / "config.yaml", run)
    text = write_report([run]).read_text()
    assert "no samples yet" in text and "no metrics yet" in text and "no metrics logged yet" in text
    (run / "metrics.jsonl").write_text('{"kimg": 0.25, "loss_D": 1.0, "loss_G": 0.5}\n{"kimg": 0.5, "los')  # torn
    (run / "samples-kimg00000.3.png").write_bytes((toy / sorted(p.name for p in toy.glob("samples*"))[0]).read_bytes()[:200])
    text = write_report([run]).read_text()
    assert "is unreadable" in text and "stopped or still running" in text
    assert_self_contained(text)


def test_several_runs_are_compared(runs, tmp_path, monkeypatch):
    toy, image = runs
    other = copy_run(toy, tmp_path / "00009-lsgan", objective="lsgan", d_opt__lr=0.001)
    monkeypatch.chdir(tmp_path)
    out = write_report([toy, other, image])
    assert out == Path("report.html")
    text = out.read_text()
    assert_self_contained(text)
    assert "Comparison of 3 runs" in text and "00009-lsgan" in text and toy.name in text
    assert "<th>d_opt.lr</th>" in text and "<th>best fid5k_lenet (kimg)</th>" in text
    assert "Final samples" in text and text.count("final samples of") == 3


def test_a_study_folder_is_reported_from_its_trials(runs, tmp_path):
    toy, _ = runs
    study = tmp_path / "studies" / "ring"
    copy_run(toy, study / "trials" / "cfg_0000")
    copy_run(toy, study / "trials" / "cfg_0001", objective="lsgan", g_opt__lr=0.002)
    out = write_report([study])
    assert out == study / "report.html"
    text = out.read_text()
    assert "Study ring" in text and "cfg_0001" in text and "<th>g_opt.lr</th>" in text
    assert "ganlab study report ring" in text  # no summary.md yet: how to write it


def with_file(path, name, text=None):
    (path / name).mkdir() if text is None else (path / name).write_text(text)
    return path


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p / "missing", "is not a run directory"),
    (lambda p: p, "is not a run directory"),
    (lambda p: with_file(p, "trials"), "has no trial run directories"),
    (lambda p: with_file(p, "config.yaml", "- a list\n"), "does not hold a config mapping"),
    (lambda p: with_file(p, "config.yaml", "a: [1\n"), "is not a readable config"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, make, fragment):
    path = make(tmp_path)
    res = run_cli("report", path)
    assert res.code == 2 and fragment in res.err and len(res.err.strip().splitlines()) == 1, res.err
    with pytest.raises(CheckpointError, match=fragment):
        write_report([path])


def test_cli_writes_the_report(run_cli, runs, tmp_path):
    toy, _ = runs
    res = run_cli("report", toy, "--out", tmp_path / "x" / "toy.html")
    assert res.code == 0 and (tmp_path / "x" / "toy.html").is_file(), res.err


def test_grids_in_the_strip_are_evenly_spaced():
    assert pick_grids(list(range(3))) == [0, 1, 2]
    assert pick_grids(list(range(11)), 6) == [0, 2, 4, 6, 8, 10]
    assert pick_grids(list(range(100)), 4) == [0, 33, 66, 99]


# --- The browser check -------------------------------------------------------------------------------
# Chromium loads the report in an iframe of a wrapper page (same origin on file:// with
# --allow-file-access-from-files); the wrapper's script writes what it sees into its own DOM, which
# --dump-dom prints. The report itself has no script. Console messages (the report's or the
# wrapper's, uncaught errors included) appear on stderr as ":CONSOLE" lines with --enable-logging.

WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="%s" style="border:0;width:1280px;height:2000px"></iframe><pre id="result" hidden>pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {
  var out = document.getElementById("result");
  try {
    var imgs = Array.prototype.slice.call(this.contentDocument.images);
    var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).map(function (i) { return i.alt; });
    out.textContent = "RESULT " + JSON.stringify({images: imgs.length, broken: broken, title: this.contentDocument.title});
  } catch (e) { out.textContent = "RESULT " + JSON.stringify({error: String(e)}); }
});
</script></body></html>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("Chromium is not installed (`make chromium` installs Debian's package as root); the browser check is skipped")


def open_in_chromium(report, tmp_path):
    wrapper = report.with_name(f"check-{report.stem}.html")
    wrapper.write_text(WRAPPER % report.name)
    shot = tmp_path / f"{report.stem}.png"
    cmd = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files", "--enable-logging=stderr",
           "--v=0", "--virtual-time-budget=10000", "--window-size=1280,2000", f"--screenshot={shot}",
           "--dump-dom", wrapper.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r"RESULT (\{.*?\})</pre>", proc.stdout)
    assert found, f"no result from the wrapper page (exit {proc.returncode}): {proc.stderr[-2000:]}"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return json.loads(found.group(1)), console, shot


def test_chromium_renders_every_image_without_console_errors(runs, tmp_path):
    toy, image = runs
    reports = [write_report([toy], tmp_path / "toy.html"), write_report([toy, image], tmp_path / "both.html")]
    for report in reports:
        start = time.time()
        result, console, shot = open_in_chromium(report, tmp_path)
        took = time.time() - start
        assert result.get("broken") == [] and result["images"] == len(images_in(report.read_text())) > 0, result
        assert not console, console
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        assert took < 60, f"Chromium took {took:.0f} s"


def test_seed_groups_are_one_line_with_a_band_and_a_study_summary_is_html(tmp_path, run_cli):
    """Runs that differ only in the seed share one curve (mean, band of ± std); the study's
    summary.md is rendered as HTML tables, not shown as raw markdown."""
    from ganlab.report.compare import comparison_panels, seed_band, seed_groups
    from ganlab.report.rundata import read_run

    args = ["--preset", "toy-ring-ns", "--set", "G.width=8", "--set", "D.width=8", "--kimg", "0.768",
            "--set", "log_kimg=0.256", "--quiet"]
    for seed in (0, 1, 2):
        assert run_cli("train", *args, "--seed", seed, "--runs", tmp_path / f"s{seed}").code == 0
    assert run_cli("train", *args, "--set", "objective=lsgan", "--runs", tmp_path / "l").code == 0
    runs = [read_run(next((tmp_path / d).glob("0*"))) for d in ("s0", "s1", "s2", "l")]
    groups = seed_groups(runs)
    assert [len(g) for g in groups] == [3, 1]
    xs, means, lo, hi = seed_band(groups[0], "loss_D")
    values = [[r["loss_D"] for r in run.rows] for run in runs[:3]]
    import statistics

    assert xs == [r["kimg"] for r in runs[0].rows]
    assert means == pytest.approx([statistics.fmean(v) for v in zip(*values)])
    assert [m - low for m, low in zip(means, lo)] == pytest.approx([statistics.stdev(v) for v in zip(*values)])
    losses = next(p for p in comparison_panels(runs) if p.title == "loss_D")
    assert len(losses.lines) == 2 and len(losses.bands) == 1  # the seed group (with its band) and the lsgan run
    assert any(label.endswith(", 3 seeds") for label, *_ in losses.lines)

    from ganlab.report.page import markdown

    rendered = markdown("# Study x\n\n| a | b |\n|---|---|\n| <b>1</b> | 2 |\n\n![budget](budget.png)\n")
    assert "<table>" in rendered and "&lt;b&gt;1&lt;/b&gt;" in rendered and "budget.png" not in rendered
