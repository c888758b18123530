"""Detect the machine: OS, NVIDIA driver and GPUs, other GPUs, Python interpreters, disk.

:func:`detect_machine` gathers every source in parallel, each with its own timeout, and turns
every failure into a driver state or a note: it never raises for the machine's sake (only for a
bad ``--python`` path, which is the person's input). Every edge of the world comes through a
:class:`~wizard.core.detect.host.Host`, so tests can hand it a simulated Linux or Windows box.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import TypeVar

from wizard.core import messages as M
from wizard.core.detect.disk import detect_disk
from wizard.core.detect.host import CommandResult, Host, Runner, run_command
from wizard.core.detect.nvidia_smi import explain_not_loaded, kernel_module_version, probe_nvidia_smi
from wizard.core.detect.nvml import NVML_TIMEOUT_S, NvidiaProbe, probe_nvml
from wizard.core.detect.pci import PciDevice, amd_gfx_from_sysfs, jetson_module, scan_sysfs
from wizard.core.detect.python_probe import PROBE_TIMEOUT_S, PythonScan, detect_python, scan_pythons
from wizard.core.detect.system import detect_os
from wizard.core.detect.windows import (
    POWERSHELL_TIMEOUT_S,
    WindowsAdapter,
    list_video_controllers,
    nvidia_version_from_wddm,
)
from wizard.core.knowledge import gpu_catalog
from wizard.core.model.machine import DriverState, DriverStatus, Gpu, Machine, NvidiaDriver, OsInfo, PythonTarget
from wizard.core.text import T

__all__ = [
    "CommandResult", "Host", "Runner", "detect_machine", "detect_python", "run_command",
]

R = TypeVar("R")
# A source that has not answered this long after its own timeout is abandoned with a note.
_GRACE_S = 10.0
SYSCTL = "/usr/sbin/sysctl"


def _result(future: Future[R], timeout: float, fallback: R, what: str, notes: list[str]) -> R:
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        notes.append(T(M.NOTE_GAVE_UP, what=T(M.DETECT_WHAT[what])))
    except Exception as exc:  # a bug in one source must not cost the others
        notes.append(T(M.NOTE_COULD_NOT_DETECT, what=T(M.DETECT_WHAT[what]), error=f"{type(exc).__name__}: {exc}"))
    return fallback


def _nvidia_chain(host: Host, nvml_timeout: float) -> tuple[NvidiaProbe, list[str]]:
    """NVML first, then nvidia-smi, then the kernel module's version file (Linux)."""
    notes: list[str] = []
    nvml = probe_nvml(host.nvml, nvml_timeout)
    notes.extend(nvml.notes)
    if nvml.status.state is DriverState.OK:
        return nvml, notes
    smi = probe_nvidia_smi(host)
    if smi is not None:
        notes.extend(smi.notes)
        if smi.status.state is DriverState.OK:
            notes.append(T(M.NOTE_NVML_FELL_BACK, message=nvml.status.message))
            return smi, notes
        vague = nvml.status.state in (DriverState.ERROR, DriverState.NO_DRIVER)
        if vague and smi.status.state is not DriverState.ERROR:
            nvml = NvidiaProbe(smi.status)  # nvidia-smi named the problem more precisely
    if not host.is_windows:
        version = kernel_module_version(host)
        if version:
            nvml = NvidiaProbe(nvml.status, NvidiaDriver(version, None))
            notes.append(T(M.NOTE_KERNEL_MODULE, version=version))
    return nvml, notes


def _nvidia_from_pci(name: str, pci_id: str | None, notes: list[str]) -> Gpu:
    """An NVIDIA GPU no driver describes. Its compute capability stays None (nothing read it,
    SCHEMA.md); the architecture is the catalog's guess, said in a note."""
    guess = gpu_catalog.infer_nvidia(name, pci_id)
    if guess is None:
        return Gpu(vendor="nvidia", name=name, pci_id=pci_id)
    basis = M.GUESS_BASIS.get(guess.basis)
    notes.append(T(M.NOTE_ARCH_GUESS, name=name, basis=T(basis) if basis else f"its {guess.basis}",
                   architecture=guess.architecture, cc=guess.compute_capability))
    return Gpu(vendor="nvidia", name=name, pci_id=pci_id, architecture=guess.architecture)


