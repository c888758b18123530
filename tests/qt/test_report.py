"""The diagnostics report: facts in, user name / home / host / credentials out."""

from __future__ import annotations

import json

from tests.qt.conftest import MACHINES
from wizard.core.helpdesk.report import build_report
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan
from wizard.core.verify.runner import StageResult, VerifyResult


def test_report_keeps_the_facts_and_redacts_people_and_secrets() -> None:
    machine = load_profile(str(MACHINES["pascal"]))
    plan = make_plan(machine)
    log = ["$ /home/alice/envs/t/bin/python -m pip install torch",
           "Looking in indexes: https://bob:s3cret@mirror.corp.example/simple",
           "proxy http://alice:hunter2@proxy.corp:3128 on workstation-7",
           "Proxy-Authorization: Basic YWxpY2U6aHVudGVyMg==", "url?token=abcdef123&x=1"]
    verify = VerifyResult("failed", [StageResult("import", "fail", "No module named torch in /home/alice/x")])
    report = build_report(machine, plan, log, verify, extra={"path": "C:\\Users\\alice\\envs"},
                          user="alice", home="/home/alice", hostname="workstation-7")
    text = report.json_text() + report.html
    for secret in ("alice", "s3cret", "hunter2", "YWxpY2U6aHVudGVyMg", "abcdef123", "workstation-7", "bob:"):
        assert secret not in text, secret
    data = json.loads(report.json_text())
    assert data["plan"]["recommended"]["requirements"] == plan.recommended.requirements  # type: ignore[union-attr]
    assert data["machine"]["gpus"][0]["name"] == machine.gpus[0].name
    assert data["install_log"][0] == "$ ~/envs/t/bin/python -m pip install torch"
    assert data["verify"]["stages"][0]["reason"] == "No module named torch in ~/x"
    assert "mirror.corp.example" in text and "<credentials>@" in text
    assert data["extra"]["path"] == "C:\\Users\\<user>\\envs"
    assert "No module named torch" in report.html and "<table>" in report.html


def test_report_without_anything_is_still_a_report() -> None:
    report = build_report(None, None, user="", home="/", hostname="")
    assert json.loads(report.json_text())["plan"] is None and "no build" in report.html


def test_chinese_translation_is_complete_and_up_to_date(tmp_path: object) -> None:
    """No unfinished entry, and every string of wizard/qt is in the .ts (lupdate into a copy)."""
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET
    from pathlib import Path

    import pytest

    from wizard.qt.i18n import qt_tool, ts_path

    source = ts_path("zh_CN")
    messages = list(ET.parse(source).getroot().iter("message"))
    assert messages
    for message in messages:
        translation = message.find("translation")
        assert translation is not None and translation.text and translation.get("type") is None, \
            message.findtext("source")
    tool = qt_tool("lupdate")
    if tool is None:
        pytest.skip("lupdate is not shipped with this PySide6")
    copy = Path(str(tmp_path)) / "copy.ts"
    shutil.copy(source, copy)
    files = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "wizard" / "qt").rglob("*.py"))
    subprocess.run([tool, "-silent", "-no-obsolete", *files, "-ts", str(copy)], check=True)
    unfinished = [m.findtext("source") for m in ET.parse(copy).getroot().iter("message")
                  if m.find("translation") is not None and m.find("translation").get("type") == "unfinished"]
    assert unfinished == []
