"""Page 5 (only when the plan has actions): update the driver, or the build that works without it.

What to run comes from the core (:func:`wizard.core.drivers.installers.installers_for`), so this page and
``torch-gpu-setup installers`` always say the same: the exact, already elevated commands.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
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

from wizard.core.events import Emit, Event, LogLine
from wizard.core.model.plan import Action
from wizard.qt.adapters import FlowRunner
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
        self.step_title = label()
        self.step_title.setStyleSheet("font-weight: bold;")
        up.addWidget(self.step_title)
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.command.setMaximumHeight(4 * self.command.fontMetrics().lineSpacing() + 12)
        up.addWidget(self.command)
        self.step_notes = label()
        self.step_notes.setVisible(False)
        up.addWidget(self.step_notes)
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
        self.runner: FlowRunner | None = None
        self.step: Step | None = None
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.toPlainText()))
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
        return self.runner is not None and self.runner.running()

    def isComplete(self) -> bool:
        """Not while the driver installer runs."""
        return not self.busy()

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
        self.run_button.setText(self.tr("&Run it now…") if self._commands() else self.tr("&Open the download page"))
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
            lines.append("• " + core_text(action.detail) + extra)
        self.update_text.setText("\n".join(lines))
        self.step = driver_step(self.state) if machine else None
        step = self.step
        self.step_title.setText(core_text(step.title) if step else "")
        self.step_title.setVisible(step is not None)
        shown = [c.display() for c in step.commands] if step else []
        self.command.setPlainText("\n".join(shown or (list(step.urls[:1]) if step else [])))
        self.command.setVisible(bool(step and (step.commands or step.urls)))
        self.step_notes.setText("\n".join("ℹ " + core_text(n) for n in step.notes[:2]) if step else "")
        self.step_notes.setVisible(bool(step and step.notes))
        self.copy.setEnabled(bool(self.command.toPlainText()))
        self.run_button.setText(self.tr("&Run it now…") if self._commands() else self.tr("&Open the download page"))
        self.run_button.setEnabled(not self.state.simulated and bool(step and (step.commands or step.urls)))
        self.run_button.setToolTip(self.tr("Not available for a simulated machine.") if self.state.simulated else "")
        keep = self.state.build_without_actions()
        self.keep_text.setText(
            self.tr("{0} works with the driver you have now.").format(keep.label()) if keep else
            self.tr("No build works without the update."))
        self.keep_radio.setEnabled(keep is not None)

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
        if not ask(self, self.tr("Update the driver"),
                   self.tr("Run these commands with administrator rights?"), shown):
            return
        if sys.platform == "win32" or step.commands[0].argv[0] != "pkexec":
            # sudo needs a terminal to ask for the password: the GUI cannot answer it.
            show_error(self, ErrorText(self.tr("The command cannot be run from here."),
                                       self.tr("Run it in a terminal: {0}").format(shown), ""))
            return
        commands = step.commands
        from wizard.core.drivers.installers import run_step_commands

        def flow(emit: Emit, cancel: threading.Event) -> object:
            return run_step_commands(commands, on_line=lambda line: emit(LogLine(line)), cancel=cancel)

        runner = FlowRunner(flow, self)
        runner.flow_event.connect(self._on_event)
        runner.finished.connect(self._ran)
        runner.failed.connect(self._failed)
        runner.cancelled.connect(self._failed)
        self.runner = runner
        runner.start()
        self.completeChanged.emit()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self.run_log.setText(event.text[-300:])

    def _ran(self, _results: object) -> None:
        self.completeChanged.emit()
        self.run_log.setText(self.tr("Done. Restart the computer so the new driver loads."))

    def _failed(self, error: object) -> None:
        self.completeChanged.emit()
        message = error.message if isinstance(error, ErrorText) else str(error)
        self.run_log.setText(self.tr("The driver command failed: {0}").format(message))
