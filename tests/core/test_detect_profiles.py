"""Every profile becomes a simulated machine; detection on it gives back the profile's facts,
and the detected machine plans the same as the profile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.fakes import simulated_host
from wizard.core.detect import detect_machine
from wizard.core.model.machine import DriverState, Machine, load_profile

PROFILES = sorted((Path(__file__).resolve().parents[1] / "profiles").glob("*.json"))
NVIDIA_DRIVER_PROFILES = [p for p in PROFILES if load_profile(p).nvidia_driver is not None
                          and load_profile(p).os.family == "linux"]


def _gpu_facts(machine: Machine, detected: bool) -> list[tuple[object, ...]]:
    facts: list[tuple[object, ...]] = []
    for gpu in machine.gpus:
        memory = gpu.memory_mib
        if machine.os.family == "windows" and gpu.vendor != "nvidia" and not detected and (memory or 0) >= 4096:
            memory = None  # Win32_VideoController.AdapterRAM is a uint32: it cannot say more than 4 GiB
        facts.append((gpu.vendor, gpu.name, gpu.pci_id, gpu.compute_capability, memory, gpu.gfx_arch,
                      gpu.integrated))
    return facts


def _python_facts(machine: Machine) -> tuple[object, ...] | None:
    p = machine.python
    if p is None:
        return None
    return (p.version, p.implementation, p.bits, p.free_threaded, p.externally_managed, p.source,
            p.installed_torch)


def assert_same_facts(detected: Machine, profile: Machine) -> None:
    # detection always knows the home folder (the simulated host's); a profile may leave it unknown
    assert detected.os.user_home
    assert dataclasses.replace(detected.os, user_home=profile.os.user_home) == profile.os
    assert detected.nvidia_driver == profile.nvidia_driver
    assert _gpu_facts(detected, True) == _gpu_facts(profile, False)
    assert _python_facts(detected) == _python_facts(profile)
    assert detected.disk_free_gib == pytest.approx(profile.disk_free_gib, abs=0.1)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_detect_gives_the_profile_back(path: Path, tmp_path: Path) -> None:
    profile = load_profile(path)
    detected = detect_machine(simulated_host(profile, tmp_path))
    assert_same_facts(detected, profile)
    assert detected.driver_status is not None
    expected_state = (DriverState.NOT_APPLICABLE if profile.os.family == "macos"
                      else DriverState.OK if profile.nvidia_driver else DriverState.NO_DRIVER)
    assert detected.driver_status.state is expected_state


@pytest.mark.parametrize("path", NVIDIA_DRIVER_PROFILES, ids=lambda p: p.stem)
def test_nvidia_smi_fallback_gives_the_same_facts(path: Path, tmp_path: Path) -> None:
    profile = load_profile(path)
    detected = detect_machine(simulated_host(profile, tmp_path, nvml_source="nvidia-smi"))
    assert_same_facts(detected, profile)
    assert detected.driver_status is not None
    assert detected.driver_status.source == "nvidia-smi"
    assert any("NVML failed" in note for note in detected.notes)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_detected_machine_plans_like_its_profile(path: Path, tmp_path: Path) -> None:
    planner = pytest.importorskip("wizard.core.plan.planner")
    profile = load_profile(path)
    detected = detect_machine(simulated_host(profile, tmp_path))
    from_profile = planner.make_plan(profile).to_json()
    from_detect = planner.make_plan(detected).to_json()
    for key in ("status", "recommended", "gpus"):
        assert from_detect[key] == from_profile[key], key


def test_profile_round_trips_through_detect_json(tmp_path: Path) -> None:
    """``detect --json`` output is a valid machine-profile/1 that ``plan --machine`` reads back."""
    from wizard.core.model.machine import machine_from_profile

    profile = load_profile(PROFILES[0])
    detected = detect_machine(simulated_host(profile, tmp_path))
    again = machine_from_profile(detected.to_profile(), "detect.json")
    assert_same_facts(again, profile)
