"""NVIDIA facts without NVML: ``nvidia-smi`` from a trusted path, then the Linux kernel module.

Used when NVML fails. ``nvidia-smi`` is only ever run from an absolute path outside the current
folder (docs/SOURCES.md nvidia §2.1). Its output is parsed defensively: old versions reject ``compute_cap``,
values can be ``[N/A]``, output can be truncated or garbage (docs/SOURCES.md nvidia §2.2-§2.4).
"""

from __future__ import annotations

import ntpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from wizard.core import messages as M
from wizard.core.detect.host import CommandResult, Host
from wizard.core.detect.nvml import NvidiaProbe
from wizard.core.model.machine import DriverState, DriverStatus, Gpu, NvidiaDriver
from wizard.core.text import T

SMI_TIMEOUT_S = 5.0

# Fixed install locations (docs/SOURCES.md nvidia §2.1): Linux packages and .run, WSL2's driver mount.
LINUX_SMI_PATHS = ("/usr/bin/nvidia-smi", "/usr/lib/wsl/lib/nvidia-smi")

QUERY_FIELDS = ("index", "name", "uuid", "driver_version", "compute_cap", "memory.total",
                "pci.bus_id", "pci.device_id")
# R470 nvidia-smi answers 'Field "compute_cap" is not a valid field to query.' (docs/SOURCES.md nvidia §2.2).
QUERY_FIELDS_OLD = tuple(f for f in QUERY_FIELDS if f != "compute_cap")

_VERSION_RE = re.compile(r"^\d+(\.\d+)+$")
_CC_RE = re.compile(r"^\d+\.\d+$")
_MISSING = {"", "n/a", "[n/a]", "[not supported]", "not supported", "[unknown error]", "unknown error"}

# Words nvidia-smi prints when it cannot reach the driver -> the state they mean (docs/SOURCES.md nvidia §1.4, §2).
_SMI_FAILURES = (
    ("driver/library version mismatch", DriverState.MISMATCH, M.DRV_MISMATCH, M.DRV_MISMATCH_HINT),
    ("couldn't communicate with the nvidia driver", DriverState.NOT_LOADED, M.DRV_NOT_LOADED,
     M.DRV_NOT_LOADED_HINT),
    ("insufficient permissions", DriverState.NO_PERMISSION, M.DRV_NO_PERMISSION, M.DRV_NO_PERMISSION_HINT),
    ("gpu is lost", DriverState.GPU_LOST, M.DRV_GPU_LOST, M.DRV_GPU_LOST_HINT),
)


def find_nvidia_smi(host: Host) -> str | None:
    """The first trusted nvidia-smi: PATH (absolute, not the current folder), then fixed paths."""
    found = host.trusted(host.which("nvidia-smi"))
    if found:
        return found
    if host.is_windows:
        candidates = []
        system_root = host.environ.get("SystemRoot") or host.environ.get("SYSTEMROOT") or r"C:\Windows"
        candidates.append(ntpath.join(system_root, "System32", "nvidia-smi.exe"))  # DCH drivers
        program_files = (host.environ.get("ProgramFiles") or host.environ.get("PROGRAMFILES")
                         or r"C:\Program Files")
        candidates.append(ntpath.join(program_files, "NVIDIA Corporation", "NVSMI", "nvidia-smi.exe"))
        for candidate in candidates:
            if host.is_file(candidate):
                return candidate
        return None
    for fixed in LINUX_SMI_PATHS:
        path = host.path(fixed)
        if path.is_file():
            return str(path)
    return None


def _value(raw: str) -> str | None:
    value = raw.strip()
    return None if value.lower() in _MISSING else value


def _int_or_none(raw: str | None) -> int | None:
    if raw is None:
        return None
    match = re.match(r"^(\d+)", raw)
    return int(match.group(1)) if match else None


def _pci_id_from_smi(raw: str | None) -> str | None:
    """'0x278610DE' or '2786 10DE' -> '10de:2786' (device id first, vendor last; docs/SOURCES.md nvidia §2.3)."""
    if not raw:
        return None
    digits = raw.lower().removeprefix("0x").replace(" ", "")
    if not re.fullmatch(r"[0-9a-f]{8}", digits):
        return None
    return f"{digits[4:]}:{digits[:4]}"


@dataclass
class SmiRows:
    """Parsed ``--query-gpu`` CSV: the driver version (from any row) and the GPUs."""

    driver_version: str | None
    gpus: list[Gpu]
    problems: list[str]


def parse_query_csv(text: str, fields: tuple[str, ...]) -> SmiRows:
    """Parse ``--format=csv,noheader,nounits`` output for ``fields``; bad lines are skipped and named."""
    gpus: list[Gpu] = []
    problems: list[str] = []
    driver: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(fields):
            problems.append(f"line {number} has {len(cells)} values, expected {len(fields)}: {line[:120]!r}")
            continue
        row = {name: _value(cell) for name, cell in zip(fields, cells, strict=True)}
        name = row.get("name")
        if not name:
            problems.append(f"line {number} has no GPU name: {line[:120]!r}")
            continue
        version = row.get("driver_version")
        if version and _VERSION_RE.match(version):
            driver = driver or version
        cc = row.get("compute_cap")
        gpus.append(Gpu(
            vendor="nvidia",
            name=name,
            pci_id=_pci_id_from_smi(row.get("pci.device_id")),
            compute_capability=cc if cc and _CC_RE.match(cc) else None,
            memory_mib=_int_or_none(row.get("memory.total")),
            uuid=row.get("uuid"),
            pci_bus=row.get("pci.bus_id"),
        ))
    return SmiRows(driver, gpus, problems)


