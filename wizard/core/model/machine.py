"""What detection observed about a machine: OS, the target Python, GPUs, the NVIDIA driver, disk.

A :class:`Machine` holds observations, never conclusions. It is read from a machine profile
(``machine-profile/1``, see tests/profiles/SCHEMA.md) or built by :mod:`wizard.core.detect`, and
written back to the same JSON shape, so ``detect --json`` output can be fed to ``plan --machine``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from wizard.core.errors import ProfileError

PROFILE_SCHEMA = "machine-profile/1"
#: Bounds on what a profile file may hold (issue 15: a hostile or broken file must end in words,
#: not hang or exhaust the planner). The profiles in tests/profiles are under 4 KB with at most 4
#: GPUs; 1 MiB and 1024 GPUs are far above any real machine, and 1024 GPUs plan in under a second.
PROFILE_MAX_BYTES = 1024 * 1024
PROFILE_MAX_GPUS = 1024

OS_FAMILIES = ("linux", "windows", "macos")
CPU_ARCHES = ("x86_64", "aarch64", "arm64", "x86")
GPU_VENDORS = ("nvidia", "amd", "intel", "apple")
PYTHON_SOURCES = (
    "python.org", "microsoft-store", "system", "conda", "venv", "pyenv", "uv", "homebrew", "unknown",
)

_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")
_PCI_ID_RE = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$")
_CC_RE = re.compile(r"^\d+\.\d+$")
_GFX_RE = re.compile(r"^gfx[0-9a-f]{3,4}$")


@dataclass(frozen=True)
class OsInfo:
    """Operating system facts that decide which wheels can run."""

    family: str
    version: str
    arch: str
    wsl: bool = False
    glibc: str | None = None
    secure_boot: bool | None = None
    #: Windows' LongPathsEnabled registry value (None: unknown or not Windows).
    long_paths_enabled: bool | None = None
    #: The user's home folder (where the default environment goes); None where unknown.
    user_home: str | None = None


@dataclass(frozen=True)
class InstalledTorch:
    """A torch already present in the target environment, read from package metadata."""

    version: str

    @property
    def local_label(self) -> str | None:
        """``cpu``, ``cu126``, ``rocm6.2`` ... or None when the version has no ``+label``."""
        return self.version.split("+", 1)[1] if "+" in self.version else None


@dataclass(frozen=True)
class PythonTarget:
    """An interpreter that may receive PyTorch (never assumed to be the wizard's own)."""

    version: str
    implementation: str = "cpython"
    bits: int = 64
    free_threaded: bool = False
    externally_managed: bool = False
    source: str = "unknown"
    installed_torch: InstalledTorch | None = None
    path: str | None = None
    pip_version: str | None = None
    microsoft_store: bool = False
    user_site_torch: str | None = None
    in_venv: bool = False

    @property
    def minor(self) -> tuple[int, int]:
        """(major, minor) of the version, e.g. (3, 12)."""
        parts = self.version.split(".")
        return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class NvidiaDriver:
    """The NVIDIA driver as NVML or nvidia-smi reports it."""

    version: str
    cuda_version: str | None = None  # the highest CUDA the driver supports, not a toolkit


@dataclass(frozen=True)
class Gpu:
    """One graphics adapter. ``compute_capability`` is None when nothing reported it."""

    vendor: str
    name: str
    pci_id: str | None = None
    compute_capability: str | None = None
    memory_mib: int | None = None
    gfx_arch: str | None = None
    integrated: bool = False
    uuid: str | None = None
    pci_bus: str | None = None
    mig_mode: str | None = None
    architecture: str | None = None


class DriverState(str, Enum):
    """The NVIDIA driver's condition, in the states a person can act on."""

    OK = "ok"
    NO_DRIVER = "no_driver"
    NOT_LOADED = "not_loaded"
    MISMATCH = "mismatch"
    NO_PERMISSION = "no_permission"
    GPU_LOST = "gpu_lost"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class DriverStatus:
    """The driver state with words for a person and where it was learned."""

    state: DriverState
    message: str
    hint: str = ""
    source: str = "profile"


@dataclass
class Machine:
    """Everything the planner needs to know about one computer."""

    os: OsInfo
    python: PythonTarget | None
    nvidia_driver: NvidiaDriver | None
    gpus: list[Gpu]
    disk_free_gib: float | None = None
    id: str = "this-machine"
    description: str = ""
    driver_status: DriverStatus | None = None
    interpreters: list[PythonTarget] = field(default_factory=list)
    disk: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Detected on this computer (not read from a profile): its real data folder applies.
    local: bool = False

    def to_profile(self) -> dict[str, Any]:
        """The machine as a ``machine-profile/1`` object plus detection extras."""
        data: dict[str, Any] = {
            "schema": PROFILE_SCHEMA,
            "id": self.id,
            "description": self.description,
            "os": {
                "family": self.os.family,
                "version": self.os.version,
                "arch": self.os.arch,
                "wsl": self.os.wsl,
                "glibc": self.os.glibc,
                "secure_boot": self.os.secure_boot,
                "long_paths_enabled": self.os.long_paths_enabled,
                "user_home": self.os.user_home,
            },
            "python": _python_to_json(self.python) if self.python else None,
            "nvidia_driver": (
                {"version": self.nvidia_driver.version, "cuda_version": self.nvidia_driver.cuda_version}
                if self.nvidia_driver
                else None
            ),
            "gpus": [_gpu_to_json(g) for g in self.gpus],
            "disk_free_gib": self.disk_free_gib,
        }
        if self.driver_status is not None:
            data["driver_status"] = {
                "state": self.driver_status.state.value,
                "message": self.driver_status.message,
                "hint": self.driver_status.hint,
                "source": self.driver_status.source,
            }
        if self.interpreters:
            data["interpreters"] = [_python_to_json(p) for p in self.interpreters]
        if self.disk:
            data["disk"] = dict(self.disk)
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def _python_to_json(p: PythonTarget) -> dict[str, Any]:
    return {
        "version": p.version,
        "implementation": p.implementation,
        "bits": p.bits,
        "free_threaded": p.free_threaded,
        "externally_managed": p.externally_managed,
        "source": p.source,
        "installed_torch": {"version": p.installed_torch.version} if p.installed_torch else None,
        "path": p.path,
        "pip_version": p.pip_version,
        "microsoft_store": p.microsoft_store,
        "user_site_torch": p.user_site_torch,
        "in_venv": p.in_venv,
    }


def _gpu_to_json(g: Gpu) -> dict[str, Any]:
    return {
        "vendor": g.vendor,
        "name": g.name,
        "pci_id": g.pci_id,
        "compute_capability": g.compute_capability,
        "memory_mib": g.memory_mib,
        "gfx_arch": g.gfx_arch,
        "integrated": g.integrated,
        "uuid": g.uuid,
        "pci_bus": g.pci_bus,
        "mig_mode": g.mig_mode,
        "architecture": g.architecture,
    }


# --------------------------------------------------------------------------- profile reading


class _Reader:
    """Reads typed fields out of parsed JSON, naming the file and field path on any error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> ProfileError:
        return ProfileError(self.source, path, problem)

    def obj(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(path, f"expected an object, got {_type_name(data)}")
        return data

    def get(self, data: dict[str, Any], key: str, path: str, *, required: bool = True) -> Any:
        if key not in data:
            if required:
                raise self.fail(f"{path}.{key}" if path else key, "missing")
            return None
        return data[key]

    def string(self, data: dict[str, Any], key: str, path: str, *, required: bool = True,
               nullable: bool = False, choices: tuple[str, ...] | None = None,
               pattern: re.Pattern[str] | None = None) -> str | None:
        where = f"{path}.{key}" if path else key
        value = self.get(data, key, path, required=required and not nullable)
        if value is None:
            if required and not nullable:
                raise self.fail(where, "must not be null")
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {_type_name(value)}")
        if choices is not None and value not in choices:
            raise self.fail(where, f"'{value}' is not one of: {', '.join(choices)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(where, f"'{value}' is not in the expected format")
        return value

    def boolean(self, data: dict[str, Any], key: str, path: str, *, nullable: bool = False,
                default: bool | None = False) -> bool | None:
        where = f"{path}.{key}" if path else key
        if key not in data:
            return default
        value = data[key]
        if value is None and nullable:
            return None
        # Profiles written by hand sometimes say "true"/"false"; accept those, nothing else.
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {_type_name(value)}")
        return value

    def number(self, data: dict[str, Any], key: str, path: str, *, nullable: bool = True,
               required: bool = False) -> float | None:
        where = f"{path}.{key}" if path else key
        if key not in data:
            if required:
                raise self.fail(where, "missing")
            return None
        value = data[key]
        if value is None:
            if not nullable:
                raise self.fail(where, "must not be null")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"expected a number, got {_type_name(value)}")
        if not math.isfinite(value):
            raise self.fail(where, f"expected a number, got {value}")
        if value < 0:
            raise self.fail(where, "must not be negative")
        return float(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def machine_from_profile(data: Any, source: str = "<profile>") -> Machine:
    """Validate a parsed ``machine-profile/1`` object and build a :class:`Machine`.

    Raises :class:`ProfileError` naming ``source`` and the first bad field.
    """
    r = _Reader(source)
    top = r.obj(data, "(top level)")
    schema = r.string(top, "schema", "", required=False)
    if schema is not None and schema != PROFILE_SCHEMA:
        raise r.fail("schema", f"'{schema}' is not supported (expected '{PROFILE_SCHEMA}')")

    os_data = r.obj(r.get(top, "os", ""), "os")
    family = r.string(os_data, "family", "os", choices=OS_FAMILIES)
    arch = r.string(os_data, "arch", "os", choices=CPU_ARCHES)
    assert family is not None and arch is not None
    glibc = r.string(os_data, "glibc", "os", required=False, nullable=True, pattern=_VERSION_RE)
    os_info = OsInfo(
        family=family,
        version=r.string(os_data, "version", "os", required=False, nullable=True) or "",
        arch=arch,
        wsl=bool(r.boolean(os_data, "wsl", "os")),
        glibc=glibc,
        secure_boot=r.boolean(os_data, "secure_boot", "os", nullable=True, default=None),
        long_paths_enabled=r.boolean(os_data, "long_paths_enabled", "os", nullable=True, default=None),
        user_home=r.string(os_data, "user_home", "os", required=False, nullable=True),
    )

    python: PythonTarget | None = None
    if top.get("python") is not None:
        python = _python_from(r, r.obj(top["python"], "python"), "python")
    elif "python" not in top:
        raise r.fail("python", "missing (use null when no Python is installed)")

    driver: NvidiaDriver | None = None
    raw_driver = r.get(top, "nvidia_driver", "", required=False)
    if raw_driver is not None:
        d = r.obj(raw_driver, "nvidia_driver")
        version = r.string(d, "version", "nvidia_driver", pattern=_VERSION_RE)
        assert version is not None
        driver = NvidiaDriver(
            version=version,
            cuda_version=r.string(d, "cuda_version", "nvidia_driver", required=False, nullable=True,
                                  pattern=_VERSION_RE),
        )

    raw_gpus = r.get(top, "gpus", "")
    if not isinstance(raw_gpus, list):
        raise r.fail("gpus", f"expected a list, got {_type_name(raw_gpus)}")
    if len(raw_gpus) > PROFILE_MAX_GPUS:
        raise r.fail("gpus", f"{len(raw_gpus)} GPUs; a profile describes one machine (at most {PROFILE_MAX_GPUS})")
    gpus = [_gpu_from(r, r.obj(g, f"gpus[{i}]"), f"gpus[{i}]") for i, g in enumerate(raw_gpus)]

    disk = r.number(top, "disk_free_gib", "")
    status: DriverStatus | None = None
    raw_status = top.get("driver_status")
    if raw_status is not None:  # written by `detect --json`; optional in hand-made profiles
        s = r.obj(raw_status, "driver_status")
        state = r.string(s, "state", "driver_status", choices=tuple(d.value for d in DriverState))
        assert state is not None
        status = DriverStatus(DriverState(state),
                              _known(r.string(s, "message", "driver_status", required=False, nullable=True) or ""),
                              _known(r.string(s, "hint", "driver_status", required=False, nullable=True) or ""),
                              r.string(s, "source", "driver_status", required=False, nullable=True) or "profile")
    return Machine(
        os=os_info,
        python=python,
        nvidia_driver=driver,
        gpus=gpus,
        disk_free_gib=disk,
        id=r.string(top, "id", "", required=False, nullable=True) or Path(source).stem,
        description=r.string(top, "description", "", required=False, nullable=True) or "",
        driver_status=status,
    )


def _python_from(r: _Reader, p: dict[str, Any], path: str) -> PythonTarget:
    version = r.string(p, "version", path, pattern=re.compile(r"^\d+\.\d+(\.\d+)?([abrc]+\d+)?\+?$"))
    assert version is not None
    bits = r.number(p, "bits", path, nullable=False)
    if bits is not None and int(bits) not in (32, 64):
        raise r.fail(f"{path}.bits", f"{int(bits)} is not 32 or 64")
    installed: InstalledTorch | None = None
    raw_torch = p.get("installed_torch")
    if raw_torch is not None:
        t = r.obj(raw_torch, f"{path}.installed_torch")
        tv = r.string(t, "version", f"{path}.installed_torch")
        assert tv is not None
        installed = InstalledTorch(tv)
    source = r.string(p, "source", path, required=False, nullable=True) or "unknown"
    return PythonTarget(
        version=version,
        implementation=r.string(p, "implementation", path, required=False, nullable=True) or "cpython",
        bits=int(bits) if bits is not None else 64,
        free_threaded=bool(r.boolean(p, "free_threaded", path)),
        externally_managed=bool(r.boolean(p, "externally_managed", path)),
        source=source,
        installed_torch=installed,
        path=r.string(p, "path", path, required=False, nullable=True),
        microsoft_store=source == "microsoft-store" or bool(r.boolean(p, "microsoft_store", path)),
        pip_version=r.string(p, "pip_version", path, required=False, nullable=True),
        user_site_torch=r.string(p, "user_site_torch", path, required=False, nullable=True),
        in_venv=bool(r.boolean(p, "in_venv", path)) or source == "venv",
    )


def _gpu_from(r: _Reader, g: dict[str, Any], path: str) -> Gpu:
    vendor = r.string(g, "vendor", path, choices=GPU_VENDORS)
    name = r.string(g, "name", path)
    assert vendor is not None and name is not None
    memory = r.number(g, "memory_mib", path)
    return Gpu(
        vendor=vendor,
        name=name,
        pci_id=_lower(r.string(g, "pci_id", path, required=False, nullable=True, pattern=_PCI_ID_RE)),
        compute_capability=r.string(g, "compute_capability", path, required=False, nullable=True,
                                    pattern=_CC_RE),
        memory_mib=int(memory) if memory is not None else None,
        gfx_arch=r.string(g, "gfx_arch", path, required=False, nullable=True, pattern=_GFX_RE),
        integrated=bool(r.boolean(g, "integrated", path)),
        uuid=r.string(g, "uuid", path, required=False, nullable=True),
        pci_bus=r.string(g, "pci_bus", path, required=False, nullable=True),
        mig_mode=r.string(g, "mig_mode", path, required=False, nullable=True),
        architecture=r.string(g, "architecture", path, required=False, nullable=True),
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def _known(text: str) -> str:
    """A sentence read back from a profile, as the translatable Text it was written from when it is
    one of the driver-state sentences detection writes (so a saved profile reads in the person's language)."""
    from wizard.core import messages as M
    from wizard.core.text import T

    known = {v for k, v in vars(M).items() if k.startswith("DRV_") and isinstance(v, str) and "{" not in v}
    return T(text) if text in known else text


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a number a profile may hold")


def load_profile(path: str | Path) -> Machine:
    """Read a profile file. Any problem becomes a :class:`ProfileError` naming the file."""
    p = Path(path)
    source = str(p)
    try:
        with p.open("rb") as fh:
            raw = fh.read(PROFILE_MAX_BYTES + 1)
        if len(raw) > PROFILE_MAX_BYTES:
            raise ProfileError(source, "(file)",
                               f"is larger than {PROFILE_MAX_BYTES // 1024} KiB: not a machine profile")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ProfileError(source, "(file)", "no such file") from None
    except IsADirectoryError:
        raise ProfileError(source, "(file)", "is a folder, not a profile file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(source, "(file)", f"cannot be read: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_not_a_number)
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ProfileError(source, "(file)", problem) from None
    except RecursionError:
        raise ProfileError(source, "(file)", "is nested too deeply to be a machine profile") from None
    except ValueError as exc:   # NaN / Infinity (JSON has no such numbers; Python's reader allows them)
        raise ProfileError(source, "(file)", str(exc)) from None
    return machine_from_profile(data, source)
