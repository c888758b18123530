"""Page 5 (only when the chosen build needs something first): do it, or take the build that works now.

One page for every kind of pending action, each with its own words and buttons (the plan's action
kinds, SCHEMA.md): a driver install or update (the distribution's command, NVIDIA's page), a
Python to install (python.org, then "Check again"), disk space to free (how much, where, "Check
again"), a restart. What to run for a driver comes from the core
(:func:`wizard.core.drivers.installers.installers_for`), so this page and ``torch-gpu-setup
installers`` always say the same: the exact, already elevated commands.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from wizard.core.events import Event, LogLine
from wizard.core.model.plan import Action
from wizard.qt.adapters import FlowRunner, step_runner
from wizard.qt.errors import ErrorText, ask, show_error
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, label
from wizard.qt.state import PageId, WizardState

if TYPE_CHECKING:  # wizard.core.drivers.installers loads requests: imported when the page is first shown
    from wizard.core.drivers.steps import Step, Which
    from wizard.core.process import Command

CUDA_TOOLKIT_URL = "https://developer.nvidia.com/cuda-downloads"


def driver_step(state: WizardState) -> Step | None:
    """The core's driver step for the chosen build on this machine (None: no driver to install).

    A simulated machine is another computer: its commands are shown with ``sudo`` whatever this
    one has installed.
    """
    from wizard.core.drivers.installers import installers_for  # requests: loaded on first visit
    from wizard.core.drivers.steps import DRIVER_KINDS

    machine, plan, build = state.machine, state.plan, state.build()
    if machine is None or plan is None or build is None or not any(a.kind in DRIVER_KINDS for a in build.actions):
        return None
    which: Which = (lambda _name: None) if state.simulated else shutil.which
    iplan = installers_for(machine, dataclasses.replace(plan, recommended=build), which=which)
    return next((s for s in iplan.steps if s.kind.startswith("driver")), None)


def python_step(state: WizardState) -> Step | None:
    """The core's Python step (winget on Windows, the download page elsewhere); None: no Python needed."""
    from wizard.core.drivers.python_installer import python_install_step

    machine, build = state.machine, state.build()
    action = next((a for a in build.actions if a.kind == "python_install"), None) if build else None
    if machine is None or action is None:
        return None
    return python_install_step(machine, action, this_machine=machine.local and not state.simulated)


