"""NVIDIA installers: what the plan's driver / reboot / toolkit actions mean on this machine.

From ``make_plan(machine).recommended.actions`` this module works out, per operating system:

* **Linux driver:** the distribution's package-manager commands (research/nvidia.md §4.1), as
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

import json
import re
import shutil
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import requests

from wizard.core import messages as M
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, DownloadItem, ProgressCallback
from wizard.core.fetch.net import check_response, classify_error, redact_url
from wizard.core.knowledge import gpu_catalog
from wizard.core.knowledge.base import parse_cc, variant_cuda
from wizard.core.model.machine import Gpu, Machine
from wizard.core.model.plan import Action, Plan
from wizard.core.process import Command, CommandResult, run_command
from wizard.core.text import T, join

Which = Callable[[str], "str | None"]

DRIVER_KINDS = ("driver_install", "driver_update")
# Turing (7.5) is the first architecture the open kernel modules support; Blackwell (10.x, 12.x)
# requires them (research/nvidia.md §4.2).
OPEN_MODULES_MIN_CC = (7, 5)
BLACKWELL_MIN_CC = (10, 0)
# R580 is the last driver branch for Maxwell, Pascal and Volta (research/nvidia.md §4.2, [S44]).
LEGACY_BRANCH = "580"


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


# --------------------------------------------------------------------------- GPUs


def _cc_of(gpu: Gpu) -> tuple[int, int] | None:
    if gpu.compute_capability:
        return parse_cc(gpu.compute_capability)
    guess = gpu_catalog.infer_nvidia(gpu.name, gpu.pci_id)
    return parse_cc(guess.compute_capability) if guess else None


def module_flavour(machine: Machine) -> tuple[str, list[str]]:
    """``("open" | "proprietary", notes)`` for the machine's NVIDIA GPUs (research/nvidia.md §4.2).

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


# --------------------------------------------------------------------------- Linux


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
    sources = ["research/nvidia.md §4.1", "§4.2", "§4.3"]
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


# --------------------------------------------------------------------------- Windows


@dataclass(frozen=True)
class WindowsDriver:
    """The newest driver NVIDIA's lookup service offers for a product family and OS."""

    version: str
    url: str
    name: str = ""
    release_date: str = ""
    details_url: str = ""
    size_text: str = ""


_NAME_RE = re.compile(
    r"(?<=NVIDIA )(.*(?= \([A-Z]+\))|.*(?= [0-9]+GB)|.*(?= COLLECTORS EDITION)|.*(?= with Max-Q Design)|.*)")


def normalise_gpu_name(name: str) -> str:
    """"NVIDIA GeForce RTX 4070 SUPER (TM)" -> "GeForce RTX 4070 SUPER" (research/nvidia.md §4.6).

    The regular expression is the one ZenitH-AT/nvidia-data documents for matching WMI names
    against its product list; "Super" is written "SUPER" there.
    """
    match = _NAME_RE.search(name)
    text = (match.group(0) if match and match.group(0) else name).strip()
    return re.sub(r"\bSuper\b", "SUPER", text)


def pfid_for(name: str, tables: Mapping[str, Mapping[str, str]] | None = None,
             notebook: bool = False) -> str | None:
    """The lookup service's product family id for a GPU name, or None when unknown.

    ``tables`` has ZenitH-AT/nvidia-data's ``gpu-data.json`` shape (``{"desktop": {name: id},
    "notebook": {...}}``); by default the few ids bundled in installers.json. Laptop GPUs
    ("... Laptop GPU") are looked up in the notebook list first, then the other one (eGPUs).
    """
    tables = tables if tables is not None else installer_data()["windows"]["pfid"]
    clean = normalise_gpu_name(name)
    laptop = notebook or bool(re.search(r"\bLaptop GPU\b", clean, re.IGNORECASE))
    clean = re.sub(r"\s*Laptop GPU\b", "", clean, flags=re.IGNORECASE).strip()
    order = ("notebook", "desktop") if laptop else ("desktop", "notebook")
    for kind in order:
        table = {k.lower(): v for k, v in tables.get(kind, {}).items()}
        if clean.lower() in table:
            return str(table[clean.lower()])
    return None


def windows_osid(os_version: str) -> str:
    """osID for the lookup: Windows 11 when the build is 22000 or newer, else Windows 10 64-bit."""
    win = installer_data()["windows"]
    numbers = [int(n) for n in re.findall(r"\d+", os_version)]
    build = numbers[2] if len(numbers) >= 3 else 0
    if "windows 11" in os_version.lower() or build >= int(win["windows11_build"]):
        return str(win["osid"]["windows11"])
    return str(win["osid"]["windows10"])


