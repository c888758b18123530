"""Signals as the Cancel button: SIGINT, SIGTERM and closing the console cancel a flow, which undoes.

A flow stops when its cancel token (a ``threading.Event``) is set: it stops its child, puts the
environment back and raises :class:`~wizard.core.errors.Cancelled`, whose hint says what was put
back. The GUI's Cancel button sets that token. :func:`cancel_on_signals` makes the signals a
terminal, ``kill``, systemd or Ansible send do the same, instead of ending the process in the
middle of pip (Python's default for SIGTERM) with nothing undone (issue 15).

After the first signal, later ones only say that the undo is still running: an undo stopped half
way is what leaves an environment broken. (SIGKILL cannot be caught; what a killed wizard leaves is
handled elsewhere: its children are stopped by the reaper in :mod:`wizard.core.process`, and the
snapshot keeps the fact that a half-made venv is the wizard's, so ``rollback`` removes it.)

On Windows, Ctrl+C and Ctrl+Break arrive as SIGINT and SIGBREAK; closing the console window, logging
off and shutting down arrive only through a console control handler (``SetConsoleCtrlHandler``),
which Windows calls on a thread of its own and ends the process once it returns, or after a few
seconds. That part is thin, and behind the same function: the handler sets the token and waits
for the flow to finish, up to :data:`CLOSE_WAIT_S`. The platform and the edges (``signal.signal``,
the console handler) are parameters, so the Windows part is tested on Linux.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Console control events (Microsoft Learn, "HandlerRoutine callback function").
CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6
#: Events that end the process whatever the handler does; the handler may delay that end.
WINDOWS_ENDING_EVENTS = {CTRL_CLOSE_EVENT: "the console window was closed", CTRL_LOGOFF_EVENT: "log off",
                         CTRL_SHUTDOWN_EVENT: "shut down"}
#: How long the console handler holds the process open for the undo. Windows ends the process
#: when the handler returns or "the time-out period elapses" (Microsoft Learn, "HandlerRoutine
#: callback function", Remarks, https://learn.microsoft.com/windows/console/handlerroutine). That
#: period is 5 s for a closed console window (inferred: widely reported, not stated on that page);
#: half a second less leaves the handler time to return first.
CLOSE_WAIT_S = 4.5

#: ``notify(what, first)``: a signal arrived (``what``: "SIGTERM", "the console window was closed");
#: ``first`` is False for every later one, while the undo runs. Called from a signal handler:
#: it must be quick and must not take locks (write with ``os.write``).
Notify = Callable[[str, bool], None]
ConsoleHandler = Callable[[int], bool]
#: Installs a console control handler and returns the function that removes it again.
InstallConsoleHandler = Callable[[ConsoleHandler], Callable[[], None]]


@dataclass(frozen=True)
class SignalEdges:
    """The operating system's side, replaceable in tests."""

    set_signal: Callable[[int, Any], Any] = signal.signal
    install_console_handler: InstallConsoleHandler | None = None


def signals_for(platform: str) -> list[tuple[str, int]]:
    """The catchable signals that mean "stop" on ``platform``, by name, present in this Python."""
    names = ("SIGINT", "SIGBREAK") if platform == "win32" else ("SIGINT", "SIGTERM")
    return [(name, int(getattr(signal, name))) for name in names if hasattr(signal, name)]


def _windows_console_handler(handler: ConsoleHandler) -> Callable[[], None]:  # pragma: no cover - Windows only
    """``SetConsoleCtrlHandler`` through ctypes; returns its removal."""
    import ctypes
    from ctypes import wintypes

    routine = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)(  # type: ignore[attr-defined]
        lambda event: bool(handler(int(event))))
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    if not kernel32.SetConsoleCtrlHandler(routine, True):
        return lambda: None
    return lambda: kernel32.SetConsoleCtrlHandler(routine, False) and None


@contextlib.contextmanager
def cancel_on_signals(
    cancel: threading.Event,
    notify: Notify | None = None,
    *,
    platform: str | None = None,
    edges: SignalEdges | None = None,
) -> Iterator[threading.Event]:
    """Within the block, a stop signal sets ``cancel`` instead of ending the process.

    Outside the main thread (where Python allows no signal handlers) nothing is installed. The
    previous handlers are put back at the end. Yields ``cancel``.
    """
    plat = platform or sys.platform
    edges = edges or SignalEdges(
        install_console_handler=_windows_console_handler if sys.platform == "win32" else None)
    finished = threading.Event()
    seen = threading.Event()

    def stop(what: str) -> None:
        first = not seen.is_set()
        seen.set()
        cancel.set()
        if notify is not None:
            with contextlib.suppress(Exception):  # a closed terminal must not break the undo
                notify(what, first)

    def on_signal(signum: int, _frame: object) -> None:
        stop(next((name for name, number in signals_for(plat) if number == signum), f"signal {signum}"))

    def on_console(event: int) -> bool:
        what = WINDOWS_ENDING_EVENTS.get(event)
        if what is None:
            return False  # Ctrl+C / Ctrl+Break: Python turns them into SIGINT / SIGBREAK (above)
        stop(what)
        finished.wait(CLOSE_WAIT_S)  # returning lets Windows end the process: the undo first
        return True

    previous: list[tuple[int, Any]] = []
    remove_console: Callable[[], None] | None = None
    if threading.current_thread() is threading.main_thread():
        for _name, number in signals_for(plat):
            with contextlib.suppress(ValueError, OSError):
                previous.append((number, edges.set_signal(number, on_signal)))
        if plat == "win32" and edges.install_console_handler is not None:
            remove_console = edges.install_console_handler(on_console)
    try:
        yield cancel
    finally:
        finished.set()
        if remove_console is not None:
            remove_console()
        for number, handler in reversed(previous):
            with contextlib.suppress(ValueError, OSError, TypeError):
                edges.set_signal(number, handler)
