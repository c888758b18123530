"""Commands as data, and the one runner the CLI uses for child processes.

A :class:`Command` is built by pure functions (:mod:`wizard.core.install.pip_runner`,
:mod:`wizard.core.install.environments`, :mod:`wizard.core.verify.runner`) and run either here with
:func:`run_command` (CLI, tests) or later by the GUI with ``QProcess``; both read the same
``argv``, ``env`` and ``cwd``. Output is merged (stderr into stdout), decoded incrementally as
UTF-8 (a multi-byte character split across two reads stays whole) and cut into lines at ``\\n``,
``\\r\\n`` *and* a lone ``\\r``, because progress bars redraw with ``\\r`` and waiting for the
next ``\\n`` would hide progress until the download is over.
"""

from __future__ import annotations

import codecs
import contextlib
import ntpath
import os
import posixpath
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from wizard.core.errors import WizardError

# After terminate(), how long a child gets to clean up before kill(). pip removes its temporary
# directories on SIGTERM within a fraction of a second; 5 s leaves room for a slow disk.
TERMINATE_GRACE_S = 5.0
# Lines kept in CommandResult.tail for failure classification and the "details" of an error.
TAIL_LINES = 400
# After a child exits, how long what it started may keep its output open before that leftover is
# stopped: the last lines of a finished child arrive in milliseconds; 2 s is generous.
LEFTOVER_DRAIN_S = 2.0


#: Variables the bundled app's own start-up points into the bundle (PyInstaller's Qt hooks, PySide6):
#: a child Python or pip must not load the bundle's Qt plugins or modules.
_BUNDLE_VARIABLES = ("QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH", "QML2_IMPORT_PATH", "QML_IMPORT_PATH",
                     "PYTHONHOME", "PYTHONPATH")


def child_environment(base: Mapping[str, str], *, frozen: bool | None = None, bundle_dir: str | None = None,
                      platform: str | None = None) -> dict[str, str]:
    """The environment a child gets: ``base`` without what the bundled app added for itself.

    The frozen app (PyInstaller) runs with the bundle's folders on ``PATH`` (PySide6 adds its own
    on Windows) and Qt variables that point into the bundle; a target Python, pip or
    nvidia-smi started with them would load the bundle's DLLs and plugins instead of its own
    (PyInstaller manual, "Common Issues and Pitfalls", launching external programs). From
    source (not frozen) nothing changes. Linux's ``LD_LIBRARY_PATH`` is put back earlier, by the
    runtime hook packaging/rthook_child_env.py.
    """
    env = dict(base)
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    if not frozen:
        return env
    plat = platform or sys.platform
    bundle = bundle_dir or getattr(sys, "_MEIPASS", None) or os.path.dirname(sys.executable)
    windows = plat == "win32"
    sep = ";" if windows else ":"

    def norm(path: str) -> str:
        return ntpath.normcase(ntpath.normpath(path)) if windows else posixpath.normpath(path)

    root = norm(bundle)
    slash = "\\" if windows else "/"

    def inside(path: str) -> bool:
        p = norm(path)
        return p == root or p.startswith(root.rstrip(slash) + slash)

    for name in [k for k in env if k.upper() == "PATH"]:
        kept = [p for p in env[name].split(sep) if p and not inside(p)]
        env[name] = sep.join(kept)
    for name in [k for k in env if k.upper() in _BUNDLE_VARIABLES]:
        parts = [p for p in env[name].split(sep) if p]
        if parts and all(inside(p) for p in parts):
            del env[name]
    return env


@dataclass(frozen=True)
class Command:
    """A child process to run: argv, environment overrides and working directory.

    ``env`` holds only the variables this command sets *on top of* the caller's environment
    (so a user's ``PIP_*``, proxy and certificate variables pass through untouched);
    ``unset`` names variables to remove. ``cwd`` None means the caller's directory.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    unset: tuple[str, ...] = ()

    def full_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The complete environment for the child: ``base`` (default os.environ) plus overrides."""
        merged = child_environment(os.environ if base is None else base)
        for name in self.unset:
            merged.pop(name, None)
        merged.update(self.env)
        return merged

    def display(self) -> str:
        """The command as a person would type it (env overrides first), for logs and help."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        line = shlex.join(self.argv)
        return f"{prefix} {line}" if prefix else line


@dataclass(frozen=True)
class CommandResult:
    """How a command ended. ``tail`` holds its last output lines (merged stdout/stderr)."""

    command: Command
    returncode: int | None
    tail: tuple[str, ...]
    cancelled: bool = False
    timed_out: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the command ran to the end and exited 0."""
        return self.returncode == 0 and not self.cancelled and not self.timed_out


