"""A Jetson is detected from its device tree and Jetson Linux release file, and plans without
download.pytorch.org's server-Arm CUDA wheels (simulated machines: a fake root folder)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.fakes import simulated_host
from wizard.core.detect import detect_machine
from wizard.core.detect.pci import jetson_module
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan

ORIN = Path(__file__).resolve().parents[1] / "profiles" / "extra" / "ubuntu2204-jetson-agx-orin.json"


def _write_jetson_files(root: Path, model: str, release: str | None) -> None:
    (root / "proc" / "device-tree").mkdir(parents=True, exist_ok=True)
    (root / "proc" / "device-tree" / "model").write_bytes(model.encode() + b"\x00")
    if release is not None:
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "nv_tegra_release").write_text(release, encoding="utf-8")


def test_a_jetson_without_a_gpu_listing_is_found_from_its_device_tree(tmp_path: Path) -> None:
    # JetPack 6 without nvidia-smi output: no driver listing, no PCI GPU; the module names itself.
    profile = dataclasses.replace(load_profile(ORIN), nvidia_driver=None, gpus=[])
    host = simulated_host(profile, tmp_path)
    _write_jetson_files(host.root, "NVIDIA Jetson AGX Orin Developer Kit",
                        "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64\n")
    machine = detect_machine(host)
    assert [(g.vendor, g.name, g.integrated) for g in machine.gpus] == [
        ("nvidia", "NVIDIA Jetson AGX Orin Developer Kit", True)]
    assert any("R36.4.3" in note for note in machine.notes)
    plan = make_plan(machine).to_json()
    assert plan["recommended"]["variant"] == "cpu"
    assert all(b["device"] != "cuda" for b in [plan["recommended"], *plan["alternatives"]])
    assert plan["gpus"][0]["compute_capability"] == "8.7" and plan["gpus"][0]["known_by"] == "name"
    assert any("install-pytorch-jetson-platform" in w for w in plan["warnings"])


def test_a_driver_listed_jetson_gpu_is_marked_integrated(tmp_path: Path) -> None:
    profile = load_profile(ORIN)
    listed = dataclasses.replace(profile.gpus[0], name="Orin (nvgpu)", integrated=False)
    host = simulated_host(dataclasses.replace(profile, gpus=[listed]), tmp_path)
    _write_jetson_files(host.root, "NVIDIA Jetson AGX Orin Developer Kit", None)
    machine = detect_machine(host)
    assert [(g.name, g.integrated) for g in machine.gpus] == [("Orin (nvgpu)", True)]
    assert jetson_module(host) is not None and jetson_module(host).l4t is None  # type: ignore[union-attr]
    assert not make_plan(machine).gpus[0].supported


def test_other_arm_boards_are_not_jetsons(tmp_path: Path) -> None:
    profile = load_profile(ORIN)
    host = simulated_host(profile, tmp_path)
    _write_jetson_files(host.root, "Raspberry Pi 5 Model B Rev 1.0", None)
    assert jetson_module(host) is None
    assert jetson_module(simulated_host(profile, tmp_path / "bare")) is None  # no device tree at all
