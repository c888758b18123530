"""The support report carries the doctor's findings and fix for the target environment."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.doctor.conftest import StandIn, install_stand_in, profile, python_of
from tests.doctor.test_findings import ARCH_CU130
from wizard.core.helpdesk.support_report import collect_report, write_report_zip


def test_report_includes_the_doctors_findings(env: Path, tmp_path: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cu130", cuda="13.0", arch=ARCH_CU130))
    machine = profile("ubuntu2204-gtx1080-drv570")
    report = collect_report(str(python_of(env)), machine=machine, install_log=[], environ={})
    with zipfile.ZipFile(write_report_zip(report, tmp_path / "r.zip")) as zf:
        data = json.loads(zf.read("report.json"))
        page = zf.read("report.html").decode()
    doctor = data["extra"]["doctor"]
    assert [f["code"] for f in doctor["findings"]] == ["driver_too_old", "arch_not_compiled"]
    assert doctor["fix"]["variant"] == "cu126"
    assert "arch_not_compiled" in page and "<h2>doctor</h2>" in page


def test_report_says_why_the_doctor_could_not_run(tmp_path: Path) -> None:
    report = collect_report(str(tmp_path / "no-python"), install_log=[], environ={})
    assert "no Python interpreter at" in report.data["extra"]["doctor"]
