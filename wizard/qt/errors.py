"""Every error a person sees goes through :func:`error_text`: message + hint + details.

A :class:`~wizard.core.errors.WizardError` already carries words for a person; anything else
is a bug, shown with a plain sentence and the traceback kept in the details for the helpdesk.
Message boxes are made only here (:func:`show_error`, :func:`ask`), so tests can patch them in
one place and autopilot can answer them.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from wizard.core.errors import WizardError
from wizard.qt.i18n import core_text

log = logging.getLogger("wizard.qt")


@dataclass(frozen=True)
class ErrorText:
    """What the person reads: what went wrong, what to do, and the raw facts."""

    message: str
    hint: str
    details: str
    network: bool = False   # the index, a mirror or the proxy could not be reached: a mirror may help

    def plain(self) -> str:
        """All three parts as plain text (logs, clipboard)."""
        parts = [self.message] + ([self.hint] if self.hint else []) + ([self.details] if self.details else [])
        return "\n\n".join(parts)



def error_text(exc: BaseException) -> ErrorText:
    """Turn any exception into message + hint + details (the one place that does this)."""
    if isinstance(exc, WizardError):
        from wizard.core.helpdesk.exit_codes import ExitCode, code_for_error

        return ErrorText(core_text(exc.message), core_text(exc.hint), exc.details,
                         network=code_for_error(exc) == ExitCode.NETWORK_FAILURE)
    if isinstance(exc, MemoryError):
        return ErrorText(QCoreApplication.translate("Errors", "The computer ran out of memory."),
                         QCoreApplication.translate("Errors", "Close other programs and try again."), "")
    if isinstance(exc, OSError):
        return ErrorText(QCoreApplication.translate(
            "Errors", "A file or folder could not be used: {0}").format(exc.strerror or exc),
                         QCoreApplication.translate(
                             "Errors", "Check the path and that you may write there, then try again."),
                         str(exc.filename or ""))
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorText(QCoreApplication.translate("Errors", "Something unexpected went wrong inside the wizard."),
                     QCoreApplication.translate(
                         "Errors", "Please save a diagnostics report on the last page and send it to your helpdesk."),
                     details)


def show_error(parent: QWidget | None, error: ErrorText, title: str = "") -> None:
    """A modal box with the message, the hint, and the details behind "Show Details"."""
    log.error("%s", error.plain())
    box = QMessageBox(QMessageBox.Icon.Warning, title or QCoreApplication.translate("Errors", "Problem"), error.message,
                      QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(error.hint)
    if error.details:
        box.setDetailedText(error.details)
    box.exec()


def ask(parent: QWidget | None, title: str, question: str, informative: str = "") -> bool:
    """A Yes/No question; No is the default button, so Enter never confirms by accident."""
    box = QMessageBox(QMessageBox.Icon.Question, title, question,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    if informative:
        box.setInformativeText(informative)
    return int(box.exec()) == QMessageBox.StandardButton.Yes.value
