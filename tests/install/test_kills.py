"""Kills and signals against the real command line, with real pip in real venvs (issue 15, item 4).

The install runs as its own process (``python -m wizard install``) against the loopback index,
whose ``helper`` wheel (torch's dependency, fetched by pip itself) trickles in for ~20 s: the time
in which the tests stop it. What must hold: pip never outlives the wizard; SIGTERM cancels and
undoes like the Cancel button, exit 130, no traceback; a rollback never runs beside an install;
a rerun after a kill keeps "created by the wizard", so the rollback removes the venv; the person's
files in it are kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, build_wheel, venv_py

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("isolated_pip"),
              pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the process table in /proc")]


def _publish(index: LoopbackIndex, tmp_path: Path, slow: bool = True) -> None:
    wheels = tmp_path / "wheels"
    index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",)))
    index.add("whl/cpu", build_wheel(wheels, "helper", "1.0", payload_kib=4096))
    if slow:
        index.slow.add("helper-1.0-py3-none-any.whl")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wizard", *args]


def _install_argv(index: LoopbackIndex, env_dir: Path) -> list[str]:
    return _cli("install", "--new-venv", str(env_dir), "--python", sys.executable, "--torch", "1.0",
                "--variant", "cpu", "--index-url", index.url("whl/cpu"), "--no-verify")


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def pip_processes(env_dir: Path) -> list[int]:
    """Live processes running this environment's pip (installing or downloading)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        # "install", or "download" where a new venv is filled by the wizard's own wheel installer
        if state != "Z" and os.fsencode(str(env_dir)) in argv[0] and b"pip" in argv \
                and (b"install" in argv or b"download" in argv):
            found.append(int(entry.name))
    return found


def wait_for_pip_install(env_dir: Path, proc: subprocess.Popen[str], timeout: float = 90.0) -> list[int]:
    """Wait until the install's own pip (torch with its dependency) runs in the new venv."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = [p for p in pip_processes(env_dir)
                if b"torch" in b" ".join(Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0"))]
        if pids:
            return pids
        if proc.poll() is not None:
            pytest.fail(f"the install ended before pip ran: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"pip did not start: {proc.communicate()}")


def gone_within(env_dir: Path, seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not pip_processes(env_dir):
            return time.monotonic() - start
        time.sleep(0.02)
    return None


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; whatever is left is killed at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_mid_install_cancels_undoes_and_exits_130(loopback_index: LoopbackIndex, tmp_path: Path,
                                                          stopper: list[subprocess.Popen[str]]) -> None:
    _publish(loopback_index, tmp_path)
    env_dir = tmp_path / "new-env"
    proc = _start(_install_argv(loopback_index, env_dir))
    stopper.append(proc)
    wait_for_pip_install(env_dir, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "SIGTERM: stopping, and putting the environment back" in err
    assert "The installation was cancelled." in err and f"The new environment {env_dir} was removed." in err
    assert not env_dir.exists() and pip_processes(env_dir) == []


def test_killed_wizard_rerun_then_rollback_removes_the_venv_and_keeps_user_files(
        loopback_index: LoopbackIndex, tmp_path: Path, stopper: list[subprocess.Popen[str]]) -> None:
    _publish(loopback_index, tmp_path)
    env_dir = tmp_path / "new-env"
    proc = _start(_install_argv(loopback_index, env_dir))
    stopper.append(proc)
    wait_for_pip_install(env_dir, proc)
    proc.kill()  # SIGKILL: no handler, no undo; only what the wizard arranged beforehand
    proc.wait()
    took = gone_within(env_dir, 3.0)
    assert took is not None and took < 1.5, "pip outlived the killed wizard"
    assert (env_dir / "pyvenv.cfg").is_file()  # half made: exactly what the rerun and rollback must handle

    # the rerun, with a fast index this time, makes the half-made venv again from scratch ...
    loopback_index.slow.clear()
    rerun = subprocess.run(_install_argv(loopback_index, env_dir), cwd=ROOT, capture_output=True, text=True,
                           timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rerun.returncode == 0, rerun.stderr
    assert "was left half-made by an earlier install that was stopped; it is made again" in rerun.stderr
    # ... whole: every package with its RECORD, so pip can uninstall it (no remains of the killed run)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    infos = list(site.glob("*.dist-info"))
    assert infos and all((info / "RECORD").is_file() for info in infos), infos
    assert any(i.name.startswith("torch-") for i in infos) and (env_dir / "bin" / "pip").exists()

    # ... and the rollback still knows the wizard created it: the venv goes, the person's file stays
    (env_dir / "results.csv").write_text("epoch,loss\n1,0.5\n")
    rollback = subprocess.run(_cli("rollback", "--python", str(venv_py(env_dir))), cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rollback.returncode == 0, rollback.stderr
    assert f"deleted {env_dir}" in rollback.stdout and "1 files you had added to it were moved to" in rollback.stdout
    assert not env_dir.exists()
    kept = list(tmp_path.glob("new-env-kept-*"))
    assert len(kept) == 1 and (kept[0] / "results.csv").read_text() == "epoch,loss\n1,0.5\n"


def test_rollback_while_an_install_runs_is_refused(loopback_index: LoopbackIndex, tmp_path: Path,
                                                   stopper: list[subprocess.Popen[str]]) -> None:
    _publish(loopback_index, tmp_path)
    env_dir = tmp_path / "new-env"
    proc = _start(_install_argv(loopback_index, env_dir))
    stopper.append(proc)
    wait_for_pip_install(env_dir, proc)
    rollback = subprocess.run(_cli("rollback", "--python", str(venv_py(env_dir))), cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rollback.returncode == 10, rollback.stderr
    assert "Traceback" not in rollback.stderr
    assert f"{env_dir} is being changed by another torch-gpu-setup run (install, process {proc.pid}" \
        in rollback.stderr
    assert "wait until it has finished" in rollback.stderr
    # the install was not disturbed: its venv is whole and its pip still runs
    assert (env_dir / "pyvenv.cfg").is_file() and pip_processes(env_dir)
    # a second install of the same environment is refused the same way
    second = subprocess.run(_install_argv(loopback_index, env_dir), cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert second.returncode == 10 and "is being changed by another torch-gpu-setup run" in second.stderr
    proc.send_signal(signal.SIGINT)  # Ctrl+C: the same cancel as SIGTERM
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "SIGINT" in err and not env_dir.exists()
