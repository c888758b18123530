"""One lock per environment (wizard/core/install/envlock.py), held by real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wizard.core.errors import EnvironmentBusy
from wizard.core.install import envlock

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.usefixtures("isolated_pip"),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX holders (flock, fork of a child)")]

HOLDER = textwrap.dedent("""
    import sys, time
    from wizard.core.install import envlock
    from wizard.core.process import Command, run_command
    with envlock.hold(sys.argv[1], "install"):
        if sys.argv[2] == "child":
            # a child started meanwhile (pip) keeps the lock after this process is gone
            # it ignores SIGTERM: the reaper needs its SIGKILL, a second after this process is killed
            run_command(Command(("/bin/sh", "-c", "trap '' TERM; echo $$; exec sleep 300")),
                        on_line=lambda l: print("child", l, flush=True))
        print("held", flush=True)
        time.sleep(300)
""")


def _holder(tmp_path: Path, prefix: Path, mode: str = "plain") -> tuple[subprocess.Popen[str], int | None]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), str(prefix), mode], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    child = None
    line = proc.stdout.readline()
    if line.startswith("child"):
        child = int(line.split()[1])
    else:
        assert line == "held\n"
    return proc, child


def test_a_second_run_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    proc, _ = _holder(tmp_path, prefix)
    try:
        with pytest.raises(EnvironmentBusy) as err, envlock.hold(prefix, "rollback"):
            pass
        assert str(prefix) in err.value.message and f"install, process {proc.pid}" in err.value.message
        assert "wait until it has finished" in err.value.hint
        # another spelling of the same folder meets the same lock
        link = tmp_path / "link"
        link.symlink_to(prefix)
        with pytest.raises(EnvironmentBusy), envlock.hold(link, "rollback"):
            pass
    finally:
        proc.kill()
        proc.wait()
    # the system released the lock with the process: no stale lock to break
    with envlock.hold(prefix, "rollback") as path:
        assert envlock.read_owner(path) is not None and envlock.read_owner(path).pid == os.getpid()  # type: ignore[union-attr]


def test_a_child_that_outlives_a_killed_holder_keeps_the_environment_locked(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    proc, child = _holder(tmp_path, prefix, "child")
    assert child is not None
    os.kill(proc.pid, 9)
    proc.wait()
    # the holder is gone, its child (a pip that has not stopped yet) is not: still locked, and the
    # message says the run has ended and its programs are still stopping
    with pytest.raises(EnvironmentBusy) as err, envlock.hold(prefix, "rollback"):
        pass
    assert "still stopping" in err.value.hint
    # the reaper stops the child; then the environment is free, with nothing to clean up by hand
    for _ in range(100):
        try:
            with envlock.hold(prefix, "rollback"):
                return
        except EnvironmentBusy:
            time.sleep(0.05)
    os.kill(child, 9)
    pytest.fail("the lock was not released after the child ended")


def test_the_same_process_can_take_it_again_after_release(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    with envlock.hold(prefix, "install"):
        pass
    with envlock.hold(prefix, "rollback"):
        pass
    assert envlock.lock_path(prefix).is_file()  # never deleted (see the module)


def test_rollback_on_the_command_line_while_locked_exits_10(tmp_path: Path, venv: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from tests.install.conftest import venv_py
    from wizard.cli import main
    from wizard.core.install import snapshots

    snapshots.take_snapshot(venv_py(venv), venv, created_venv=True)
    (venv / "torch-gpu-setup-venv.json").write_text('{"created_by": "torch-gpu-setup"}')
    proc, _ = _holder(tmp_path, venv)
    try:
        code = main(["rollback", "--python", str(venv_py(venv))])
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert code == 10 and "is being changed by another torch-gpu-setup run (install" in err
    assert "Traceback" not in err and (venv / "pyvenv.cfg").is_file()  # nothing was touched
    assert main(["rollback", "--python", str(venv_py(venv))]) == 0 and not venv.exists()  # free again
