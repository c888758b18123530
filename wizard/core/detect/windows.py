"""Windows-only sources, kept thin: display adapters through PowerShell CIM and ``py -0p``.

Both are plain text parsers over a command run through the host's runner, so tests feed them
recorded output with a simulated Windows host.
"""

from __future__ import annotations

import json
import ntpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wizard.core import messages as M
from wizard.core.detect.host import Host
from wizard.core.text import T

# Windows PowerShell 5.1 needs 0.6 s to start on a fast machine and 1 s or more after some
# updates (PowerShell/PowerShell#4239), 2.2 s on some builds (PowerShell/PowerShell#12843), and
# ~5 s when a Group Policy sets the execution policy (PowerShell/PowerShell#2578); on a slow disk
# with an antivirus scanning the first start, and the WMI service starting for the first query,
# several times that (inferred). Detection runs it beside the other probes, so waiting long
# costs nothing unless it hangs, and on a machine without a driver it is the only way to see the GPU.
POWERSHELL_TIMEOUT_S = 30.0
PY_LAUNCHER_TIMEOUT_S = 5.0

# Windows PowerShell 5.1 writes the console code page (cp936 on Chinese Windows) unless told
# otherwise: UTF-8 (no byte-order mark) is asked for before anything is printed, for the console
# ([Console]::OutputEncoding) and for pipes to programs ($OutputEncoding). Where that is refused
# (Constrained Language mode) it still writes the code page, which host.decode_output reads.
UTF8_OUTPUT = ("[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false; "
               "$OutputEncoding = [Console]::OutputEncoding; ")

# Win32_VideoController (Microsoft CIM docs; docs/SOURCES.md nvidia §2.5). AdapterRAM is a uint32 and so
# saturates at 4 GiB; it is used only below that.
CIM_SCRIPT = (
    UTF8_OUTPUT
    + "Get-CimInstance Win32_VideoController | "
    "Select-Object Name,PNPDeviceID,DriverVersion,AdapterCompatibility,AdapterRAM | "
    "ConvertTo-Json -Compress"
)
_UINT32_MAX = 0xFFFFFFFF
_PNP_RE = re.compile(r"VEN_([0-9A-Fa-f]{4})&DEV_([0-9A-Fa-f]{4})")


@dataclass(frozen=True)
class WindowsAdapter:
    """One entry of Win32_VideoController."""

    name: str
    vendor_id: str | None
    device_id: str | None
    driver_version: str | None
    memory_mib: int | None

    @property
    def pci_id(self) -> str | None:
        """'10de:2786' from PNPDeviceID, or None for non-PCI adapters."""
        return f"{self.vendor_id}:{self.device_id}" if self.vendor_id and self.device_id else None


def powershell_exe(environ: Mapping[str, str]) -> str:
    """Windows PowerShell at its fixed system path, from SystemRoot (``C:\\Windows`` when unset).

    Never a ``powershell.exe`` from PATH or the current folder, which anyone who can write there
    could plant; SystemRoot may be missing from a cleaned child environment.
    """
    root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or r"C:\Windows"
    return ntpath.join(root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")


def powershell_path(host: Host) -> str:
    """Windows PowerShell on ``host`` (see :func:`powershell_exe`)."""
    return powershell_exe(host.environ)


def parse_video_controllers(text: str) -> list[WindowsAdapter]:
    """Parse ``ConvertTo-Json`` output: one object for one adapter, a list for several.

    Raises ValueError when the text is not that JSON.
    """
    data: Any = json.loads(text) if text.strip() else []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("expected a JSON object or list")
    adapters = []
    for item in data:
        if not isinstance(item, dict):
            continue
        name = str(item.get("Name") or "").strip()
        pnp = str(item.get("PNPDeviceID") or "")
        match = _PNP_RE.search(pnp)
        ram = item.get("AdapterRAM")
        memory = None
        if isinstance(ram, int) and not isinstance(ram, bool) and 0 < ram < _UINT32_MAX:
            memory = ram // (1024 * 1024)
        adapters.append(WindowsAdapter(
            name=name or "Unknown display adapter",
            vendor_id=match.group(1).lower() if match else None,
            device_id=match.group(2).lower() if match else None,
            driver_version=str(item["DriverVersion"]) if item.get("DriverVersion") else None,
            memory_mib=memory,
        ))
    return adapters


def list_video_controllers(host: Host, notes: list[str]) -> list[WindowsAdapter]:
    """The display adapters Windows knows, with or without a driver; [] with a note on failure."""
    result = host.run(
        [powershell_path(host), "-NoProfile", "-NonInteractive", "-Command", CIM_SCRIPT],
        POWERSHELL_TIMEOUT_S,
    )
    if not result.ok:
        notes.append(T(M.NOTE_NO_ADAPTERS, reason=result.why_failed()))
        return []
    try:
        return parse_video_controllers(result.stdout)
    except ValueError as exc:
        notes.append(T(M.NOTE_ADAPTERS_UNREADABLE, error=exc))
        return []


def nvidia_version_from_wddm(version: str) -> str | None:
    """'32.0.15.6636' -> '566.36': the last five digits with a dot after three (docs/SOURCES.md nvidia §2.5)."""
    digits = version.replace(".", "")
    if len(digits) < 5 or not digits.isdigit():
        return None
    tail = digits[-5:]
    return f"{int(tail[:3])}.{tail[3:]}"


def parse_py_launcher(text: str) -> list[str]:
    """Interpreter paths from ``py -0p``: lines like `` -V:3.12 *        C:\\...\\python.exe``.

    Older launchers print `` -3.12-64        C:\\...``; the path is the last column either way.
    """
    paths = []
    for line in text.splitlines():
        match = re.match(r"^\s*-\S+(?:\s+\*)?\s+(.+?\.exe)\s*$", line, flags=re.IGNORECASE)
        if match:
            paths.append(match.group(1))
    return paths


def py_launcher_interpreters(host: Host) -> list[str]:
    """Interpreters the Windows ``py`` launcher knows about (PEP 514 registry entries)."""
    candidates = [host.trusted(host.which("py"))]
    root = host.environ.get("SystemRoot") or host.environ.get("SYSTEMROOT") or r"C:\Windows"
    candidates.append(ntpath.join(root, "py.exe"))  # where the all-users launcher installs
    local = host.environ.get("LOCALAPPDATA")
    if local:
        candidates.append(ntpath.join(local, "Programs", "Python", "Launcher", "py.exe"))
    for exe in candidates:
        if exe and host.is_file(exe):
            result = host.run([exe, "-0p"], PY_LAUNCHER_TIMEOUT_S)
            return parse_py_launcher(result.stdout) if result.ok else []
    return []
