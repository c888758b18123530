"""What a long flow (install, verify, rollback) tells the face that runs it, as typed events.

A flow is one core function that takes a request, an :data:`Emit` sink and a cancel token
(``threading.Event``) and returns its outcome or raises a :class:`~wizard.core.errors.WizardError`
(:class:`~wizard.core.errors.Cancelled` when the cancel token stopped it). While it runs it emits
the frozen dataclasses below, from the thread it runs in. The CLI prints them
(:mod:`wizard.commands.progress`); the GUI queues them and turns them into Qt signals on its own
thread, throttled (:mod:`wizard.qt.adapters`). Neither face adds a step of its own: what they do
differently is a field of the request.

Sentences (``text``) are :class:`~wizard.core.text.Text` where the core wrote them, so the GUI can
translate them; ``LogLine`` carries a child process's own output, untranslated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The steps of the install flow, in the order they can run (a face shows the ones that apply).
INSTALL_STEPS = ("prepare", "download", "venv", "snapshot", "pip", "pins", "verify")


@dataclass(frozen=True)
class StepStarted:
    """A step begins; ``step`` is an id of :data:`INSTALL_STEPS` (or ``undo``, ``rollback``)."""

    step: str
    text: str


@dataclass(frozen=True)
class StepFinished:
    """A step ended well."""

    step: str


@dataclass(frozen=True)
class Status:
    """A sentence for a person about what happens now (shown, and logged)."""

    text: str


@dataclass(frozen=True)
class LogLine:
    """One line of a child's output (pip, venv) or a command about to run (``$ ...``): log only."""

    text: str


@dataclass(frozen=True)
class FilesPlanned:
    """The files about to be downloaded: ``(file name, size in bytes or 0 when unknown)``."""

    files: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class FileProgress:
    """Bytes of the ``index``-th planned file; ``eta`` None when unknown."""

    index: int
    done: int
    total: int
    rate: float
    eta: float | None


@dataclass(frozen=True)
class PipProgress:
    """pip's own download progress (``--progress-bar=raw``); ``total`` None when unknown."""

    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        """0..1, or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True)
class VerifyStageStarted:
    """A stage of the verification demo begins."""

    stage: str


@dataclass(frozen=True)
class VerifyStageDone:
    """A stage ended; ``result`` is a :class:`wizard.core.verify.runner.StageResult`."""

    result: Any


@dataclass(frozen=True)
class TrainingStep:
    """A point of the training curve."""

    step: int
    loss: float
    elapsed: float


@dataclass(frozen=True)
class Undone:
    """After a failure or a cancel: what was done to put the environment back."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The flow ended: ``ok`` and one sentence; the outcome itself is the function's return value."""

    ok: bool
    text: str


Event = (StepStarted | StepFinished | Status | LogLine | FilesPlanned | FileProgress | PipProgress
         | VerifyStageStarted | VerifyStageDone | TrainingStep | Undone | Finished)
#: The sink a flow emits to; it must be cheap and must not raise.
Emit = Callable[[Event], None]


def ignore(event: Event) -> None:
    """A sink that drops every event (a flow run with no face)."""
