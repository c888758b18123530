"""What the command line does on Ctrl+C, SIGTERM or a closed console: the same as the GUI's Cancel.

``install`` runs its flow under :func:`cancelling`: the first signal cancels the flow, which stops
pip, puts the environment back and ends in the documented "interrupted" exit code (130) with the
words of what was put back, never a traceback. ``rollback`` runs under :func:`finishing`: a
rollback stopped half way would leave a broken environment, so a signal only says that it
finishes first.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from wizard.core.interrupts import cancel_on_signals

PROG = "torch-gpu-setup"


def _say(text: str) -> None:
    # os.write, not print: this runs inside a signal handler, possibly while the main thread is
    # in the middle of writing to the same stream (a reentrant print raises RuntimeError).
    with contextlib.suppress(OSError):
        os.write(sys.stderr.fileno(), (text + "\n").encode("utf-8", "replace"))


def _on_cancel(what: str, first: bool) -> None:
    if first:
        _say(f"\n{PROG}: {what}: stopping, and putting the environment back as it was ...")
    else:
        _say(f"{PROG}: {what}: still putting the environment back; it finishes in a moment")


def _on_rollback(what: str, first: bool) -> None:
    _say(f"\n{PROG}: {what}: the rollback finishes first (stopping it half way would break the environment)")


@contextlib.contextmanager
def cancelling() -> Iterator[threading.Event]:
    """A cancel token that SIGINT/SIGTERM (Windows: Ctrl+C, Ctrl+Break, closing the console) set."""
    with cancel_on_signals(threading.Event(), _on_cancel) as cancel:
        yield cancel


@contextlib.contextmanager
def finishing() -> Iterator[None]:
    """Within the block, a stop signal is answered with words, and the work goes on to its end."""
    with cancel_on_signals(threading.Event(), _on_rollback):
        yield