def parse_cuda_version(xml_text: str | None, banner: str | None = None) -> str | None:
    """The driver's CUDA version from ``nvidia-smi -q -x`` (``cuda_version``) or the banner."""
    if xml_text:
        try:
            root = ET.fromstring(xml_text.strip())
            value = (root.findtext("cuda_version") or "").strip()
            if _VERSION_RE.match(value):
                return value
        except ET.ParseError:
            pass
    for text in (banner, xml_text):
        match = re.search(r"CUDA Version\s*:\s*(\d+\.\d+)", text or "")
        if match:
            return match.group(1)
    return None


def _failure_status(result: CommandResult) -> DriverStatus | None:
    text = (result.stdout + "\n" + result.stderr).lower()
    for needle, state, message, hint in _SMI_FAILURES:
        if needle in text:
            return DriverStatus(state, T(message), T(hint), source="nvidia-smi")
    return None


def probe_nvidia_smi(host: Host, timeout: float = SMI_TIMEOUT_S) -> NvidiaProbe | None:
    """Query nvidia-smi. None when there is no trusted nvidia-smi; a probe with notes otherwise."""
    exe = find_nvidia_smi(host)
    if exe is None:
        return None
    notes: list[str] = []
    fields: tuple[str, ...] = QUERY_FIELDS
    result = host.run([exe, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], timeout)
    if not result.ok and "not a valid field" in (result.stdout + result.stderr).lower():
        fields = QUERY_FIELDS_OLD
        result = host.run([exe, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], timeout)
    if not result.ok:
        status = _failure_status(result) or DriverStatus(
            DriverState.ERROR,
            T(M.DRV_SMI_FAILED, reason=result.why_failed()),
            T(M.DRV_REINSTALL_HINT),
            source="nvidia-smi",
        )
        return NvidiaProbe(status, notes=[result.why_failed()])
    rows = parse_query_csv(result.stdout, fields)
    notes.extend(T(M.NOTE_SMI_OUTPUT, problem=p) for p in rows.problems)
    if not rows.gpus or rows.driver_version is None:
        return NvidiaProbe(DriverStatus(
            DriverState.ERROR,
            T(M.DRV_SMI_GARBLED),
            T(M.DRV_SMI_GARBLED_HINT),
            source="nvidia-smi",
        ), notes=notes)
    xml = host.run([exe, "-q", "-x"], timeout)
    cuda = parse_cuda_version(xml.stdout if xml.ok else None)
    if cuda is None:
        banner = host.run([exe], timeout)
        cuda = parse_cuda_version(None, banner.stdout if banner.ok else None)
    driver = NvidiaDriver(rows.driver_version, cuda)
    status = DriverStatus(DriverState.OK, working_message(driver.version, cuda), "", source="nvidia-smi")
    return NvidiaProbe(status, driver, rows.gpus, notes)


def parse_proc_version(text: str) -> str | None:
    """The version in ``/proc/driver/nvidia/version`` (both flavours) or ``/sys/module/nvidia/version``.

    Proprietary: "... Kernel Module  515.76  Mon Sep ..."; open: "... Open Kernel Module for
    x86_64  555.58.02  Release Build ...": the first token after "Module" that starts with a
    digit (docs/SOURCES.md nvidia §2.4). The sysfs file holds just the version.
    """
    stripped = text.strip()
    if _VERSION_RE.match(stripped):
        return stripped
    for line in stripped.splitlines():
        if "Module" not in line:
            continue
        for token in line.split("Module", 1)[1].split():
            if token[:1].isdigit():
                return token if _VERSION_RE.match(token) else None
    return None


def kernel_module_version(host: Host) -> str | None:
    """The loaded ``nvidia`` kernel module's version on Linux, or None."""
    for candidate in ("/sys/module/nvidia/version", "/proc/driver/nvidia/version"):
        try:
            version = parse_proc_version(host.path(candidate).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if version:
            return version
    return None


def working_message(version: str, cuda: str | None) -> str:
    """The translatable sentence "NVIDIA driver V is working (supports CUDA up to C)."."""
    return T(M.DRV_OK_CUDA, version=version, cuda=cuda) if cuda else T(M.DRV_OK, version=version)


def explain_not_loaded(host: Host, secure_boot: bool | None) -> tuple[str, str]:
    """Message and hint for a driver that is installed but not loaded: which cause is likely.

    nouveau bound to the card, or Secure Boot on (an unsigned module is refused), else a reboot
    pending after the install (docs/SOURCES.md nvidia §1.4, §4.3, §4.4).
    """
    if host.path("/sys/module/nouveau").is_dir():
        return T(M.DRV_NOUVEAU), T(M.DRV_NOUVEAU_HINT)
    if secure_boot:
        return T(M.DRV_SECURE_BOOT), T(M.DRV_SECURE_BOOT_HINT)
    return T(M.DRV_RESTART_PENDING), T(M.DRV_RESTART_HINT)
