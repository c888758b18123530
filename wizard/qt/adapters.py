"""Core flows in the GUI: each runs on a worker thread; its events become Qt signals on the GUI thread.

The Qt layer holds no install, verify or rollback logic: :class:`InstallJob` runs
:func:`wizard.core.install.flow.run_install`, :class:`FlowRunner` any other flow (verify,
rollback, a driver step's commands). Events arrive throttled (:class:`~wizard.qt.workers.Task`),
sentences of the core are translated here (:func:`~wizard.qt.i18n.core_text`), and the end is
exactly one of ``finished`` / ``failed`` / ``cancelled``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from wizard.core.errors import Cancelled
from wizard.core.events import (
    Emit,
    Event,
    FileProgress,
    FilesPlanned,
    LogLine,
    PipProgress,
    Status,
    StepStarted,
    Undone,
)
from wizard.qt.errors import error_text
from wizard.qt.i18n import core_text
from wizard.qt.workers import Task, TaskContext

if TYPE_CHECKING:
    from wizard.core.install.flow import InstallRequest
    from wizard.core.process import Command

Flow = Callable[[Emit, threading.Event], object]


class FlowRunner(QObject):
    """Runs one flow ``fn(emit, cancel)`` in the background.

    ``flow_event`` carries each core event; the end is ``finished(result)``, ``cancelled(what was
    put back)`` or ``failed(ErrorText)``.
    """

    flow_event = Signal(object)
    finished = Signal(object)
    failed = Signal(object)  # ErrorText
    cancelled = Signal(str)

    def __init__(self, flow: Flow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.flow = flow
        self.task: Task | None = None
        self.cancel_requested = False

    def start(self) -> None:
        """Run the flow on its own thread."""

        def work(ctx: TaskContext) -> object:
            return self.flow(ctx.emit, ctx.cancel)

        task = Task(work, self)
        task.flow_event.connect(self.flow_event)
        task.finished.connect(self.finished)
        task.failed.connect(self._failed)
        self.task = task
        task.start()

    def running(self) -> bool:
        """True until the flow returned or raised."""
        return self.task is not None and self.task.running

    def cancel(self) -> None:
        """Ask the flow to stop; it puts back what it changed, then ``cancelled`` comes."""
        if self.running() and self.task is not None:
            self.cancel_requested = True
            self.task.cancel()

    def wait(self, ms: int = 60000) -> bool:
        """Block until the thread ended (closing the window)."""
        return self.task.wait(ms) if self.task is not None else True

    @Slot(object)
    def _failed(self, exc: object) -> None:
        if isinstance(exc, Cancelled):
            self.cancelled.emit(core_text(exc.hint))
            return
        self.failed.emit(error_text(exc if isinstance(exc, BaseException) else RuntimeError(str(exc))))


def step_runner(commands: tuple[Command, ...], parent: QObject, on_done: Callable[[object], None],
                on_failed: Callable[[object], None]) -> FlowRunner:
    """A started :class:`FlowRunner` running a step's commands (a driver, Python, long paths).

    The core's :func:`~wizard.core.drivers.installers.run_step_commands`, as ``installers --run``
    runs them; a failure or a cancel comes to ``on_failed``, each output line as a ``LogLine``.
    """
    from wizard.core.drivers.installers import run_step_commands  # requests: loaded when needed

    def flow(emit: Emit, cancel: threading.Event) -> object:
        return run_step_commands(commands, on_line=lambda line: emit(LogLine(line)), cancel=cancel)

    runner = FlowRunner(flow, parent)
    runner.finished.connect(on_done)
    runner.failed.connect(on_failed)
    runner.cancelled.connect(on_failed)
    runner.start()
    return runner


class InstallJob(QObject):
    """The install flow for the Install page: the core's events as the page's signals."""

    step = Signal(str)
    status = Signal(str)
    line = Signal(str)
    files_planned = Signal(object)  # list[(filename, size or 0)]
    file_progress = Signal(int, "qlonglong", "qlonglong", float, float)  # type: ignore[arg-type]  # PySide6 accepts C++ type names
    pip_progress = Signal("qlonglong", "qlonglong")  # type: ignore[arg-type]  # byte counts over 2 GiB
    succeeded = Signal(object)  # dict: prefix, python, kind, activate, installed
    failed = Signal(object)  # ErrorText
    cancelled = Signal(str)  # what was put back

    def __init__(self, request: InstallRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from wizard.core.install.flow import run_install  # pip, downloads: loaded when an install starts

        self.request = request
        self.runner = FlowRunner(lambda emit, cancel: run_install(request, emit, cancel), self)
        self.runner.flow_event.connect(self._on_event)
        self.runner.finished.connect(self._done)
        self.runner.failed.connect(self._ended(self.failed))
        self.runner.cancelled.connect(self._ended(self.cancelled))
        self.active = False

    def start(self) -> None:
        """Begin."""
        self.active = True
        self.runner.start()

    def cancel(self) -> None:
        """Stop; the flow undoes its work and then ``cancelled`` comes."""
        if self.active:
            self.status.emit(self.tr("Cancelling…"))
            self.runner.cancel()

    def running(self) -> bool:
        """True while the flow runs."""
        return self.runner.running()

    def wait_idle(self, ms: int = 60000) -> None:
        """Block until the flow ended: used when the window closes."""
        self.runner.wait(ms)

    def _ended(self, signal: Any) -> Callable[[object], None]:
        def end(value: object) -> None:
            self.active = False
            signal.emit(value)
        return end

    @Slot(object)
    def _on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.step.emit(event.step)
            self.status.emit(core_text(event.text))
        elif isinstance(event, (Status, Undone)):
            self.status.emit(core_text(event.text))
            self.line.emit(event.text)
        elif isinstance(event, LogLine):
            self.line.emit(event.text)
        elif isinstance(event, FilesPlanned):
            self.files_planned.emit([list(f) for f in event.files])
        elif isinstance(event, FileProgress):
            self.file_progress.emit(event.index, event.done, event.total, event.rate,
                                    -1.0 if event.eta is None else event.eta)
        elif isinstance(event, PipProgress):
            self.pip_progress.emit(event.done, event.total or 0)

    @Slot(object)
    def _done(self, outcome: object) -> None:
        from wizard.core.install.flow import InstallOutcome

        assert isinstance(outcome, InstallOutcome)
        self.active = False
        target = outcome.target
        self.succeeded.emit({"prefix": target.prefix, "python": target.python, "kind": target.kind,
                             "activate": outcome.activate, "installed": list(outcome.installed),
                             "platform": sys.platform})
