"""Each page on simulated machines: what it shows comes from the machine and the plan."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from tests.qt.conftest import MACHINES, settings, texts
from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Choices
from wizard.core.plan.planner import make_plan
from wizard.qt.app import create_wizard
from wizard.qt.state import GuiOptions, PageId
from wizard.qt.wizard import SetupWizard


def open_wizard(qtbot: QtBot, tmp_path: Path, profile: Path, lang: str = "en") -> SetupWizard:
    wizard = create_wizard(GuiOptions(machine=str(profile), lang=lang), settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def advance(qtbot: QtBot, wizard: SetupWizard) -> None:
    """Press Next once the current page is ready (waitUntil, never a sleep)."""
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: page.isComplete() and not wizard.page_of(PageId(wizard.currentId())).busy(),
                    timeout=10000)
    wizard.next()


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_page_reflects_the_simulated_machine(qtbot: QtBot, tmp_path: Path, name: str) -> None:
    profile = MACHINES[name]
    machine = load_profile(str(profile))
    plan = make_plan(machine, Choices())
    wizard = open_wizard(qtbot, tmp_path, profile)
    visited = [PageId(wizard.currentId())]
    assert "What will happen" in texts(wizard.currentPage())

    advance(qtbot, wizard)  # -> System
    system = wizard.currentPage()
    qtbot.waitUntil(lambda: system.isComplete(), timeout=10000)
    shown = texts(system)
    for gpu, verdict in zip(machine.gpus, plan.gpus, strict=True):
        assert gpu.name in shown and verdict.reason in shown
    assert shown.count("PyTorch can use this card") == sum(v.supported for v in plan.gpus)
    assert shown.count("PyTorch will not use this card") == sum(not v.supported for v in plan.gpus)
    if not machine.gpus:
        assert "No graphics card was found" in shown
    assert f"{machine.disk_free_gib:.0f} GB free" in shown

    while wizard.currentId() != PageId.FINISH:
        advance(qtbot, wizard)
        page_id = PageId(wizard.currentId())
        visited.append(page_id)
        shown = texts(wizard.currentPage())
        if page_id == PageId.BUILD:
            assert plan.recommended is not None
            assert plan.recommended.label() in shown
            for alternative in plan.alternatives:
                assert alternative.label() in shown
        elif page_id == PageId.ACTIONS:
            for action in plan.recommended.actions if plan.recommended else []:
                assert action.detail in shown
            # the summary's Install is off while the action is pending: take the build that works now
            wizard.currentPage().keep_radio.click()  # type: ignore[attr-defined]
        elif page_id == PageId.SUMMARY:
            assert wizard.currentPage().isCommitPage()
            assert wizard.button(QWizard.WizardButton.CommitButton).text() == "&Install"
            chosen = wizard.state.build()   # the recommended one, or the one that works without the action
            assert chosen is not None and html.escape(", ".join(chosen.requirements)) in shown
            assert "nothing will be installed" in shown
        elif page_id == PageId.INSTALL:
            assert not wizard.button(QWizard.WizardButton.BackButton).isVisible() or \
                not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
            assert "nothing is installed" in shown
    assert "nothing was installed" in texts(wizard.currentPage())
    has_actions = bool(plan.recommended and plan.recommended.actions)
    assert (PageId.ACTIONS in visited) == has_actions


def test_drivers_page_offers_the_build_that_needs_no_update(qtbot: QtBot, tmp_path: Path) -> None:
    profile = MACHINES["driver-too-old"]
    wizard = open_wizard(qtbot, tmp_path, profile)
    while wizard.currentId() != PageId.ACTIONS:
        advance(qtbot, wizard)
    state = wizard.state
    before = state.build()
    assert before is not None and before.actions
    # the driver route: Install stays off on the summary, saying why
    advance(qtbot, wizard)
    summary = wizard.currentPage()
    assert not summary.isComplete() and not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert "Install is off: first update the NVIDIA driver" in texts(summary)
    wizard.back()
    drivers = wizard.page_of(PageId.ACTIONS)
    drivers.keep_radio.click()  # type: ignore[attr-defined]
    after = state.build()
    assert after is not None and not after.actions and after is state.build_without_actions()
    advance(qtbot, wizard)
    assert after.label() in texts(wizard.currentPage())
    assert wizard.currentPage().isComplete() and "Install is off" not in texts(wizard.currentPage())


def test_advanced_choice_replans_in_the_background(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, MACHINES["pascal"])
    while wizard.currentId() != PageId.BUILD:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    page.advanced.setChecked(True)  # type: ignore[attr-defined]
    variant = page.variant  # type: ignore[attr-defined]
    variant.setCurrentIndex(variant.findData("cpu"))
    qtbot.waitUntil(lambda: wizard.state.plan is not None and wizard.state.plan.recommended is not None
                    and wizard.state.plan.recommended.variant == "cpu" and not page.busy(), timeout=10000)
    build = wizard.state.build()
    assert build is not None and build.requirements[0].endswith("+cpu")
    qtbot.waitUntil(lambda: build.label() in texts(page), timeout=5000)


def test_language_switches_live_and_is_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, MACHINES["no-gpu"])
    english = wizard.currentPage().title()
    combo = wizard.currentPage().language  # type: ignore[attr-defined]
    combo.setCurrentIndex(combo.findData("zh_CN"))
    qtbot.waitUntil(lambda: wizard.currentPage().title() != english, timeout=5000)  # LanguageChange is posted
    chinese = wizard.currentPage().title()
    assert chinese != english and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    assert wizard.button(QWizard.WizardButton.NextButton).text() != "&Next >"
    assert settings(tmp_path).value("language") == "zh_CN"
    combo.setCurrentIndex(combo.findData("en"))
    qtbot.waitUntil(lambda: wizard.currentPage().title() == english, timeout=5000)


def test_a_bad_profile_is_an_error_in_words(tmp_path: Path) -> None:
    from wizard.core.errors import WizardError

    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "machine-profile/1", "os": {"family": "beos"}}')
    with pytest.raises(WizardError) as caught:
        create_wizard(GuiOptions(machine=str(bad)), settings(tmp_path))
    assert "os.family" in caught.value.message or "os.arch" in caught.value.message


def test_keyboard_only_walk(qtbot: QtBot, tmp_path: Path) -> None:
    """Enter presses the default button (Next / Install / Finish) on every page."""
    from PySide6.QtCore import Qt

    wizard = open_wizard(qtbot, tmp_path, MACHINES["no-gpu"])
    seen = []
    for _ in range(12):
        page = wizard.page_of(PageId(wizard.currentId()))
        qtbot.waitUntil(lambda page=page: page.isComplete() and not page.busy(), timeout=10000)
        seen.append(PageId(wizard.currentId()))
        if wizard.currentId() == PageId.FINISH:
            break
        qtbot.keyClick(wizard, Qt.Key.Key_Return)
    assert seen[-1] == PageId.FINISH and PageId.SUMMARY in seen


def test_the_window_has_the_wizard_icon_in_several_sizes(qtbot: QtBot, tmp_path: Path) -> None:
    from wizard.qt.app import ICON_DIR

    wizard = open_wizard(qtbot, tmp_path, MACHINES["no-gpu"])
    icon = wizard.windowIcon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 256} <= sizes and len(sizes) == len(list(ICON_DIR.glob("*.png")))


def test_drivers_page_shows_the_same_commands_as_the_installers_command(qtbot: QtBot, tmp_path: Path) -> None:
    from wizard.core.drivers.installers import installers_for

    profile = MACHINES["driver-too-old"]
    machine = load_profile(str(profile))
    # A simulated machine is another computer: its commands use sudo, as without pkexec here.
    steps = installers_for(machine, make_plan(machine, Choices()), which=lambda _name: None).steps
    driver = next(s for s in steps if s.kind.startswith("driver"))
    wizard = open_wizard(qtbot, tmp_path, profile)
    while wizard.currentId() != PageId.ACTIONS:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    assert page.command.toPlainText().splitlines() == [c.display() for c in driver.commands]  # type: ignore[attr-defined]
    assert driver.title in texts(page)
    assert not page.run_button.isEnabled()  # type: ignore[attr-defined]  # simulated: nothing runs


def test_screenshots_come_with_the_text_of_each_page(qtbot: QtBot, tmp_path: Path) -> None:
    """``--screenshots DIR``: every page's PNG has its visible text beside it, in the chosen language."""
    from wizard.qt.app import Autopilot, create_wizard

    shots = tmp_path / "shots"
    options = GuiOptions(machine=str(MACHINES["driver-too-old"]), autopilot=True, lang="zh_CN")
    wizard = create_wizard(options, settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    pilot = Autopilot(wizard, shots, page_timeout_s=60)
    pilot.start()
    qtbot.waitUntil(lambda: pilot.exit_code is not None, timeout=120_000)
    pngs = sorted(p.stem for p in shots.glob("*.png"))
    assert pngs and pngs == sorted(p.stem for p in shots.glob("*.txt"))
    drivers = (shots / "05-actions.txt").read_text(encoding="utf-8")
    assert "驱动和工具" in drivers          # the page's title, in Chinese
    install = next(shots.glob("*-install.txt")).read_text(encoding="utf-8")
    assert "torch-gpu-setup install --new-venv" in install   # a simulated machine: the command that would run


PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


@pytest.mark.parametrize(("profile", "title", "buttons", "keep", "blocked"), [
    # Windows: the winget command is shown, with Copy and Run (disabled for a simulated machine)
    ("win10-py38-rtx3080.json", "Python first", {"open_button", "check_button", "copy", "run_button"},
     "works with the Python you have now", "Install is off: first install Python 3.12"),
    ("extra/win11-no-python-rtx3070.json", "Python first", {"open_button", "check_button", "copy", "run_button"},
     "No build works with the Python you have: install Python 3.12.", "Install is off: first install Python 3.12"),
    ("extra/ubuntu2404-cpu-lowdisk.json", "Free disk space", {"open_button", "check_button"},
     "No build fits in the space you have.", "Install is off: first free disk space"),
    ("extra/ubuntu2404-rtx5090-drv570.json", "Driver and tools", {"copy", "run_button"},
     "works with the driver you have now", "Install is off: first update the NVIDIA driver"),
    ("extra/ubuntu2404-rtx3060-restart-pending.json", "Restart first", set(),
     "torch 2.14.1+cpu works without the restart.", "Install is off: first restart the computer"),
])
def test_each_kind_of_action_gets_its_own_words_and_buttons(qtbot: QtBot, tmp_path: Path, profile: str, title: str,
                                                            buttons: set[str], keep: str, blocked: str) -> None:
    wizard = open_wizard(qtbot, tmp_path, PROFILE_DIR / profile)
    while wizard.currentId() != PageId.ACTIONS:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    shown = texts(page)
    assert page.title() == title
    assert "driver" not in page.title().lower() or title == "Driver and tools"
    for name in ("copy", "run_button", "open_button", "check_button"):
        assert getattr(page, name).isVisibleTo(page) == (name in buttons), name
    if "check_button" in buttons:   # a simulated machine is not this computer: nothing to check again here
        assert not page.check_button.isEnabled()  # type: ignore[attr-defined]
    if title == "Python first":
        assert "winget install --exact --id Python.Python.3.12 --scope user" in shown
        assert not page.run_button.isEnabled()  # type: ignore[attr-defined]
    assert keep in shown
    assert page.keep_radio.isEnabled() == ("No build" not in keep)  # type: ignore[attr-defined]
    advance(qtbot, wizard)
    summary = wizard.currentPage()
    assert blocked in texts(summary)
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()


def test_the_environment_page_never_preselects_a_python_without_wheels(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, PROFILE_DIR / "extra" / "win11-py315-rtx4090.json")
    while wizard.currentId() != PageId.ENVIRONMENT:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    assert page.base.currentText() == ""  # type: ignore[attr-defined]
    assert "No Python on this computer can run PyTorch" in texts(page)


def test_a_source_from_the_command_line_is_not_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    from wizard.qt.state import WizardState

    store = settings(tmp_path)
    state = WizardState(GuiOptions(index_url="http://127.0.0.1:9/once/"), store)
    state.remember()
    assert store.value("custom_index", "") == "" and store.value("mirror", None) is None
    state.custom_index = "https://mirror.example/whl/cu126/"   # the person typed one in the window
    state.remember()
    assert store.value("custom_index") == "https://mirror.example/whl/cu126/"


def test_the_environment_page_uses_the_plans_folder_and_checks_a_chosen_one(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, PROFILE_DIR / "extra" / "win11-longname-longpaths-off-rtx4070.json")
    while wizard.currentId() != PageId.ENVIRONMENT:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    shown = texts(page)
    # a simulated Windows machine gets its own Windows folder, short enough, and the reason
    assert page.paths["new"].text() == "C:\\Users\\christopher.johnson\\torch-envs\\torch-2.14.1-cu126"  # type: ignore[attr-defined]
    assert "Why this folder: Windows limits paths to 260 characters" in shown
    assert "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem" in shown
    assert page.isComplete()
    long = "C:\\Users\\christopher.johnson\\AppData\\Local\\torch-gpu-setup\\envs\\torch-2.14.1-cu126"
    page.paths["new"].setText(long)  # type: ignore[attr-defined]
    page.paths["new"].textEdited.emit(long)  # type: ignore[attr-defined]
    assert not page.isComplete()
    assert f"This folder will not work: this folder's path is {len(long)} characters long" in texts(page)


def test_the_environment_page_in_chinese_says_why_in_chinese(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, PROFILE_DIR / "extra" / "win11-chinese-user-rtx4070.json", lang="zh_CN")
    while wizard.currentId() != PageId.ENVIRONMENT:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    assert page.paths["new"].text() == "C:\\torch-envs\\torch-2.14.1-cu126"  # type: ignore[attr-defined]
    assert "plain letters" not in texts(page) and "C:\\Users\\张三" in texts(page)


def test_the_long_paths_button_is_offered_but_not_for_a_simulated_machine(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = open_wizard(qtbot, tmp_path, PROFILE_DIR / "extra" / "win11-longname-longpaths-off-rtx4070.json")
    while wizard.currentId() != PageId.ENVIRONMENT:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    assert page.long_paths.isVisibleTo(page) and not page.long_paths.isEnabled()  # type: ignore[attr-defined]
    other = open_wizard(qtbot, tmp_path / "b", PROFILE_DIR / "win11-rtx4070-drv566.json")
    while other.currentId() != PageId.ENVIRONMENT:
        advance(qtbot, other)
    assert not other.currentPage().long_paths.isVisibleTo(other.currentPage())  # type: ignore[attr-defined]