def _other_gpu(vendor: str, name: str, pci_id: str | None, memory: int | None, gfx: str | None) -> Gpu:
    if vendor == "amd":
        return Gpu(vendor="amd", name=name, pci_id=pci_id, memory_mib=memory,
                   gfx_arch=gfx or gpu_catalog.infer_amd_gfx(name, pci_id))
    discrete = gpu_catalog.intel_is_discrete(name, pci_id)
    return Gpu(vendor="intel", name=name, pci_id=pci_id, memory_mib=memory, integrated=not discrete)


def _with_architecture(gpu: Gpu) -> Gpu:
    """Name an NVIDIA GPU's architecture the catalog's way, so every source says it alike."""
    if gpu.vendor != "nvidia" or not gpu.compute_capability:
        return gpu
    arch = gpu_catalog.architecture_name(gpu.compute_capability)
    return replace(gpu, architecture=arch if arch != "unknown" else gpu.architecture)


def _gpus_linux(host: Host, nvidia: NvidiaProbe, pci: list[PciDevice], notes: list[str]) -> list[Gpu]:
    gpus = list(nvidia.gpus)
    if not gpus:
        gpus = [_nvidia_from_pci(d.name, d.pci_id, notes) for d in pci if d.vendor == "nvidia"]
    for device in pci:
        if device.vendor in ("amd", "intel"):
            gfx = amd_gfx_from_sysfs(host, device.address) if device.vendor == "amd" else None
            gpus.append(_other_gpu(device.vendor, device.name, device.pci_id, device.vram_mib, gfx))
    jetson = jetson_module(host)
    if jetson is not None:  # the SoC's GPU: integrated, named by the module when no driver listed it
        notes.append(T(M.NOTE_JETSON, model=jetson.model, l4t=jetson.l4t or T(M.UNKNOWN)))
        gpus = [replace(g, integrated=True) if g.vendor == "nvidia" else g for g in gpus]
        if not any(g.vendor == "nvidia" for g in gpus):
            gpus.insert(0, Gpu(vendor="nvidia", name=jetson.model, integrated=True))
    return gpus


def _gpus_windows(nvidia: NvidiaProbe, adapters: list[WindowsAdapter], notes: list[str]) -> list[Gpu]:
    gpus = list(nvidia.gpus)
    vendors = {"10de": "nvidia", "1002": "amd", "8086": "intel"}
    for adapter in adapters:
        vendor = vendors.get(adapter.vendor_id or "")
        if vendor == "nvidia" and not nvidia.gpus:
            # Without a driver Windows shows "Microsoft Basic Display Adapter": the name is useless.
            name = adapter.name
            if "nvidia" not in name.lower():
                name = f"NVIDIA graphics device [{adapter.pci_id}]"
            gpus.append(_nvidia_from_pci(name, adapter.pci_id, notes))
        elif vendor in ("amd", "intel"):
            gpus.append(_other_gpu(vendor, adapter.name, adapter.pci_id, adapter.memory_mib, None))
    return gpus


def _apple_gpu(host: Host, os_info: OsInfo, notes: list[str]) -> list[Gpu]:
    if os_info.arch != "arm64":
        return []  # Intel Macs: PyTorch has no GPU build for them
    result = host.run([SYSCTL, "-n", "machdep.cpu.brand_string"], 3.0)
    name = result.stdout.strip() if result.ok and result.stdout.strip() else "Apple silicon GPU"
    if not result.ok:
        notes.append(T(M.NOTE_CHIP_NAME, reason=result.why_failed()))
    return [Gpu(vendor="apple", name=name, integrated=True)]


def _final_status(host: Host, os_info: OsInfo, status: DriverStatus, nvidia_seen: bool) -> DriverStatus:
    """Sharpen the words of a failed driver state with what else is known about the machine."""
    if status.state is DriverState.NO_DRIVER:
        if os_info.wsl:
            return DriverStatus(DriverState.NO_DRIVER, T(M.DRV_WSL_NONE), T(M.DRV_WSL_NONE_HINT), status.source)
        if not nvidia_seen:
            return DriverStatus(DriverState.NO_DRIVER, T(M.DRV_NONE_NO_GPU), T(M.DRV_NONE_NO_GPU_HINT),
                                status.source)
        return DriverStatus(DriverState.NO_DRIVER, T(M.DRV_NONE_WITH_GPU), T(M.DRV_NONE_WITH_GPU_HINT),
                            status.source)
    if status.state is DriverState.NOT_LOADED and os_info.family == "linux" and not os_info.wsl:
        message, hint = explain_not_loaded(host, os_info.secure_boot)
        return DriverStatus(DriverState.NOT_LOADED, message, hint, status.source)
    return status


