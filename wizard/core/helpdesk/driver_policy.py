"""The driver policy of an unattended install: ``never``, ``download-only`` or ``install``.

Builds on :mod:`wizard.core.drivers.installers` (what the plan's driver actions mean on this OS):

* ``download-only``: everything that can be downloaded (the Windows driver, the CUDA toolkit /
  cuDNN archives when asked) goes into the download folder, or is taken from the offline bundle;
  the exact commands are written to the log and the report. Nothing runs.
* ``install``: the distribution's driver commands run with no prompt at all: directly as root,
  else through ``sudo -n`` (passwordless sudo; never ``pkexec``, which needs a person at a
  desktop). On Windows the silent installer runs elevated. Never inside WSL (the driver is the
  Windows one, docs/SOURCES.md nvidia §6), and never for a profile of another operating system.

Either way the GPU build cannot be verified before the driver is in place and the machine has
restarted, so the run ends with "action required" (exit 4).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.core.drivers.installers import (
    InstallerPlan,
    fetch_installers,
    installers_for,
    run_step_commands,
)
from wizard.core.drivers.steps import FetchedInstaller, Step, trusted_tool
from wizard.core.drivers.windows import windows_install_command
from wizard.core.errors import ElevationDeclined, WizardError
from wizard.core.helpdesk.bundle import BundledInstaller
from wizard.core.helpdesk.exit_codes import ExitCode, ExitError
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Plan
from wizard.core.process import Command

#: Elevation prefixes :func:`wizard.core.drivers.steps.elevate` may put in front of a command.
ELEVATORS = ("sudo", "pkexec")
#: apt/dpkg must never stop to ask (Debian policy: debconf's noninteractive frontend).
NONINTERACTIVE_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


@dataclass
class DriverOutcome:
    """What the driver policy did, for the log, the report and the result line."""

    policy: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[dict[str, Any]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    ran: bool = False
    restart_required: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As plain JSON (the report's ``result.driver``)."""
        return {"policy": self.policy, "commands": list(self.commands), "ran": self.ran,
                "restart_required": self.restart_required, "fetched": list(self.fetched),
                "notes": list(self.notes), "steps": list(self.steps)}


@dataclass(frozen=True)
class DriverSources:
    """Where installers come from: a bundle's stored ones, or the network (mirrors for tests)."""

    download_dir: Path
    bundled: tuple[BundledInstaller, ...] | None = None
    toolkit: bool = False
    pfid: str | None = None
    lookup_url: str | None = None
    redist_url: str | None = None
    cudnn_url: str | None = None


def _no_pkexec(name: str) -> str | None:
    # pkexec asks for a password in a desktop dialog: nobody is there in an unattended run.
    return None if name == "pkexec" else shutil.which(name)


def _host_family(platform: str) -> str:
    return "windows" if platform == "win32" else ("macos" if platform == "darwin" else "linux")


