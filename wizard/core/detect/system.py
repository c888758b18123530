"""Operating system facts: family, version, CPU architecture, WSL, glibc, Secure Boot."""

from __future__ import annotations

import re

from wizard.core import messages as M
from wizard.core.detect.host import Host
from wizard.core.model.machine import OsInfo
from wizard.core.text import T

# platform.machine() spellings -> the profile's names (machine-profile/1 `os.arch`).
_ARCH_ALIASES = {
    "x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "em64t": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64", "armv8l": "aarch64", "armv8b": "aarch64",
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86": "x86",
}

# UEFI global variable GUID (UEFI spec 2.x, "Globally Defined Variables"); the file in efivarfs
# holds 4 bytes of attributes followed by the value, 1 = Secure Boot on.
SECURE_BOOT_EFIVAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
MOKUTIL_PATHS = ("/usr/bin/mokutil", "/bin/mokutil", "/usr/sbin/mokutil", "/sbin/mokutil")
COMMAND_TIMEOUT_S = 3.0


def normalize_arch(machine: str, system: str) -> str:
    """``platform.machine()`` as one of x86_64 | aarch64 | arm64 | x86.

    64-bit ARM is ``arm64`` on macOS and Windows (their own name) and ``aarch64`` on Linux.
    Unknown architectures are returned lowercased so a person can still read them.
    """
    key = machine.strip().lower()
    arch = _ARCH_ALIASES.get(key, key)
    if arch == "aarch64" and system in ("Darwin", "Windows"):
        return "arm64"
    return arch


def parse_os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of an os-release file (freedesktop.org os-release(5)), unquoted."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def linux_version_name(values: dict[str, str]) -> str:
    """'Ubuntu 24.04', 'Fedora 41', 'Debian 12' from os-release values."""
    name = values.get("NAME", "").strip()
    # "Fedora Linux", "Debian GNU/Linux": the word Linux says nothing on a Linux machine.
    name = re.sub(r"\s+(GNU/)?Linux$", "", name)
    version = values.get("VERSION_ID", "").strip()
    if name and version:
        return f"{name} {version}"
    return values.get("PRETTY_NAME", "").strip() or name or "Linux"


def is_wsl(host: Host) -> bool:
    """WSL: the kernel release names Microsoft (``5.15.x-microsoft-standard-WSL2``) or WSL's
    library mount ``/usr/lib/wsl/lib`` exists (docs/SOURCES.md nvidia §6)."""
    return "microsoft" in host.release.lower() or host.path("/usr/lib/wsl/lib").is_dir()


def secure_boot_linux(host: Host) -> bool | None:
    """Secure Boot state from efivarfs, else ``mokutil --sb-state``; None when unknown."""
    var = host.path(SECURE_BOOT_EFIVAR)
    try:
        data = var.read_bytes()
        if len(data) >= 5:
            return data[-1] == 1
    except OSError:
        pass
    for candidate in MOKUTIL_PATHS:
        if host.path(candidate).is_file():
            exe = str(host.path(candidate))
            result = host.run([exe, "--sb-state"], COMMAND_TIMEOUT_S)
            text = (result.stdout + result.stderr).lower()
            if "secureboot enabled" in text:
                return True
            if "secureboot disabled" in text:
                return False
            if "efi variables are not supported" in text:
                return False  # booted without UEFI: Secure Boot cannot be on
            return None
    if not host.path("/sys/firmware/efi").exists():
        # No UEFI firmware interface at all. In containers /sys/firmware is often hidden, so
        # this is "unknown", not "off".
        return None
    return None


def detect_os(host: Host, notes: list[str]) -> OsInfo:
    """OS family, version, architecture, WSL, glibc and Secure Boot of ``host``."""
    arch = normalize_arch(host.machine, host.system)
    if host.system == "Windows":
        return OsInfo(family="windows", version=host.version or host.release, arch=arch,
                      long_paths_enabled=host.long_paths_enabled(), user_home=str(host.home))
    if host.system == "Darwin":
        return OsInfo(family="macos", version=host.version or host.release, arch=arch, user_home=str(host.home))
    if host.system != "Linux":
        notes.append(T(M.NOTE_OS_UNKNOWN, system=host.system))
    values: dict[str, str] = {}
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            values = parse_os_release(host.path(candidate).read_text(encoding="utf-8", errors="replace"))
            break
        except OSError:
            continue
    if not values:
        notes.append(T(M.NOTE_NO_OS_RELEASE))
    wsl = is_wsl(host)
    version = linux_version_name(values)
    if wsl:
        version += " (WSL2)" if "wsl2" in host.release.lower() else " (WSL)"
    return OsInfo(
        family="linux",
        version=version,
        arch=arch,
        wsl=wsl,
        glibc=host.glibc,
        # WSL has no firmware of its own; Secure Boot there is the Windows host's business.
        secure_boot=None if wsl else secure_boot_linux(host),
        user_home=str(host.home),
    )
