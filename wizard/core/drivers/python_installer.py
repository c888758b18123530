"""How to get the Python the plan asks for (the ``python_install`` action), per system.

A step like the driver's (:class:`wizard.core.drivers.steps.Step`): the exact command where the
system has a per-user installer the wizard can run without administrator rights, the download
page, and notes for the other ways. Sources:

- winget's package ``Python.Python.3.12`` (https://github.com/microsoft/winget-pkgs, manifests
  under ``manifests/p/Python/Python/3/12``); ``--scope user`` installs for this user only, no UAC
  prompt; ``--accept-*-agreements`` keeps it from waiting for a keypress that a window never sees
  (winget docs, "install command", https://learn.microsoft.com/windows/package-manager/winget/install).
- The python.org installer's per-user silent options ``/quiet InstallAllUsers=0 PrependPath=1``
  (Python docs, "Using Python on Windows", 4.1.3 "Installing Without UI").
- The Python install manager, ``py install 3.12`` (Python docs 3.14, "Using Python on Windows",
  the Python install manager).
"""

from __future__ import annotations

import shutil

from wizard.core import messages as M
from wizard.core.drivers.steps import Step, Which
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Action
from wizard.core.process import Command
from wizard.core.text import T

#: python.org's download pages per system (https://www.python.org/downloads/).
PYTHON_DOWNLOADS = {"windows": "https://www.python.org/downloads/windows/",
                    "macos": "https://www.python.org/downloads/macos/",
                    "linux": "https://www.python.org/downloads/source/"}


def winget_command(version: str, winget: str = "winget") -> Command:
    """The per-user winget install of CPython ``version`` (e.g. ``3.12``)."""
    return Command(argv=(winget, "install", "--exact", "--id", f"Python.Python.{version}", "--scope", "user",
                         "--silent", "--accept-package-agreements", "--accept-source-agreements"))


def python_install_step(machine: Machine, action: Action, *, which: Which = shutil.which,
                        this_machine: bool = False) -> Step:
    """The step for a ``python_install`` action on ``machine``.

    On Windows the winget command is offered when winget is on PATH here (``this_machine``), or
    always for a described machine (the helpdesk reads it out). Elsewhere: the download page and
    the package manager in words.
    """
    version = action.min_version or "3.12"
    family = machine.os.family
    url = PYTHON_DOWNLOADS.get(family, "https://www.python.org/downloads/")
    if family == "windows":
        winget = which("winget") if this_machine else "winget"
        commands = (winget_command(version, winget),) if winget else ()
        notes = (T(M.PYTHON_NOTE_WINDOWS_INSTALLER, version=version), T(M.PYTHON_NOTE_INSTALL_MANAGER,
                                                                        version=version))
        return Step("python_windows", T(M.STEP_PYTHON, version=version), action.detail, commands=commands,
                    urls=(url,), version=version, notes=notes,
                    sources=("https://learn.microsoft.com/windows/package-manager/winget/install",
                             "https://docs.python.org/3/using/windows.html"))
    note = T(M.PYTHON_NOTE_MACOS, version=version) if family == "macos" else T(M.PYTHON_NOTE_LINUX, version=version)
    return Step(f"python_{family}", T(M.STEP_PYTHON, version=version), action.detail, urls=(url,),
                version=version, notes=(note,), sources=("https://www.python.org/downloads/",))
