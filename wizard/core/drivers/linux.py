"""The NVIDIA driver on Linux: the distribution's own packages, the kernel module flavour, the commands."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from typing import Any

from wizard.core import messages as M
from wizard.core.drivers.steps import Step, Which, elevate, installer_data
from wizard.core.knowledge import gpu_catalog
from wizard.core.knowledge.base import parse_cc
from wizard.core.model.machine import Gpu, Machine
from wizard.core.model.plan import Action
from wizard.core.process import Command
from wizard.core.text import T, join

# Turing (7.5) is the first architecture the open kernel modules support; Blackwell (10.x, 12.x)
# requires them (docs/SOURCES.md nvidia §4.2).
OPEN_MODULES_MIN_CC = (7, 5)


BLACKWELL_MIN_CC = (10, 0)


# R580 is the last driver branch for Maxwell, Pascal and Volta (docs/SOURCES.md nvidia §4.2, [S44]).
LEGACY_BRANCH = "580"


def _cc_of(gpu: Gpu) -> tuple[int, int] | None:
    if gpu.compute_capability:
        return parse_cc(gpu.compute_capability)
    guess = gpu_catalog.infer_nvidia(gpu.name, gpu.pci_id)
    return parse_cc(guess.compute_capability) if guess else None


def module_flavour(machine: Machine) -> tuple[str, list[str]]:
    """``("open" | "proprietary", notes)`` for the machine's NVIDIA GPUs (docs/SOURCES.md nvidia §4.2).

    Open kernel modules for Turing and newer (the default since 560, required for Blackwell);
    proprietary for Maxwell/Pascal/Volta, whose last branch is R580. When both a Blackwell and a
    pre-Turing GPU are present no single flavour serves both: the Blackwell card wins.
    """
    ccs = [(g.name, _cc_of(g)) for g in machine.gpus if g.vendor == "nvidia"]
    old = [n for n, cc in ccs if cc is not None and cc < OPEN_MODULES_MIN_CC]
    new = [n for n, cc in ccs if cc is not None and cc >= BLACKWELL_MIN_CC]
    if old and new:
        return "open", [T(M.MODULES_CONFLICT, new=join(", ", new), old=join(", ", old))]
    if old:
        return "proprietary", [T(M.MODULES_PROPRIETARY, old=join(", ", old), branch=LEGACY_BRANCH)]
    return "open", [T(M.MODULES_OPEN)]


def distro_for(os_version: str, os_release_id: str | None = None) -> dict[str, Any] | None:
    """The ``linux_distros`` entry for an os-release ID or an OS description ("Fedora 41")."""
    distros: list[dict[str, Any]] = installer_data()["linux_distros"]
    if os_release_id:
        for d in distros:
            if d["id"] == os_release_id.lower() or re.fullmatch(d["match"], os_release_id.lower()):
                return d
    text = os_version.lower()
    for d in distros:
        if re.search(rf"\b(?:{d['match']})\b", text):
            return d
    return None


def _release_number(os_version: str) -> str:
    match = re.search(r"(\d+)", os_version)
    return match.group(1) if match else ""


def _fill(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def linux_driver_step(machine: Machine, action: Action, *, which: Which = shutil.which,
                      kernel_release: str | None = None, os_release_id: str | None = None) -> Step:
    """The package-manager commands that install the NVIDIA driver on this distribution."""
    flavour, notes = module_flavour(machine)
    distro = distro_for(machine.os.version, os_release_id)
    why = action.detail
    nouveau = T(M.NOUVEAU_REPLACED)
    sb_generic = T(M.SECURE_BOOT_SIGNING)
    sources = ["docs/SOURCES.md nvidia §4.1", "§4.2", "§4.3"]
    if distro is None:
        return Step("driver_manual", T(M.STEP_DRIVER_MANUAL), why,
                    notes=(T(M.DISTRO_UNKNOWN, distro=machine.os.version or T(M.THIS_DISTRIBUTION)),
                           *notes, nouveau, *((sb_generic,) if machine.os.secure_boot else ())),
                    urls=("https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/",),
                    sources=tuple(sources))
    arch = "sbsa" if machine.os.arch in ("aarch64", "arm64") else "x86_64"
    version_text = machine.os.version.lower()
    values = {
        "branch": LEGACY_BRANCH,
        "kernel": kernel_release or ("arm64" if arch == "sbsa" else "amd64"),
        "release": _release_number(machine.os.version),
        "arch": arch,
        "suse_repo": "tumbleweed" if "tumbleweed" in version_text else f"leap/{_leap(version_text)}",
    }
    recipe = distro.get(flavour)
    steps_notes: list[str] = []
    if distro.get("before"):
        steps_notes.append(distro["before"])
    steps_notes += notes
    commands: tuple[Command, ...] = ()
    if recipe is None:
        steps_notes.append(distro.get("proprietary_words") or T(M.NO_PACKAGED_DRIVER))
    else:
        commands = tuple(elevate([_fill(a, values) for a in argv], platform="linux", which=which)
                         for argv in recipe)
    if distro.get("after"):
        steps_notes.append(distro["after"])
    steps_notes.append(nouveau)
    if machine.os.secure_boot:
        steps_notes.append(T(M.TWO_SENTENCES, first=sb_generic, second=distro.get("secure_boot", "")))
        sources.append("§4.4")
    if distro.get("source") == "inferred":
        # Where the commands come from stays in the data ("note", "source"); the person is told
        # only that nobody has run them on that distribution yet.
        steps_notes.append(T(M.DISTRO_UNVERIFIED, distro=distro["name"]))
    title = T(M.STEP_DRIVER_LINUX_PROPRIETARY if flavour == "proprietary" else M.STEP_DRIVER_LINUX_OPEN,
              distro=distro["name"])
    return Step("driver_linux", title, why, commands=commands,
                version=(f"R{LEGACY_BRANCH}" if flavour == "proprietary" else action.min_version),
                notes=tuple(steps_notes), sources=tuple(sources))


def _leap(version_text: str) -> str:
    match = re.search(r"(\d+\.\d+)", version_text)
    return match.group(1) if match else "15.6"
