"""NVIDIA detection under failure: every NVML error class, a hanging NVML, nvidia-smi that is
old, truncated, garbage, failing or hanging, and the kernel module's version files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.fakes import fake_nvml, simulated_host, write_fake_nvidia_smi
from wizard.core.detect import detect_machine
from wizard.core.detect.host import Host
from wizard.core.detect.nvidia_smi import (
    find_nvidia_smi,
    parse_cuda_version,
    parse_proc_version,
    parse_query_csv,
    probe_nvidia_smi,
)
from wizard.core.detect.nvml import cuda_version_from_int, pci_id_from_packed, probe_nvml
from wizard.core.model.machine import DriverState, Machine, load_profile

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "research" / "samples"


@pytest.fixture
def rtx5090() -> Machine:
    return load_profile(PROFILES / "ubuntu2404-rtx5090-drv590.json")


@pytest.fixture
def two_gpus() -> Machine:
    return load_profile(PROFILES / "fedora41-1080ti-5090-drv580.json")


# --------------------------------------------------------------------------- NVML


def _block(event: threading.Event) -> None:
    event.wait(30)  # an NVML call on a lost GPU: returns only when the test lets it


@pytest.mark.parametrize(("error", "state"), [
    ("LibraryNotFound", DriverState.NO_DRIVER),
    ("DriverNotLoaded", DriverState.NOT_LOADED),
    ("LibRmVersionMismatch", DriverState.MISMATCH),
    ("NoPermission", DriverState.NO_PERMISSION),
    ("OperatingSystem", DriverState.NO_PERMISSION),
    ("GpuIsLost", DriverState.GPU_LOST),
    ("NotSupported", DriverState.ERROR),
    ("FunctionNotFound", DriverState.ERROR),
    ("Unknown", DriverState.ERROR),
])
def test_each_nvml_init_error_becomes_a_state_with_words(error: str, state: DriverState, rtx5090: Machine) -> None:
    probe = probe_nvml(fake_nvml(rtx5090, fail_init=error))
    assert probe.status.state is state
    assert probe.status.source == "nvml"
    assert probe.status.message and probe.driver is None and probe.gpus == []
    if state is not DriverState.ERROR:
        assert probe.status.hint


def test_nvml_reports_driver_cuda_and_every_gpu(two_gpus: Machine) -> None:
    probe = probe_nvml(fake_nvml(two_gpus))
    assert probe.status.state is DriverState.OK
    assert probe.driver is not None
    assert (probe.driver.version, probe.driver.cuda_version) == ("580.95.05", "13.0")
    assert [(g.name, g.compute_capability, g.pci_id, g.memory_mib) for g in probe.gpus] == [
        ("NVIDIA GeForce GTX 1080 Ti", "6.1", "10de:1b06", 11264),
        ("NVIDIA GeForce RTX 5090", "12.0", "10de:2b85", 32607),
    ]
    assert probe.gpus[0].pci_bus == "00000000:01:00.0"  # busId arrives as bytes
    assert probe.gpus[0].mig_mode is None  # NotSupported on GeForce -> unknown, not an error


def test_nvml_shuts_down_after_a_failure_mid_way(rtx5090: Machine) -> None:
    nvml = fake_nvml(rtx5090, fail={"nvmlSystemGetDriverVersion": "Unknown"})
    probe = probe_nvml(nvml)
    assert probe.status.state is DriverState.ERROR
    assert nvml.state["init"] == 0


def test_one_unreadable_gpu_is_a_note_not_a_failure(rtx5090: Machine) -> None:
    probe = probe_nvml(fake_nvml(rtx5090, fail={"nvmlDeviceGetHandleByIndex": "NoPermission"}))
    assert probe.status.state is DriverState.OK
    assert probe.gpus == []
    assert any("GPU 0 could not be read" in n for n in probe.notes)


def test_a_lost_gpu_during_the_scan_is_gpu_lost(rtx5090: Machine) -> None:
    probe = probe_nvml(fake_nvml(rtx5090, fail={"nvmlDeviceGetName": "GpuIsLost"}))
    assert probe.status.state is DriverState.GPU_LOST


def test_missing_optional_calls_leave_facts_unknown(rtx5090: Machine) -> None:
    probe = probe_nvml(fake_nvml(rtx5090, fail={
        "nvmlDeviceGetCudaComputeCapability": "FunctionNotFound", "nvmlDeviceGetMemoryInfo": "NotSupported",
        "nvmlSystemGetCudaDriverVersion": "FunctionNotFound"}))
    assert probe.status.state is DriverState.OK
    assert probe.driver is not None and probe.driver.cuda_version is None
    assert probe.gpus[0].compute_capability is None and probe.gpus[0].memory_mib is None


def test_a_hanging_nvml_is_abandoned_after_its_timeout(rtx5090: Machine) -> None:
    release = threading.Event()
    start = time.monotonic()
    probe = probe_nvml(fake_nvml(rtx5090, hang=lambda: _block(release)), timeout=0.3)
    release.set()
    assert time.monotonic() - start < 2
    assert probe.status.state is DriverState.ERROR
    assert "did not answer" in probe.status.message


def test_nvml_arithmetic() -> None:
    assert cuda_version_from_int(12080) == "12.8"
    assert cuda_version_from_int(13010) == "13.1"
    assert pci_id_from_packed(0x278610DE) == "10de:2786"


def test_the_real_nvml_on_this_gpu_less_machine_says_no_driver() -> None:
    pynvml = pytest.importorskip("pynvml")
    probe = probe_nvml(pynvml)
    if probe.status.state is DriverState.OK:
        pytest.skip("this machine has an NVIDIA driver")
    assert probe.status.state is DriverState.NO_DRIVER


# --------------------------------------------------------------------------- nvidia-smi parsing

FIELDS = ("index", "name", "uuid", "driver_version", "compute_cap", "memory.total", "pci.bus_id", "pci.device_id")


def test_csv_with_missing_values_and_a_truncated_last_line() -> None:
    text = ("0, NVIDIA GeForce RTX 4090, GPU-1, 580.95.05, 8.9, 24564, 00000000:01:00.0, 0x268410DE\n"
            "1, Tesla K80, GPU-2, 580.95.05, [N/A], [N/A], 00000000:02:00.0, 0x102D10DE\n"
            "2, NVIDIA GeForce RTX 30")
    rows = parse_query_csv(text, FIELDS)
    assert rows.driver_version == "580.95.05"
    assert [(g.name, g.compute_capability, g.memory_mib, g.pci_id) for g in rows.gpus] == [
        ("NVIDIA GeForce RTX 4090", "8.9", 24564, "10de:2684"),
        ("Tesla K80", None, None, "10de:102d"),
    ]
    assert len(rows.problems) == 1 and "line 3" in rows.problems[0]


def test_garbage_csv_gives_no_gpus() -> None:
    rows = parse_query_csv("\x00\x01garbage\n<html>oops</html>\n", FIELDS)
    assert rows.gpus == [] and rows.driver_version is None and len(rows.problems) == 2


def test_cuda_version_from_xml_banner_or_nothing() -> None:
    assert parse_cuda_version("<nvidia_smi_log><cuda_version>12.8</cuda_version></nvidia_smi_log>") == "12.8"
    banner = "| NVIDIA-SMI 570.124.04   Driver Version: 570.124.04   CUDA Version: 12.8     |"
    assert parse_cuda_version("<not xml", banner) == "12.8"
    assert parse_cuda_version("<nvidia_smi_log><cuda_version>N/A</cuda_version></nvidia_smi_log>") is None


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="research samples not present")
def test_cuda_version_from_real_xml_samples() -> None:
    expected = {"nvidia-smi-q-x_rtx-3060_linux_570.124.04_v12.xml": "12.8",
                "nvidia-smi-q-x_rtx-pro-6000-blackwell-maxq_linux_590.44.01_v13.xml": "13.1",
                "nvidia-smi-q-x_gtx-1070-ti_v10_minimal.xml": None}
    for name, cuda in expected.items():
        assert parse_cuda_version((SAMPLES / name).read_text()) == cuda, name


def test_proc_version_both_flavours_and_sysfs() -> None:
    proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  515.76  Mon Sep 12 19:21:56 UTC 2022\nGCC ..."
    open_flavour = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  555.58.02  Release Build  "
                    "(dvs-builder@U16)  Tue Jun 25 01:26:03 UTC 2024\n")
    assert parse_proc_version(proprietary) == "515.76"
    assert parse_proc_version(open_flavour) == "555.58.02"
    assert parse_proc_version("580.95.05\n") == "580.95.05"
    assert parse_proc_version("garbage") is None


# --------------------------------------------------------------------------- nvidia-smi as a program


def _linux_host(tmp_path: Path, machine: Machine, **kwargs: object) -> Host:
    host = simulated_host(machine, tmp_path / "machine", nvml_source="nvidia-smi")
    for key, value in kwargs.items():
        setattr(host, key, value)
    return host


def test_old_nvidia_smi_without_compute_cap_is_retried(tmp_path: Path, rtx5090: Machine) -> None:
    host = _linux_host(tmp_path, rtx5090)
    write_fake_nvidia_smi(tmp_path / "machine" / "bin", rtx5090, old=True)
    probe = probe_nvidia_smi(host)
    assert probe is not None and probe.status.state is DriverState.OK
    assert probe.driver is not None and probe.driver.version == "590.48.01"
    assert [g.compute_capability for g in probe.gpus] == [None]
    assert [g.pci_id for g in probe.gpus] == ["10de:2b85"]


def test_truncated_nvidia_smi_output_is_an_error_with_notes(tmp_path: Path, rtx5090: Machine) -> None:
    host = _linux_host(tmp_path, rtx5090)
    write_fake_nvidia_smi(tmp_path / "machine" / "bin", rtx5090, query_output="0, NVIDIA GeForce RTX 50")
    probe = probe_nvidia_smi(host)
    assert probe is not None and probe.status.state is DriverState.ERROR
    assert probe.notes


@pytest.mark.parametrize(("stderr", "state"), [
    ("Failed to initialize NVML: Driver/library version mismatch", DriverState.MISMATCH),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", DriverState.NOT_LOADED),
    ("Segmentation fault", DriverState.ERROR),
])
def test_failing_nvidia_smi_names_the_state(tmp_path: Path, rtx5090: Machine, stderr: str,
                                            state: DriverState) -> None:
    host = _linux_host(tmp_path, rtx5090)
    write_fake_nvidia_smi(tmp_path / "machine" / "bin", rtx5090, exit_code=9, stderr=stderr, query_output="")
    probe = probe_nvidia_smi(host)
    assert probe is not None and probe.status.state is state


def test_hanging_nvidia_smi_times_out(tmp_path: Path, rtx5090: Machine) -> None:
    host = _linux_host(tmp_path, rtx5090)
    write_fake_nvidia_smi(tmp_path / "machine" / "bin", rtx5090, sleep=30)
    start = time.monotonic()
    probe = probe_nvidia_smi(host, timeout=0.5)
    assert time.monotonic() - start < 3
    assert probe is not None and probe.status.state is DriverState.ERROR
    assert "did not answer in time" in probe.status.message


def test_nvidia_smi_in_the_current_folder_is_never_run(tmp_path: Path, rtx5090: Machine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    host = _linux_host(tmp_path, rtx5090)
    assert find_nvidia_smi(host) == str(tmp_path / "machine" / "bin" / "nvidia-smi")
    host.cwd = str(tmp_path / "machine" / "bin")
    assert find_nvidia_smi(host) is None
    monkeypatch.chdir(tmp_path / "machine")
    host.cwd = str(tmp_path)
    host.environ = {**host.environ, "PATH": "bin"}  # a relative PATH entry finds ./bin/nvidia-smi
    assert find_nvidia_smi(host) is None


def test_wsl_nvidia_smi_is_found_at_its_fixed_path(tmp_path: Path) -> None:
    machine = load_profile(PROFILES / "wsl2-rtx3060-drv560.json")
    host = simulated_host(machine, tmp_path, nvml_source="nvidia-smi")
    (tmp_path / "bin" / "nvidia-smi").rename(tmp_path / "root/usr/lib/wsl/lib/nvidia-smi")
    detected = detect_machine(host)
    assert detected.nvidia_driver == machine.nvidia_driver
    assert [g.compute_capability for g in detected.gpus] == ["8.6"]


def test_windows_nvidia_smi_fixed_paths(tmp_path: Path) -> None:
    machine = load_profile(PROFILES / "win11-rtx4070-drv566.json")
    host = simulated_host(machine, tmp_path)
    smi = r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe"
    host.is_file = {smi}.__contains__
    assert find_nvidia_smi(host) == smi
    host.is_file = {r"C:\Windows\System32\nvidia-smi.exe", smi}.__contains__
    assert find_nvidia_smi(host) == r"C:\Windows\System32\nvidia-smi.exe"


# --------------------------------------------------------------------------- whole-machine states


def test_driver_not_loaded_with_nouveau_says_nouveau(tmp_path: Path, rtx5090: Machine) -> None:
    host = simulated_host(rtx5090, tmp_path)
    host.nvml = fake_nvml(rtx5090, fail_init="DriverNotLoaded")
    (tmp_path / "root/sys/module/nouveau").mkdir(parents=True)
    machine = detect_machine(host)
    assert machine.driver_status is not None
    assert machine.driver_status.state is DriverState.NOT_LOADED
    assert "nouveau" in machine.driver_status.message
    assert machine.nvidia_driver is None
    # the GPU is still listed, from the PCI bus
    assert [g.pci_id for g in machine.gpus] == ["10de:2b85"]


def test_driver_not_loaded_with_secure_boot_says_secure_boot(tmp_path: Path) -> None:
    machine = load_profile(PROFILES / "ubuntu2404-rtx3060-nodriver.json")  # Secure Boot on
    host = simulated_host(machine, tmp_path)
    host.nvml = fake_nvml(machine, fail_init="DriverNotLoaded")
    detected = detect_machine(host)
    assert detected.driver_status is not None
    assert detected.driver_status.state is DriverState.NOT_LOADED
    assert "Secure Boot" in detected.driver_status.message


def test_mismatch_reports_the_running_kernel_module(tmp_path: Path, rtx5090: Machine) -> None:
    host = simulated_host(rtx5090, tmp_path)
    host.nvml = fake_nvml(rtx5090, fail_init="LibRmVersionMismatch")
    (tmp_path / "root/sys/module/nvidia").mkdir(parents=True)
    (tmp_path / "root/sys/module/nvidia/version").write_text("580.95.05\n")
    detected = detect_machine(host)
    assert detected.driver_status is not None
    assert detected.driver_status.state is DriverState.MISMATCH
    assert "Restart" in detected.driver_status.hint
    assert detected.nvidia_driver is not None and detected.nvidia_driver.version == "580.95.05"


def test_nodriver_gpu_gets_its_architecture_from_the_catalog(tmp_path: Path) -> None:
    pytest.importorskip("wizard.core.knowledge.gpu_catalog")
    machine = load_profile(PROFILES / "ubuntu2404-rtx3060-nodriver.json")
    detected = detect_machine(simulated_host(machine, tmp_path))
    assert detected.gpus[0].compute_capability is None  # nothing read it (SCHEMA.md)
    assert detected.gpus[0].architecture == "Ampere"
    assert any("probably Ampere" in n for n in detected.notes)