class ActionsPage(BasePage):
    """Two routes side by side: do what the build needs first, or the build that works as the machine is now."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        row = QHBoxLayout()
        self.first_box = QGroupBox()
        self.keep_box = QGroupBox()
        self.routes = QButtonGroup(self)
        self.first_radio = QRadioButton()
        self.keep_radio = QRadioButton()
        self.routes.addButton(self.first_radio)
        self.routes.addButton(self.keep_radio)
        first = QVBoxLayout(self.first_box)
        first.addWidget(self.first_radio)
        self.needs_text = label()
        first.addWidget(self.needs_text)
        self.how_text = label(selectable=True)
        first.addWidget(self.how_text)
        # the driver: the exact command, copied or run elevated
        self.step_title = label()
        self.step_title.setStyleSheet("font-weight: bold;")
        first.addWidget(self.step_title)
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.command.setMaximumHeight(4 * self.command.fontMetrics().lineSpacing() + 12)
        first.addWidget(self.command)
        self.step_notes = label()
        self.step_notes.setVisible(False)
        first.addWidget(self.step_notes)
        buttons = QHBoxLayout()
        self.copy = QPushButton()
        self.run_button = QPushButton()
        self.open_button = QPushButton()    # python.org, or the folder to free space in
        self.check_button = QPushButton()   # detect again: the Python installed, the space freed
        for button in (self.copy, self.run_button, self.open_button, self.check_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        first.addLayout(buttons)
        first.addStretch(1)
        keep = QVBoxLayout(self.keep_box)
        keep.addWidget(self.keep_radio)
        self.keep_text = label()
        keep.addWidget(self.keep_text)
        keep.addStretch(1)
        row.addWidget(self.first_box, 1)
        row.addWidget(self.keep_box, 1)
        self.outer.addLayout(row)
        self.toolkit = QCheckBox()
        self.toolkit_text = label()
        self.toolkit_text.setVisible(False)
        self.toolkit.toggled.connect(self.toolkit_text.setVisible)
        self.outer.addWidget(self.toolkit)
        self.outer.addWidget(self.toolkit_text)
        self.after = label()
        self.outer.addWidget(self.after)
        self.run_log = label(selectable=True)
        self.outer.addWidget(self.run_log)
        self.outer.addStretch(1)
        self.runner: FlowRunner | None = None
        self.step: Step | None = None
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.toPlainText()))
        self.run_button.clicked.connect(self._run)
        self.open_button.clicked.connect(self._open)
        self.check_button.clicked.connect(self._check_again)
        self.first_radio.toggled.connect(self._route)
        state.changed.connect(self._replanned)
        self.retranslate()

    def initializePage(self) -> None:
        """Default: do what the recommended build needs."""
        self.first_radio.setChecked(self.state.action_route == "first")
        self.keep_radio.setChecked(self.state.action_route != "first")
        self.refresh()

    def nextId(self) -> int:
        """Always the Summary next."""
        return int(PageId.SUMMARY)

    def busy(self) -> bool:
        """The driver installer runs, or the machine is being checked again."""
        return (self.runner is not None and self.runner.running()) or "detect" in self.state.busy \
            or "plan" in self.state.busy

    def isComplete(self) -> bool:
        """Not while something runs here."""
        return not self.busy()

    def topic(self) -> str:
        """``driver``, ``python``, ``disk``, ``reboot``, or ``done`` once nothing is needed any more."""
        build = self.state.chosen_build()
        return (build.topic() if build else None) or "done"

    def _route(self) -> None:
        self.state.action_route = "first" if self.first_radio.isChecked() else "without"
        self.state.changed.emit()
        self.refresh()

    def _replanned(self) -> None:
        if self.isVisible():
            self.refresh()
            self.completeChanged.emit()

    def _actions(self) -> list[Action]:
        build = self.state.chosen_build()
        return build.blocking_actions() if build else []

    def retranslate(self) -> None:
        """Texts of this page (those that depend on the action: :meth:`refresh`)."""
        self.copy.setText(self.tr("&Copy command"))
        self.check_button.setText(self.tr("Check &again"))
        self.toolkit.setText(self.tr("Show how to get the CUDA &toolkit (only to compile CUDA extensions)"))
        self.toolkit_text.setText(self.tr("PyTorch brings its own CUDA libraries; the toolkit is only needed to "
                                          "compile extensions. Download it from {0}.").format(CUDA_TOOLKIT_URL))
        self.refresh()

    def _words(self, topic: str, python: str) -> dict[str, str]:
        """The page's words for one kind of action."""
        if topic == "python":
            windows = self.state.machine is not None and self.state.machine.os.family == "windows"
            return {
                "title": self.tr("Python first"),
                "subtitle": self.tr("The recommended build needs another Python. Choose one of the two ways."),
                "box": self.tr("Install Python {0}").format(python),
                "first": self.tr("&Install Python {0}, then use the recommended build").format(python),
                "how": (self.tr("Press Run it now to install Python {0} for you with winget (no administrator "
                                "rights), or download it from python.org and tick \"Add python.exe to PATH\". Then "
                                "press Check again.") if windows
                        else self.tr("Download Python {0} (64-bit) from python.org and install it; on Windows tick "
                                     "\"Add python.exe to PATH\". Then press Check again.")).format(python),
                "keep_box": self.tr("Keep the Python you have"),
                "keep": self.tr("Use the newest build that &works with it"),
                "works": self.tr("{0} works with the Python you have now."),
                "none": self.tr("No build works with the Python you have: install Python {0}.").format(python),
                "after": self.tr("After installing Python: press Check again, or start this wizard again."),
                "open": self.tr("Open the Python &download page"),
            }
        if topic == "disk":
            return {
                "title": self.tr("Free disk space"),
                "subtitle": self.tr("The recommended build needs more free disk space. Choose one of the two ways."),
                "box": self.tr("Free disk space"),
                "first": self.tr("&Free space, then use the recommended build"),
                "how": self.tr("PyTorch goes into {0}. Delete what you no longer need on that disk (or choose "
                               "a folder on a bigger disk on the Environment page), then press Check "
                               "again.").format(self._envs_dir()),
                "keep_box": self.tr("Keep the disk as it is"),
                "keep": self.tr("Use the newest build that &fits"),
                "works": self.tr("{0} fits in the space you have now."),
                "none": self.tr("No build fits in the space you have."),
                "after": self.tr("After freeing space: press Check again."),
                "open": self.tr("Open the &folder"),
            }
        if topic == "reboot":
            return {
                "title": self.tr("Restart first"),
                "subtitle": self.tr("The new driver is installed but not running yet. Choose one of the two ways."),
                "box": self.tr("Restart the computer"),
                "first": self.tr("&Restart, then use the recommended build"),
                "how": self.tr("Save your work, restart the computer, then start this wizard again."),
                "keep_box": self.tr("Do not restart now"),
                "keep": self.tr("Use the newest build that &works without it"),
                "works": self.tr("{0} works without the restart."),
                "none": self.tr("No build works before the restart."),
                "after": self.tr("It remembers your choices and checks the driver again."),
                "open": "",
            }
        if topic == "done":
            return {
                "title": self.tr("Nothing more is needed"),
                "subtitle": self.tr("The recommended build runs on this computer as it is now."),
                "box": self.tr("Done"), "first": self.tr("&Use the recommended build"), "how": "",
                "keep_box": "", "keep": "", "works": "{0}", "none": "", "after": "", "open": "",
            }
        return {
            "title": self.tr("Driver and tools"),
            "subtitle": self.tr("The recommended build needs a newer NVIDIA driver. Choose one of the two ways."),
            "box": self.tr("Update the driver"),
            "first": self.tr("&Update the driver, then use the recommended build"),
            "how": "",
            "keep_box": self.tr("Keep the driver as it is"),
            "keep": self.tr("Use the newest build that &works without it"),
            "works": self.tr("{0} works with the driver you have now."),
            "none": self.tr("No build works without the update."),
            "after": self.tr("After a driver update: restart the computer, then start this wizard again. "
                             "It remembers your choices and checks the driver again."),
            "open": "",
        }

    def _envs_dir(self) -> str:
        from wizard.core.install.environments import envs_dir

        return self.state.env_path() or str(envs_dir())

    def refresh(self) -> None:
        """Describe both routes for the action the chosen build needs."""
        topic = self.topic()
        actions = self._actions()
        python = next((a.min_version for a in actions if a.kind == "python_install" and a.min_version), "3.12")
        words = self._words(topic, python)
        self.setTitle(words["title"])
        self.setSubTitle(words["subtitle"])
        self.first_box.setTitle(words["box"])
        self.first_radio.setText(words["first"])
        self.keep_box.setTitle(words["keep_box"])
        self.keep_radio.setText(words["keep"])
        self.keep_box.setVisible(topic != "done")
        self.after.setText(words["after"])
        lines = []
        for action in actions:
            extra = f" (≥ {action.min_version})" if action.min_version and action.kind.startswith("driver") else ""
            lines.append("• " + core_text(action.detail) + extra)
        self.needs_text.setText("\n".join(lines))
        self.how_text.setText(words["how"])
        self.how_text.setVisible(bool(words["how"]))
        driver = topic == "driver"
        self.step = (driver_step(self.state) if driver else python_step(self.state) if topic == "python"
                     else None) if self.state.machine else None
        step = self.step
        self.step_title.setText(core_text(step.title) if step else "")
        self.step_title.setVisible(step is not None)
        shown = [c.display() for c in step.commands] if step else []
        self.command.setPlainText("\n".join(shown or (list(step.urls[:1]) if step else [])))
        self.command.setVisible(bool(step and (step.commands or step.urls)))
        self.step_notes.setText("\n".join("ℹ " + core_text(n) for n in step.notes[:2]) if step else "")
        self.step_notes.setVisible(bool(step and step.notes))
        self.copy.setVisible(driver or bool(step and step.commands))
        self.copy.setEnabled(bool(self.command.toPlainText()))
        self.run_button.setVisible(driver or bool(step and step.commands))
        self.run_button.setText(self.tr("&Run it now…") if self._commands() else self.tr("&Open the download page"))
        self.run_button.setEnabled(not self.state.simulated and bool(step and (step.commands or step.urls)))
        self.run_button.setToolTip(self.tr("Not available for a simulated machine.") if self.state.simulated else "")
        self.open_button.setText(words["open"])
        self.open_button.setVisible(bool(words["open"]))
        self.check_button.setVisible(topic in ("python", "disk"))
        self.check_button.setEnabled(not self.state.simulated and not self.busy())
        self.check_button.setToolTip(self.tr("Not available for a simulated machine.") if self.state.simulated else "")
        self.toolkit.setVisible(driver)
        keep = self.state.build_without_actions()
        self.keep_text.setText(words["works"].format(keep.label()) if keep else words["none"])
        self.keep_radio.setEnabled(keep is not None)

    def _open(self) -> None:
        if self.topic() == "python":
            from wizard.core.drivers.python_installer import PYTHON_DOWNLOADS

            family = self.state.machine.os.family if self.state.machine else "linux"
            QDesktopServices.openUrl(QUrl(PYTHON_DOWNLOADS.get(family, "https://www.python.org/downloads/")))
        else:
            folder = Path(self._envs_dir())
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _check_again(self) -> None:
        """Detect the machine again (a Python installed, space freed) and plan anew."""
        self.state.start_detection(again=True)
        self.refresh()
        self.completeChanged.emit()

    def _commands(self) -> tuple[Command, ...]:
        return self.step.commands if self.step is not None else ()

    def _run(self) -> None:
        step = self.step
        if step is None:
            return
        if not step.commands:
            if step.urls:
                QDesktopServices.openUrl(QUrl(step.urls[0]))
            return
        shown = "\n".join(c.display() for c in step.commands)
        python = step.kind.startswith("python")
        if python:
            # winget --scope user: no administrator rights; the Python is checked for again after
            if not ask(self, self.tr("Install Python"), self.tr("Run this command?"), shown):
                return
        elif not ask(self, self.tr("Update the driver"),
                     self.tr("Run these commands with administrator rights?"), shown):
            return
        if not python and (sys.platform == "win32" or step.commands[0].argv[0] != "pkexec"):
            # sudo needs a terminal to ask for the password: the GUI cannot answer it.
            show_error(self, ErrorText(self.tr("The command cannot be run from here."),
                                       self.tr("Run it in a terminal: {0}").format(shown), ""))
            return
        self.runner = step_runner(step.commands, self, self._ran, self._failed)
        self.runner.flow_event.connect(self._on_event)
        self.completeChanged.emit()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self.run_log.setText(event.text[-300:])

    def _ran(self, _results: object) -> None:
        self.completeChanged.emit()
        if self.step is not None and self.step.kind.startswith("python"):
            self.run_log.setText(self.tr("Python is installed. Checking the computer again…"))
            self._check_again()
            return
        self.run_log.setText(self.tr("Done. Restart the computer so the new driver loads."))

    def _failed(self, error: object) -> None:
        self.completeChanged.emit()
        message = error.message if isinstance(error, ErrorText) else str(error)
        if self.step is not None and self.step.kind.startswith("python"):
            self.run_log.setText(self.tr("The Python install failed: {0}").format(message))
            return
        self.run_log.setText(self.tr("The driver command failed: {0}").format(message))
