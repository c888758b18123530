"""Driver policies of unattended installs, and installers in offline bundles.

The world is faked only at its edge: a ``sudo`` / ``ubuntu-drivers`` / ``powershell.exe`` script
on PATH that records its argv, NVIDIA's lookup service and download host played by a real
loopback server (our own recorded answer from tests/net/test_installers.py), a loopback index.
"""

from __future__ import annotations

import json
import ntpath
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, build_wheel, installed
from tests.net.server import LoopbackServer
from tests.net.test_installers import _lookup_body
from wizard.cli import main
from wizard.core.drivers.steps import ELEVATION_CANCELLED, ELEVATION_DECLINED_LINE
from wizard.core.helpdesk.answers import Answers
from wizard.core.helpdesk.bundle import BUNDLE_MANIFEST, sha256_file
from wizard.core.helpdesk.exit_codes import ExitCode
from wizard.core.helpdesk.unattended import RunLog, run_unattended
from wizard.core.model.machine import load_profile

PROFILES = Path(__file__).parent.parent / "profiles"
UBUNTU = PROFILES / "ubuntu2404-rtx3060-nodriver.json"
TORCH = "2.13.0"
EXE = "/Windows/581.57/581.57-desktop-win10-win11-64bit-international-dch-whql.exe"


def _result(out: str) -> dict[str, object]:
    line = next(ln for ln in out.splitlines() if ln.startswith("TGS-RESULT "))
    data: dict[str, object] = json.loads(line[len("TGS-RESULT "):])
    return data


def _fake(bindir: Path, name: str, record: Path) -> None:
    """An executable that appends its argv (one line) to ``record`` and succeeds."""
    bindir.mkdir(exist_ok=True)
    script = bindir / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{record}"\necho "{name} ran"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def _fake_powershell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: Path, *, code: int = 0,
                     line: str = "powershell.exe ran") -> None:
    """powershell.exe where Windows keeps it (%SystemRoot%\\System32\\WindowsPowerShell\\v1.0), under a
    SystemRoot of our own: appends its argv to ``record``, prints ``line``, exits ``code``."""
    root = tmp_path / "Windows"
    monkeypatch.setenv("SystemRoot", str(root))
    script = Path(ntpath.join(str(root), "System32", "WindowsPowerShell", "v1.0", "powershell.exe"))
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{record}"\necho "{line}"\nexit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return bindir


