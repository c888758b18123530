"""The support report under sudo and with host lists, and tools planted in the current folder (issue 15):
each secret is planted and looked for in every file of the zip; a planted tool never runs."""

from __future__ import annotations

import json
import os
import pwd
import stat
import zipfile
from pathlib import Path

import pytest

from wizard.core.helpdesk.support_report import collect_report, nvidia_smi_text, write_report_zip


def _texts(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return [zf.read(n).decode() for n in zf.namelist()]


def test_the_invoking_user_under_sudo_is_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The OS user database is the world's edge: it knows the invoking user and their home.
    real = pwd.getpwnam

    def getpwnam(name: str) -> pwd.struct_passwd:
        if name == "zoe-lab":
            return pwd.struct_passwd(("zoe-lab", "x", 1000, 1000, "Zoe", "/home/zoe-lab", "/bin/bash"))
        return real(name)

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    log = ["sudo torch-gpu-setup install --new-venv /home/zoe-lab/envs/torch",
           "base interpreter /home/zoe-lab/.pyenv/versions/3.12.4/bin/python",
           "requested by zoe-lab"]
    environ = {"SUDO_USER": "zoe-lab", "SUDO_UID": "1000",
               "NO_PROXY": "localhost,127.0.0.1,zoe-lab-laptop.corp.example,.zoe-lab.dev.example",
               "HTTPS_PROXY": "http://proxy.corp.example:3128"}
    report = collect_report(None, install_log=log, user="root", home="/root", hostname="build-7",
                            environ=environ)
    texts = _texts(write_report_zip(report, tmp_path / "r.zip"))
    for text in texts:
        for secret in ("zoe-lab", "zoe", "/home/zoe"):
            assert secret not in text.lower(), (secret, text[:2000])
    data = json.loads(next(t for t in texts if t.lstrip().startswith("{")))
    assert data["install_log"][0] == "sudo torch-gpu-setup install --new-venv ~/envs/torch"
    assert data["extra"]["proxy_settings"]["NO_PROXY"] == \
        "localhost,127.0.0.1,<user>-laptop.corp.example,.<user>.dev.example"
    assert data["extra"]["proxy_settings"]["HTTPS_PROXY"] == "http://proxy.corp.example:3128"


def test_a_user_name_inside_a_no_proxy_host_is_redacted(tmp_path: Path) -> None:
    report = collect_report(None, install_log=[], user="kim", home="/home/kim", hostname="",
                            redact_hostname=False,
                            environ={"no_proxy": "KIM-desk.example,kimberly.example,.internal"})
    # a whole label or a dash-separated part of one; "kimberly" is another word and stays
    assert report.data["extra"]["proxy_settings"]["no_proxy"] == "<user>-desk.example,kimberly.example,.internal"
    assert "KIM" not in json.dumps(report.data)


def _plant(folder: Path, marker: Path) -> None:
    tool = folder / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\necho planted > {marker}\necho 'Driver Version: 999.99'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.parametrize("path", [":/usr/bin:/bin", ".:/usr/bin:/bin", "{cwd}:/usr/bin:/bin"])
def test_report_never_runs_a_planted_nvidia_smi(path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an empty PATH entry and "." both mean the current folder, which whoever wrote it controls
    marker = tmp_path / "planted-ran"
    work = tmp_path / "downloads"
    work.mkdir()
    _plant(work, marker)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", path.format(cwd=os.getcwd()))
    assert nvidia_smi_text() is None
    report = collect_report(None, install_log=[], user="u", home="/home/u", hostname="", environ={})
    assert report.data["extra"]["driver"]["nvidia_smi"] is None
    assert not marker.exists()


def test_a_trusted_nvidia_smi_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "driver-bin"
    tools.mkdir()
    marker = tmp_path / "ran"
    _plant(tools, marker)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    assert "Driver Version: 999.99" in (nvidia_smi_text() or "")
    assert marker.exists()


def _fake_elevator(folder: Path, name: str, marker: Path) -> None:
    tool = folder / name
    tool.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.parametrize("path", ["", ".", "{cwd}"])
@pytest.mark.parametrize("tool", ["sudo", "pkexec"])
def test_driver_commands_never_run_a_planted_elevator(tool: str, path: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.core.drivers.installers import run_step_commands
    from wizard.core.errors import WizardError
    from wizard.core.process import Command

    marker = tmp_path / "planted-ran"
    work = tmp_path / "downloads"
    work.mkdir()
    _fake_elevator(work, tool, marker)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", path.format(cwd=os.getcwd()) + ":" + str(tmp_path / "empty"))
    with pytest.raises(WizardError, match=f"{tool} was not found in a folder on PATH that can be trusted"):
        run_step_commands((Command(argv=(tool, "apt-get", "install", "-y", "nvidia-driver")),))
    assert not marker.exists()


def test_driver_commands_run_the_elevator_by_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.core.drivers.installers import run_step_commands
    from wizard.core.process import Command

    marker = tmp_path / "ran"
    tools = tmp_path / "system-bin"
    tools.mkdir()
    _fake_elevator(tools, "sudo", marker)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    run_step_commands((Command(argv=("sudo", "apt-get", "update")),))
    assert marker.read_text() == f"{tools / 'sudo'} apt-get update\n"
