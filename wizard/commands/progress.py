"""The CLI's face of a flow: core events (:mod:`wizard.core.events`) as terminal progress.

On a terminal one status line is redrawn in place with a download bar (at most ten redraws a
second); when stderr is not a terminal (a log, CI, Ansible) only the steps and sentences are
written, one per line. Every line, pip's own output included, is kept in :attr:`lines` for the
log file a failure points to.
"""

from __future__ import annotations

import time
from typing import TextIO

from wizard.core.events import (
    Event,
    FileProgress,
    FilesPlanned,
    LogLine,
    PipProgress,
    Status,
    StepStarted,
    TrainingStep,
    Undone,
    VerifyStageDone,
    VerifyStageStarted,
)
from wizard.core.units import format_bytes

REDRAW_INTERVAL_S = 0.1  # ten redraws a second: smooth to the eye, cheap on a slow terminal


class TerminalProgress:
    """An event sink that draws on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.lines: list[str] = []
        self._last_draw = 0.0
        self._width = 0
        self._files: dict[int, tuple[int, int]] = {}

    def __call__(self, event: Event) -> None:
        """Render one event."""
        if isinstance(event, LogLine):
            self.lines.append("  " + event.text)
        elif isinstance(event, StepStarted):
            self._say(event.text)
        elif isinstance(event, Status):
            # pip's own steps ("pip: collecting ...") only redraw the status line on a terminal
            if self.tty or not event.text.startswith("pip: "):
                self._say(event.text)
            else:
                self.lines.append(event.text)
        elif isinstance(event, Undone):
            self._say(event.text)
        elif isinstance(event, FilesPlanned):
            self._files = {k: (0, size) for k, (_, size) in enumerate(event.files)}
        elif isinstance(event, FileProgress):
            self._files[event.index] = (event.done, event.total)
            done = sum(d for d, _ in self._files.values())
            total = sum(t for _, t in self._files.values())
            self._bar(PipProgress(done, total or None))
        elif isinstance(event, PipProgress):
            self._bar(event)
        elif isinstance(event, VerifyStageStarted):
            if self.tty:
                self._draw(f"  running {event.stage}...")
        elif isinstance(event, VerifyStageDone):
            self._say(f"verify {event.result.name}: {event.result.status}")
        elif isinstance(event, TrainingStep) and self.tty and self._due():
            self._draw(f"  training step {event.step}: loss {event.loss:.4g}")

    def _say(self, text: str) -> None:
        """A new step or sentence: on a terminal replaces the current line, otherwise one line."""
        self.lines.append(text)
        if self.tty:
            self._draw(text[:100])
            self.stream.write("\n")
            self._width = 0
        else:
            self.stream.write(f"- {text}\n")
        self.stream.flush()

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._last_draw < REDRAW_INTERVAL_S:
            return False
        self._last_draw = now
        return True

    def _bar(self, p: PipProgress) -> None:
        if not self.tty or (not self._due() and p.fraction != 1.0):
            return
        if p.fraction is None or p.total is None:
            self._draw(f"  {format_bytes(p.done):>10}")
            return
        bar = "#" * int(p.fraction * 30)
        self._draw(f"  [{bar:<30}] {100 * p.fraction:5.1f}%  {format_bytes(p.done)} of {format_bytes(p.total)}")

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def clear(self) -> None:
        """Wipe a half-drawn line (before the summary goes to stdout)."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()