_NEWLINE = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Incremental UTF-8 decoder that cuts text into lines at ``\\n``, ``\\r\\n`` and ``\\r``."""

    def __init__(self) -> None:
        # errors="replace": a child printing invalid UTF-8 (a Windows code page leaking through)
        # must not stop the stream.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return the lines completed by them."""
        return self._split(self._decoder.decode(data, final=False))

    def flush(self) -> list[str]:
        """End of stream: return what is left as a last line (if anything)."""
        lines = self._split(self._decoder.decode(b"", final=True))
        if self._buffer:
            lines.append(self._buffer)
            self._buffer = ""
        return lines

    def _split(self, text: str) -> list[str]:
        # One regex split per chunk, not a Python loop per character: pip can print 60 000 progress
        # lines a second, and the reader thread must leave the GIL to the GUI (bench/bench_gui.py).
        if not text:
            return []
        if self._pending_cr and text.startswith("\n"):  # the \n of a \r\n whose \r ended the last chunk
            text = text[1:]
        data = self._buffer + text
        self._pending_cr = data.endswith("\r")
        lines = _NEWLINE.split(data)
        self._buffer = lines.pop()
        return lines


# Windows process creation flags (Microsoft Learn, "Process Creation Flags"); the numbers are used
# so that the choice can be made, and tested, on any platform.
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000


