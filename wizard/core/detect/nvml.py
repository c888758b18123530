"""NVIDIA driver and GPUs through NVML (``nvidia-ml-py``, module ``pynvml``).

NVML calls can block for a long time on a GPU that fell off the bus, so the probe runs in a
daemon thread joined with a timeout. Every failure becomes a :class:`DriverStatus` with words
for a person (docs/SOURCES.md nvidia §1.4); none escapes as an exception.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from wizard.core import messages as M
from wizard.core.model.machine import DriverState, DriverStatus, Gpu, NvidiaDriver
from wizard.core.text import T

NVML_TIMEOUT_S = 5.0

# nvmlDeviceGetArchitecture values, nvml.h (NVML_DEVICE_ARCH_*), docs/SOURCES.md nvidia §1.3.
NVML_ARCHITECTURES = {
    2: "Kepler", 3: "Maxwell", 4: "Pascal", 5: "Volta", 6: "Turing", 7: "Ampere",
    8: "Ada Lovelace", 9: "Hopper", 10: "Blackwell", 13: "Rubin",
}


@dataclass
class NvidiaProbe:
    """What one NVIDIA source (NVML or nvidia-smi) reported."""

    status: DriverStatus
    driver: NvidiaDriver | None = None
    gpus: list[Gpu] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# NVML exception class name -> (state, message, hint). Class names are those pynvml generates
# from NVML_ERROR_* codes (nvml.h); the words are ours (docs/SOURCES.md nvidia §1.4).
# The words are templates of wizard.core.messages, so a GUI can translate them.
_ERROR_WORDS: dict[str, tuple[DriverState, str, str]] = {
    "NVMLError_LibraryNotFound": (DriverState.NO_DRIVER, M.DRV_NO_LIBRARY, M.DRV_NO_LIBRARY_HINT),
    "NVMLError_DriverNotLoaded": (DriverState.NOT_LOADED, M.DRV_NOT_LOADED, M.DRV_NOT_LOADED_HINT),
    "NVMLError_LibRmVersionMismatch": (DriverState.MISMATCH, M.DRV_MISMATCH, M.DRV_MISMATCH_HINT),
    "NVMLError_NoPermission": (DriverState.NO_PERMISSION, M.DRV_NO_PERMISSION, M.DRV_NO_PERMISSION_NVML_HINT),
    "NVMLError_OperatingSystem": (DriverState.NO_PERMISSION, M.DRV_OS_BLOCKED, M.DRV_OS_BLOCKED_HINT),
    "NVMLError_GpuIsLost": (DriverState.GPU_LOST, M.DRV_GPU_LOST, M.DRV_GPU_LOST_HINT),
    "NVMLError_InsufficientPower": (DriverState.ERROR, M.DRV_NO_POWER, M.DRV_NO_POWER_HINT),
    "NVMLError_ResetRequired": (DriverState.ERROR, M.DRV_RESET_REQUIRED, M.DRV_RESTART_HINT),
}


def describe_nvml_error(exc: BaseException, nvml: Any) -> DriverStatus:
    """The driver state and words for an exception raised by an NVML call."""
    for class_name, (state, message, hint) in _ERROR_WORDS.items():
        cls = getattr(nvml, class_name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return DriverStatus(state, T(message), T(hint), source="nvml")
    return DriverStatus(
        DriverState.ERROR,
        T(M.DRV_NVML_ERROR, error=_exc_text(exc)),
        T(M.DRV_REINSTALL_HINT),
        source="nvml",
    )


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def cuda_version_from_int(value: int) -> str:
    """12080 -> "12.8" (nvml.h NVML_CUDA_DRIVER_VERSION_MAJOR/MINOR: v/1000, (v%1000)/10)."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def pci_id_from_packed(packed: int) -> str:
    """NVML ``pciDeviceId`` (device id in the high 16 bits, vendor 0x10DE in the low) -> "10de:2786"."""
    return f"{packed & 0xFFFF:04x}:{(packed >> 16) & 0xFFFF:04x}"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").rstrip("\x00")
    return str(value)