def detect_machine(
    host: Host | None = None,
    *,
    python: str | None = None,
    nvml_timeout: float = NVML_TIMEOUT_S,
    probe_timeout: float = PROBE_TIMEOUT_S,
) -> Machine:
    """Detect ``host`` (this machine by default) and describe it as a :class:`Machine`.

    ``python`` is the path of the target interpreter (``--python``); without it the target is
    chosen among the interpreters found (see :func:`~wizard.core.detect.python_probe.choose_target`).
    Raises :class:`~wizard.core.errors.WizardError` only when ``python`` is given and unusable.
    """
    local = host is None      # this computer: its real data folder applies to the plan
    host = host or Host.current()
    notes: list[str] = []
    os_info = detect_os(host, notes)
    macos = os_info.family == "macos"

    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="detect") as pool:
        chosen: Future[PythonTarget] | None = (
            pool.submit(detect_python, python, host, probe_timeout) if python else None)
        pythons = pool.submit(scan_pythons, host, probe_timeout)
        nvidia_future = None if macos else pool.submit(_nvidia_chain, host, nvml_timeout)
        pci_future = pool.submit(scan_sysfs, host) if os_info.family == "linux" else None
        win_notes: list[str] = []
        win_future = pool.submit(list_video_controllers, host, win_notes) if host.is_windows else None
        disk_notes: list[str] = []
        disk_future = pool.submit(detect_disk, host, disk_notes)

        wait = max(nvml_timeout, probe_timeout) + _GRACE_S
        scan = _result(pythons, wait * 2, PythonScan(None, [], []), "pythons", notes)
        target = chosen.result() if chosen is not None else scan.target  # WizardError propagates
        if nvidia_future is not None:
            unfinished = DriverStatus(DriverState.ERROR, T(M.DRV_UNFINISHED), T(M.DRV_RESTART_HINT), "detect")
            fallback: tuple[NvidiaProbe, list[str]] = (NvidiaProbe(unfinished), [])
            nvidia, nvidia_notes = _result(nvidia_future, wait, fallback, "nvidia", notes)
        else:
            nvidia = NvidiaProbe(DriverStatus(DriverState.NOT_APPLICABLE, T(M.DRV_MACOS), "", "detect"))
            nvidia_notes = []
        pci = _result(pci_future, wait, [], "pci", notes) if pci_future else []
        # PowerShell has a longer timeout of its own (a cold start can take seconds): wait for it
        adapters = _result(win_future, max(wait, POWERSHELL_TIMEOUT_S + _GRACE_S), [], "adapters",
                           notes) if win_future else []
        disk, disk_free = _result(disk_future, wait, ({}, None), "disk", notes)

    if macos:
        gpus = _apple_gpu(host, os_info, notes)
    elif host.is_windows:
        gpus = _gpus_windows(nvidia, adapters, notes)
    else:
        gpus = _gpus_linux(host, nvidia, pci, notes)
    gpus = [_with_architecture(g) for g in gpus]
    nvidia_seen = any(g.vendor == "nvidia" for g in gpus)
    status = _final_status(host, os_info, nvidia.status, nvidia_seen)
    if host.is_windows and nvidia.driver is None:
        for adapter in adapters:
            if adapter.vendor_id == "10de" and adapter.driver_version:
                version = nvidia_version_from_wddm(adapter.driver_version)
                if version:
                    notes.append(T(M.NOTE_WINDOWS_DRIVER, version=version, adapter=adapter.name))

    interpreters = [t for t in ([scan.target] if scan.target else []) + scan.others
                    if target is None or t.path != target.path]
    return Machine(
        os=os_info,
        python=target,
        nvidia_driver=nvidia.driver if status.state is not DriverState.NOT_APPLICABLE else None,
        gpus=gpus,
        disk_free_gib=disk_free,
        id="this-machine",
        description=f"Detected: {os_info.version} ({os_info.arch})",
        driver_status=status,
        interpreters=interpreters,
        disk=disk,
        notes=notes + nvidia_notes + win_notes + disk_notes + scan.notes,
        local=local,
    )