def popen_options(platform: str | None = None) -> dict[str, object]:
    """How every child is started: in its own process group, and on Windows without a console window.

    Its own group / session, so that stopping it reaches its children too (pip's build backends)
    and a Ctrl+C in the terminal is handled by us, not delivered twice. ``CREATE_NO_WINDOW``:
    a GUI app that starts a console program (pip, python, nvidia-smi) would otherwise flash a
    console window for each one.
    """
    if (platform or sys.platform) == "win32":
        return {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW}
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child and (POSIX) its whole process group at once."""
    _signal_tree(proc, kill=True)


def _signal_tree(proc: subprocess.Popen[bytes], kill: bool) -> None:
    if sys.platform != "win32":
        # The group, even when its leader has already exited: a grandchild that stayed behind
        # (a probe's child, a build backend) still belongs to it and is what must go. The group id
        # cannot be reused while any member lives, so this reaches only the child's own tree.
        try:
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            return
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is not None:
        return
    if sys.platform == "win32":
        # TerminateProcess either way: Windows has no SIGTERM for console children.
        with contextlib.suppress(OSError):
            proc.kill() if kill else proc.terminate()
        return
    with contextlib.suppress(OSError):
        proc.kill() if kill else proc.terminate()


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = TERMINATE_GRACE_S) -> None:
    """Terminate a child, wait up to ``grace_s``, then kill it."""
    _signal_tree(proc, kill=False)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal_tree(proc, kill=True)
        proc.wait()


# ---------------------------------------------------------------- the reaper
#
# Children run in their own process group (so that stopping one stops its tree and a terminal's
# Ctrl+C reaches only us), which also means nothing stops them when the wizard itself is killed:
# pip went on installing for 4-14 s after a killed wizard (issue 15). The reaper is one small
# ``/bin/sh`` per wizard process that reads the ids of the running groups from a pipe whose only
# writer is the wizard. The kernel closes that pipe however the wizard ends (exit, crash, SIGKILL),
# and then the reaper stops every group still listed: SIGTERM, and SIGKILL a second later for one
# that ignores it. ``/bin/sh`` rather than a Python helper: it exists on every POSIX system, also
# beside a frozen wizard whose ``sys.executable`` is the app itself. On Windows nothing is started
# here (a job object is that platform's counterpart).
REAPER_SHELL = "/bin/sh"
#: Seconds between the reaper's SIGTERM and its SIGKILL; pip exits on SIGTERM at once (Python's
#: default action), so a killed wizard's pip is gone within about this long.
REAPER_GRACE_S = 1
_REAPER_SCRIPT = r"""
g=' '
while IFS= read -r l; do
  case "$l" in
    +[1-9]*) g="$g${l#+} " ;;
    -[1-9]*) i=${l#-}; case "$g" in *" $i "*) g="${g%% $i *} ${g#* $i }" ;; esac ;;
  esac
done
[ "$g" = ' ' ] && exit 0
for i in $g; do kill -s TERM -- "-$i" 2>/dev/null; done
sleep GRACE
for i in $g; do kill -s KILL -- "-$i" 2>/dev/null; done
""".replace("GRACE", str(REAPER_GRACE_S))


class Reaper:
    """Stops the registered process groups when this process ends, however it ends.

    POSIX: the ``/bin/sh`` reaper above. Windows: each child is put into one job object that
    kills its processes when the wizard's last handle to it closes, which the system does however
    the wizard ends (``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``; Microsoft Learn, "Job Objects");
    pip's own children inherit the job.
    """

    def __init__(self, shell: str = REAPER_SHELL, platform: str | None = None,
                 windows_assign: Callable[[int], None] | None = None) -> None:
        self._shell = shell
        self._platform = platform or sys.platform
        self._windows_assign = windows_assign or assign_to_kill_on_close_job
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._groups: set[int] = set()

    def register(self, pgid: int) -> None:
        """Stop group ``pgid`` if this process dies before :meth:`unregister` is called for it."""
        if pgid <= 1:  # never "every process" (-1) or our own group (0)
            return
        if self._platform == "win32":
            with contextlib.suppress(OSError, AttributeError, ValueError):
                self._windows_assign(pgid)   # a safety net: never the command's failure
            return
        with self._lock:
            self._groups.add(pgid)
            self._send(f"+{pgid}\n")

    def unregister(self, pgid: int) -> None:
        """The group has ended (or was stopped): nothing to do for it any more."""
        with self._lock:
            if pgid in self._groups:
                self._groups.discard(pgid)
                self._send(f"-{pgid}\n")

    @property
    def pid(self) -> int | None:
        """The reaper's own process id (None until the first group is registered)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _send(self, line: str) -> None:
        # Called with the lock held. A reaper that died (someone killed it) is started again and
        # told every group still running; a reaper that cannot start costs the guarantee, never
        # the command.
        for _attempt in range(2):
            fresh = self._proc is None or self._proc.poll() is not None
            if fresh:
                self._proc = self._start()
                if self._proc is None:
                    return
            assert self._proc is not None and self._proc.stdin is not None
            text = "".join(f"+{g}\n" for g in sorted(self._groups)) if fresh else line
            try:
                self._proc.stdin.write(text.encode("ascii"))
                self._proc.stdin.flush()
                return
            except OSError:
                self._proc = None

    def _start(self) -> subprocess.Popen[bytes] | None:
        if sys.platform == "win32" or not os.path.exists(self._shell):
            return None
        try:
            # Its own session: the terminal's Ctrl+C or hang-up must not stop the reaper before
            # the wizard. close_fds (the default) and a pipe that is not inheritable: no other
            # child holds the write end open, so the reaper sees the end of the wizard only.
            return subprocess.Popen(
                [self._shell, "-c", _REAPER_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"}, cwd="/", start_new_session=True,
            )
        except OSError:
            return None


_JOB_LOCK = threading.Lock()
_JOB: list[int] = []    # the job object's handle, made on first use (Windows)
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9      # JOBOBJECTINFOCLASS JobObjectExtendedLimitInformation
PROCESS_SET_QUOTA_AND_TERMINATE = 0x0100 | 0x0001


def assign_to_kill_on_close_job(pid: int) -> None:  # pragma: no cover - calls the Windows API
    """Put process ``pid`` into this wizard's kill-on-close job (Windows; see :class:`Reaper`)."""
    import ctypes
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.CreateJobObjectW.restype = wintypes.HANDLE
    k32.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
    k32.SetInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD)
    k32.OpenProcess.restype = wintypes.HANDLE
    k32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    k32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    k32.CloseHandle.argtypes = (wintypes.HANDLE,)

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_ulonglong) for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class BasicLimits(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                    ("SchedulingClass", wintypes.DWORD)]

    class ExtendedLimits(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    with _JOB_LOCK:
        if not _JOB:
            job = k32.CreateJobObjectW(None, None)
            if not job:
                return
            info = ExtendedLimits()
            info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
            if not k32.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info),
                                               ctypes.sizeof(info)):
                k32.CloseHandle(job)
                return
            _JOB.append(job)   # kept open for the life of the wizard: closing it kills the children
        handle = k32.OpenProcess(PROCESS_SET_QUOTA_AND_TERMINATE, False, pid)
        if handle:
            k32.AssignProcessToJobObject(_JOB[0], handle)
            k32.CloseHandle(handle)


