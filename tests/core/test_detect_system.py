"""OS facts, the PCI listing, Windows adapters, disk, and the ``detect`` command on this machine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes import RecordedRunner, write_script
from wizard.cli import main
from wizard.core.detect import detect_machine
from wizard.core.detect.disk import detect_disk
from wizard.core.detect.host import Host, run_command
from wizard.core.detect.pci import scan_sysfs
from wizard.core.detect.system import (
    detect_os,
    linux_version_name,
    normalize_arch,
    parse_os_release,
    secure_boot_linux,
)
from wizard.core.detect.windows import nvidia_version_from_wddm, parse_video_controllers
from wizard.core.model.machine import DriverState, machine_from_profile


def _linux(tmp_path: Path, release: str = "6.8.0-45-generic", **kwargs: object) -> Host:
    env = {"PATH": str(tmp_path / "bin")}
    return Host(system="Linux", release=release, version="#1", machine="x86_64", environ=env,
                run=lambda argv, timeout: run_command(argv, timeout, env), root=tmp_path / "root",
                **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- OS


@pytest.mark.parametrize(("machine", "system", "arch"), [
    ("x86_64", "Linux", "x86_64"), ("AMD64", "Windows", "x86_64"), ("aarch64", "Linux", "aarch64"),
    ("arm64", "Darwin", "arm64"), ("ARM64", "Windows", "arm64"), ("i686", "Linux", "x86"), ("x86", "Windows", "x86"),
])
def test_arch_names(machine: str, system: str, arch: str) -> None:
    assert normalize_arch(machine, system) == arch


def test_os_release_names() -> None:
    fedora = parse_os_release('NAME="Fedora Linux"\nVERSION_ID=41\n# comment\nPRETTY_NAME="Fedora Linux 41"\n')
    assert linux_version_name(fedora) == "Fedora 41"
    assert linux_version_name(parse_os_release("NAME='Debian GNU/Linux'\nVERSION_ID=\"12\"")) == "Debian 12"
    assert linux_version_name(parse_os_release('PRETTY_NAME="Arch Linux"\nNAME="Arch Linux"')) == "Arch Linux"


def test_wsl_and_no_os_release(tmp_path: Path) -> None:
    notes: list[str] = []
    info = detect_os(_linux(tmp_path, release="5.15.153.1-microsoft-standard-WSL2", glibc="2.39"), notes)
    assert info.wsl and info.version.endswith("(WSL2)") and info.secure_boot is None and info.glibc == "2.39"
    assert any("os-release" in n for n in notes)


def test_secure_boot_from_efivars_then_mokutil(tmp_path: Path) -> None:
    host = _linux(tmp_path)
    assert secure_boot_linux(host) is None
    mokutil = write_script(tmp_path / "root/usr/bin/mokutil", "echo 'SecureBoot enabled'\n")
    assert secure_boot_linux(host) is True
    write_script(mokutil, "echo 'EFI variables are not supported on this system' >&2; exit 255\n")
    assert secure_boot_linux(host) is False
    var = tmp_path / "root/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    var.parent.mkdir(parents=True)
    var.write_bytes(b"\x06\x00\x00\x00\x01")
    assert secure_boot_linux(host) is True
    var.write_bytes(b"\x06\x00\x00\x00\x00")
    assert secure_boot_linux(host) is False


# --------------------------------------------------------------------------- PCI


def test_sysfs_without_pci_ids_gives_catalog_or_generic_names_and_skips_non_display(tmp_path: Path) -> None:
    devices = tmp_path / "root/sys/bus/pci/devices"
    for address, vendor, device, klass in [("0000:01:00.0", "0x10de", "0x2204", "0x030000"),
                                            ("0000:01:00.1", "0x10de", "0x1aef", "0x040300"),  # its audio
                                            ("0000:02:00.0", "0x10de", "0x20b0", "0x030200"),
                                            ("0000:03:00.0", "0x8086", "0x56a0", "0x038000"),
                                            ("0000:04:00.0", "garbage", "", "0x030000"),
                                            ("0000:05:00.0", "0x10de", "0xfffe", "0x030000")]:  # an id nobody knows
        (devices / address).mkdir(parents=True)
        (devices / address / "vendor").write_text(vendor)
        (devices / address / "device").write_text(device)
        (devices / address / "class").write_text(klass)
    found = scan_sysfs(_linux(tmp_path))
    assert [(d.pci_id, d.class_code, d.driver) for d in found] == [
        ("10de:2204", "0300", None), ("10de:20b0", "0302", None), ("8086:56a0", "0380", None),
        ("10de:fffe", "0300", None)]
    # no pci.ids on the system: the wizard's catalog (wizard/data/gpu_pci_ids.json) names known ids
    assert found[0].name == "GA102 [GeForce RTX 3090]"
    assert found[3].name == "NVIDIA graphics device [10de:fffe]"


def test_no_sysfs_at_all_is_an_empty_list(tmp_path: Path) -> None:
    assert scan_sysfs(_linux(tmp_path)) == []


# --------------------------------------------------------------------------- Windows


def test_video_controller_json_one_object_or_a_list() -> None:
    one = json.dumps({"Name": "Microsoft Basic Display Adapter",
                      "PNPDeviceID": "PCI\\VEN_10DE&DEV_2786&SUBSYS_40BF1458&REV_A1\\4&2D5F0A0&0&0008",
                      "DriverVersion": "10.0.26100.1", "AdapterCompatibility": "(Standard display types)",
                      "AdapterRAM": 0})
    [adapter] = parse_video_controllers(one)
    assert adapter.pci_id == "10de:2786" and adapter.memory_mib is None
    many = json.dumps([{"Name": "Intel(R) UHD Graphics 770", "PNPDeviceID": "PCI\\VEN_8086&DEV_4680&SUBSYS_1",
                        "AdapterRAM": 1073741824},
                       {"Name": "Virtual Display", "PNPDeviceID": "ROOT\\DISPLAY\\0000"}])
    intel, virtual = parse_video_controllers(many)
    assert intel.memory_mib == 1024 and virtual.pci_id is None
    with pytest.raises(ValueError):
        parse_video_controllers("Get-CimInstance : Access denied")


def test_wddm_driver_version_to_nvidia() -> None:
    assert nvidia_version_from_wddm("32.0.15.6636") == "566.36"
    assert nvidia_version_from_wddm("31.0.15.3713") == "537.13"
    assert nvidia_version_from_wddm("x") is None


def test_windows_without_nvidia_driver_lists_the_gpu_from_cim(tmp_path: Path) -> None:
    cim = json.dumps({"Name": "Microsoft Basic Display Adapter",
                      "PNPDeviceID": "PCI\\VEN_10DE&DEV_2786&SUBSYS_40BF1458&REV_A1\\4&2D5F0A0&0&0008",
                      "DriverVersion": "10.0.26100.1", "AdapterRAM": 0})
    from tests.fakes import fake_nvml

    host = Host(system="Windows", release="11", version="10.0.26100", machine="AMD64",
                environ={"PATH": r"C:\Windows", "SystemRoot": r"C:\Windows"},
                run=RecordedRunner({"powershell.exe": (0, cim)}), home=tmp_path, nvml=fake_nvml(None),
                is_file=lambda p: p.endswith("powershell.exe"), data_dir=str(tmp_path), cache_dir=str(tmp_path),
                temp_dir=str(tmp_path))
    machine = detect_machine(host)
    assert machine.os.family == "windows" and machine.os.version == "10.0.26100"
    assert [(g.vendor, g.name, g.pci_id, g.compute_capability) for g in machine.gpus] == [
        ("nvidia", "NVIDIA graphics device [10de:2786]", "10de:2786", None)]
    assert machine.driver_status is not None and machine.driver_status.state is DriverState.NO_DRIVER
    assert "Install the NVIDIA driver" in machine.driver_status.hint


def test_powershell_failure_is_a_note(tmp_path: Path) -> None:
    from tests.fakes import fake_nvml

    host = Host(system="Windows", release="11", version="10.0.22631", machine="AMD64",
                environ={"PATH": r"C:\Windows"}, run=RecordedRunner({}), home=tmp_path, nvml=fake_nvml(None),
                is_file=lambda p: False, data_dir=str(tmp_path), cache_dir=str(tmp_path), temp_dir=str(tmp_path))
    machine = detect_machine(host)
    assert machine.gpus == [] and any("display adapters" in n for n in machine.notes)


# --------------------------------------------------------------------------- disk


def test_disk_uses_nearest_existing_folder_and_reports_minimum(tmp_path: Path) -> None:
    asked: list[str] = []

    def free(path: str) -> int:
        asked.append(path)
        return (10 if "cache" in path else 50) * 1024**3

    (tmp_path / "cache").mkdir()
    host = _linux(tmp_path, data_dir=str(tmp_path / "not/yet/created"), cache_dir=str(tmp_path / "cache"),
                  temp_dir=str(tmp_path), disk_free_bytes=free)
    notes: list[str] = []
    disk, minimum = detect_disk(host, notes)
    assert disk == {"environment": 50.0, "cache": 10.0, "temp": 50.0} and minimum == 10.0
    assert asked[0] == str(tmp_path)


def test_disk_error_is_a_note(tmp_path: Path) -> None:
    def broken(path: str) -> int:
        raise OSError("stale NFS handle")

    notes: list[str] = []
    disk, minimum = detect_disk(_linux(tmp_path, disk_free_bytes=broken), notes)
    assert minimum is None and set(disk.values()) == {None} and "stale NFS handle" in notes[0]


# --------------------------------------------------------------------------- this machine, through the CLI


def test_detect_json_on_this_machine_is_honest(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert main(["detect", "--json"]) == 0
    elapsed = time.monotonic() - start
    data = json.loads(capsys.readouterr().out)
    machine = machine_from_profile(data, "detect --json")  # plan --machine can read it back
    if data["driver_status"]["state"] != "ok":  # a machine without an NVIDIA driver, like this one
        assert data["driver_status"]["state"] == "no_driver"
        assert machine.nvidia_driver is None
    pythons = [data["python"], *data.get("interpreters", [])]
    assert any(p and p["version"].startswith("3.") for p in pythons)
    assert machine.os.family in ("linux", "windows", "macos")
    assert set(data["disk"]) == {"environment", "cache", "temp"}
    assert elapsed < 10


def test_detect_human_output_and_bad_python(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["detect"]) == 0
    out = capsys.readouterr().out
    for label in ("OS", "Driver state", "Python", "Free disk"):
        assert label in out
    assert main(["detect", "--python", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_detect_with_python_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--json", "--python", sys.executable]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["python"]["path"] == sys.executable


def test_module_entry_point_runs_detect() -> None:
    result = subprocess.run([sys.executable, "-m", "wizard", "detect", "--json"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "machine-profile/1"
