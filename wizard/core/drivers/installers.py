"""NVIDIA installers: what the plan's driver / reboot / toolkit actions mean on this machine.

From ``make_plan(machine).recommended.actions`` this module works out, per operating system:

* **Linux driver:** the distribution's package-manager commands (docs/SOURCES.md nvidia §4.1), as
  exact argv run through ``pkexec`` (or ``sudo``), with the open kernel modules for Turing and
  newer (required for Blackwell) and the proprietary R580 branch for Maxwell/Pascal/Volta (§4.2);
  nouveau (§4.3) and Secure Boot / MOK enrollment (§4.4) explained. Never inside WSL (§6).
* **Windows driver:** NVIDIA's DriverManualLookup service (§4.6) gives the newest WHQL DCH
  driver for a product family (``pfid``) and OS (``osID``); the installer runs elevated (UAC) with
  the silent flags of §4.5.
* **CUDA toolkit / cuDNN** (optional, for compiling extensions only): the toolkit matching the
  torch build's CUDA, its official installer URL (§3.2) and the redistributable JSON manifests
  with sha256 (§3.1).

Facts live in ``wizard/data/installers.json``, each with its source. Downloads go through
:class:`wizard.core.fetch.download.Downloader`. Platform-specific parts (elevation) are thin and take
the platform as an argument, so they are tested everywhere.
"""

from __future__ import annotations

import ntpath
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from wizard.core import messages as M
from wizard.core.drivers.linux import linux_driver_step
from wizard.core.drivers.python_installer import python_install_step
from wizard.core.drivers.steps import (
    DRIVER_KINDS,
    ELEVATION_CANCELLED,
    ELEVATION_DECLINED_LINE,
    RESTART_CODES,
    FetchedInstaller,
    Step,
    Which,
    elevate,
    is_windows_elevation,
    with_trusted_elevation,
)
from wizard.core.drivers.toolkit import fetch_redist, toolkit_steps
from wizard.core.drivers.windows import (
    lookup_windows_driver,
    windows_driver_step,
    windows_install_command,
    wsl_driver_step,
)
from wizard.core.errors import ElevationDeclined, WizardError
from wizard.core.fetch.download import Downloader, DownloadItem, ProgressCallback
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Action, Plan
from wizard.core.plan.environment import ENABLE_LONG_PATHS, ENABLE_LONG_PATHS_ARGV
from wizard.core.process import Command, CommandResult, run_command
from wizard.core.text import T


@dataclass
class InstallerPlan:
    """Everything the machine needs from NVIDIA, in order, plus general notes."""

    machine_id: str
    steps: list[Step]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The installer plan as plain JSON."""
        return {"schema": "installers/1", "machine": self.machine_id,
                "steps": [s.to_json() for s in self.steps], "notes": list(self.notes)}


# --------------------------------------------------------------------------- elevation


# --------------------------------------------------------------------------- GPUs


# --------------------------------------------------------------------------- Linux


# --------------------------------------------------------------------------- Windows


# --------------------------------------------------------------------------- CUDA toolkit / cuDNN


# --------------------------------------------------------------------------- the whole list


def long_paths_step(action: Action, environ: Mapping[str, str] | None = None) -> Step:
    """The optional ``enable_long_paths`` step: ``reg add ... LongPathsEnabled`` elevated (UAC).

    ``reg.exe`` by its absolute path in System32, like PowerShell (never one found on PATH).
    """
    root = (environ if environ is not None else os.environ).get("SystemRoot") or "C:\\Windows"
    argv = (ntpath.join(root, "System32", "reg.exe"), *ENABLE_LONG_PATHS_ARGV[1:])
    return Step("enable_long_paths", T(M.STEP_LONG_PATHS), action.detail,
                commands=(elevate(argv, platform="win32", environ=environ),),
                sources=("https://learn.microsoft.com/windows/win32/fileio/maximum-file-path-limitation",))


def installers_for(machine: Machine, plan: Plan, *, toolkit: bool = False, which: Which = shutil.which,
                   kernel_release: str | None = None, os_release_id: str | None = None,
                   pfid: str | None = None, pfid_tables: Mapping[str, Mapping[str, str]] | None = None,
                   lookup_base: str | None = None, redist_prefix: str | None = None,
                   cudnn_prefix: str | None = None) -> InstallerPlan:
    """What this machine needs from NVIDIA for the plan's recommended build (offline)."""
    out = InstallerPlan(machine.id, [])
    build = plan.recommended
    if build is None:
        out.notes.append(T(M.INSTALLERS_NO_BUILD, status=plan.status))
        return out
    family, wsl = machine.os.family, machine.os.wsl
    for action in build.actions:
        if action.kind in DRIVER_KINDS:
            if wsl:
                out.steps.append(wsl_driver_step(action))
            elif family == "windows":
                out.steps.append(windows_driver_step(machine, action, pfid, pfid_tables, lookup_base))
            elif family == "linux":
                out.steps.append(linux_driver_step(machine, action, which=which, kernel_release=kernel_release,
                                                   os_release_id=os_release_id))
            if family == "windows" and not wsl and not any(a.kind == "reboot" for a in build.actions) \
                    and not any(s.kind == "reboot" for s in out.steps):
                # The silent install runs with -noreboot (installers.json) and a restart is usually
                # still needed (docs/SOURCES.md nvidia §4.5): the restart is a step of its own, as
                # the plan's reboot action is on Linux.
                out.steps.append(Step("reboot", T(M.STEP_REBOOT), T(M.REBOOT_AFTER_DRIVER_WINDOWS),
                                      sources=("docs/SOURCES.md nvidia §4.5",)))
        elif action.kind == "reboot" and not wsl:
            notes: tuple[str, ...] = ()
            if machine.os.secure_boot and family == "linux":
                notes = (T(M.REBOOT_MOK),)
            out.steps.append(Step("reboot", T(M.STEP_REBOOT), action.detail, notes=notes,
                                  sources=("docs/SOURCES.md nvidia §4.3", "§4.4")))
        elif action.kind == "python_install":
            out.steps.append(python_install_step(machine, action, which=which, this_machine=machine.local))
        elif action.kind == "cuda_toolkit":
            toolkit = True
    where = plan.environment
    for action in where.actions if where is not None and family == "windows" else ():
        if action.kind == ENABLE_LONG_PATHS:
            out.steps.append(long_paths_step(action))
    if build.device == "cuda":
        if toolkit:
            out.steps.extend(toolkit_steps(build.variant, family, machine.os.arch, redist_prefix=redist_prefix,
                                           cudnn_prefix=cudnn_prefix))
        else:
            out.notes.append(T(M.TOOLKIT_NOT_NEEDED, variant=build.variant))
        if not any(a.kind in DRIVER_KINDS for a in build.actions):
            out.notes.append(T(M.DRIVER_ALREADY_FITS))
    else:
        out.notes.append(T(M.NOTHING_FROM_NVIDIA, device=build.device.upper()))
    return out


