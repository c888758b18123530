"""Errors that reach a person as message + hint + details, never as a traceback."""

from __future__ import annotations


class WizardError(Exception):
    """A failure with words for a person.

    ``message`` says what went wrong, ``hint`` what to do about it, ``details`` the raw facts
    (a path, a command's output) for a helpdesk.
    """

    def __init__(self, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def one_line(self) -> str:
        """The message and hint on one line, for stderr."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ProfileError(WizardError):
    """A machine profile that cannot be read: names the file and the field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(
            f"{source}: field '{field}': {problem}",
            hint="see SCHEMA.md (machine-profile/1) for the expected shape",
        )
        self.source = source
        self.field = field
        self.problem = problem


class KnowledgeError(WizardError):
    """The bundled or refreshed knowledge base is unreadable or inconsistent."""


class ChoiceError(WizardError):
    """A user's choice (torch version, variant) that cannot be satisfied or does not exist."""


class Cancelled(WizardError):
    """The person (or a signal) stopped a flow; ``hint`` says what was put back."""


class EnvironmentBusy(WizardError):
    """Another run of the wizard is changing the same environment; this one changed nothing."""


class ElevationDeclined(WizardError):
    """Windows asked for administrator permission (UAC) and the person declined: nothing ran.

    Its own exit code (``ExitCode.ELEVATION_DECLINED``): a script tells it apart from a failed
    install, and no one reads it as success.
    """


class InputError(WizardError):
    """The person's input (a path, a URL, a choice) cannot be used; nothing was changed."""

    @classmethod
    def from_error(cls, exc: WizardError) -> InputError:
        """The same words, marked as bad input (for the documented exit code 2)."""
        return cls(exc.message, hint=exc.hint, details=exc.details)
