"""Turn a machine profile into a simulated machine, faked only at the edges of the world.

- :func:`fake_nvml`: a stand-in for the ``pynvml`` module (same function and exception names).
- :func:`write_fake_nvidia_smi`: an executable ``nvidia-smi`` that answers ``--query-gpu`` and
  ``-q -x`` as that machine's would.
- :func:`write_fake_sysfs`: ``/sys`` PCI devices, amdkfd topology, pci.ids, os-release, efivars.
- :func:`write_fake_python`: an executable "python" that answers the probe as that Python would.
- :func:`simulated_host`: all of it wired into a :class:`~wizard.core.detect.host.Host`.

Recorded outputs here are our own fixture text, written in the documented formats.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wizard.core.detect.host import CommandResult, Host, run_command
from wizard.core.model.machine import Gpu, Machine, PythonTarget

GIB = 1024**3
MIB = 1024**2
NVML_ERROR_NAMES = (
    "LibraryNotFound", "DriverNotLoaded", "LibRmVersionMismatch", "NoPermission", "OperatingSystem",
    "GpuIsLost", "NotSupported", "FunctionNotFound", "Unknown", "InsufficientPower", "ResetRequired",
    "Uninitialized", "Timeout",
)


# --------------------------------------------------------------------------- NVML


class NVMLError(Exception):
    """Base of the fake NVML errors, like ``pynvml.NVMLError``."""


def _error_classes() -> dict[str, type[NVMLError]]:
    return {f"NVMLError_{n}": type(f"NVMLError_{n}", (NVMLError,), {}) for n in NVML_ERROR_NAMES}


ERRORS = _error_classes()


def fake_nvml(
    machine: Machine | None = None,
    *,
    fail_init: str | None = None,
    fail: dict[str, str] | None = None,
    hang: Callable[[], None] | None = None,
) -> types.ModuleType:
    """A module object with pynvml's names describing ``machine``'s NVIDIA driver and GPUs.

    ``fail_init`` names an error class (``"DriverNotLoaded"``) that ``nvmlInit`` raises;
    ``fail`` maps a function name to the error class it raises; ``hang`` is called by
    ``nvmlInit`` first (a blocking function simulates a lost GPU that never answers).
    """
    mod = types.ModuleType("pynvml_fake")
    mod.NVMLError = NVMLError  # type: ignore[attr-defined]
    for name, cls in ERRORS.items():
        setattr(mod, name, cls)
    fail = dict(fail or {})
    driver = machine.nvidia_driver if machine else None
    gpus = [g for g in (machine.gpus if machine else []) if g.vendor == "nvidia"]
    state = {"init": 0}

    def failing(name: str) -> None:
        if name in fail:
            raise ERRORS[f"NVMLError_{fail[name]}"]()

    def nvmlInit() -> None:
        if hang is not None:
            hang()
        if fail_init:
            raise ERRORS[f"NVMLError_{fail_init}"]()
        if driver is None:
            raise ERRORS["NVMLError_LibraryNotFound"]()
        state["init"] += 1

    def nvmlShutdown() -> None:
        state["init"] -= 1

    def nvmlSystemGetDriverVersion() -> str:
        failing("nvmlSystemGetDriverVersion")
        assert driver is not None
        return driver.version

    def nvmlSystemGetCudaDriverVersion() -> int:
        failing("nvmlSystemGetCudaDriverVersion")
        assert driver is not None and driver.cuda_version
        major, minor = driver.cuda_version.split(".")
        return int(major) * 1000 + int(minor) * 10  # nvml.h: 12080 for 12.8

    def nvmlDeviceGetCount() -> int:
        failing("nvmlDeviceGetCount")
        return len(gpus)

    def nvmlDeviceGetHandleByIndex(index: int) -> Gpu:
        failing("nvmlDeviceGetHandleByIndex")
        return gpus[index]

    def nvmlDeviceGetName(h: Gpu) -> str:
        failing("nvmlDeviceGetName")
        return h.name

    def nvmlDeviceGetUUID(h: Gpu) -> str:
        failing("nvmlDeviceGetUUID")
        return h.uuid or f"GPU-{gpus.index(h):08d}-0000-0000-0000-000000000000"

    def nvmlDeviceGetCudaComputeCapability(h: Gpu) -> tuple[int, int]:
        failing("nvmlDeviceGetCudaComputeCapability")
        assert h.compute_capability
        major, minor = h.compute_capability.split(".")
        return int(major), int(minor)

    def nvmlDeviceGetMemoryInfo(h: Gpu) -> Any:
        failing("nvmlDeviceGetMemoryInfo")
        total = (h.memory_mib or 0) * MIB
        return types.SimpleNamespace(total=total, free=total, used=0)

    def nvmlDeviceGetPciInfo(h: Gpu) -> Any:
        failing("nvmlDeviceGetPciInfo")
        vendor, device = (h.pci_id or "10de:0000").split(":")
        return types.SimpleNamespace(
            busId=f"00000000:{gpus.index(h) + 1:02X}:00.0".encode(),  # bytes, as in the ctypes struct
            pciDeviceId=(int(device, 16) << 16) | int(vendor, 16),
        )

    def nvmlDeviceGetMigMode(h: Gpu) -> list[int]:
        if "nvmlDeviceGetMigMode" in fail:
            failing("nvmlDeviceGetMigMode")
        if h.mig_mode is None:
            raise ERRORS["NVMLError_NotSupported"]()
        return [1 if h.mig_mode == "enabled" else 0, 0]

    def nvmlDeviceGetArchitecture(h: Gpu) -> int:
        failing("nvmlDeviceGetArchitecture")
        return 0xFFFFFFFF  # NVML_DEVICE_ARCH_UNKNOWN

    for fn in (nvmlInit, nvmlShutdown, nvmlSystemGetDriverVersion, nvmlSystemGetCudaDriverVersion,
               nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex, nvmlDeviceGetName, nvmlDeviceGetUUID,
               nvmlDeviceGetCudaComputeCapability, nvmlDeviceGetMemoryInfo, nvmlDeviceGetPciInfo,
               nvmlDeviceGetMigMode, nvmlDeviceGetArchitecture):
        setattr(mod, fn.__name__, fn)
    mod.state = state  # type: ignore[attr-defined]
    return mod


# --------------------------------------------------------------------------- nvidia-smi


def smi_csv(machine: Machine, *, compute_cap: bool = True) -> str:
    """``--query-gpu=index,name,uuid,driver_version[,compute_cap],memory.total,pci.bus_id,
    pci.device_id --format=csv,noheader,nounits`` as that machine prints it."""
    assert machine.nvidia_driver is not None
    lines = []
    for index, gpu in enumerate(g for g in machine.gpus if g.vendor == "nvidia"):
        vendor, device = (gpu.pci_id or "10de:0000").split(":")
        cells = [str(index), gpu.name, f"GPU-{index:08d}-1111-2222-3333-444444444444",
                 machine.nvidia_driver.version]
        if compute_cap:
            cells.append(gpu.compute_capability or "[N/A]")
        cells += [str(gpu.memory_mib) if gpu.memory_mib else "[N/A]", f"00000000:{index + 1:02X}:00.0",
                  f"0x{device.upper()}{vendor.upper()}"]
        lines.append(", ".join(cells))
    return "\n".join(lines) + "\n"


def smi_xml(machine: Machine) -> str:
    """``nvidia-smi -q -x``, trimmed to the elements detection reads (DTD v12 layout)."""
    assert machine.nvidia_driver is not None
    gpus = "".join(
        f'<gpu id="00000000:{i + 1:02X}:00.0"><product_name>{g.name}</product_name></gpu>'
        for i, g in enumerate(g for g in machine.gpus if g.vendor == "nvidia"))
    return ('<?xml version="1.0" ?>\n<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">\n'
            f"<nvidia_smi_log><driver_version>{machine.nvidia_driver.version}</driver_version>"
            f"<cuda_version>{machine.nvidia_driver.cuda_version}</cuda_version>"
            f"<attached_gpus>{len(machine.gpus)}</attached_gpus>{gpus}</nvidia_smi_log>\n")


def write_script(path: Path, body: str) -> Path:
    """An executable /bin/sh script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The simulated machine's PATH holds only fakes; the script's own tools come from the real one.
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def write_fake_nvidia_smi(
    folder: Path,
    machine: Machine | None = None,
    *,
    old: bool = False,
    query_output: str | None = None,
    exit_code: int = 0,
    stderr: str = "",
    sleep: float | None = None,
) -> Path:
    """An ``nvidia-smi`` executable in ``folder`` answering as ``machine``'s would.

    ``old``: an R470-era binary that rejects ``compute_cap``. ``query_output`` replaces the
    CSV (truncated, garbage...). ``exit_code``/``stderr``: a failing binary. ``sleep``: a hang.
    """
    data = folder / "nvidia-smi.data"
    data.mkdir(parents=True, exist_ok=True)
    if machine is not None and machine.nvidia_driver is not None:
        (data / "new.csv").write_text(query_output if query_output is not None else smi_csv(machine))
        (data / "old.csv").write_text(query_output if query_output is not None else
                                      smi_csv(machine, compute_cap=False))
        (data / "q.xml").write_text(smi_xml(machine))
    else:
        for name in ("new.csv", "old.csv", "q.xml"):
            (data / name).write_text(query_output or "")
    (data / "stderr.txt").write_text(stderr)
    d = shlex.quote(str(data))
    hang = f"sleep {sleep}\n" if sleep else ""
    failing = f'cat {d}/stderr.txt >&2; cat {d}/new.csv; exit {exit_code}\n' if exit_code else ""
    old_rule = ('  *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; exit 2;;\n'
                if old else "")
    body = (
        f"{hang}{failing}"
        'case "$*" in\n'
        f"{old_rule}"
        f"  *--query-gpu=*compute_cap*) cat {d}/new.csv;;\n"
        f"  *--query-gpu=*) cat {d}/old.csv;;\n"
        f'  "-q -x") cat {d}/q.xml;;\n'
        '  *) echo "unexpected arguments: $*" >&2; exit 9;;\n'
        "esac\n"
    )
    return write_script(folder / "nvidia-smi", body)


