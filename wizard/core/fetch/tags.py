"""The wheel tags a TARGET interpreter accepts, computed from detected facts.

Never from the wizard's own interpreter (``packaging.tags.sys_tags()``): the wizard may be a
frozen 3.12 app installing into someone's 3.10 venv. The order is most specific first, as
``packaging.tags.sys_tags`` orders them, so the first matching tag is the best wheel.
"""

from __future__ import annotations

from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags, mac_platforms

from wizard.core.errors import WizardError
from wizard.core.model.machine import OsInfo, PythonTarget

# Oldest glibc per manylinux architecture (PEP 600; packaging.tags._manylinux): x86 wheels go back
# to manylinux1 (glibc 2.5), every other architecture starts at manylinux2014 (glibc 2.17).
_MIN_GLIBC_MINOR = {"x86_64": 5, "i686": 5}
_DEFAULT_MIN_GLIBC_MINOR = 17

# PEP 600 legacy aliases: manylinux1 = 2_5, manylinux2010 = 2_12, manylinux2014 = 2_17.
_LEGACY_MANYLINUX = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}


def _linux_arch(os_info: OsInfo, bits: int) -> str:
    if os_info.arch in ("aarch64", "arm64"):
        return "aarch64"
    if os_info.arch == "x86" or bits == 32:
        # A 32-bit interpreter on a 64-bit kernel takes i686 wheels (packaging.tags._linux_platforms).
        return "i686"
    return "x86_64"


def linux_platforms(os_info: OsInfo, bits: int = 64) -> list[str]:
    """``manylinux_2_X_<arch>`` from the detected glibc down, legacy aliases, then ``linux_<arch>``."""
    arch = _linux_arch(os_info, bits)
    platforms: list[str] = []
    if os_info.glibc:
        try:
            major, minor = (int(p) for p in os_info.glibc.split(".")[:2])
        except ValueError:
            raise WizardError(f"glibc version '{os_info.glibc}' is not in the form 2.X",
                              hint="re-run detection") from None
        if major == 2:
            floor = _MIN_GLIBC_MINOR.get(arch, _DEFAULT_MIN_GLIBC_MINOR)
            for m in range(minor, floor - 1, -1):
                platforms.append(f"manylinux_2_{m}_{arch}")
                legacy = _LEGACY_MANYLINUX.get(m)
                if legacy and not (legacy == "manylinux1" and arch not in ("x86_64", "i686")):
                    platforms.append(f"{legacy}_{arch}")
    platforms.append(f"linux_{arch}")
    return platforms


def windows_platforms(os_info: OsInfo, bits: int = 64) -> list[str]:
    """``win_amd64``, ``win32`` or ``win_arm64`` for the interpreter's build."""
    if bits == 32:
        return ["win32"]
    if os_info.arch in ("aarch64", "arm64"):
        return ["win_arm64"]
    return ["win_amd64"]


def macos_platforms(os_info: OsInfo) -> list[str]:
    """``macosx_<ver>_<arch>`` plus ``universal2`` and friends, newest first (packaging's rules)."""
    arch = "arm64" if os_info.arch in ("arm64", "aarch64") else "x86_64"
    try:
        parts = [int(p) for p in os_info.version.split(".")[:2]] if os_info.version else []
    except ValueError:
        parts = []
    if not parts:
        # Apple silicon shipped with macOS 11; the oldest version an arm64 wheel can target.
        parts = [11, 0] if arch == "arm64" else [10, 9]
    version = (parts[0], parts[1] if len(parts) > 1 and parts[0] == 10 else 0)
    return list(mac_platforms(version, arch))


def target_platforms(os_info: OsInfo, bits: int = 64) -> list[str]:
    """Platform tags for the target OS, most specific first."""
    if os_info.family == "linux":
        return linux_platforms(os_info, bits)
    if os_info.family == "windows":
        return windows_platforms(os_info, bits)
    if os_info.family == "macos":
        return macos_platforms(os_info)
    raise WizardError(f"unknown operating system family '{os_info.family}'",
                      hint="expected linux, windows or macos")


def target_tags(python: PythonTarget, os: OsInfo) -> list[Tag]:
    """Every tag the target interpreter accepts, best first (like ``packaging.tags.sys_tags``)."""
    try:
        major, minor = python.minor
    except (ValueError, IndexError):
        raise WizardError(f"Python version '{python.version}' is not in the form 3.X",
                          hint="re-run detection or pass --python") from None
    platforms = target_platforms(os, python.bits)
    version = (major, minor)
    if python.implementation == "cpython":
        # Free-threaded builds (PEP 703) have their own ABI, cp313t; packaging drops abi3 for them.
        abi = f"cp{major}{minor}{'t' if python.free_threaded else ''}"
        tags = list(cpython_tags(version, abis=[abi], platforms=platforms))
        tags += list(compatible_tags(version, f"cp{major}{minor}", platforms))
        return tags
    interp = {"pypy": "pp"}.get(python.implementation, python.implementation[:2])
    return list(generic_tags(f"{interp}{major}{minor}", ["none"], platforms)) + list(
        compatible_tags(version, None, platforms)
    )


def describe_target(python: PythonTarget, os: OsInfo) -> str:
    """``Python 3.8 on win_amd64``: the words used when no wheel matches."""
    platforms = target_platforms(os, python.bits)
    where = platforms[0]
    if os.family == "linux" and os.glibc:
        where = f"linux {_linux_arch(os, python.bits)} (glibc {os.glibc})"
    ft = " free-threaded" if python.free_threaded else ""
    return f"Python {python.minor[0]}.{python.minor[1]}{ft} on {where}"
