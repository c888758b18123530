"""Graphics adapters from the Linux PCI listing in sysfs, with or without a driver.

Reads ``/sys/bus/pci/devices/*/{vendor,device,class,driver}`` (docs/SOURCES.md nvidia §2.5); names come from
the pci.ids database when installed, else from the wizard's GPU catalog (``wizard/data/gpu_pci_ids.json``).
AMD gfx targets come from the amdkfd topology that ROCm's ``rocm_agent_enumerator`` also reads; AMD VRAM
from amdgpu's ``mem_info_vram_total``.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wizard.core.detect.host import Host
from wizard.core.knowledge import gpu_catalog

# PCI vendor ids (PCI-SIG; pci.ids).
VENDORS = {"10de": "nvidia", "1002": "amd", "1022": "amd", "8086": "intel"}
VENDOR_NAMES = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel"}
# PCI class codes for display controllers (PCI Code and ID Assignment spec, base class 03):
# 0300 VGA compatible, 0302 3D controller (headless data-centre GPUs), 0380 other display.
DISPLAY_CLASSES = ("0300", "0302", "0380")
PCI_IDS_PATHS = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids")
KFD_NODES = "/sys/class/kfd/kfd/topology/nodes"


@dataclass(frozen=True)
class PciDevice:
    """One display controller on the PCI bus."""

    address: str  # "0000:01:00.0"
    vendor_id: str  # "10de"
    device_id: str  # "2504"
    class_code: str  # "0300"
    driver: str | None  # "nvidia", "nouveau", "amdgpu", None when no driver is bound
    name: str
    vram_mib: int | None = None

    @property
    def vendor(self) -> str | None:
        """nvidia | amd | intel, or None for other vendors (virtual display adapters...)."""
        return VENDORS.get(self.vendor_id)

    @property
    def pci_id(self) -> str:
        """'10de:2504'."""
        return f"{self.vendor_id}:{self.device_id}"


def _read_hex(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip().lower()
    except OSError:
        return None
    return text.removeprefix("0x") or None


def lookup_pci_names(host: Host, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Device names for (vendor, device) pairs from pci.ids (format: pci.ids header comment)."""
    found: dict[tuple[str, str], str] = {}
    if not wanted:
        return found
    vendors = {v for v, _ in wanted}
    for candidate in PCI_IDS_PATHS:
        path = host.path(candidate)
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError:
            continue
        with handle:
            vendor: str | None = None
            for line in handle:
                if not line.strip() or line.startswith("#"):
                    continue
                if line[0] != "\t":
                    if line.startswith("C "):  # the device class section follows the vendors
                        break
                    vendor = line[:4].lower()
                    continue
                if vendor not in vendors or line.startswith("\t\t"):
                    continue
                device, _, name = line[1:].rstrip("\n").partition(" ")
                key = (vendor, device.lower())
                if key in wanted:
                    found[key] = name.strip()
                    if len(found) == len(wanted):
                        return found
        return found
    return found


def _kfd_gfx_by_location(host: Host) -> dict[int, str]:
    """amdkfd topology: PCI location id -> gfx target ('gfx1100').

    ``gfx_target_version`` is major*10000 + minor*100 + stepping, printed in hex digits for
    minor and stepping (90010 -> gfx90a), as ROCm's rocm_agent_enumerator does.
    """
    result: dict[int, str] = {}
    nodes = host.path(KFD_NODES)
    try:
        entries = sorted(os.listdir(nodes))
    except OSError:
        return result
    for entry in entries:
        try:
            text = (nodes / entry / "properties").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        props: dict[str, int] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                props[parts[0]] = int(parts[1])
        version = props.get("gfx_target_version", 0)
        if not version or not props.get("simd_count"):
            continue  # CPU nodes have no SIMDs and no gfx target
        major, minor, step = version // 10000, (version // 100) % 100, version % 100
        result[props.get("location_id", -1)] = f"gfx{major}{minor:x}{step:x}"
    return result


def _location_id(address: str) -> int | None:
    """'0000:03:00.0' -> (bus << 8) | (device << 3) | function, the kfd ``location_id``."""
    try:
        _, bus, rest = address.split(":")
        device, function = rest.split(".")
        return (int(bus, 16) << 8) | (int(device, 16) << 3) | int(function, 16)
    except ValueError:
        return None


def amd_gfx_from_sysfs(host: Host, address: str) -> str | None:
    """The gfx target the amdkfd driver reports for the GPU at ``address``, or None."""
    by_location = _kfd_gfx_by_location(host)
    location = _location_id(address)
    if location is not None and location in by_location:
        return by_location[location]
    return None


def scan_sysfs(host: Host) -> list[PciDevice]:
    """Every display controller in ``/sys/bus/pci/devices``, in bus order."""
    base = host.path("/sys/bus/pci/devices")
    try:
        addresses = sorted(os.listdir(base))
    except OSError:
        return []
    raw: list[tuple[str, str, str, str, str | None, int | None]] = []
    for address in addresses:
        folder = base / address
        class_code = _read_hex(folder / "class")
        vendor = _read_hex(folder / "vendor")
        device = _read_hex(folder / "device")
        if not class_code or not vendor or not device or class_code[:4] not in DISPLAY_CLASSES:
            continue
        try:
            driver: str | None = os.path.basename(os.readlink(folder / "driver"))
        except OSError:
            driver = None
        vram = None
        with contextlib.suppress(OSError, ValueError):  # amdgpu only; bytes
            vram = int((folder / "mem_info_vram_total").read_text().strip()) // (1024 * 1024)
        raw.append((address, vendor[-4:], device[-4:], class_code[:4], driver, vram))
    names = lookup_pci_names(host, {(v, d) for _, v, d, _, _, _ in raw})
    devices = []
    for address, vendor, device, class_code, driver, vram in raw:
        vendor_word = VENDOR_NAMES.get(VENDORS.get(vendor, ""), f"PCI vendor {vendor}")
        # No pci.ids on the system (minimal installs): the wizard's own catalog has the same names.
        known = gpu_catalog.pci_entry(VENDORS.get(vendor, ""), f"{vendor}:{device}")
        name = (names.get((vendor, device)) or (known or {}).get("name")
                or f"{vendor_word} graphics device [{vendor}:{device}]")
        devices.append(PciDevice(address, vendor, device, class_code, driver, name, vram))
    return devices


# A Jetson's GPU sits on the SoC, not on PCI: the device tree names the module, and Jetson Linux
# (L4T) writes its release to /etc/nv_tegra_release ("# R36 (release), REVISION: 4.3, ...").
JETSON_MODEL = "/proc/device-tree/model"
TEGRA_RELEASE = "/etc/nv_tegra_release"
_L4T_RELEASE = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)")


@dataclass(frozen=True)
class JetsonModule:
    """A Jetson module: its model name and its Jetson Linux (L4T) release ("R36.4.3"), if known."""

    model: str
    l4t: str | None


def jetson_module(host: Host) -> JetsonModule | None:
    """The Jetson module this Linux runs on, or None on anything else."""
    try:
        model = host.path(JETSON_MODEL).read_bytes().decode("utf-8", "replace").strip("\x00 \n")
    except OSError:
        return None
    if "jetson" not in model.lower():
        return None
    l4t = None
    with contextlib.suppress(OSError):
        m = _L4T_RELEASE.search(host.path(TEGRA_RELEASE).read_text(encoding="utf-8", errors="replace"))
        if m:
            l4t = f"R{m.group(1)}.{m.group(2)}"
    return JetsonModule(model, l4t)