# --------------------------------------------------------------------------- sysfs


def _os_release(version: str) -> str:
    """os-release(5) text for a profile's ``os.version`` such as 'Ubuntu 24.04 (WSL2)'."""
    words = version.replace("(WSL2)", "").replace("(WSL)", "").split()
    name, version_id = " ".join(words[:-1]), words[-1]
    full_name = {"Fedora": "Fedora Linux", "Debian": "Debian GNU/Linux"}.get(name, name)
    return (f'NAME="{full_name}"\nVERSION_ID="{version_id}"\nID={name.lower()}\n'
            f'PRETTY_NAME="{full_name} {version_id}"\n# a comment\n')


def write_fake_sysfs(root: Path, machine: Machine, *, nvidia_driver_bound: str | None = None) -> None:
    """``root`` becomes that machine's /sys, /etc/os-release, /usr/share/misc/pci.ids.

    NVIDIA GPUs are bound to ``nvidia_driver_bound`` (None: no driver, as on a fresh install).
    A QEMU display adapter is added too: detection must ignore adapters of other vendors.
    """
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "os-release").write_text(_os_release(machine.os.version))
    if machine.os.secure_boot is not None:
        var = root / "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        var.parent.mkdir(parents=True, exist_ok=True)
        var.write_bytes(b"\x06\x00\x00\x00" + bytes([1 if machine.os.secure_boot else 0]))
    if machine.os.wsl:
        (root / "usr/lib/wsl/lib").mkdir(parents=True, exist_ok=True)
    devices = root / "sys/bus/pci/devices"
    drivers = root / "sys/bus/pci/drivers"
    devices.mkdir(parents=True, exist_ok=True)
    entries: list[tuple[str, str, str, str, str | None, Gpu | None]] = [
        ("0000:00:02.0", "1234", "1111", "0x030000", None, None)]  # QEMU stdvga
    pci_ids = ["# pci.ids fixture", "1234  Technical Corp.", "\t1111  QEMU Virtual Video Controller"]
    by_vendor: dict[str, list[str]] = {}
    for index, gpu in enumerate(machine.gpus):
        if not gpu.pci_id or gpu.vendor not in ("nvidia", "amd", "intel"):
            continue
        vendor, device = gpu.pci_id.split(":")
        driver = {"nvidia": nvidia_driver_bound, "amd": "amdgpu", "intel": "i915"}[gpu.vendor]
        klass = "0x030200" if "Tesla" in gpu.name else "0x030000"
        entries.append((f"0000:{index + 3:02x}:00.0", vendor, device, klass, driver, gpu))
        by_vendor.setdefault(vendor, [])
        line = f"\t{device}  {gpu.name}"
        if line not in by_vendor[vendor]:
            by_vendor[vendor].append(line)
    for vendor, lines in sorted(by_vendor.items()):
        pci_ids.append(f"{vendor}  Vendor {vendor}")
        pci_ids.extend(lines)
    pci_ids += ["C 03  Display controller", "\t00  VGA compatible controller"]
    kfd_node = 1
    for address, vendor, device, klass, driver, maybe_gpu in entries:
        folder = devices / address
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vendor").write_text(f"0x{vendor}\n")
        (folder / "device").write_text(f"0x{device}\n")
        (folder / "class").write_text(f"{klass}\n")
        if driver:
            (drivers / driver).mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(drivers / driver, folder), folder / "driver")
        if maybe_gpu is not None and maybe_gpu.vendor == "amd":
            if maybe_gpu.memory_mib:
                (folder / "mem_info_vram_total").write_text(f"{maybe_gpu.memory_mib * MIB}\n")
            if maybe_gpu.gfx_arch:
                _write_kfd_node(root, kfd_node, address, maybe_gpu.gfx_arch)
                kfd_node += 1
    misc = root / "usr/share/misc"
    misc.mkdir(parents=True, exist_ok=True)
    (misc / "pci.ids").write_text("\n".join(pci_ids) + "\n")


