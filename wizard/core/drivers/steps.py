"""A driver or toolkit step as data (what to run, download or open), the installers' data file, and elevation."""

from __future__ import annotations

import dataclasses
import json
import ntpath
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from wizard.core.fetch.net import redact_url
from wizard.core.process import Command

Which = Callable[[str], "str | None"]
DRIVER_KINDS = ("driver_install", "driver_update")


@lru_cache(maxsize=1)
def installer_data() -> dict[str, Any]:
    """The bundled ``installers.json``."""
    data: dict[str, Any] = json.loads(
        resources.files("wizard.data").joinpath("installers.json").read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Step:
    """One thing to do: words, the exact commands (already elevated), files to fetch, pages."""

    kind: str  # driver_linux | driver_windows | driver_wsl | driver_manual | reboot | cuda_toolkit | cudnn
    title: str
    why: str
    commands: tuple[Command, ...] = ()
    urls: tuple[str, ...] = ()
    version: str | None = None
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    install_args: tuple[str, ...] = ()
    lookup_url: str | None = None
    manifest_url: str | None = None
    manifest_prefix: str | None = None
    redist_platform: str | None = None
    cuda_variant: str | None = None
    components: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The step as plain JSON (commands as argv lists and display strings)."""
        data: dict[str, Any] = {
            "kind": self.kind, "title": self.title, "why": self.why,
            "commands": [{"argv": list(c.argv), "display": c.display()} for c in self.commands],
            "urls": list(self.urls), "version": self.version, "notes": list(self.notes),
            "sources": list(self.sources),
        }
        for key in ("install_args", "components"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        for key in ("lookup_url", "manifest_url", "redist_platform", "cuda_variant"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


def _ps_quote(text: str) -> str:
    """A PowerShell single-quoted string (a quote inside is doubled)."""
    return "'" + text.replace("'", "''") + "'"


#: ERROR_CANCELLED: "The operation was canceled by the user." What ShellExecuteEx reports when the
#: UAC prompt is declined (Microsoft, System Error Codes 1000-1299,
#: https://learn.microsoft.com/windows/win32/debug/system-error-codes--1000-1299-); the
#: elevation wrapper exits with it.
ELEVATION_CANCELLED = 1223
#: The line the wrapper prints before it exits with ELEVATION_CANCELLED (exit codes above 255 do
#: not survive outside Windows, and a line in the log says what happened).
ELEVATION_DECLINED_LINE = "torch-gpu-setup: the administrator permission prompt was declined (1223)"
#: ERROR_SUCCESS_REBOOT_INITIATED (1641) and ERROR_SUCCESS_REBOOT_REQUIRED (3010): success, the
#: restart pending (Microsoft, System Error Codes 1300-1699 / 3000-3999). Installers built on
#: Windows Installer exit with them; that NVIDIA's setup.exe does too is inferred (its codes are
#: not documented), so they are read as success with the restart the plan already asks for.
RESTART_CODES = (1641, 3010)


def windows_powershell(environ: Mapping[str, str] | None = None) -> str:
    """Windows PowerShell by its absolute path (``environ``: this process's by default)."""
    from wizard.core.detect.windows import powershell_exe

    return powershell_exe(os.environ if environ is None else environ)


def _elevation_script(argv: list[str] | tuple[str, ...]) -> str:
    """PowerShell that starts ``argv`` elevated, waits, and exits with its exit code.

    ``Start-Process -Verb RunAs`` turns a declined UAC prompt into a statement-terminating error
    with only a (translated) message, after which ``exit $p.ExitCode`` of the process that never
    started exits 0: read as success. ``Process.Start`` with the ``runas`` verb instead throws a
    Win32Exception whose NativeErrorCode is 1223 (ERROR_CANCELLED), which the wrapper passes on as
    its own exit code after printing :data:`ELEVATION_DECLINED_LINE`; any other failure to start
    exits 1 with the message on stderr.
    """
    # The arguments travel as one Windows command line (the MS C runtime's quoting).
    args = subprocess.list2cmdline([str(a) for a in argv[1:]])
    return "; ".join([
        "$ErrorActionPreference = 'Stop'",
        "$si = New-Object System.Diagnostics.ProcessStartInfo",
        f"$si.FileName = {_ps_quote(str(argv[0]))}",
        f"$si.Arguments = {_ps_quote(args)}",
        "$si.Verb = 'runas'",
        "$si.UseShellExecute = $true",
        "try { $p = [System.Diagnostics.Process]::Start($si) } catch { $e = $_.Exception; "
        "while ($e -and -not ($e -is [System.ComponentModel.Win32Exception])) { $e = $e.InnerException }; "
        f"if ($e -and $e.NativeErrorCode -eq {ELEVATION_CANCELLED}) {{ "
        f"[Console]::Out.WriteLine({_ps_quote(ELEVATION_DECLINED_LINE)}); exit {ELEVATION_CANCELLED} }}; "
        "[Console]::Error.WriteLine($_.Exception.Message); exit 1 }",
        "if (-not $p) { exit 1 }",
        "$p.WaitForExit()",
        "exit $p.ExitCode",
    ])


def is_windows_elevation(command: Command) -> bool:
    """Whether ``command`` is the UAC wrapper :func:`elevate` builds (so exit 1223 means "declined")."""
    argv = command.argv
    return (len(argv) >= 2 and ntpath.basename(argv[0]).lower() == "powershell.exe"
            and "$si.Verb = 'runas'" in argv[-1])


#: The tools a Linux driver command may start with to get administrator rights (sudo(8), pkexec(1)).
ELEVATION_TOOLS = ("sudo", "pkexec")


def trusted_tool(name: str) -> str | None:
    """The absolute path ``name`` runs from, found as detection finds ``nvidia-smi``, or None.

    :meth:`wizard.core.detect.host.Host.trusted`: an absolute PATH entry that is not the current
    folder; a tool planted in ``.`` or reached through an empty PATH entry is never run.
    """
    from wizard.core.detect.host import Host

    host = Host.current()
    return host.trusted(host.which(name))


def with_trusted_elevation(command: Command, find: Which = trusted_tool) -> Command:
    """``command`` with a leading ``sudo`` / ``pkexec`` replaced by the trusted absolute path it runs as.

    The plan shows ``sudo apt-get ...`` (a list a person may run elsewhere); what the wizard itself
    starts is the tool at its absolute path, or nothing: a :class:`WizardError` in words.
    """
    if not command.argv or command.argv[0] not in ELEVATION_TOOLS:
        return command
    exe = find(command.argv[0])
    if exe is None:
        from wizard.core import messages as M
        from wizard.core.errors import WizardError
        from wizard.core.text import T

        raise WizardError(T(M.ELEVATOR_UNTRUSTED, tool=command.argv[0]),
                          hint=T(M.ELEVATOR_UNTRUSTED_HINT, tool=command.argv[0]))
    return dataclasses.replace(command, argv=(exe, *command.argv[1:]))


def elevate(argv: list[str] | tuple[str, ...], *, platform: str | None = None,
            which: Which = shutil.which, environ: Mapping[str, str] | None = None) -> Command:
    """``argv`` run with administrator rights.

    Linux: ``pkexec`` (a graphical password prompt, works from the GUI) when installed, else
    ``sudo``. Windows: Windows PowerShell by its absolute path (SystemRoot from ``environ``, this
    process's by default) starting the program with the ``runas`` verb (the UAC prompt), waiting
    for it and passing its exit code on; a declined prompt exits :data:`ELEVATION_CANCELLED`.
    """
    plat = platform or sys.platform
    if plat == "win32":
        return Command(argv=(windows_powershell(environ), "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
                             "Bypass", "-Command", _elevation_script(argv)))
    if which("pkexec"):
        return Command(argv=("pkexec", *argv))
    # sudo also when it is not found here: the list may be for another machine (a profile), and
    # a person running it as root drops the word.
    return Command(argv=("sudo", *argv))


@dataclass
class FetchedInstaller:
    """What :func:`fetch_installers` downloaded for one step."""

    step: Step
    paths: list[Path]
    version: str | None = None
    url: str | None = None
    command: Command | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As plain JSON."""
        return {"kind": self.step.kind, "paths": [str(p) for p in self.paths], "version": self.version,
                "url": redact_url(self.url) if self.url else None, "notes": list(self.notes),
                "command": {"argv": list(self.command.argv), "display": self.command.display()}
                if self.command else None}