# --------------------------------------------------------------------------- fetching and running


def fetch_windows_driver(step: Step, dest: Path, session: requests.Session, downloader: Downloader,
                         progress: ProgressCallback | None = None,
                         cancel: threading.Event | None = None) -> FetchedInstaller:
    """Look the driver up, download it, and build the elevated silent-install command."""
    if not step.lookup_url:
        raise WizardError("the NVIDIA product id of this GPU is unknown, so the driver cannot be looked up",
                          hint="pass --pfid, or download the driver from " + (step.urls[0] if step.urls else "NVIDIA"))
    driver = lookup_windows_driver(step.lookup_url, session)
    filename = urlsplit(driver.url).path.rsplit("/", 1)[-1] or f"nvidia-driver-{driver.version}.exe"
    # No size: the lookup gives only a rounded "635.79 MB"; no sha256: NVIDIA publishes none here.
    path = downloader.fetch(DownloadItem(url=driver.url, filename=filename), dest, progress, cancel)
    return FetchedInstaller(step, [path], version=driver.version, url=driver.url,
                            command=windows_install_command(path.resolve(), step.install_args or None),
                            notes=[f"{driver.name or 'NVIDIA driver'} {driver.version}"
                                   + (f", released {driver.release_date}" if driver.release_date else "")])


def fetch_installers(iplan: InstallerPlan, dest: Path, session: requests.Session, downloader: Downloader,
                     progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None) -> list[FetchedInstaller]:
    """Download everything of ``iplan`` that can be downloaded (Linux drivers come from packages)."""
    fetched: list[FetchedInstaller] = []
    for step in iplan.steps:
        if step.kind == "driver_windows":
            fetched.append(fetch_windows_driver(step, dest, session, downloader, progress, cancel))
        elif step.kind in ("cuda_toolkit", "cudnn") and step.manifest_url and step.redist_platform:
            fetched.append(fetch_redist(step, dest, session, downloader, progress, cancel))
    return fetched


def check_step_result(command: Command, result: CommandResult) -> None:
    """Raise the :class:`WizardError` that says how ``command`` failed; nothing when it worked.

    Through the Windows elevation wrapper (:func:`wizard.core.drivers.steps.elevate`): a declined
    UAC prompt (its line in the output, or exit 1223) is an :class:`ElevationDeclined`, with its
    own exit code, never success; an installer's "done, restart pending" (3010, 1641) is success.
    """
    if result.cancelled:
        raise WizardError(T(M.STEP_CANCELLED, command=command.display()), hint=T(M.STEP_CANCELLED_HINT))
    elevation = is_windows_elevation(command)
    declined_line = any(ELEVATION_DECLINED_LINE in line for line in result.tail)
    if elevation and (result.returncode == ELEVATION_CANCELLED or declined_line):
        # the installer never started: nothing was changed
        raise ElevationDeclined(T(M.ELEVATION_DECLINED), hint=T(M.ELEVATION_DECLINED_HINT),
                                details="\n".join(result.tail[-30:]))
    if elevation and result.returncode in RESTART_CODES:
        return  # installed; the restart follows as the plan's (or the list's) next step
    if not result.ok:
        denied = result.returncode in (126, 127) and command.argv[0] == "pkexec"
        raise WizardError(T(M.STEP_FAILED, command=command.display(), code=result.returncode),
                          hint=T(M.STEP_FAILED_NO_PASSWORD if denied else M.STEP_FAILED_HINT),
                          details="\n".join(result.tail[-30:]))


def run_step_commands(commands: tuple[Command, ...], on_line: Callable[[str], None] | None = None,
                      cancel: threading.Event | None = None) -> list[CommandResult]:
    """Run a step's commands in order (the caller has shown them and has the user's consent).

    Stops at the first failure with a :class:`WizardError` naming the command
    (:func:`check_step_result`: a declined UAC prompt is an :class:`ElevationDeclined`).
    """
    results: list[CommandResult] = []
    for command in commands:
        # sudo / pkexec only from a trusted absolute path (steps.with_trusted_elevation)
        result = run_command(with_trusted_elevation(command), on_line=on_line, cancel=cancel)
        results.append(result)
        check_step_result(command, result)
    return results
