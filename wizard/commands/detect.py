"""``torch-gpu-setup detect [--json] [--python PATH]``: what this machine has."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wizard.commands.options import add_json
from wizard.core.detect import detect_machine
from wizard.core.model.machine import Machine, PythonTarget


def register(subparsers: Any) -> None:
    """Add the ``detect`` subcommand."""
    parser = subparsers.add_parser(
        "detect",
        help="show what this machine has: OS, GPUs, NVIDIA driver, Pythons, disk",
        description="Detect the operating system, GPUs, NVIDIA driver, Python interpreters and free "
                    "disk space. --json prints a machine profile that 'plan --machine' can read.",
    )
    add_json(parser, "print the machine profile as JSON")
    parser.add_argument("--python", metavar="PATH",
                        help="the Python that will receive PyTorch (default: chosen among those found)")
    parser.set_defaults(func=run)


def _python_line(p: PythonTarget) -> str:
    facts = [f"{p.implementation} {p.version}", f"{p.bits}-bit", p.source]
    if p.free_threaded:
        facts.append("free-threaded")
    if p.externally_managed:
        facts.append("externally managed (PEP 668)")
    if p.installed_torch:
        facts.append(f"torch {p.installed_torch.version}")
    if p.user_site_torch:
        facts.append(f"user-site torch {p.user_site_torch} shadows it")
    if not p.pip_version:
        facts.append("no pip")
    return f"{', '.join(facts)}  {p.path or ''}".rstrip()


def format_machine(machine: Machine) -> str:
    """A short readable table of the detected facts."""
    os_info = machine.os
    rows: list[tuple[str, str]] = []
    os_text = f"{os_info.version} ({os_info.family}, {os_info.arch})"
    if os_info.glibc:
        os_text += f", glibc {os_info.glibc}"
    if os_info.secure_boot is not None:
        os_text += f", Secure Boot {'on' if os_info.secure_boot else 'off'}"
    rows.append(("OS", os_text))
    status = machine.driver_status
    if machine.nvidia_driver:
        driver = f"NVIDIA {machine.nvidia_driver.version}"
        if machine.nvidia_driver.cuda_version:
            driver += f" (CUDA up to {machine.nvidia_driver.cuda_version})"
        rows.append(("Driver", driver))
    if status is not None:
        rows.append(("Driver state", status.message))
        if status.hint:
            rows.append(("", status.hint))
    if not machine.gpus:
        rows.append(("GPU", "none found"))
    for index, gpu in enumerate(machine.gpus):
        facts = [gpu.name]
        if gpu.compute_capability:
            facts.append(f"compute capability {gpu.compute_capability}")
        if gpu.gfx_arch:
            facts.append(gpu.gfx_arch)
        if gpu.architecture:
            facts.append(gpu.architecture)
        if gpu.memory_mib:
            facts.append(f"{gpu.memory_mib / 1024:.0f} GiB")
        if gpu.integrated:
            facts.append("integrated")
        if gpu.pci_id:
            facts.append(f"[{gpu.pci_id}]")
        rows.append((f"GPU {index}", ", ".join(facts)))
    rows.append(("Python", _python_line(machine.python) if machine.python else "none usable found"))
    rows.extend(("", f"also: {_python_line(p)}") for p in machine.interpreters)
    if machine.disk:
        places = ", ".join(f"{k} {v:.0f} GiB" if v is not None else f"{k} unknown"
                           for k, v in machine.disk.items())
        rows.append(("Free disk", places))
    rows.extend(("Note", note) for note in machine.notes)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {text}" for label, text in rows)


def run(args: argparse.Namespace) -> int:
    """Detect this machine and print it."""
    machine = detect_machine(python=args.python)
    if args.json:
        print(json.dumps(machine.to_profile(), indent=2))
    else:
        print(format_machine(machine))
    return 0
