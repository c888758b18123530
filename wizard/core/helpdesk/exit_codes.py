"""The documented exit codes of unattended installs, bundle installs and bundle creation.

Scripts and fleet tools (the Ansible role in ``packaging/ansible``) branch on these numbers, so
they never change meaning. 1 and 2 keep the meaning the rest of the command line already gives
them: ``verify``/``install`` exit 1 when the verification fails, and every bad input (an unknown
flag, a bad answer file, a missing folder) exits 2, as argparse itself does.
"""

from __future__ import annotations

from enum import IntEnum

from wizard.core.errors import (
    Cancelled,
    ChoiceError,
    ElevationDeclined,
    EnvironmentBusy,
    InputError,
    ProfileError,
    WizardError,
)


class ExitCode(IntEnum):
    """Why the run ended; the value is the process exit status."""

    SUCCESS = 0              # installed and verified on the GPU (or the non-GPU build asked for ran)
    VERIFY_FAILED = 1        # installed, but the verification demo failed
    BAD_ANSWERS = 2          # bad answer file, flag or input: nothing was changed
    SUCCESS_CPU_ONLY = 3     # installed and verified, but torch runs on the CPU only
    ACTION_REQUIRED = 4      # a person must act first (driver update not allowed by the driver policy ...)
    UNSUPPORTED = 5          # no PyTorch build runs on this machine
    NETWORK_FAILURE = 6      # the index, mirror or proxy could not be reached
    INSTALL_FAILED = 7       # pip or the environment failed; the environment was put back
    BUNDLE_REFUSED = 8       # the offline bundle is damaged, incomplete or made for another machine
    ELEVATION_DECLINED = 9   # Windows asked for administrator permission (UAC) and it was declined
    ENVIRONMENT_BUSY = 10    # another torch-gpu-setup run is changing this environment; nothing was changed
    INTERRUPTED = 130        # Ctrl+C (128 + SIGINT, the shell convention)


#: One line per code for ``--help`` texts and the README table.
DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.SUCCESS: "installed and verified on the GPU",
    ExitCode.VERIFY_FAILED: "installed, but the verification failed",
    ExitCode.BAD_ANSWERS: "bad answer file, option or input; nothing was changed",
    ExitCode.SUCCESS_CPU_ONLY: "installed and verified, CPU only",
    ExitCode.ACTION_REQUIRED: "a person must act first (e.g. driver update not allowed by driver policy)",
    ExitCode.UNSUPPORTED: "no PyTorch build runs on this machine",
    ExitCode.NETWORK_FAILURE: "network failure (index, mirror or proxy unreachable)",
    ExitCode.INSTALL_FAILED: "installation failed; the environment was put back",
    ExitCode.BUNDLE_REFUSED: "offline bundle damaged or made for another machine",
    ExitCode.ELEVATION_DECLINED: "Windows asked for administrator permission and it was declined; nothing ran",
    ExitCode.ENVIRONMENT_BUSY: "another torch-gpu-setup run is changing this environment; nothing was changed",
    ExitCode.INTERRUPTED: "interrupted",
}


class ExitError(WizardError):
    """A :class:`WizardError` that also says which exit code the run ends with."""

    def __init__(self, code: ExitCode, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.code = code


def describe_codes() -> str:
    """The table of exit codes as text (for ``--help`` epilogs)."""
    return "exit codes:\n" + "\n".join(f"  {int(c):>3}  {d}" for c, d in DESCRIPTIONS.items())


def code_for_verdict(verdict: str) -> ExitCode:
    """The exit code for a verification verdict (``gpu-ok``, ``cpu-only``, ``failed``).

    CPU-only is its own code even when a CPU build was planned: a fleet then sees at a glance
    which machines do not use a GPU.
    """
    if verdict == "gpu-ok":
        return ExitCode.SUCCESS
    if verdict == "cpu-only":
        return ExitCode.SUCCESS_CPU_ONLY
    return ExitCode.VERIFY_FAILED


def code_for_error(exc: WizardError) -> ExitCode:
    """The documented exit code for a failure, for unattended and interactive installs alike."""
    if isinstance(exc, ExitError):
        return exc.code
    if isinstance(exc, Cancelled):
        return ExitCode.INTERRUPTED
    if isinstance(exc, ElevationDeclined):
        return ExitCode.ELEVATION_DECLINED
    if isinstance(exc, EnvironmentBusy):
        return ExitCode.ENVIRONMENT_BUSY
    if isinstance(exc, (ChoiceError, ProfileError, InputError)):
        return ExitCode.BAD_ANSWERS
    from wizard.core.fetch.net import NetworkError  # requests: only once something failed
    from wizard.core.install import pip_runner

    if isinstance(exc, NetworkError):
        return ExitCode.NETWORK_FAILURE
    if exc.details:
        kind = pip_runner.classify_failure(exc.details.splitlines(), 1).kind
        if kind in ("network", "proxy", "tls"):
            return ExitCode.NETWORK_FAILURE
    return ExitCode.INSTALL_FAILED
