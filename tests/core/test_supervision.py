"""The process supervisor with real processes: no child outlives a killed wizard, no probe leaves a
grandchild, and a child's leftover holding its output open does not hang the runner (issue 15).

POSIX only: process groups, signals and /proc are what these tests observe (the Windows side of
the runner is its start flags, tested with the platform injected in tests/install/test_commands.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wizard.core.detect.host import run_command as probe_command
from wizard.core.detect.python_probe import describe_interpreter
from wizard.core.errors import WizardError
from wizard.core.process import LEFTOVER_DRAIN_S, REAPER_GRACE_S, Command, run_command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals are POSIX")

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def gone_within(pid: int, seconds: float) -> float | None:
    """How long ``pid`` took to go, or None if it is still there after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not alive(pid):
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def leaving_a_grandchild(tmp_path: Path, name: str = "python3") -> tuple[Path, Path]:
    """A program that starts ``sleep`` in the background, writes its pid and exits at once: the
    sleep keeps the output pipe open (a hanging interpreter probe's child)."""
    pid_file = tmp_path / "grandchild.pid"
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nexit 0\n")
    script.chmod(0o755)
    return script, pid_file


def test_a_killed_wizard_takes_its_children_with_it(tmp_path: Path) -> None:
    wizard = tmp_path / "wizard_like.py"
    wizard.write_text(textwrap.dedent("""
        import sys
        from wizard.core.process import Command, run_command
        # the child prints its pid, then works "forever" (pip installing a big wheel)
        run_command(Command(("/bin/sh", "-c", "echo $$; exec sleep 300")), on_line=lambda l: print(l, flush=True))
    """))
    proc = subprocess.Popen([sys.executable, str(wizard)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    assert alive(child)
    proc.kill()  # SIGKILL: the wizard runs no code of its own any more
    proc.wait()
    took = gone_within(child, REAPER_GRACE_S + 1.0)
    assert took is not None, "the child outlived the killed wizard"
    assert took < 1.0  # SIGTERM reaches it at once; SIGKILL only for one that ignores SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_a_second_later(tmp_path: Path) -> None:
    wizard = tmp_path / "wizard_like.py"
    wizard.write_text(textwrap.dedent("""
        from wizard.core.process import Command, run_command
        run_command(Command(("/bin/sh", "-c", "trap '' TERM; echo $$; while :; do sleep 0.1; done")),
                    on_line=lambda l: print(l, flush=True))
    """))
    proc = subprocess.Popen([sys.executable, str(wizard)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.kill()
    proc.wait()
    took = gone_within(child, REAPER_GRACE_S + 2.0)
    assert took is not None and took >= REAPER_GRACE_S - 0.2


def test_a_hanging_probe_leaves_no_grandchild(tmp_path: Path) -> None:
    script, pid_file = leaving_a_grandchild(tmp_path)
    result = probe_command([str(script)], timeout=0.5)
    assert result.timed_out
    assert gone_within(int(pid_file.read_text()), 1.0) is not None


def test_describe_interpreter_on_a_hanging_python_fails_in_words_and_cleans_up(tmp_path: Path) -> None:
    script, pid_file = leaving_a_grandchild(tmp_path)
    started = time.monotonic()
    with pytest.raises(WizardError) as err:
        describe_interpreter(str(script), timeout=0.5)
    assert time.monotonic() - started < 3.0
    assert "did not answer" in err.value.message or "0.5" in err.value.message
    assert gone_within(int(pid_file.read_text()), 1.0) is not None


def test_the_runner_does_not_hang_on_a_leftover_holding_the_output(tmp_path: Path) -> None:
    script, pid_file = leaving_a_grandchild(tmp_path, "leaves-a-child")
    started = time.monotonic()
    result = run_command(Command((str(script),)), timeout_s=60)
    took = time.monotonic() - started
    assert result.returncode == 0 and not result.timed_out
    assert LEFTOVER_DRAIN_S - 0.1 < took < LEFTOVER_DRAIN_S + 2.0
    assert gone_within(int(pid_file.read_text()), 1.0) is not None


def test_a_timed_out_command_leaves_no_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    result = run_command(Command(("/bin/sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait")), timeout_s=0.5,
                         grace_s=0.5)
    assert result.timed_out and time.monotonic() - started < 4.0
    assert gone_within(int(pid_file.read_text()), 1.0) is not None


def test_on_windows_children_go_into_the_kill_on_close_job() -> None:
    from wizard.core.process import Reaper

    assigned: list[int] = []
    reaper = Reaper(platform="win32", windows_assign=assigned.append)
    reaper.register(4242)
    reaper.register(0)           # never our own group
    assert assigned == [4242] and reaper.pid is None   # no /bin/sh reaper on Windows

    def refused(_pid: int) -> None:
        raise OSError("access denied")   # the process already ended, or the job API refused

    Reaper(platform="win32", windows_assign=refused).register(4243)   # a safety net, never a failure
