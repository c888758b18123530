"""The two ways the GUI runs work without freezing: a worker on a QThread, and QProcess.

* :class:`Task` runs a Python function (detect, plan, download, snapshot) in a worker object
  moved to its own ``QThread``. The function gets a :class:`TaskContext` with a
  ``threading.Event`` for cancel and methods that emit progress. The worker's signals are
  connected to methods of the Task, which lives in the GUI thread, so they arrive queued.
* :class:`ProcessRunner` runs a core :class:`~wizard.core.install.process.Command` (pip, venv, the
  verify script) with ``QProcess``: the same argv, env and cwd as the CLI's runner, the same
  line splitting, and the same "terminate, wait, kill the whole group" on cancel.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QThread, QTimer, Signal, Slot

from wizard.core.install.process import TAIL_LINES, TERMINATE_GRACE_S, Command, LineSplitter

# How often the GUI collects progress from a worker: 10 a second is smooth to the eye.
PROGRESS_INTERVAL_MS = 100


class TaskContext:
    """What a task function may use from its thread: the cancel flag and progress emitters."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._latest: dict[int, tuple[int, int, float, float]] = {}

    def progress(self, index: int, done: int, total: int, rate: float, eta: float | None) -> None:
        """Bytes of item ``index``; ``eta`` -1 when unknown.

        Only the latest value per item is kept; the GUI thread collects it on a timer. A download
        can report thousands of times a second, and a queued signal per report both floods the
        event loop and (PySide6 6.12, seen in bench/bench_gui.py) can crash the interpreter.
        """
        with self._lock:
            self._latest[index] = (done, total, rate, -1.0 if eta is None else eta)

    def take_progress(self) -> dict[int, tuple[int, int, float, float]]:
        """The reports since the last call (GUI thread)."""
        with self._lock:
            latest, self._latest = self._latest, {}
        return latest

    def message(self, text: str) -> None:
        """A status sentence or log line."""
        self._worker.message.emit(text)

    def data(self, value: object) -> None:
        """Intermediate data (e.g. the list of files about to be downloaded)."""
        self._worker.data.emit(value)


class _Worker(QObject):
    message = Signal(str)
    data = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[[TaskContext], object]) -> None:
        super().__init__()
        self.fn = fn
        self.context = TaskContext(self)

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self.context)
        except BaseException as exc:  # every failure reaches the GUI as an object, never a crash
            self.failed.emit(exc)
        else:
            self.done.emit(result)