def _write_kfd_node(root: Path, node: int, address: str, gfx: str) -> None:
    """An amdkfd topology node as the amdgpu driver publishes it (gfx_target_version, location_id)."""
    nodes = root / "sys/class/kfd/kfd/topology/nodes"
    cpu = nodes / "0"
    cpu.mkdir(parents=True, exist_ok=True)
    (cpu / "properties").write_text("cpu_cores_count 16\nsimd_count 0\ngfx_target_version 0\n")
    digits = gfx.removeprefix("gfx")
    major, minor, step = int(digits[:-2]), int(digits[-2], 16), int(digits[-1], 16)
    _, bus, rest = address.split(":")
    device, function = rest.split(".")
    location = (int(bus, 16) << 8) | (int(device, 16) << 3) | int(function, 16)
    folder = nodes / str(node)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "properties").write_text(
        f"cpu_cores_count 0\nsimd_count 192\ngfx_target_version {major * 10000 + minor * 100 + step}\n"
        f"location_id {location}\ndomain 0\n")


# --------------------------------------------------------------------------- Python


def probe_answer(target: PythonTarget, executable: str, prefix: str) -> dict[str, Any]:
    """What ``probe_script.py`` prints for ``target`` (our recorded answer, same keys)."""
    return {
        "probe": 1,
        "version": target.version,
        "implementation": target.implementation,
        "bits": target.bits,
        "free_threaded": target.free_threaded,
        "executable": executable,
        "prefix": prefix,
        "base_prefix": prefix if target.source != "venv" else "/usr",
        "in_venv": target.source in ("venv", "uv"),
        "venv_creator": "uv" if target.source == "uv" else None,
        "conda": target.source == "conda",
        "externally_managed": target.externally_managed,
        "pip_version": "24.2",
        "torch_version": target.installed_torch.version if target.installed_torch else None,
        "user_site_enabled": target.source not in ("venv", "uv"),
        "user_site_torch": target.user_site_torch,
        "platform": "linux",
    }


