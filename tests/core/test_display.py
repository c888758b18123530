"""Starts anywhere: where Qt could not open a window, the command line says why and prints the plan."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.commands.display import display_problem, missing_library, x_display_reachable

ROOT = Path(__file__).resolve().parents[2]


def free_display() -> int:
    """A display number nobody serves here (no socket, no abstract socket)."""
    for n in range(7300, 7400):
        if not x_display_reachable(f":{n}"):
            return n
    raise AssertionError("no free display number")


@pytest.fixture
def x_server() -> Iterator[str]:
    """Something listening where an X server would (Linux's abstract socket of display :N)."""
    n = free_display()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(f"\0/tmp/.X11-unix/X{n}")
    sock.listen(4)
    yield f":{n}"
    sock.close()


def test_display_set_but_no_x_server_prints_the_plan_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=f":{free_display()}", TORCH_GPU_SETUP_DATA_DIR=str(tmp_path / "data"),
               TORCH_GPU_SETUP_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "wizard"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "no X server answers at DISPLAY=:" in result.stderr and "  hint: " in result.stderr
    assert "Status:" in result.stdout     # the plan for this machine
    assert "Aborted" not in result.stderr and "qt.qpa" not in result.stderr


def test_gui_command_without_a_server_is_an_error_with_a_hint(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = f":{free_display()}"
    result = subprocess.run([sys.executable, "-m", "wizard", "gui"], capture_output=True, text=True, timeout=120,
                            env=env, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("torch-gpu-setup: error: the wizard's window cannot open: "
                                                    "no X server answers")


def test_a_reachable_server_with_a_missing_library_names_the_package(x_server: str) -> None:
    env = {"DISPLAY": x_server}
    assert display_problem(env, "linux", library=lambda: None) is None
    problem = display_problem(env, "linux", library=lambda: "libxcb-cursor.so.0")
    assert problem is not None
    assert problem.message == "the window needs the system library libxcb-cursor.so.0, which is not installed"
    assert "sudo apt install libxcb-cursor0" in problem.hint and "xcb-util-cursor" in problem.hint


def test_the_dynamic_loaders_words_give_the_missing_library(tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")

    def loader(path: str) -> object:  # what glibc's dlopen reports (dlerror) for a missing dependency
        raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")

    assert missing_library(plugin, loader) == "libxcb-icccm.so.4"
    assert missing_library(plugin, lambda path: object()) is None
    assert missing_library(tmp_path / "absent.so") is None


@pytest.mark.parametrize(("env", "platform", "ok"), [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
    ({}, "win32", True),                                  # Windows and macOS always have a screen session
    ({}, "linux", False),                                 # no DISPLAY at all
    ({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": "/nonexistent"}, "linux", False),
])
def test_which_environments_can_open_a_window(env: dict[str, str], platform: str, ok: bool) -> None:
    assert (display_problem(env, platform, library=lambda: None) is None) is ok