#: The one reaper of this process; every child started by this module and by the probes is registered.
REAPER = Reaper()

_inherited_lock = threading.Lock()
_inherited: set[int] = set()


@contextlib.contextmanager
def inherited_by_children(fd: int) -> Iterator[None]:
    """Hand ``fd`` to every child started meanwhile (POSIX), and so to their children.

    The environment lock (:mod:`wizard.core.install.envlock`) uses it: a lock held by an open file
    is released only when the last process holding that file is gone, so a pip that outlives the
    wizard keeps the environment locked until it has stopped too.
    """
    with _inherited_lock:
        _inherited.add(fd)
    try:
        yield
    finally:
        with _inherited_lock:
            _inherited.discard(fd)


def _pass_fds() -> dict[str, object]:
    if sys.platform == "win32":
        return {}
    with _inherited_lock:
        return {"pass_fds": tuple(sorted(_inherited))} if _inherited else {}


def _reader(stream: object, out: queue.Queue[list[str] | None]) -> None:
    # The lines of one read travel together: one queue hand-over per chunk, not per line.
    splitter = LineSplitter()
    fd = stream.fileno()  # type: ignore[attr-defined]
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        lines = splitter.feed(chunk)
        if lines:
            out.put(lines)
    rest = splitter.flush()
    if rest:
        out.put(rest)
    out.put(None)


def run_command(
    command: Command,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
    grace_s: float = TERMINATE_GRACE_S,
) -> CommandResult:
    """Run ``command``, calling ``on_line`` for each output line in the calling thread.

    Setting ``cancel`` or passing ``timeout_s`` stops the child (terminate, wait ``grace_s``,
    kill); the result then says ``cancelled`` or ``timed_out``. A program that cannot be
    started raises :class:`WizardError`.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(command.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=command.full_env(),
            cwd=command.cwd,
            **popen_options(),  # type: ignore[call-overload]
            **_pass_fds(),  # type: ignore[arg-type]
        )
    except OSError as exc:
        raise WizardError(
            f"could not start {command.argv[0]}: {exc.strerror or exc}",
            hint="check that the interpreter or program exists and can be executed",
            details=command.display(),
        ) from exc
    REAPER.register(proc.pid)  # its own group (popen_options): the group id is its pid
    try:
        return _follow(command, proc, started, on_line, cancel, timeout_s, grace_s)
    finally:
        REAPER.unregister(proc.pid)


def _follow(
    command: Command, proc: subprocess.Popen[bytes], started: float, on_line: Callable[[str], None] | None,
    cancel: threading.Event | None, timeout_s: float | None, grace_s: float,
) -> CommandResult:
    lines: queue.Queue[list[str] | None] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    cancelled = timed_out = False
    finished_reading = False
    leader_gone_at: float | None = None
    swept = False
    try:
        while not finished_reading:
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                stop_process(proc, grace_s)
            if timeout_s is not None and not timed_out and time.monotonic() - started > timeout_s:
                timed_out = True
                stop_process(proc, grace_s)
            if leader_gone_at is None:
                if proc.poll() is not None:
                    leader_gone_at = time.monotonic()
            elif time.monotonic() - leader_gone_at > LEFTOVER_DRAIN_S * (2 if swept else 1):
                if swept:
                    break  # it left our group too (a session of its own): keep what was read
                # The child is gone but something it started still holds its output open (a
                # hanging grandchild): without this the read would never end.
                swept = True
                kill_tree(proc)
            try:
                batch = lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if batch is None:
                finished_reading = True
                break
            tail.extend(batch)
            if on_line is not None:
                for line in batch:
                    on_line(line)
    except BaseException:
        # KeyboardInterrupt in the CLI, or an exception from on_line: never leave a child behind.
        stop_process(proc, grace_s)
        raise
    finally:
        if proc.stdout is not None and finished_reading:
            proc.stdout.close()
    returncode = proc.wait()
    return CommandResult(
        command=command,
        returncode=returncode,
        tail=tuple(tail),
        cancelled=cancelled,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )


def run_simple(command: Command, timeout_s: float = 120.0) -> CommandResult:
    """Run a short command to the end (probes, ``pip list``) and return its result."""
    return run_command(command, timeout_s=timeout_s)