def _probe(nvml: Any) -> NvidiaProbe:
    """The NVML calls themselves; any exception propagates to :func:`probe_nvml`."""
    nvml.nvmlInit()
    try:
        notes: list[str] = []
        version = _text(nvml.nvmlSystemGetDriverVersion())
        cuda: str | None = None
        try:
            cuda = cuda_version_from_int(int(nvml.nvmlSystemGetCudaDriverVersion()))
        except Exception as exc:  # FunctionNotFound on old drivers: the version stays unknown
            notes.append(T(M.NOTE_NVML_NO_CUDA, error=_exc_text(exc)))
        gpus: list[Gpu] = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            try:
                gpus.append(_probe_gpu(nvml, index))
            except Exception as exc:
                status = describe_nvml_error(exc, nvml)
                if status.state is DriverState.GPU_LOST:
                    raise
                notes.append(T(M.NOTE_NVML_GPU_UNREADABLE, index=index, error=_exc_text(exc)))
        driver = NvidiaDriver(version=version, cuda_version=cuda)
        message = T(M.DRV_OK_CUDA, version=version, cuda=cuda) if cuda else T(M.DRV_OK, version=version)
        return NvidiaProbe(DriverStatus(DriverState.OK, message, "", source="nvml"), driver, gpus, notes)
    finally:
        # shutting down a half-initialised NVML must not hide the real result
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def _optional(call: Any, *args: Any) -> Any:
    """An NVML call whose failure (NotSupported, NoPermission, FunctionNotFound) means 'unknown'."""
    try:
        return call(*args)
    except Exception as exc:
        if type(exc).__name__ == "NVMLError_GpuIsLost":
            raise
        return None


def _probe_gpu(nvml: Any, index: int) -> Gpu:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = _text(nvml.nvmlDeviceGetName(handle))
    uuid = _optional(nvml.nvmlDeviceGetUUID, handle)
    cc = _optional(nvml.nvmlDeviceGetCudaComputeCapability, handle)
    memory = _optional(nvml.nvmlDeviceGetMemoryInfo, handle)
    pci = _optional(nvml.nvmlDeviceGetPciInfo, handle)
    mig = _optional(nvml.nvmlDeviceGetMigMode, handle)
    arch = _optional(nvml.nvmlDeviceGetArchitecture, handle)
    pci_id = bus = None
    if pci is not None:
        packed = getattr(pci, "pciDeviceId", None)
        pci_id = pci_id_from_packed(int(packed)) if isinstance(packed, int) else None
        raw_bus = getattr(pci, "busId", None)
        bus = _text(raw_bus) if raw_bus else None
    mig_mode = None
    if isinstance(mig, (list, tuple)) and mig:
        # [current, pending]; NVML_DEVICE_MIG_ENABLE = 1 (nvml.h)
        mig_mode = "enabled" if int(mig[0]) == 1 else "disabled"
    return Gpu(
        vendor="nvidia",
        name=name,
        pci_id=pci_id,
        compute_capability=f"{int(cc[0])}.{int(cc[1])}" if isinstance(cc, (list, tuple)) and len(cc) == 2
        else None,
        memory_mib=int(memory.total) // (1024 * 1024) if memory is not None else None,
        uuid=_text(uuid) if uuid else None,
        pci_bus=bus,
        mig_mode=mig_mode,
        architecture=NVML_ARCHITECTURES.get(arch) if isinstance(arch, int) else None,
    )


def _import_pynvml() -> Any:
    import pynvml

    return pynvml


def probe_nvml(nvml: Any = None, timeout: float = NVML_TIMEOUT_S) -> NvidiaProbe:
    """Ask NVML for the driver and GPUs; never raises, never blocks longer than ``timeout``.

    ``nvml`` is the ``pynvml`` module or a stand-in with the same names; None imports pynvml.
    """
    if nvml is None:
        try:
            nvml = _import_pynvml()
        except Exception as exc:  # the wizard's own install is broken: not the user's driver
            return NvidiaProbe(DriverStatus(
                DriverState.ERROR,
                T(M.DRV_BINDING_BROKEN, error=_exc_text(exc)),
                T(M.DRV_BINDING_BROKEN_HINT),
                source="nvml",
            ))
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = _probe(nvml)
        except BaseException as exc:  # reported through the box; a thread must not die loudly
            box["error"] = exc

    thread = threading.Thread(target=work, name="nvml-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return NvidiaProbe(DriverStatus(
            DriverState.ERROR,
            T(M.DRV_TIMEOUT, seconds=f"{timeout:g}"),
            T(M.DRV_TIMEOUT_HINT),
            source="nvml",
        ))
    if "result" in box:
        result: NvidiaProbe = box["result"]
        return result
    return NvidiaProbe(describe_nvml_error(box["error"], nvml))