def windows_lookup_url(pfid: str, osid: str, base: str | None = None) -> str:
    """The DriverManualLookup query for a product family and OS (research/nvidia.md §4.6)."""
    win = installer_data()["windows"]
    params = {"func": win["lookup_params"]["func"], "pfid": pfid, "osID": osid}
    params.update({k: v for k, v in win["lookup_params"].items() if k != "func"})
    return f"{base or win['lookup_url']}?{urlencode(params)}"


def parse_lookup_response(text: str, source: str = "the NVIDIA driver lookup") -> WindowsDriver:
    """Read a DriverManualLookup answer: ``{"Success": n, "IDS": [{"downloadInfo": {...}}]}``.

    ``Success`` is the number of results (a string or a number; 0 means none).
    """
    try:
        data = json.loads(text)
    except ValueError:
        raise WizardError(f"{source} did not answer with JSON", hint="try again later, or download the driver "
                          "from NVIDIA's page", details=text[:500]) from None
    if not isinstance(data, dict):
        raise WizardError(f"{source} answered in an unexpected shape", details=text[:500])
    try:
        count = int(str(data.get("Success", "0")) or "0")
    except ValueError:
        count = 0
    ids = data.get("IDS")
    if count <= 0 or not isinstance(ids, list) or not ids:
        raise WizardError(f"{source} found no driver for this GPU and Windows version",
                          hint="download the driver from " + installer_data()["windows"]["download_page"])
    info = ids[0].get("downloadInfo") if isinstance(ids[0], dict) else None
    if not isinstance(info, dict) or not info.get("Version") or not info.get("DownloadURL"):
        raise WizardError(f"{source} answered without a version or download URL", details=text[:500])
    return WindowsDriver(version=str(info["Version"]), url=str(info["DownloadURL"]),
                         name=unquote(str(info.get("Name", ""))),
                         release_date=str(info.get("ReleaseDateTime", "")),
                         details_url=str(info.get("DetailsURL", "")),
                         size_text=str(info.get("DownloadURLFileSize", "")))


def lookup_windows_driver(lookup_url: str, session: requests.Session) -> WindowsDriver:
    """Ask NVIDIA's lookup service (the query from :func:`windows_lookup_url`)."""
    try:
        resp = session.get(lookup_url)
    except requests.RequestException as exc:
        raise classify_error(exc, lookup_url) from None
    check_response(resp, "the NVIDIA driver lookup")
    driver = parse_lookup_response(resp.text)
    lookup_host = urlsplit(lookup_url).hostname or ""
    parts = urlsplit(driver.url)
    host = parts.hostname or ""
    # Only ever run an installer from NVIDIA (or from the lookup service's own host).
    if not (host == lookup_host or host == "nvidia.com" or host.endswith(".nvidia.com")):
        raise WizardError(f"the driver lookup pointed to {host or driver.url}, which is not NVIDIA's",
                          hint="download the driver from NVIDIA's page yourself", details=redact_url(driver.url))
    if parts.scheme != "https" and host != lookup_host:
        raise WizardError("the driver lookup offered an unencrypted download", details=redact_url(driver.url))
    return driver


def windows_install_command(installer: Path | str, args: tuple[str, ...] | None = None) -> Command:
    """The downloaded driver installer, silent, elevated through UAC (research/nvidia.md §4.5)."""
    flags = args if args is not None else tuple(installer_data()["windows"]["silent_args"])
    return elevate([str(installer), *flags], platform="win32")


def windows_driver_step(machine: Machine, action: Action, pfid: str | None = None,
                        pfid_tables: Mapping[str, Mapping[str, str]] | None = None,
                        lookup_base: str | None = None) -> Step:
    """The Windows driver: where to look it up, how it is installed silently (after consent)."""
    win = installer_data()["windows"]
    gpus = [g for g in machine.gpus if g.vendor == "nvidia"]
    notes: list[str] = []
    family = pfid
    if family is None:
        for g in gpus:
            family = pfid_for(g.name, pfid_tables)
            if family:
                break
    lookup = windows_lookup_url(family, windows_osid(machine.os.version), lookup_base) if family else None
    if lookup is None:
        notes.append(T(M.WINDOWS_PFID_UNKNOWN, gpus=join(", ", (g.name for g in gpus)) if gpus else T(M.THIS_GPU),
                       page=win["download_page"]))
    notes.append(T(M.WINDOWS_SILENT_INSTALL))
    return Step("driver_windows", T(M.STEP_DRIVER_WINDOWS), action.detail,
                urls=(win["download_page"],), notes=tuple(notes), sources=("research/nvidia.md §4.5", "§4.6"),
                install_args=tuple(win["silent_args"]), lookup_url=lookup, version=None)


def wsl_driver_step(action: Action) -> Step:
    """Inside WSL the driver is the Windows one: words and the download page, never a command."""
    page = installer_data()["windows"]["download_page"]
    return Step("driver_wsl", T(M.STEP_DRIVER_WSL), action.detail,
                urls=(page,), sources=("research/nvidia.md §6",),
                notes=(T(M.WSL_DRIVER_IS_WINDOWS), T(M.WSL_DRIVER_HOW, page=page)))