def _sudo_works() -> bool:
    """Whether ``sudo -n`` runs without a password here (``sudo -n true``: sudo(8), "-n")."""
    sudo = trusted_tool("sudo")   # never one planted in the current folder
    if sudo is None:
        return False
    try:
        return subprocess.run([sudo, "-n", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def noninteractive(command: Command, *, is_root: bool) -> Command:
    """A Linux driver command that never prompts: as root without sudo, else ``sudo -n``."""
    argv = list(command.argv)
    if argv and argv[0] in ELEVATORS:
        argv = argv[1:]
    if not is_root:
        argv = ["sudo", "-n", *argv]
    return Command(argv=tuple(argv), env={**NONINTERACTIVE_ENV, **command.env})


def _from_bundle(step: Step, bundled: tuple[BundledInstaller, ...]) -> FetchedInstaller | None:
    mine = [b for b in bundled if b.kind == step.kind]
    if not mine:
        return None
    command = None
    if step.kind == "driver_windows":
        command = windows_install_command(mine[0].path, mine[0].install_args or step.install_args or None)
    return FetchedInstaller(step, [b.path for b in mine], version=mine[0].version, url=mine[0].url,
                            command=command, notes=["from the offline bundle"])


def _gather(iplan: InstallerPlan, sources: DriverSources, log: Callable[[str], None]) -> list[FetchedInstaller]:
    """Every installer that can be had: from the bundle, else downloaded (one step at a time, so
    one that cannot be fetched leaves a note and the others still come)."""
    if sources.bundled is not None:
        found = [_from_bundle(s, sources.bundled) for s in iplan.steps]
        for step, got in zip(iplan.steps, found, strict=True):
            if got is None and step.kind in ("driver_windows", "cuda_toolkit", "cudnn"):
                log(f"{step.title}: not in the offline bundle (make it with bundle --with-installers)")
        return [f for f in found if f is not None]
    from wizard.core.fetch.download import Downloader
    from wizard.core.fetch.net import make_session

    session = make_session()
    downloader = Downloader(session)
    fetched: list[FetchedInstaller] = []
    for step in iplan.steps:
        if step.kind not in ("driver_windows", "cuda_toolkit", "cudnn"):
            continue
        try:
            fetched += fetch_installers(InstallerPlan(iplan.machine_id, [step]), sources.download_dir, session,
                                        downloader)
        except WizardError as exc:
            log(f"{step.title}: could not be downloaded: {exc.one_line()}")
    return fetched


def apply_driver_policy(machine: Machine, plan: Plan, policy: str, sources: DriverSources,
                        log: Callable[[str], None], *, platform: str | None = None,
                        is_root: bool | None = None, profile: str | None = None) -> DriverOutcome:
    """Carry out ``download-only`` or ``install`` for the plan's driver actions (see the module).

    ``platform`` (``sys.platform`` by default) and ``is_root`` are the host, injectable for
    tests. ``profile`` names the machine profile the facts came from when they were not detected
    here: then ``install`` writes the commands but never runs them on this computer.
    Raises :class:`DriverPolicyError` (action required) when ``install`` cannot or did
    not work; the outcome so far is in its ``outcome``.
    """
    plat = platform or sys.platform
    iplan = installers_for(machine, plan, toolkit=sources.toolkit, which=_no_pkexec, pfid=sources.pfid,
                           lookup_base=sources.lookup_url, redist_prefix=sources.redist_url,
                           cudnn_prefix=sources.cudnn_url)
    outcome = DriverOutcome(policy, steps=[s.to_json() for s in iplan.steps], notes=list(iplan.notes))

    def note(text: str) -> None:
        outcome.notes.append(text)
        log(text)

    fetched = _gather(iplan, sources, note)
    outcome.fetched = [f.to_json() for f in fetched]
    for f in fetched:
        for path in f.paths:
            log(f"{f.step.title}: {path}")
    root = (os.geteuid() == 0 if hasattr(os, "geteuid") else False) if is_root is None else is_root
    commands: list[Command] = []
    for step in iplan.steps:
        if step.kind == "driver_linux" and step.commands:
            commands += [noninteractive(c, is_root=root) for c in step.commands]
        elif step.kind in ("driver_wsl", "driver_manual", "driver_linux"):
            outcome.notes.append(f"{step.title}: " + " ".join(step.notes))
    commands += [f.command for f in fetched if f.command is not None]
    outcome.commands = [c.display() for c in commands]
    for line in outcome.commands:
        log(f"driver command: {line}")
    if policy != "install":
        return outcome
    _install(iplan, commands, outcome, machine, plat, root, log, profile)
    return outcome


class DriverPolicyError(ExitError):
    """``install`` could not (or did not) install the driver: action required, with what was done."""

    def __init__(self, outcome: DriverOutcome, message: str, hint: str,
                 code: ExitCode = ExitCode.ACTION_REQUIRED) -> None:
        super().__init__(code, message, hint=hint)
        self.outcome = outcome


def _refuse(outcome: DriverOutcome, message: str, hint: str) -> DriverPolicyError:
    return DriverPolicyError(outcome, message, hint)


def _install(iplan: InstallerPlan, commands: list[Command], outcome: DriverOutcome, machine: Machine,
             platform: str, root: bool, log: Callable[[str], None], profile: str | None) -> None:
    kinds = {s.kind for s in iplan.steps}
    if "driver_wsl" in kinds:
        raise _refuse(outcome, "inside WSL the driver is the Windows one; the wizard never installs a Linux "
                      "driver here", "update the NVIDIA driver on Windows, then run again")
    if machine.os.family != _host_family(platform):
        raise _refuse(outcome, f"the plan is for a {machine.os.family} machine (a profile) but this is "
                      f"{_host_family(platform)}: the driver commands were written, not run",
                      "run the commands from the report on that machine")
    if profile:
        # A profile describes some machine, not necessarily this one: a driver install driven by
        # it could replace a working driver here. Only detected facts may run driver commands.
        raise _refuse(outcome, f"the machine facts come from the profile {profile}, not from this computer: "
                      "the driver commands were written, not run",
                      "run without --machine (or the answer file's machine) to detect this computer, or add "
                      "--driver-for-profile when this computer is one of the machines the profile describes")
    if not commands:
        raise _refuse(outcome, "the driver cannot be installed unattended on this machine: "
                      + "; ".join(outcome.notes[-2:]), "install the driver by hand (see the report), then run again")
    if machine.os.family == "linux" and not root and not _sudo_works():
        raise _refuse(outcome, "driver policy 'install' needs root or passwordless sudo ('sudo -n')",
                      "run as root, or allow sudo without a password; the commands are in the report")
    for command in commands:
        log(f"running: {command.display()}")
    try:
        run_step_commands(tuple(commands), on_line=lambda line: log("  " + line))
    except ElevationDeclined as exc:
        outcome.notes.append(exc.one_line())
        raise DriverPolicyError(outcome, exc.message, exc.hint, ExitCode.ELEVATION_DECLINED) from None
    except WizardError as exc:
        outcome.notes.append(exc.one_line())
        raise _refuse(outcome, f"the driver install failed: {exc.one_line()}",
                      "see the report's log; nothing else was changed") from None
    outcome.ran = True
    outcome.restart_required = True
