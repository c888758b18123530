"""The GUI's "Check an existing environment": Welcome → Doctor page → the fix on the Summary page.

Offscreen Qt on a simulated machine; the environment checked is a real venv with a stand-in torch.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.doctor.conftest import PROFILES, StandIn, install_stand_in, python_of
from tests.qt.conftest import message_boxes, private_dirs, settings, texts  # noqa: F401  (autouse fixtures)
from wizard.qt.app import create_wizard
from wizard.qt.pages.doctor import DoctorPage
from wizard.qt.state import GuiOptions, PageId
from wizard.qt.wizard import SetupWizard


def open_doctor(qtbot: QtBot, tmp_path: Path, profile: str) -> tuple[SetupWizard, DoctorPage]:
    wizard = create_wizard(GuiOptions(machine=str(PROFILES / profile), lang="en"), settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    welcome = wizard.currentPage()
    assert "Check an existing environment" in texts(welcome)
    welcome.check_existing.click()  # type: ignore[attr-defined]
    wizard.next()
    assert wizard.currentId() == PageId.DOCTOR
    page = wizard.currentPage()
    assert isinstance(page, DoctorPage)
    return wizard, page


def check(qtbot: QtBot, page: DoctorPage, path: Path) -> None:
    page.path.setText(str(path))
    assert page.check.isEnabled()
    page.check.click()
    qtbot.waitUntil(lambda: not page.running() and page.diagnosis is not None, timeout=30000)


def test_findings_and_fix_flow_into_the_summary(qtbot: QtBot, tmp_path: Path, env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu"))
    wizard, page = open_doctor(qtbot, tmp_path, "win11-rtx4070-drv566.json")
    assert not page.isComplete()
    check(qtbot, page, env)   # an environment folder, as a person picks it
    shown = texts(page)
    assert "torch 2.14.1+cpu is a CPU-only build, but this machine has NVIDIA GeForce RTX 4070" in shown
    assert "cpu_build_on_gpu_machine" in shown
    assert "Recommended next step:" in shown and "Fix: install torch 2.14.1+cu126 into this environment." in shown
    assert "The GPU was not tried" in shown   # a simulated machine is described, not present
    assert page.isComplete()

    wizard.next()
    assert wizard.currentId() == PageId.SUMMARY
    summary = texts(wizard.currentPage())
    assert "torch==2.14.1+cu126" in summary and f"the Python interpreter {python_of(env)}" in summary
    request = wizard.state.install_request()
    assert request.python == str(python_of(env)) and request.venv is None and request.new_venv is None
    assert request.requirements == ("torch==2.14.1+cu126", "torchvision==0.29.1+cu126") and request.consent


def test_healthy_environment_ends_on_the_doctor_page(qtbot: QtBot, tmp_path: Path, env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu", companions={"torchvision": ("0.29.1+cpu", ("torch==2.14.1",))}))
    _wizard, page = open_doctor(qtbot, tmp_path, "ubuntu2404-cpu-only.json")
    check(qtbot, page, python_of(env))
    assert "No problem found: torch 2.14.1+cpu fits this machine." in texts(page)
    assert not page.isComplete() and page.nextId() == -1


def test_a_path_that_is_no_python_shows_the_error(qtbot: QtBot, tmp_path: Path) -> None:
    _wizard, page = open_doctor(qtbot, tmp_path, "ubuntu2404-cpu-only.json")
    page.path.setText(str(tmp_path / "nothing-here"))
    page.check.click()
    qtbot.waitUntil(lambda: not page.running() and page.problem is not None, timeout=30000)
    assert "no Python interpreter at" in texts(page) and not page.isComplete()


def test_this_machine_lists_its_interpreters(qtbot: QtBot, tmp_path: Path, env: Path) -> None:
    # not simulated: the page detects this machine; the interpreter named on the command line is listed
    install_stand_in(env, StandIn("2.14.1+cpu"))
    wizard = create_wizard(GuiOptions(python=str(python_of(env)), lang="en"), settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.currentPage().check_existing.click()  # type: ignore[attr-defined]
    wizard.next()
    page = wizard.currentPage()
    assert isinstance(page, DoctorPage)
    qtbot.waitUntil(lambda: page.found.count() > 0, timeout=60000)
    listed = [page.found.item(i).text() for i in range(page.found.count())]
    assert f"{python_of(env)}  (Python " in listed[0] and "2.14.1+cpu)" in listed[0]
    page.found.setCurrentRow(0)
    assert page.path.text() == str(python_of(env))
    page.check.click()
    qtbot.waitUntil(lambda: not page.running() and page.diagnosis is not None, timeout=60000)
    assert page.diagnosis.described is False and "The GPU was not tried" not in texts(page)


def test_a_fix_that_needs_the_driver_first_goes_through_the_actions_page(qtbot: QtBot, tmp_path: Path,
                                                                         env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cu130", cuda="13.0"))
    wizard, page = open_doctor(qtbot, tmp_path, "extra/ubuntu2404-rtx5090-drv570.json")
    check(qtbot, page, env)
    assert "driver_too_old" in texts(page)
    wizard.next()
    assert wizard.currentId() == PageId.ACTIONS
    fix = page.diagnosis.fix  # type: ignore[union-attr]
    assert fix is not None
    driver = next(a for a in fix.actions if a.kind == "driver_update")
    assert driver.detail in texts(wizard.currentPage())


def test_another_path_after_a_check_drops_the_old_fix(qtbot: QtBot, tmp_path: Path, env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu"))
    _wizard, page = open_doctor(qtbot, tmp_path, "win11-rtx4070-drv566.json")
    check(qtbot, page, env)
    assert page.isComplete()
    page.path.setText(str(tmp_path / "another-env"))   # Next must not install the old fix elsewhere
    assert page.diagnosis is None and not page.isComplete()
    assert "Fix: install torch 2.14.1+cu126" not in texts(page)
