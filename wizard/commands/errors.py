"""The command line's error boundary: no traceback reaches a person.

Every failure becomes the message, then the context and a hint on lines of their own, and the
documented exit code (:mod:`wizard.core.helpdesk.exit_codes`): a :class:`~wizard.core.errors.WizardError`
carries its own words; an ``OSError`` on one of the person's paths (an unwritable ``--out``, a
folder that cannot be made) gets words here. Details (a child's output, a traceback of a bug)
go to a log file whose path is printed, and to stderr with ``--verbose``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from wizard.core.errors import Cancelled, ElevationDeclined, EnvironmentBusy, WizardError
from wizard.core.helpdesk.exit_codes import ExitCode, code_for_error

PROG = "torch-gpu-setup"


def error_from(exc: BaseException) -> WizardError:
    """Any exception as words for a person (a WizardError as it is)."""
    if isinstance(exc, WizardError):
        return exc
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return WizardError(f"a file or folder could not be used:{where}: {exc.strerror or exc}",
                           hint="check the path and that you may write there, then try again")
    return WizardError("something unexpected went wrong inside the wizard",
                       hint="please send the log to your helpdesk, or report it (run with --verbose to see it)",
                       details="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def write_log(lines: Sequence[str], name: str) -> Path | None:
    """Keep a failed run's lines in the logs folder; the path, or None when it cannot be written."""
    from wizard.core.paths import data_dir

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = data_dir() / "logs" / f"{name}-{stamp}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


class FailureLog:
    """Where the details of the failure that is being reported were written (set by log_on_failure)."""

    path: Path | None = None


@contextlib.contextmanager
def log_on_failure(lines: list[str], name: str) -> Iterator[None]:
    """On a failure inside, write ``lines`` (and the error's details) to a log for :func:`report`."""
    try:
        yield
    except Exception as exc:
        error = error_from(exc)
        # a log only when there is more to read than the message: a child's output or details
        if error.details or any(line.startswith("  ") and not line.startswith("  == ") for line in lines):
            FailureLog.path = write_log([*lines, "", error.one_line(), error.details], name)
        raise


def report(exc: BaseException, verbose: bool = False, stream: TextIO | None = None,
           exit_codes: bool = False) -> int:
    """Print the failure (message, context, hint; details with ``verbose``) and return the exit code.

    ``exit_codes`` gives the install's documented codes; other commands exit 2 for every failure,
    as argparse does for bad input, except an interruption (130) and a declined UAC prompt (9).
    """
    out = stream or sys.stderr
    error = error_from(exc)
    out.write(f"{PROG}: error: {error.message}\n")
    if error.hint:
        out.write(f"  hint: {error.hint}\n")
    if error.details and verbose:
        out.write(error.details.rstrip() + "\n")
    log = FailureLog.path
    if log is None and error.details and not verbose:
        log = write_log([error.one_line(), error.details], "error")
    if log is not None:
        out.write(f"  log: {log}\n")
    FailureLog.path = None
    if isinstance(exc, Cancelled):
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, ElevationDeclined):
        # a script running `installers --run` tells a declined prompt from bad input
        return int(ExitCode.ELEVATION_DECLINED)
    if isinstance(exc, EnvironmentBusy):  # install and rollback alike: a script may wait and retry
        return int(ExitCode.ENVIRONMENT_BUSY)
    if exit_codes:
        code = code_for_error(error)
        if code == ExitCode.NETWORK_FAILURE:
            out.write("  mirrors: torch-gpu-setup mirrors shows which answers fastest from here; "
                      "install with its URL in --index-url\n")
        return int(code)
    return int(ExitCode.BAD_ANSWERS)
