"""The edges of the world that detection reads, gathered in one replaceable object.

Every fact detection learns comes through a :class:`Host`: platform facts, environment
variables, a root folder under which ``/sys``, ``/proc``, ``/etc`` and ``/usr/share`` are read,
a command runner with a timeout, a PATH search, the NVML module and disk usage. Tests build a
Host for a simulated Linux or Windows machine; :func:`Host.current` describes this one.
"""

from __future__ import annotations

import codecs
import locale
import ntpath
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wizard.core.process import REAPER, child_environment, kill_tree, popen_options


@dataclass(frozen=True)
class CommandResult:
    """What a command did. ``returncode`` is None when it could not start or timed out."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    error: str | None = None  # why it could not start (no such file, permission denied)

    @property
    def ok(self) -> bool:
        """True when the command ran to the end and exited with status 0."""
        return self.returncode == 0 and not self.timed_out

    def why_failed(self) -> str:
        """A short phrase for a note: what went wrong with this command."""
        name = Path(self.argv[0]).name if self.argv else "command"
        if self.error:
            return f"{name} could not be started: {self.error.rstrip('.')}"
        if self.timed_out:
            return f"{name} did not answer in time"
        last = (self.stderr.strip() or self.stdout.strip()).splitlines()[-1:] or [""]
        detail = f": {last[0][:200].rstrip('.')}" if last[0] else ""
        return f"{name} exited with status {self.returncode}{detail}"


class Runner(Protocol):
    """Runs ``argv`` and returns its result; never raises, never outlives ``timeout`` by much."""

    def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult: ...


def run_command(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None, *,
                fallback_encoding: str | None = None) -> CommandResult:
    """Run a command with a hard timeout, killing its whole process group when it overruns.

    ``subprocess.run(timeout=...)`` kills only the direct child; a grandchild that keeps the
    output pipe open (a shell script that runs ``sleep``) would then block the read forever.
    Starting the child in its own session and killing the group avoids that. The output is
    captured whole (probes print little); long-running children with live output go through
    :func:`wizard.core.process.run_command`, which starts them the same way.

    The output is read as UTF-8, else in ``fallback_encoding`` (None: this machine's console code
    page, :func:`console_encoding`): see :func:`decode_output`.
    """
    fallback = fallback_encoding or console_encoding()
    args = tuple(str(a) for a in argv)
    popen_kwargs: dict[str, Any] = popen_options()  # the one runner's flags: own group, no console window
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            **popen_kwargs,
        )
    except (OSError, ValueError) as exc:
        return CommandResult(args, None, error=str(exc) or type(exc).__name__)
    REAPER.register(proc.pid)  # a probe still running when the wizard is killed goes with it
    try:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc)  # the whole group, also when only a grandchild is left holding the pipe
            try:
                out, err = proc.communicate(timeout=1.0)
            except subprocess.TimeoutExpired:
                out, err = b"", b""
            return CommandResult(args, None, decode_output(out, fallback), decode_output(err, fallback), timed_out=True)
    finally:
        REAPER.unregister(proc.pid)
    return CommandResult(args, proc.returncode, decode_output(out, fallback), decode_output(err, fallback))


def decode_output(data: bytes | None, fallback: str) -> str:
    """A child's output as text: UTF-8 (a byte-order mark dropped), else ``fallback``, else lossy UTF-8.

    Windows console programs write the console code page unless told otherwise: Windows
    PowerShell 5.1 writes GBK (cp936) on a Chinese Windows even after being asked for UTF-8 when
    the request is refused (Constrained Language mode). Text that is valid UTF-8 is taken as such
    (GBK text is almost never valid UTF-8); a wrong guess costs characters, never a crash.
    """
    raw = data or b""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(fallback)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("utf-8", errors="replace")


def _windows_oem_code_page() -> int:
    """GetOEMCP(): the code page of a new console, which a child started without a window gets."""
    import ctypes

    return int(ctypes.windll.kernel32.GetOEMCP())  # type: ignore[attr-defined,unused-ignore]


def console_encoding(system: str | None = None, oem_code_page: Callable[[], int] | None = None) -> str:
    """The encoding a console child writes here when it is not told otherwise ("cp936", "cp437").

    On Windows the OEM code page: the wizard starts children with ``CREATE_NO_WINDOW``, which
    gives each a console of its own in the system's default (OEM) code page, not the wizard's.
    Elsewhere, or when that code page has no Python codec, the locale's encoding.
    """
    if (system or platform.system()) == "Windows":
        try:
            page = (oem_code_page or _windows_oem_code_page)()
        except (OSError, AttributeError, ValueError):
            page = 0
        if page:
            try:
                codecs.lookup(f"cp{page}")
            except LookupError:
                pass
            else:
                return f"cp{page}"
    return locale.getpreferredencoding(False)


def _default_glibc() -> str | None:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        value = None
    if value and value.startswith("glibc "):
        return value.split()[1]
    lib, version = platform.libc_ver()
    return version if lib == "glibc" and version else None


def _default_version(system: str) -> str:
    if system == "Darwin":
        return platform.mac_ver()[0]
    return platform.version()


def _user_dir(kind: str) -> str:
    from wizard.core import paths

    return str(paths.data_dir() if kind == "data" else paths.cache_dir())


@dataclass
class Host:
    """One machine as detection sees it. Every field can be replaced to simulate another.

    ``nvml`` is the ``pynvml`` module (or a fake with the same names); None means "import
    pynvml when needed". ``root`` is where absolute Linux paths are read from ("/" here).
    """

    system: str  # platform.system(): "Linux", "Windows", "Darwin"
    release: str  # platform.release(): the kernel release on Linux
    version: str  # Windows build "10.0.26100"; macOS "15.1"; Linux kernel build string
    machine: str  # platform.machine(): "x86_64", "AMD64", "aarch64", "arm64"
    environ: Mapping[str, str]
    run: Runner
    root: Path = Path("/")
    glibc: str | None = None
    nvml: Any = None
    home: Path = field(default_factory=Path.home)
    cwd: str = field(default_factory=os.getcwd)
    data_dir: str = field(default_factory=lambda: _user_dir("data"))
    cache_dir: str = field(default_factory=lambda: _user_dir("cache"))
    temp_dir: str = field(default_factory=tempfile.gettempdir)
    disk_free_bytes: Callable[[str], int] = field(default=lambda p: shutil.disk_usage(p).free)
    is_file: Callable[[str], bool] = field(default=os.path.isfile)
    #: Windows' LongPathsEnabled (None: unknown, or not Windows); replaced by tests.
    long_paths_enabled: Callable[[], bool | None] = field(default=lambda: read_long_paths_enabled())
    # The wizard's own interpreter and environment: never a target unless asked for by path.
    own_executable: str = sys.executable
    own_prefix: str = sys.prefix
    own_is_env: bool = field(
        default_factory=lambda: sys.prefix != sys.base_prefix or bool(getattr(sys, "frozen", False)))
    #: Reuse interpreter probe answers from ``cache_dir`` while their files are unchanged
    #: (python_probe.ProbeCache); only this machine as it is (:meth:`current`) does.
    probe_cache: bool = False

    @classmethod
    def current(cls) -> Host:
        """This machine, as it really is."""
        system = platform.system()
        env = child_environment(os.environ)   # the frozen app's own PATH and Qt variables stay here
        return cls(
            system=system,
            release=platform.release(),
            version=_default_version(system),
            machine=platform.machine(),
            environ=env,
            run=lambda argv, timeout: run_command(argv, timeout, env),
            glibc=_default_glibc() if system == "Linux" else None,
            probe_cache=True,
        )

    @property
    def is_windows(self) -> bool:
        """True on Windows (not WSL: WSL reports Linux)."""
        return self.system == "Windows"

    def path(self, absolute: str) -> Path:
        """An absolute Linux path such as ``/sys/bus/pci`` read beneath :attr:`root`."""
        return self.root / absolute.lstrip("/")

    def which(self, name: str) -> str | None:
        """Search the host's PATH for ``name``, as the shell would."""
        path = self.environ.get("PATH", "")
        if self.is_windows:
            # shutil.which follows the running OS's rules; a simulated Windows uses ; and .exe.
            for folder in path.split(";"):
                if not folder:
                    continue
                for candidate in (name, name + ".exe"):
                    full = ntpath.join(folder, candidate)
                    if self.is_file(full):
                        return full
            return None
        return shutil.which(name, path=path)

    def isabs(self, path: str) -> bool:
        """Whether ``path`` is absolute by the host's rules (a drive letter on Windows)."""
        return ntpath.isabs(path) if self.is_windows else os.path.isabs(path)

    def trusted(self, path: str | None) -> str | None:
        """``path`` if it is safe to execute: absolute and not in the current folder.

        A tool found in the current folder could be planted by whoever wrote that folder
        (Windows searches it before PATH), so it is never run.
        """
        if not path or not self.isabs(path):
            return None
        folder = ntpath.dirname(path) if self.is_windows else os.path.dirname(path)
        norm = ntpath.normcase if self.is_windows else os.path.normpath
        if norm(folder) == norm(self.cwd):
            return None
        return path


def read_long_paths_enabled() -> bool | None:  # pragma: no cover - reads the Windows registry
    """HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\\LongPathsEnabled, None off Windows or unreadable."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            value, _ = winreg.QueryValueEx(key, "LongPathsEnabled")
        return bool(value)
    except OSError:
        return None
