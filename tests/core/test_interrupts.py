"""Signals as the Cancel button (wizard/core/interrupts.py): real signals on POSIX; Windows' console
control handler with the platform and the edges injected."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from wizard.core.interrupts import (
    CLOSE_WAIT_S,
    CTRL_BREAK_EVENT,
    CTRL_C_EVENT,
    CTRL_CLOSE_EVENT,
    CTRL_SHUTDOWN_EVENT,
    SignalEdges,
    cancel_on_signals,
    signals_for,
)

posix = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals to itself")


def _wait(event: threading.Event) -> bool:
    # a signal sent to ourselves runs its Python handler at the next bytecode of the main thread
    for _ in range(100):
        if event.is_set():
            return True
        time.sleep(0.01)
    return event.is_set()


@posix
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_sets_cancel_and_the_old_handler_comes_back(signum: int) -> None:
    before = signal.getsignal(signum)
    heard: list[tuple[str, bool]] = []
    cancel = threading.Event()
    with cancel_on_signals(cancel, lambda what, first: heard.append((what, first))):
        os.kill(os.getpid(), signum)
        assert _wait(cancel)
        os.kill(os.getpid(), signum)  # a second one: the undo goes on, the person is told so
        for _ in range(100):
            if len(heard) == 2:
                break
            time.sleep(0.01)
    name = signal.Signals(signum).name
    assert heard == [(name, True), (name, False)]
    assert signal.getsignal(signum) == before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    calls: list[int] = []
    edges = SignalEdges(set_signal=lambda number, handler: calls.append(number))

    def run() -> None:
        with cancel_on_signals(threading.Event(), platform="linux", edges=edges):
            pass

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert calls == []


def test_the_signals_per_platform() -> None:
    assert [name for name, _ in signals_for("linux")] == ["SIGINT", "SIGTERM"]
    # SIGBREAK exists in Windows' Python only; on this host the list keeps what exists
    assert [name for name, _ in signals_for("win32")] == [n for n in ("SIGINT", "SIGBREAK") if hasattr(signal, n)]


class FakeWindows:
    """The console control handler list of a Windows process: install and remove, recorded."""

    def __init__(self) -> None:
        self.handlers: list[Callable[[int], bool]] = []
        self.signals: dict[int, Any] = {}

    def set_signal(self, number: int, handler: Any) -> Any:
        old = self.signals.get(number, signal.SIG_DFL)
        self.signals[number] = handler
        return old

    def install(self, handler: Callable[[int], bool]) -> Callable[[], None]:
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)


def test_windows_closing_the_console_cancels_and_holds_the_process_for_the_undo() -> None:
    fake = FakeWindows()
    heard: list[str] = []
    cancel = threading.Event()
    returned: list[bool] = []
    with cancel_on_signals(cancel, lambda what, first: heard.append(what), platform="win32",
                           edges=SignalEdges(set_signal=fake.set_signal, install_console_handler=fake.install)):
        assert len(fake.handlers) == 1
        handler = fake.handlers[0]
        # Ctrl+C and Ctrl+Break are left to Python, which turns them into SIGINT / SIGBREAK
        assert handler(CTRL_C_EVENT) is False and handler(CTRL_BREAK_EVENT) is False
        assert not cancel.is_set()
        # Windows calls the handler on a thread of its own and ends the process when it returns
        windows = threading.Thread(target=lambda: returned.append(handler(CTRL_CLOSE_EVENT)))
        windows.start()
        assert _wait(cancel)
        time.sleep(0.2)
        assert windows.is_alive() and returned == []  # still holding the process: the undo runs
        started = time.monotonic()
    windows.join(CLOSE_WAIT_S)
    assert returned == [True] and time.monotonic() - started < 1.0  # released as soon as the flow ended
    assert heard == ["the console window was closed"]
    assert fake.handlers == []  # removed again
    assert signal.SIGINT in fake.signals and fake.signals[signal.SIGINT] == signal.SIG_DFL  # put back


def test_windows_shutdown_does_not_wait_longer_than_windows_allows() -> None:
    fake = FakeWindows()
    cancel = threading.Event()
    with cancel_on_signals(cancel, platform="win32",
                           edges=SignalEdges(set_signal=fake.set_signal, install_console_handler=fake.install)):
        handler = fake.handlers[0]
        started = time.monotonic()
        assert handler(CTRL_SHUTDOWN_EVENT) is True
        took = time.monotonic() - started
    assert cancel.is_set() and CLOSE_WAIT_S - 0.1 < took < CLOSE_WAIT_S + 1.0
