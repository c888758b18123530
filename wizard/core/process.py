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
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from wizard.core.errors import WizardError

# After terminate(), how long a child gets to clean up before kill(). pip removes its temporary
# directories on SIGTERM within a fraction of a second; 5 s leaves room for a slow disk.
TERMINATE_GRACE_S = 5.0
# Lines kept in CommandResult.tail for failure classification and the "details" of an error.
TAIL_LINES = 400


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
        merged = dict(os.environ if base is None else base)
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
    if proc.poll() is not None:
        return
    if sys.platform == "win32":
        # TerminateProcess either way: Windows has no SIGTERM for console children.
        with contextlib.suppress(OSError):
            proc.kill() if kill else proc.terminate()
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
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
        )
    except OSError as exc:
        raise WizardError(
            f"could not start {command.argv[0]}: {exc.strerror or exc}",
            hint="check that the interpreter or program exists and can be executed",
            details=command.display(),
        ) from exc
    lines: queue.Queue[list[str] | None] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    cancelled = timed_out = False
    finished_reading = False
    try:
        while not finished_reading:
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                stop_process(proc, grace_s)
            if timeout_s is not None and not timed_out and time.monotonic() - started > timeout_s:
                timed_out = True
                stop_process(proc, grace_s)
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