# --------------------------------------------------------------------------- CUDA toolkit / cuDNN


@dataclass(frozen=True)
class RedistFile:
    """One archive of a redistributable manifest."""

    component: str
    version: str
    relative_path: str
    sha256: str
    size: int
    url: str

    def item(self) -> DownloadItem:
        """As a download with its checksum and size."""
        return DownloadItem(url=self.url, filename=self.relative_path.rsplit("/", 1)[-1],
                            sha256=self.sha256, size=self.size)


def redist_platform(family: str, arch: str) -> str | None:
    """The manifest's platform key (research/nvidia.md §3.1): linux-x86_64, linux-sbsa, windows-x86_64."""
    if family == "linux":
        return "linux-sbsa" if arch in ("aarch64", "arm64") else ("linux-x86_64" if arch == "x86_64" else None)
    if family == "windows" and arch == "x86_64":
        return "windows-x86_64"
    return None


def parse_redist_manifest(data: Any, prefix: str, platform: str, *, components: tuple[str, ...] = (),
                          cuda_variant: str | None = None) -> tuple[list[RedistFile], list[str]]:
    """The archives for ``platform`` in a ``redistrib_<ver>.json`` document, and notes.

    CUDA manifests put ``{relative_path, sha256, md5, size}`` right under the platform key;
    cuDNN manifests nest one level deeper by CUDA major (``"cuda12"``). ``size`` is a string.
    """
    if not isinstance(data, dict) or "release_label" not in data:
        raise WizardError("the redistributable manifest is not in NVIDIA's format",
                          hint="check the manifest URL", details=str(data)[:300])
    notes: list[str] = []
    files: list[RedistFile] = []
    names = components or tuple(k for k, v in data.items() if isinstance(v, dict))
    for name in names:
        comp = data.get(name)
        if not isinstance(comp, dict):
            notes.append(f"{name} is not in the {data.get('release_label')} manifest")
            continue
        entry = comp.get(platform)
        if isinstance(entry, dict) and cuda_variant and "relative_path" not in entry:
            entry = entry.get(cuda_variant)
        if not isinstance(entry, dict):
            notes.append(f"{name} has no {platform}{'/' + cuda_variant if cuda_variant else ''} archive")
            continue
        try:
            files.append(RedistFile(name, str(comp.get("version", "")), str(entry["relative_path"]),
                                    str(entry["sha256"]).lower(), int(str(entry["size"])),
                                    prefix.rstrip("/") + "/" + str(entry["relative_path"]).lstrip("/")))
        except (KeyError, ValueError) as exc:
            raise WizardError(f"the manifest entry for {name} ({platform}) is incomplete",
                              hint="try again later", details=repr(exc)) from None
    return files, notes


def _toolkit_entry(cuda: str) -> dict[str, Any] | None:
    for t in installer_data()["cuda"]["toolkits"]:
        if t["cuda"] == cuda:
            return dict(t)
    return None


def toolkit_steps(variant: str, family: str, arch: str, *, redist_prefix: str | None = None,
                  cudnn_prefix: str | None = None) -> list[Step]:
    """The CUDA toolkit (and cuDNN) matching a torch build's CUDA, for compiling extensions only."""
    cuda = variant_cuda(variant)
    if cuda is None:
        return []
    data = installer_data()["cuda"]
    entry = _toolkit_entry(cuda)
    plat = redist_platform(family, arch)
    why = T(M.TOOLKIT_WHY, variant=variant, cuda=cuda)
    if entry is None:
        return [Step("cuda_toolkit", T(M.STEP_TOOLKIT, version=cuda), why,
                     urls=("https://developer.nvidia.com/cuda-toolkit-archive",),
                     notes=(T(M.TOOLKIT_NO_INSTALLER, cuda=cuda),),
                     sources=("research/nvidia.md §3.2",))]
    version = entry["version"]
    base = f"{data['installer_base']}{version}/local_installers/"
    if family == "windows":
        driver = entry.get("windows_driver")
        installer = f"{base}cuda_{version}_{driver}_windows.exe" if driver else f"{base}cuda_{version}_windows.exe"
        silent: tuple[str, ...] = tuple(data["windows_silent"])
    else:
        installer = f"{base}cuda_{version}_{entry['linux_driver']}_linux.run"
        silent = tuple(data["linux_silent"])
    prefix = redist_prefix or data["redist_prefix"]
    steps = [Step("cuda_toolkit", T(M.STEP_TOOLKIT_OPTIONAL, version=version), why, urls=(installer,),
                  version=version,
                  install_args=silent, manifest_url=f"{prefix.rstrip('/')}/redistrib_{version}.json",
                  manifest_prefix=prefix, redist_platform=plat, components=tuple(data["components"]),
                  notes=(T(M.TOOLKIT_PREFER_REDIST),
                         T(M.TOOLKIT_FULL_INSTALLER, installer=installer, args=" ".join(silent))),
                  sources=("research/nvidia.md §3.1", "§3.2", "§3.3"))]
    major = cuda.split(".")[0]
    cudnn = data["cudnn"].get(major)
    cudnn_base = cudnn_prefix or data["cudnn_redist_prefix"]
    if cudnn:
        steps.append(Step("cudnn", T(M.STEP_CUDNN, version=cudnn, major=major), T(M.CUDNN_WHY),
                          version=cudnn, manifest_url=f"{cudnn_base.rstrip('/')}/redistrib_{cudnn}.json",
                          manifest_prefix=cudnn_base, redist_platform=plat, cuda_variant=f"cuda{major}",
                          components=("cudnn",), sources=("research/nvidia.md §3.1",)))
    else:
        steps.append(Step("cudnn", T(M.STEP_CUDNN_UNKNOWN, major=major), T(M.CUDNN_WHY_SHORT), urls=(cudnn_base,),
                          notes=(T(M.CUDNN_NO_RELEASE, major=major, url=cudnn_base),),
                          sources=("research/nvidia.md §3.1",)))
    return steps


