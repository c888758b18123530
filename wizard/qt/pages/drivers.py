"""Page 5 (only when the plan has actions): update the driver, or the build that works without it."""

from __future__ import annotations

import shutil
import sys

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from wizard.core.machine import Machine
from wizard.core.planner import Action
from wizard.qt.errors import ErrorText, ask, show_error
from wizard.qt.pages.base import BasePage, label
from wizard.qt.state import PageId, WizardState
from wizard.qt.workers import ProcessResult, ProcessRunner

NVIDIA_DRIVERS_URL = "https://www.nvidia.com/en-us/drivers/"
CUDA_TOOLKIT_URL = "https://developer.nvidia.com/cuda-downloads"


def driver_command(machine: Machine) -> tuple[list[str], str]:
    """(argv to run elevated, or [] for "use the web page"), and the text to show.

    Linux distributions with ``ubuntu-drivers`` (Ubuntu, Mint, Pop!_OS) install the recommended
    packaged driver with it; elsewhere, and on Windows and WSL, the driver comes from NVIDIA's
    download page (on WSL it is installed on Windows, never inside Linux).
    """
    if machine.os.family == "linux" and not machine.os.wsl:
        version = machine.os.version.lower()
        if any(name in version for name in ("ubuntu", "mint", "pop")):
            return ["ubuntu-drivers", "install"], "sudo ubuntu-drivers install"
        if "fedora" in version:
            return ["dnf", "install", "-y", "akmod-nvidia"], "sudo dnf install akmod-nvidia   (RPM Fusion)"
    return [], NVIDIA_DRIVERS_URL


class DriversPage(BasePage):
    """Two routes side by side; the driver command is shown and run elevated only after asking."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        row = QHBoxLayout()
        self.update_box = QGroupBox()
        self.keep_box = QGroupBox()
        self.routes = QButtonGroup(self)
        self.update_radio = QRadioButton()
        self.keep_radio = QRadioButton()
        self.routes.addButton(self.update_radio)
        self.routes.addButton(self.keep_radio)
        up = QVBoxLayout(self.update_box)
        up.addWidget(self.update_radio)
        self.update_text = label()
        up.addWidget(self.update_text)
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        up.addWidget(self.command)
        buttons = QHBoxLayout()
        self.copy = QPushButton()
        self.run_button = QPushButton()
        buttons.addWidget(self.copy)
        buttons.addWidget(self.run_button)
        up.addLayout(buttons)
        up.addStretch(1)
        keep = QVBoxLayout(self.keep_box)
        keep.addWidget(self.keep_radio)
        self.keep_text = label()
        keep.addWidget(self.keep_text)
        keep.addStretch(1)
        row.addWidget(self.update_box, 1)
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
        self.runner = ProcessRunner(self)
        self.runner.line.connect(lambda text: self.run_log.setText(text[-300:]))
        self.runner.finished.connect(self._ran)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.text()))
        self.run_button.clicked.connect(self._run)
        self.update_radio.toggled.connect(self._route)
        self.retranslate()

    def initializePage(self) -> None:
        """Default: update the driver (the recommended build needs it)."""
        self.update_radio.setChecked(self.state.driver_route == "update")
        self.keep_radio.setChecked(self.state.driver_route != "update")
        self.refresh()

    def nextId(self) -> int:
        """Always the Summary next."""
        return int(PageId.SUMMARY)

    def busy(self) -> bool:
        """The driver installer is running."""
        return self.runner.running()

    def isComplete(self) -> bool:
        """Not while the driver installer runs."""
        return not self.runner.running()

    def _route(self) -> None:
        self.state.driver_route = "update" if self.update_radio.isChecked() else "without"
        self.state.changed.emit()

    def _actions(self) -> list[Action]:
        plan = self.state.plan
        if plan is None:
            return []
        builds = ([plan.recommended] if plan.recommended else []) + list(plan.alternatives)
        return list(builds[min(self.state.choice_index, len(builds) - 1)].actions) if builds else []

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Driver and tools"))
        self.setSubTitle(self.tr("The recommended build needs something first. Choose one of the two ways."))
        self.update_box.setTitle(self.tr("Update the driver"))
        self.keep_box.setTitle(self.tr("Keep the driver as it is"))
        self.update_radio.setText(self.tr("&Update the driver, then use the recommended build"))
        self.keep_radio.setText(self.tr("Use the newest build that &works without it"))
        self.copy.setText(self.tr("&Copy command"))
        self.run_button.setText(self.tr("&Run it now…"))
        self.toolkit.setText(self.tr("Show how to get the CUDA &toolkit (only to compile CUDA extensions)"))
        self.toolkit_text.setText(self.tr("PyTorch brings its own CUDA libraries; the toolkit is only needed to "
                                          "compile extensions. Download it from {0}.").format(CUDA_TOOLKIT_URL))
        self.after.setText(self.tr("After a driver update: restart the computer, then start this wizard again. "
                                   "It remembers your choices and checks the driver again."))

    def refresh(self) -> None:
        """Describe both routes."""
        machine = self.state.machine
        actions = self._actions()
        lines = []
        for action in actions:
            extra = f" (≥ {action.min_version})" if action.min_version else ""
            lines.append("• " + action.detail + extra)
        self.update_text.setText("\n".join(lines))
        _argv, text = driver_command(machine) if machine else ([], "")
        self.command.setText(text)
        self.run_button.setEnabled(not self.state.simulated)
        self.run_button.setToolTip(self.tr("Not available for a simulated machine.") if self.state.simulated else "")
        keep = self.state.build_without_actions()
        self.keep_text.setText(
            self.tr("{0} works with the driver you have now.").format(keep.label()) if keep else
            self.tr("No build works without the update."))
        self.keep_radio.setEnabled(keep is not None)

    def _run(self) -> None:
        machine = self.state.machine
        if machine is None:
            return
        argv, text = driver_command(machine)
        if not argv:
            QDesktopServices.openUrl(QUrl(text))
            return
        if not ask(self, self.tr("Update the driver"),
                   self.tr("Run this command with administrator rights?"), text):
            return
        elevate = shutil.which("pkexec")
        if elevate is None or sys.platform == "win32":
            show_error(self, ErrorText(self.tr("The command cannot be run from here."),
                                       self.tr("Run it in a terminal: {0}").format(text), ""))
            return
        from wizard.core.commands import Command

        self.runner.start(Command(argv=(elevate, *argv)))
        self.completeChanged.emit()

    def _ran(self, result: ProcessResult) -> None:
        self.completeChanged.emit()
        if result.ok:
            self.run_log.setText(self.tr("Done. Restart the computer so the new driver loads."))
        else:
            self.run_log.setText(self.tr("The driver command failed (exit code {0}).").format(result.returncode))
