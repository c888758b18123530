"""The fleet playbook, run for real with ansible-core against localhost (local connection)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, installed
from wizard.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
PLAYBOOK = ROOT / "packaging" / "ansible" / "site.yml"


@pytest.mark.slow
def test_playbook_rolls_a_bundle_out_to_localhost(torch_wheels: tuple[Path, str], loopback_index: LoopbackIndex,
                                                   isolated_pip: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    playbook_exe = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or shutil.which(
        "ansible-playbook")
    if playbook_exe is None:
        pytest.skip("ansible-playbook is not installed (pip install ansible-core: the 'test' extra)")
    cache, python = torch_wheels
    for wheel in cache.glob("*.whl"):
        if not wheel.name.startswith("pip-"):
            loopback_index.add("whl/cpu", wheel)
    bundle = tmp_path / "bundle"
    assert main(["bundle", "--python", python, "--torch", "2.13.0", "--variant", "cpu", "--no-torchvision",
                 "--index-url", loopback_index.url("whl/cpu"), "--out", str(bundle)]) == 0
    capsys.readouterr()

    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    reports, venv_dir = tmp_path / "reports", tmp_path / "fleet-env"
    extra = {"bundle_dir": str(bundle), "target_venv": str(venv_dir), "base_python": python,
             "reports_dir": str(reports), "remote_work_dir": str(tmp_path / "work"), "verify": False,
             "wizard_command": f"{sys.executable} -m wizard"}
    env = {**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
           "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
           "LC_ALL": "C.UTF-8", "PYTHONPATH": str(ROOT), "HTTPS_PROXY": "http://127.0.0.1:9"}
    served = len(loopback_index.requests)
    proc = subprocess.run([playbook_exe, "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)
    if proc.returncode != 0 and "ERROR! " in proc.stdout + proc.stderr and "PLAY [" not in proc.stdout:
        pytest.skip(f"ansible-playbook cannot run here: {(proc.stderr or proc.stdout)[-400:]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert len(loopback_index.requests) == served  # installed from the bundle only
    assert installed(venv_dir)["torch"] == "2.13.0+cpu"
    with zipfile.ZipFile(reports / "localhost-report.zip") as zf:
        data = json.loads(zf.read("report.json"))
    assert data["extra"]["result"]["build"] == "torch 2.13.0+cpu"
    summary = (reports / "summary.md").read_text()
    assert "| localhost | none | torch 2.13.0+cpu | installed, not verified | 0 |" in summary
    assert json.loads((reports / "summary.json").read_text())["localhost"]["exit_code"] == 0
