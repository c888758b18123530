"""The support report: a zip with HTML and JSON, redacted (fake user, home, host, proxy password)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.install.conftest import venv_py
from wizard.cli import main
from wizard.core.helpdesk.support_report import collect_report, write_report_zip
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan

PROFILES = Path(__file__).parent.parent / "profiles"


def test_report_redacts_user_home_host_and_proxy_password(venv: Path, tmp_path: Path) -> None:
    machine = load_profile(PROFILES / "ubuntu2204-gtx1080-drv570.json")
    log = ["creating /home/zoe-lab/envs/torch with /home/zoe-lab/.pyenv/bin/python",
           "zoe-lab ran this on lab-pc-17.example.org",
           "pip --proxy http://zoe-lab:Hunter2Secret@proxy.example:3128 install torch",
           "Authorization: Bearer ghp_abcdef123456"]
    report = collect_report(str(venv_py(venv)), machine=machine, plan=make_plan(machine), install_log=log,
                            user="zoe-lab", home="/home/zoe-lab", hostname="lab-pc-17",
                            environ={"HTTPS_PROXY": "http://zoe-lab:Hunter2Secret@proxy.example:3128"})
    out = write_report_zip(report, tmp_path / "r.zip")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["report.html", "report.json"]
        texts = [zf.read(n).decode() for n in zf.namelist()]
    data = json.loads(texts[1])
    for text in texts:
        for secret in ("zoe-lab", "Hunter2Secret", "lab-pc-17", "ghp_abcdef123456"):
            assert secret not in text
    assert data["install_log"][0] == "creating ~/envs/torch with ~/.pyenv/bin/python"
    assert "<credentials>@proxy.example:3128" in data["extra"]["proxy_settings"]["HTTPS_PROXY"]
    assert "pip" in data["extra"]["pip_list"] and data["plan"]["status"] == "ready"
    assert "GTX 1080" in texts[0] and "pip list" in texts[0]  # the HTML shows the gathered facts


def test_host_name_is_kept_when_asked(tmp_path: Path) -> None:
    report = collect_report(None, install_log=["on lab-pc-17"], user="zoe", home="/home/zoe",
                            hostname="lab-pc-17", redact_hostname=False, environ={})
    assert report.data["install_log"] == ["on lab-pc-17"]


def test_report_command_writes_a_zip(isolated_pip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--out", str(tmp_path / "support.zip")])
    assert code == 0 and capsys.readouterr().out.strip() == str(tmp_path / "support.zip")
    with zipfile.ZipFile(tmp_path / "support.zip") as zf:
        data = json.loads(zf.read("report.json"))
    assert data["schema"] == "diagnostics-report/1" and data["machine"]["os"]["family"] == "linux"
    with pytest.raises(SystemExit):
        main(["report"])  # --out is required


def test_the_helpdesk_summary_has_everything_a_technician_asks_first() -> None:
    from wizard.core.helpdesk.report import build_report, helpdesk_summary
    from wizard.core.verify.runner import StageResult, VerifyResult

    machine = load_profile(PROFILES / "ubuntu2204-gtx1080-drv570.json")
    plan = make_plan(machine)
    verify = VerifyResult("failed", [StageResult("import", "pass"),
                                     StageResult("kernels", "fail", reason="float16 matmul is wrong (rel 0.3)")])
    report = build_report(machine, plan, verify=verify, user="zoe-lab", home="/home/zoe-lab", hostname="lab-pc-17",
                          extra={"environment": {"mode": "new", "path": "/home/zoe-lab/envs/torch"},
                                 "index_url": "https://mirror.nju.edu.cn/pytorch/whl/cu126",
                                 "requirements": ["torch==2.14.1+cu126"], "errors": []})
    text = helpdesk_summary(report.data, "PyTorch is installed, but the demo found a problem")
    lines = text.splitlines()
    assert lines[1] == "Result: PyTorch is installed, but the demo found a problem"
    assert any(line.startswith("OS: Ubuntu 22.04 (x86_64), glibc") for line in lines)
    assert any(line.startswith("GPU: NVIDIA GeForce GTX 1080 (compute capability 6.1") for line in lines)
    assert any(line.startswith("Driver: 570.") for line in lines)
    assert any(line.startswith("Python: 3.") for line in lines)
    assert "Environment: new ~/envs/torch" in lines     # the home folder redacted
    assert "Build: torch==2.14.1+cu126 from https://mirror.nju.edu.cn/pytorch/whl/cu126" in lines
    assert "Verify: failed" in lines and "  failing stage kernels: float16 matmul is wrong (rel 0.3)" in lines
    assert "zoe-lab" not in text and "lab-pc-17" not in text