# --------------------------------------------------------------------------- the whole list


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
        elif action.kind == "reboot" and not wsl:
            notes: tuple[str, ...] = ()
            if machine.os.secure_boot and family == "linux":
                notes = (T(M.REBOOT_MOK),)
            out.steps.append(Step("reboot", T(M.STEP_REBOOT), action.detail, notes=notes,
                                  sources=("research/nvidia.md §4.3", "§4.4")))
        elif action.kind == "cuda_toolkit":
            toolkit = True
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


def fetch_redist(step: Step, dest: Path, session: requests.Session, downloader: Downloader,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> FetchedInstaller:
    """Download a step's manifest, then its archives with their sha256 and size checked."""
    if not step.manifest_url or not step.manifest_prefix or not step.redist_platform:
        raise WizardError(f"{step.title}: nothing the wizard can download for this platform",
                          hint="see the listed URLs")
    url = step.manifest_url
    try:
        resp = session.get(url)
    except requests.RequestException as exc:
        raise classify_error(exc, url) from None
    check_response(resp, url.rsplit("/", 1)[-1])
    try:
        data = resp.json()
    except ValueError:
        raise WizardError(f"{url.rsplit('/', 1)[-1]} is not JSON", hint="check the manifest URL",
                          details=resp.text[:300]) from None
    files, notes = parse_redist_manifest(data, step.manifest_prefix, step.redist_platform,
                                         components=step.components, cuda_variant=step.cuda_variant)
    if not files:
        raise WizardError(f"{step.title}: the manifest lists no archive for {step.redist_platform}",
                          hint="; ".join(notes) or "see the listed URLs")
    paths = downloader.fetch_all([f.item() for f in files], dest, progress, cancel)
    return FetchedInstaller(step, paths, version=str(data.get("release_label", step.version)), url=url,
                            notes=notes)


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


def run_step_commands(commands: tuple[Command, ...], on_line: Callable[[str], None] | None = None,
                      cancel: threading.Event | None = None) -> list[CommandResult]:
    """Run a step's commands in order (the caller has shown them and has the user's consent).

    Stops at the first failure with a :class:`WizardError` naming the command.
    """
    results: list[CommandResult] = []
    for command in commands:
        result = run_command(command, on_line=on_line, cancel=cancel)
        results.append(result)
        if result.cancelled:
            raise WizardError(T(M.STEP_CANCELLED, command=command.display()), hint=T(M.STEP_CANCELLED_HINT))
        if not result.ok:
            denied = result.returncode in (126, 127) and command.argv[0] == "pkexec"
            raise WizardError(T(M.STEP_FAILED, command=command.display(), code=result.returncode),
                              hint=T(M.STEP_FAILED_NO_PASSWORD if denied else M.STEP_FAILED_HINT),
                              details="\n".join(result.tail[-30:]))
    return results


__all__ = [
    "FetchedInstaller", "InstallerPlan", "RedistFile", "Step", "WindowsDriver", "distro_for", "elevate",
    "fetch_installers", "fetch_redist", "fetch_windows_driver", "installer_data", "installers_for",
    "linux_driver_step", "lookup_windows_driver", "module_flavour", "normalise_gpu_name",
    "parse_lookup_response", "parse_redist_manifest", "pfid_for", "redist_platform", "run_step_commands",
    "toolkit_steps", "windows_driver_step", "windows_install_command", "windows_lookup_url", "windows_osid",
    "wsl_driver_step",
]
