"""A driver or toolkit step as data (what to run, download or open), the installers' data file, and elevation."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
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


def elevate(argv: list[str] | tuple[str, ...], *, platform: str | None = None,
            which: Which = shutil.which) -> Command:
    """``argv`` run with administrator rights.

    Linux: ``pkexec`` (a graphical password prompt, works from the GUI) when installed, else
    ``sudo``. Windows: PowerShell ``Start-Process -Verb RunAs`` (the UAC prompt), waiting for
    the program and passing its exit code on.
    """
    plat = platform or sys.platform
    if plat == "win32":
        args = ",".join(_ps_quote(a) for a in argv[1:])
        script = (f"$p = Start-Process -FilePath {_ps_quote(argv[0])}"
                  + (f" -ArgumentList {args}" if args else "")
                  + " -Verb RunAs -Wait -PassThru; exit $p.ExitCode")
        return Command(argv=("powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                             "-Command", script))
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