def write_fake_python(path: Path, answer: dict[str, Any] | str, *, sleep: float | None = None,
                      exit_code: int = 0) -> Path:
    """An executable that answers the probe with ``answer`` (a dict as JSON, or raw text)."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    data = path.with_name(path.name + ".answer")
    path.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(text)
    hang = f"sleep {sleep}\n" if sleep else ""
    return write_script(path, f"{hang}cat {shlex.quote(str(data))}\nexit {exit_code}\n")


# --------------------------------------------------------------------------- whole machines


def _python_home(tmp: Path, machine: Machine, env: dict[str, str]) -> None:
    """Give the simulated Linux machine its target Python where detection will look for it."""
    target = machine.python
    if target is None:
        return
    if target.source == "conda":
        prefix = tmp / "miniconda3/envs/work"
        env["CONDA_PREFIX"] = str(prefix)
    else:
        prefix = tmp / "project/.venv"
        env["VIRTUAL_ENV"] = str(prefix)
    exe = prefix / "bin/python3"
    write_fake_python(exe, probe_answer(target, str(exe), str(prefix)))


class RecordedRunner:
    """A command runner that answers from recorded outputs (for simulated Windows and macOS).

    ``answers`` maps a key (the program's file name, lowercase, or its full path) to
    (returncode, stdout); unknown commands fail as a missing program would.
    """

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        program = args[0]
        name = program.replace("\\", "/").rsplit("/", 1)[-1].lower()
        for key in (program, name):
            if key in self.answers:
                code, out = self.answers[key]
                return CommandResult(args, code, out, "")
        return CommandResult(args, None, error="No such file or directory")


def cim_json(machine: Machine) -> str:
    """``Get-CimInstance Win32_VideoController | Select ... | ConvertTo-Json`` for that machine."""
    items = []
    for gpu in machine.gpus:
        vendor, device = (gpu.pci_id or "0000:0000").upper().split(":")
        ram = min((gpu.memory_mib or 0) * MIB, 0xFFFFFFFF)  # AdapterRAM is a uint32
        items.append({
            "Name": gpu.name,
            "PNPDeviceID": f"PCI\\VEN_{vendor}&DEV_{device}&SUBSYS_12345678&REV_A1\\4&1A2B3C4D&0&0008",
            "DriverVersion": "32.0.15.6636" if gpu.vendor == "nvidia" else "31.0.24033.1003",
            "AdapterCompatibility": {"nvidia": "NVIDIA", "amd": "Advanced Micro Devices, Inc."}.get(
                gpu.vendor, "Intel Corporation"),
            "AdapterRAM": ram,
        })
    # ConvertTo-Json prints a lone object, not a list, when there is one adapter.
    return json.dumps(items[0] if len(items) == 1 else items, indent=4)


def simulated_host(machine: Machine, tmp: Path, *, nvml_source: str = "nvml") -> Host:
    """A Host that looks like ``machine`` from every edge detection reads.

    ``nvml_source``: "nvml" (NVML answers), "nvidia-smi" (NVML fails with an unknown error and
    a fake nvidia-smi answers instead).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {"PATH": str(tmp / "bin"), "HOME": str(tmp / "home")}
    (tmp / "bin").mkdir(exist_ok=True)
    (tmp / "home").mkdir(exist_ok=True)
    disk_free = (machine.disk_free_gib or 0) * GIB
    nvml = fake_nvml(machine) if nvml_source == "nvml" else fake_nvml(machine, fail_init="Unknown")
    common: dict[str, Any] = {
        "nvml": nvml, "home": tmp / "home", "cwd": str(tmp / "cwd"), "data_dir": str(tmp / "data"),
        "cache_dir": str(tmp / "cache"), "temp_dir": str(tmp),
        "disk_free_bytes": lambda _path: int(disk_free), "own_executable": sys.executable,
        "long_paths_enabled": lambda: machine.os.long_paths_enabled if machine.os.family == "windows" else None,
    }
    if machine.os.family == "linux":
        root = tmp / "root"
        write_fake_sysfs(root, machine, nvidia_driver_bound="nvidia" if machine.nvidia_driver else None)
        if machine.nvidia_driver is not None and nvml_source == "nvidia-smi":
            write_fake_nvidia_smi(tmp / "bin", machine)
        _python_home(tmp, machine, env)
        release = "5.15.153.1-microsoft-standard-WSL2" if machine.os.wsl else "6.8.0-45-generic"
        return Host(system="Linux", release=release, version="#1 SMP", machine=machine.os.arch,
                    environ=env, run=lambda argv, timeout: run_command(argv, timeout, env), root=root,
                    glibc=machine.os.glibc, **common)
    if machine.os.family == "macos":
        answers = {"sysctl": (0, f"{machine.gpus[0].name}\n" if machine.gpus else "Apple M1\n")}
        exe = "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3"
        env["PATH"] = "/Library/Frameworks/Python.framework/Versions/3.12/bin:/usr/bin"
        if machine.python:
            answers[exe] = (0, json.dumps(probe_answer(machine.python, exe, exe.rsplit("/bin", 1)[0])))
        files = {exe}
        return Host(system="Darwin", release="24.1.0", version=machine.os.version, machine=machine.os.arch,
                    environ=env, run=RecordedRunner(answers), root=tmp / "root", is_file=files.__contains__,
                    **common)
    # Windows
    user = r"C:\Users\ann\AppData\Local"
    exe = user + r"\Programs\Python\Python3{}\python.exe".format(
        machine.python.version.split(".")[1] if machine.python else "12")
    env = {"PATH": r"C:\Windows\System32;C:\Windows", "SystemRoot": r"C:\Windows",
           "ProgramFiles": r"C:\Program Files", "LOCALAPPDATA": user, "USERPROFILE": r"C:\Users\ann"}
    launcher = r"C:\Windows\py.exe"
    minor = exe.split("Python3")[1].split("\\")[0]
    answers = {
        "powershell.exe": (0, cim_json(machine)),
        launcher: (0, f" -V:3.{minor} *        {exe}\n"),
    }
    if machine.python:
        answers[exe] = (0, json.dumps(probe_answer(machine.python, exe, exe.rsplit("\\", 1)[0])))
    files = {launcher, exe, r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"}
    return Host(system="Windows", release="10", version=machine.os.version, machine="AMD64", environ=env,
                run=RecordedRunner(answers), root=tmp / "root", is_file=files.__contains__, **common)
