"""ganlab as a package: the wheel builds from the sources, installs into a fresh virtual environment
that already has torch (and keeps it), passes `pip check`, and the installed command trains."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _run(args, **kw):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=240, **kw)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    return done.stdout


def test_the_wheel_installs_beside_an_existing_torch_and_trains(tmp_path):
    # Build from a copy of what the sdist holds, so the build leaves nothing in the checkout.
    src = tmp_path / "src-copy"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist"])
    wheel, = (tmp_path / "dist").glob("ganlab-*.whl")

    # A fresh venv that already has torch: this interpreter's packages (torch, numpy, ...) visible to
    # it through a path file, the way a user's own torch install would be.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])  # pip below: this interpreter's, aimed at it
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (site / "existing-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    torch_before = _run([py, "-c", "import torch; print(torch.__version__)"]).strip()

    pip = [sys.executable, "-m", "pip", "--python", py]
    _run(pip + ["install", "--no-index", "-q", wheel])
    assert "No broken requirements" in _run(pip + ["check"])
    where = _run([py, "-c", "import ganlab, torch; print(ganlab.__file__); print(ganlab.__version__); print(torch.__version__)"],
                 cwd=tmp_path).split()
    assert where[0].startswith(str(venv)), where  # the installed copy, not the checkout
    assert where[2] == torch_before  # the user's torch kept
    assert (Path(where[0]).parent / "metrics" / "weights" / "lenet_mnist.safetensors").is_file()  # package data

    ganlab = venv / "bin" / "ganlab"
    assert _run([ganlab, "--version"]).strip() == f"ganlab {where[1]}"
    out = _run([ganlab, "train", "--preset", "toy-ring-ns", "--kimg", "1", "--quiet", "--out", tmp_path / "runs"],
               cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert "done at" in out
    # A shipped generator samples with no training (the fresh install's package data, checked by hash).
    _run([ganlab, "sample", "--pretrained", "mnist5k", "--n", "64", "--out", tmp_path / "x.png"], cwd=tmp_path,
         env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert (tmp_path / "x.png").stat().st_size > 5_000
    assert (tmp_path / "runs" / "00000-toy-ring-ns" / "checkpoint-final.pt").is_file()