class Task(QObject):
    """One function run once on its own QThread. Emits exactly one of ``finished`` / ``failed``."""

    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(int, "qlonglong", "qlonglong", float, float)  # type: ignore[arg-type]  # PySide6 accepts C++ type names
    message = Signal(str)
    data = Signal(object)

    def __init__(self, fn: Callable[[TaskContext], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._worker = _Worker(fn)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._poll = QTimer(self)
        self._poll.setInterval(PROGRESS_INTERVAL_MS)
        self._poll.timeout.connect(self._emit_progress)
        self._worker.message.connect(self.message)
        self._worker.data.connect(self.data)
        self.running = False

    @property
    def cancel_event(self) -> threading.Event:
        """Set by :meth:`cancel`; the function checks it."""
        return self._worker.context.cancel

    def start(self) -> None:
        """Run the function in the background."""
        self.running = True
        self._poll.start()
        self._thread.start()

    @Slot()
    def _emit_progress(self) -> None:
        for index, (done, total, rate, eta) in sorted(self._worker.context.take_progress().items()):
            self.progress.emit(index, done, total, rate, eta)

    def cancel(self) -> None:
        """Ask the function to stop (it ends with its own cancelled error)."""
        self._worker.context.cancel.set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ended (closing the window); True when it did."""
        return bool(self._thread.wait(ms))

    def _finish(self) -> None:
        self._poll.stop()
        self._emit_progress()
        self.running = False
        self._thread.quit()
        self._thread.wait(5000)

    @Slot(object)
    def _on_done(self, result: object) -> None:
        self._finish()
        self.finished.emit(result)

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        self._finish()
        self.failed.emit(exc)


@dataclass(frozen=True)
class ProcessResult:
    """How a QProcess run ended; ``returncode`` None when it could not start."""

    returncode: int | None
    cancelled: bool
    tail: tuple[str, ...]
    start_error: str = ""

    @property
    def ok(self) -> bool:
        """Exit 0 and not cancelled."""
        return self.returncode == 0 and not self.cancelled


class ProcessRunner(QObject):
    """Runs one :class:`Command` with QProcess, emitting each output line."""

    line = Signal(str)
    finished = Signal(object)  # ProcessResult

    def __init__(self, parent: QObject | None = None, grace_s: float = TERMINATE_GRACE_S) -> None:
        super().__init__(parent)
        self.grace_ms = int(grace_s * 1000)
        self.process: QProcess | None = None
        self._splitter = LineSplitter()
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.cancelled = False
        # owned by the runner, so it dies with it (a free single-shot would outlive a closed window)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill_if_running)

    def start(self, command: Command) -> None:
        """Start ``command``; output arrives through ``line``, the end through ``finished``."""
        self.cancelled = False
        self._splitter = LineSplitter()
        self._tail.clear()
        proc = QProcess(self)
        env = QProcessEnvironment()
        for key, value in command.full_env().items():
            env.insert(key, value)
        proc.setProcessEnvironment(env)
        if command.cwd:
            proc.setWorkingDirectory(command.cwd)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.setInputChannelMode(QProcess.InputChannelMode.ForwardedInputChannel)
        if os.name == "posix" and hasattr(proc, "setUnixProcessParameters"):
            # its own session, so cancel can stop pip's children (build backends) as a group
            proc.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.process = proc
        proc.setProgram(command.argv[0])
        proc.setArguments(list(command.argv[1:]))
        proc.closeWriteChannel()
        proc.start()

    def running(self) -> bool:
        """True while the child runs."""
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Terminate the child (its group on POSIX), kill it when it outlives the grace time."""
        if not self.running():
            return
        self.cancelled = True
        self._signal(kill=False)
        self._kill_timer.start(self.grace_ms)

    @Slot()
    def _kill_if_running(self) -> None:
        if self.running():
            self._signal(kill=True)

    def _signal(self, kill: bool) -> None:
        proc = self.process
        if proc is None:
            return
        pid = int(proc.processId())
        if os.name == "posix" and pid > 0:
            try:
                os.killpg(pid, signal.SIGKILL if kill else signal.SIGTERM)
                return
            except (ProcessLookupError, PermissionError):
                pass
        if kill:
            proc.kill()
        else:
            proc.terminate()

    def _emit_lines(self, lines: list[str]) -> None:
        for text in lines:
            self._tail.append(text)
            self.line.emit(text)

    @Slot()
    def _read(self) -> None:
        if self.process is not None:
            self._emit_lines(self._splitter.feed(bytes(self.process.readAllStandardOutput().data())))

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._read()
        self._emit_lines(self._splitter.flush())
        crashed = status == QProcess.ExitStatus.CrashExit
        self.finished.emit(ProcessResult(None if crashed and not self.cancelled else code, self.cancelled,
                                         tuple(self._tail)))

    @Slot(QProcess.ProcessError)
    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self.finished.emit(ProcessResult(None, False, tuple(self._tail), self.process.errorString()))


def describe_bytes(n: float) -> str:
    """``1.5 GB`` style, the same words the CLI prints (:func:`wizard.core.fetch.download.format_bytes`)."""
    from wizard.core.fetch.download import format_bytes  # lazy: requests stays out of the GUI's start-up

    return format_bytes(n)


def describe_eta(seconds: float) -> str:
    """``3:12`` or ``1:03:12``; empty when unknown (negative)."""
    if seconds < 0:
        return ""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

