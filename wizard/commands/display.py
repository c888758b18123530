"""Can the wizard's window open here? Asked before Qt is loaded, because Qt aborts the process.

Without a display server, or with one of the X11 libraries Qt's xcb platform plugin needs
missing (``libxcb-cursor0`` since Qt 6.5: https://doc.qt.io/qt-6/linux-requirements.html), Qt
prints its own lines and calls abort() (exit 134) while the QApplication is made: nothing after it
can explain. So the command line asks first, without Qt: is a display reachable (its socket
answers), and does the platform plugin's library load (its missing dependency is named by the
dynamic loader). The answer is a sentence and a hint, or None when the window can open.
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Platforms that need no display server (Qt's QT_QPA_PLATFORM values).
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay", "minimalegl")

#: The Debian/Ubuntu package of each library the xcb plugin loads (the Qt page above; package names
#: from packages.debian.org). Fedora and others name them after the upstream xcb-util projects.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
#: The usual set, named in the README's quick start.
X11_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0"


@dataclass(frozen=True)
class DisplayProblem:
    """Why the window cannot open, and what to do."""

    message: str
    hint: str


def _connects(address: str | tuple[str, int], family: int, timeout: float = 1.0) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
    except OSError:
        return False
    return True


def x_display_reachable(display: str, connects: Callable[[str | tuple[str, int], int], bool] = _connects) -> bool:
    """Whether an X server answers at ``display`` (``:0``, ``:1.0``, ``host:10``, ``unix:0``).

    X11 listens on ``/tmp/.X11-unix/X<n>`` (and Linux's abstract socket of the same name) for
    local displays, on TCP port 6000 + n for remote ones (X(7), "Display names").
    """
    match = re.match(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$", display.strip())
    if match is None:
        return False
    host, number = match.group("host"), int(match.group("number"))
    if host in ("", "unix") or host.startswith("/"):
        path = f"/tmp/.X11-unix/X{number}"
        return connects(path, socket.AF_UNIX) or (sys.platform.startswith("linux")
                                                  and connects("\0" + path, socket.AF_UNIX))
    return connects((host, 6000 + number), socket.AF_INET)


def wayland_reachable(environ: Mapping[str, str]) -> bool:
    """Whether the Wayland compositor's socket exists (``$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY``)."""
    name = environ.get("WAYLAND_DISPLAY", "")
    path = Path(name) if name.startswith("/") else Path(environ.get("XDG_RUNTIME_DIR", "")) / name
    return bool(name) and path.exists()


def missing_library(plugin: Path | None = None, load: Callable[[str], object] = ctypes.CDLL) -> str | None:
    """The shared library Qt's xcb plugin cannot load (``libxcb-cursor.so.0``), or None.

    Loading the plugin with the system's dynamic loader is what Qt will do a moment later; the
    loader's message names the first missing dependency.
    """
    if plugin is None:
        try:
            import PySide6  # only its folder: no Qt library is loaded by this import
        except ImportError:
            return None
        plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return None
    try:
        load(str(plugin))
    except OSError as exc:
        found = re.search(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file", str(exc))
        return found.group(1) if found else str(exc)
    return None


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None,
                    connects: Callable[[str | tuple[str, int], int], bool] = _connects,
                    library: Callable[[], str | None] = missing_library) -> DisplayProblem | None:
    """Why Qt could not open a window here (Linux), or None when it can (every other OS)."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    if chosen in HEADLESS_PLATFORMS:
        return None
    if chosen == "wayland" or (not chosen and wayland_reachable(env)):
        if wayland_reachable(env):
            return None
        return DisplayProblem(f"no Wayland compositor answers at WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY', '')}",
                              "start the wizard from your desktop session, or unset QT_QPA_PLATFORM")
    display = env.get("DISPLAY", "")
    if not display:
        return DisplayProblem("there is no display (DISPLAY is not set)",
                              "run it on a desktop, or use the commands: torch-gpu-setup --help")
    if not x_display_reachable(display, connects):
        return DisplayProblem(f"no X server answers at DISPLAY={display}",
                              "start the wizard from your desktop session (or check DISPLAY); "
                              "the commands work anywhere: torch-gpu-setup --help")
    lib = library()
    if lib is not None:
        package = DEBIAN_PACKAGES.get(lib)
        how = (f"on Debian/Ubuntu: sudo apt install {package} (the usual set: {X11_PACKAGES}); "
               f"on Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms libxkbcommon-x11"
               if package else f"install the package that provides {lib}")
        return DisplayProblem(f"the window needs the system library {lib}, which is not installed", how)
    return None
