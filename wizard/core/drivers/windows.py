"""The NVIDIA driver on Windows (and WSL): NVIDIA's lookup service, the installer and its silent flags."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import requests

from wizard.core import messages as M
from wizard.core.drivers.steps import Step, elevate, installer_data
from wizard.core.errors import WizardError
from wizard.core.fetch.net import read_document, redact_url
from wizard.core.knowledge.gpu_catalog import pci_entry
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Action
from wizard.core.process import Command
from wizard.core.text import T, join


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
    """"NVIDIA GeForce RTX 4070 SUPER (TM)" -> "GeForce RTX 4070 SUPER" (docs/SOURCES.md nvidia §4.6).

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
    "notebook": {...}}``); by default the copy in installers.json. A laptop GPU is looked up in
    the notebook list first, then the other one (eGPUs), as TinyNvidiaUpdateChecker does
    (docs/SOURCES.md nvidia §4.6). Laptop: ``notebook``, a name with "Laptop GPU" (Ampere and
    newer), or a Max-Q design (a laptop design). The notebook list names Ampere and newer parts
    with the "Laptop GPU" suffix and older ones without, so both spellings are tried.
    """
    tables = tables if tables is not None else installer_data()["windows"]["pfid"]
    laptop = notebook or bool(re.search(r"\bLaptop GPU\b|\bMax-Q\b", name, re.IGNORECASE))
    clean = normalise_gpu_name(name)
    bare = re.sub(r"\s*Laptop GPU\b", "", clean, flags=re.IGNORECASE).strip()
    order = ("notebook", "desktop") if laptop else ("desktop", "notebook")
    for kind in order:
        table = {k.lower(): v for k, v in tables.get(kind, {}).items()}
        names = (f"{bare} Laptop GPU", bare) if kind == "notebook" else (bare,)
        for candidate in names:
            if candidate.lower() in table:
                return str(table[candidate.lower()])
    return None


# pci.ids names a laptop part's chip with an M ("TU106M [GeForce RTX 2060 Mobile]",
# "GA106M [GeForce RTX 3060 Mobile / Max-Q]"); reading that as "notebook" is inferred.
_MOBILE_RE = re.compile(r"\b[A-Z]{2}\d{3}M\b|\bMobile\b|\bMax-Q\b|\bLaptop\b")


def is_notebook_gpu(pci_id: str | None) -> bool:
    """Whether the NVIDIA GPU with ``pci_id`` is a laptop part, by its pci.ids name (the GPU catalog).

    Windows names pre-Ampere laptop GPUs like the desktop ones ("NVIDIA GeForce RTX 2060"), and
    NVIDIA's desktop driver does not install on them; the PCI device id tells them apart.
    """
    entry = pci_entry("nvidia", pci_id)
    return bool(entry and _MOBILE_RE.search(entry.get("name") or ""))


def windows_osid(os_version: str) -> str:
    """osID for the lookup: Windows 11 when the build is 22000 or newer, else Windows 10 64-bit."""
    win = installer_data()["windows"]
    numbers = [int(n) for n in re.findall(r"\d+", os_version)]
    build = numbers[2] if len(numbers) >= 3 else 0
    if "windows 11" in os_version.lower() or build >= int(win["windows11_build"]):
        return str(win["osid"]["windows11"])
    return str(win["osid"]["windows10"])


def windows_lookup_url(pfid: str, osid: str, base: str | None = None) -> str:
    """The DriverManualLookup query for a product family and OS (docs/SOURCES.md nvidia §4.6)."""
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
    except (ValueError, RecursionError):
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
    # a small answer: read within a total deadline and a size cap (net.read_document)
    _resp, body = read_document(session, lookup_url, T(M.NET_WHAT_DRIVER_LOOKUP))
    driver = parse_lookup_response(body.decode("utf-8", "replace"))
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
    """The downloaded driver installer, silent, elevated through UAC (docs/SOURCES.md nvidia §4.5)."""
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
            family = pfid_for(g.name, pfid_tables, notebook=is_notebook_gpu(g.pci_id))
            if family:
                break
    lookup = windows_lookup_url(family, windows_osid(machine.os.version), lookup_base) if family else None
    if lookup is None:
        notes.append(T(M.WINDOWS_PFID_UNKNOWN, gpus=join(", ", (g.name for g in gpus)) if gpus else T(M.THIS_GPU),
                       page=win["download_page"]))
    notes.append(T(M.WINDOWS_SILENT_INSTALL))
    return Step("driver_windows", T(M.STEP_DRIVER_WINDOWS), action.detail,
                urls=(win["download_page"],), notes=tuple(notes), sources=("docs/SOURCES.md nvidia §4.5", "§4.6"),
                install_args=tuple(win["silent_args"]), lookup_url=lookup, version=None)


def wsl_driver_step(action: Action) -> Step:
    """Inside WSL the driver is the Windows one: words and the download page, never a command."""
    page = installer_data()["windows"]["download_page"]
    return Step("driver_wsl", T(M.STEP_DRIVER_WSL), action.detail,
                urls=(page,), sources=("docs/SOURCES.md nvidia §6",),
                notes=(T(M.WSL_DRIVER_IS_WINDOWS), T(M.WSL_DRIVER_HOW, page=page)))
