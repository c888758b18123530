"""How the GUI runs work without freezing: one worker on a QThread per job.

:class:`Task` runs a Python function (detect, plan, a whole core flow) in a worker object moved
to its own ``QThread``. The function gets a :class:`TaskContext` with a ``threading.Event`` for
cancel, :meth:`TaskContext.emit` for the core's flow events (:mod:`wizard.core.events`) and
methods for progress. Events are queued in the context and collected by the Task on a GUI-thread
timer, so a download that reports thousands of times a second costs the event loop ten batches
a second. Child processes (pip, venv, the verify script) are run by the core's one process
runner (:func:`wizard.core.process.run_command`) inside the flow, exactly as in the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from wizard.core.events import Event, FileProgress, PipProgress

# How often the GUI collects progress from a worker: 10 a second is smooth to the eye.
PROGRESS_INTERVAL_MS = 100


class TaskContext:
    """What a task function may use from its thread: the cancel flag and :meth:`emit` for flow events."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._slots: dict[tuple[str, int], int] = {}

    def emit(self, event: Event) -> None:
        """A core flow event; progress that a newer report of the same thing replaces is dropped.

        Each kind of progress (a file's bytes, pip's bar) keeps one place in the queue, updated in
        place: between two collections the GUI sees its latest value once, however many came.
        """
        key = _progress_key(event)
        with self._lock:
            if key is not None and key in self._slots:
                self._events[self._slots[key]] = event
                return
            if key is not None:
                self._slots[key] = len(self._events)
            self._events.append(event)

    def take_events(self) -> list[Event]:
        """The events since the last call, in order (GUI thread)."""
        with self._lock:
            events, self._events, self._slots = self._events, [], {}
        return events


def _progress_key(event: Event) -> tuple[str, int] | None:
    """What a progress event reports on (a newer one of the same key replaces it); None: not progress."""
    if isinstance(event, FileProgress):
        return ("file", event.index)
    if isinstance(event, PipProgress):
        return ("pip", 0)
    return None


class _Worker(QObject):
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
    flow_event = Signal(object)  # a core flow event (wizard.core.events), in order, throttled

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
        self.running = False

    def start(self) -> None:
        """Run the function in the background."""
        self.running = True
        self._poll.start()
        self._thread.start()

    @Slot()
    def _emit_progress(self) -> None:
        for event in self._worker.context.take_events():
            self.flow_event.emit(event)

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



