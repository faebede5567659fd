"""Studies on PostgreSQL, the storage for many machines: a real server started on loopback for
these tests (never a mock). Skipped, with the reason, when the server binaries are not installed
(`apt-get install -y postgresql` provides them)."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from test_study import (FAST_HEARTBEAT, TOY, _try, _wait_for, assert_each_complete_once, assert_no_trial_ran_twice,
                        cfg_counts, running_trial)


def _binary(name):
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; `apt-get install -y postgresql` provides them")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install psycopg2-binary, the test extra)")
    as_user = []
    root = Path(tempfile.mkdtemp(prefix="ganlab-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the `postgres` user
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (root / "server.log").read_text() if (root / "server.log").is_file() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc}; {getattr(exc, 'stderr', b'')!r} {log[-2000:]}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_postgres_study_with_two_workers_survives_a_killed_worker(postgres_url, tmp_path):
    from ganlab.study.storage import load_study

    env = {**os.environ, **FAST_HEARTBEAT, "OMP_NUM_THREADS": "1"}
    args = ["study", "run", "--name", "pg", *TOY, "--objectives", "nonsaturating,wgan-gp", "--trials", "2",
            "--kimg", "12", "--eval-every", "3", "--workers", "2", "--storage", postgres_url, "--out", str(tmp_path)]
    launcher = subprocess.Popen([sys.executable, "-m", "ganlab.cli", *args], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        study, _ = _wait_for(lambda: _try(lambda: load_study("pg", postgres_url, tmp_path / "pg")), 60, "the study")
        victim, victim_cfg = _wait_for(lambda: running_trial(study, tmp_path / "pg", checkpointed_before=8000), 120, "a running trial")
        os.kill(victim, signal.SIGKILL)
        out, _ = launcher.communicate(timeout=300)  # the other worker finishes the study, retrying the killed trial
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0, out
    study, definition = load_study("pg", postgres_url, tmp_path / "pg")
    assert_each_complete_once(study, 4)
    assert_no_trial_ran_twice(tmp_path / "pg")
    assert cfg_counts(study)[victim_cfg].get("FAIL") == 1
    assert "wgan-gp" in out and "2/2" in out