@pytest.mark.parametrize("policy", ["never", "download-only", "install"])
def test_linux_driver_policy_as_a_user_with_passwordless_sudo(
        policy: str, isolated_pip: Path, venv: Path, loopback_index: LoopbackIndex, fake_bin: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "sudo.argv"
    _fake(fake_bin, "sudo", record)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # the host: not root
    loopback_index.add("whl/cu130", build_wheel(tmp_path / "w", "torch", f"{TORCH}+cu130"))
    code = main(["install", "--unattended", "--machine", str(UBUNTU), "--venv", str(venv), "--torch", TORCH,
                 "--no-torchvision", "--index-url", loopback_index.url("whl/cu130"), "--driver-policy", policy,
                 "--driver-for-profile"])
    out = capsys.readouterr()
    assert code == ExitCode.ACTION_REQUIRED == 4, out.err
    result = _result(out.out)
    driver = result["driver"]
    if policy == "never":
        assert driver is None and not record.exists() and "torch" not in installed(venv)
        return
    assert isinstance(driver, dict)
    assert driver["commands"] == ["DEBIAN_FRONTEND=noninteractive sudo -n ubuntu-drivers install"]
    # torch goes in either way, so that after the driver and a restart only `verify` is left
    assert installed(venv)["torch"] == f"{TORCH}+cu130" and result["verify"] is None
    if policy == "download-only":
        assert not record.exists() and driver["ran"] is False and result["restart_required"] is False
        assert "driver must be updated first" in out.err
    else:
        assert record.read_text().splitlines() == ["-n true", "-n ubuntu-drivers install"]
        assert driver["ran"] is True and result["restart_required"] is True
        assert "restart required" in out.err and "torch-gpu-setup verify" in out.err


def test_install_policy_as_root_runs_the_package_manager_itself_and_never_in_wsl(
        isolated_pip: Path, fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "pm.argv"
    _fake(fake_bin, "ubuntu-drivers", record)
    _fake(fake_bin, "sudo", record)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    lines: list[str] = []
    # a bad index: the driver step runs first, then torch fails to download (exit 6 wins)
    answers = Answers(machine=str(UBUNTU), driver_for_profile=True, new_venv=str(tmp_path / "env"), torch=TORCH,
                      torchvision=False,
                      index_url="http://127.0.0.1:9/whl/cu130/", driver_policy="install", verify=False)
    result = run_unattended(answers, RunLog(echo=lines.append), platform="linux")
    assert record.read_text().splitlines() == ["install"]  # no sudo as root
    assert result.driver is not None and result.driver.ran and result.code == ExitCode.NETWORK_FAILURE

    record.unlink()
    wsl = load_profile(PROFILES / "wsl2-rtx3060-drv560.json")
    wsl = replace(wsl, nvidia_driver=None)
    profile = tmp_path / "wsl.json"
    profile.write_text(json.dumps(wsl.to_profile()))
    result = run_unattended(replace(answers, machine=str(profile)), RunLog(echo=lines.append), platform="linux")
    assert result.code == ExitCode.ACTION_REQUIRED and "inside WSL" in result.message
    assert not record.exists() and result.driver is not None and not result.driver.ran


@pytest.fixture
def nvidia() -> Iterator[LoopbackServer]:
    """NVIDIA's lookup service and download host, on loopback."""
    with LoopbackServer() as server:
        server.add(EXE, os.urandom(30_000))
        server.add("/AjaxDriverService.php", _lookup_body(server.url(EXE)), "application/json")
        yield server


def _windows_profile(tmp_path: Path) -> Path:
    m = load_profile(PROFILES / "win11-rtx4070-drv566.json")
    m = replace(m, nvidia_driver=None, gpus=[replace(m.gpus[0], name="NVIDIA GeForce RTX 4090")])
    path = tmp_path / "win-4090-nodriver.json"
    path.write_text(json.dumps(m.to_profile()))
    return path


def test_windows_driver_downloaded_then_installed_silently_and_elevated(
        isolated_pip: Path, venv: Path, loopback_index: LoopbackIndex, nvidia: LoopbackServer, fake_bin: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "powershell.argv"
    _fake_powershell(tmp_path, monkeypatch, record)
    loopback_index.add("whl/cu126", build_wheel(tmp_path / "w", "torch", f"{TORCH}+cu126"))
    answers = Answers(machine=str(_windows_profile(tmp_path)), driver_for_profile=True, venv=str(venv),
                      torch=TORCH, variant="cu126",
                      torchvision=False,
                      index_url=loopback_index.url("whl/cu126"), driver_policy="download-only",
                      driver_dir=str(tmp_path / "dl"), lookup_url=nvidia.url("/AjaxDriverService.php"))
    lines: list[str] = []
    result = run_unattended(answers, RunLog(echo=lines.append), platform="win32")
    exe = tmp_path / "dl" / EXE.rsplit("/", 1)[-1]
    assert result.code == ExitCode.ACTION_REQUIRED and exe.is_file() and not record.exists()
    assert result.driver is not None and len(result.driver.commands) == 1
    script = result.driver.fetched[0]["command"]["argv"][-1]
    assert f"$si.FileName = '{exe.resolve()}'; $si.Arguments = '-s -noreboot -noeula'" in script

    result = run_unattended(replace(answers, driver_policy="install"), RunLog(echo=lines.append), platform="win32")
    argv = record.read_text()
    assert argv.startswith("-NoProfile -NonInteractive") and str(exe.resolve()) in argv and "'runas'" in argv
    assert result.code == ExitCode.ACTION_REQUIRED and "restart required" in result.message

    # the UAC prompt declined: its own exit code and words, the driver not counted as installed
    _fake_powershell(tmp_path, monkeypatch, record, code=ELEVATION_CANCELLED, line=ELEVATION_DECLINED_LINE)
    result = run_unattended(replace(answers, driver_policy="install"), RunLog(echo=lines.append), platform="win32")
    assert result.code == ExitCode.ELEVATION_DECLINED and "declined" in result.message
    assert result.driver is not None and not result.driver.ran and not result.driver.restart_required

    # the same profile on this Linux host: written, never run
    record.unlink()
    result = run_unattended(replace(answers, driver_policy="install"), RunLog(echo=lines.append), platform="linux")
    assert result.code == ExitCode.ACTION_REQUIRED and "written, not run" in result.message and not record.exists()


def test_bundle_with_installers_is_used_offline_and_checked(
        isolated_pip: Path, venv: Path, loopback_index: LoopbackIndex, fake_bin: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "powershell.argv"
    _fake_powershell(tmp_path, monkeypatch, record)
    profile = _windows_profile(tmp_path)
    loopback_index.add("whl/cu126", build_wheel(tmp_path / "w", "torch", f"{TORCH}+cu126"))
    out = tmp_path / "bundle"
    with LoopbackServer() as server:
        payload = os.urandom(30_000)
        server.add(EXE, payload)
        server.add("/AjaxDriverService.php", _lookup_body(server.url(EXE)), "application/json")
        code = main(["bundle", "--machine", str(profile), "--torch", TORCH, "--variant", "cu126", "--no-torchvision",
                     "--index-url", loopback_index.url("whl/cu126"), "--with-installers",
                     "--lookup-url", server.url("/AjaxDriverService.php"), "--out", str(out)])
        assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / BUNDLE_MANIFEST).read_text())
    rel = f"installers/{EXE.rsplit('/', 1)[-1]}"
    entry = next(f for f in manifest["files"] if f["path"] == rel)
    assert entry["sha256"] == sha256_file(out / rel) and entry["size"] == len(payload)
    (bundled,) = manifest["installers"]
    assert bundled["kind"] == "driver_windows" and bundled["version"] == "581.57"
    assert bundled["published_sha256"] is False  # NVIDIA's lookup publishes none

    # the lookup server is gone: the bundled installer is used, no network
    answers = Answers(machine=str(profile), driver_for_profile=True, venv=str(venv), bundle=str(out),
                      driver_policy="install")
    result = run_unattended(answers, RunLog(echo=lambda _: None), platform="win32")
    assert result.code == ExitCode.ACTION_REQUIRED and result.driver is not None and result.driver.ran
    assert str((out / rel).resolve()) in record.read_text()
    assert installed(venv)["torch"] == f"{TORCH}+cu126"

    # a changed installer is refused before anything runs
    record.unlink()
    (out / rel).write_bytes(bytes(len(payload)))
    result = run_unattended(answers, RunLog(echo=lambda _: None), platform="win32")
    assert result.code == ExitCode.BUNDLE_REFUSED and f"{rel} does not match the sha256" in result.message
    assert not record.exists()


def test_a_profile_never_runs_driver_commands_here_without_opt_in(
        isolated_pip: Path, fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Facts from a profile may describe another machine: the commands are written, not run."""
    record = tmp_path / "pm.argv"
    _fake(fake_bin, "ubuntu-drivers", record)
    _fake(fake_bin, "sudo", record)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    lines: list[str] = []
    answers = Answers(machine=str(UBUNTU), new_venv=str(tmp_path / "env"), torch=TORCH, torchvision=False,
                      index_url="http://127.0.0.1:9/whl/cu130/", driver_policy="install", verify=False)
    result = run_unattended(answers, RunLog(echo=lines.append), platform="linux")
    assert not record.exists()
    assert result.code == ExitCode.ACTION_REQUIRED and "not from this computer" in result.message
    assert result.driver is not None and not result.driver.ran
    assert result.driver.commands == ["DEBIAN_FRONTEND=noninteractive ubuntu-drivers install"]
    assert not (tmp_path / "env").exists()
