"""Check an existing environment: pick an interpreter or a venv folder, see the doctor's findings.

The page only shows what :func:`wizard.core.doctor.runner.run_doctor` decides (the same call as
``torch-gpu-setup doctor``); the fix flows into the usual Summary, Install and Verify pages as
the plan to install into the same environment.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton

from wizard.core import messages as M
from wizard.core.doctor.model import Diagnosis
from wizard.core.events import Emit
from wizard.core.text import T
from wizard.qt.adapters import FlowRunner
from wizard.qt.errors import ErrorText
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, ErrorPanel, label, scroll_box
from wizard.qt.state import PageId, WizardState

MARKS = {"error": "✘", "warning": "⚠", "info": "ℹ"}


class DoctorPage(BasePage):
    """The detected interpreters, a path field, Check, and the findings with the fix."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.intro = label()
        self.found = QListWidget()
        self.found.setMaximumHeight(130)
        self.found.currentItemChanged.connect(self._picked)
        self.path = QLineEdit()
        self.path.textChanged.connect(self._path_changed)
        self.browse_folder = QPushButton()
        self.browse_folder.clicked.connect(self._browse_folder)
        self.browse_python = QPushButton()
        self.browse_python.clicked.connect(self._browse_python)
        self.check = QPushButton()
        self.check.clicked.connect(self.start)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse_folder)
        row.addWidget(self.browse_python)
        row.addWidget(self.check)
        self.status = label()
        self.findings = label(rich=True, selectable=True)
        self.fix = label(rich=True, selectable=True)
        self.error = ErrorPanel()
        self.outer.addWidget(self.intro)
        self.outer.addWidget(self.found)
        self.outer.addLayout(row)
        self.outer.addWidget(self.status)
        column = scroll_box(self.outer)
        column.addWidget(self.findings)
        column.addWidget(self.fix)
        column.addStretch(1)
        self.outer.addWidget(self.error)
        self.runner: FlowRunner | None = None
        self.diagnosis: Diagnosis | None = None
        self.problem: ErrorText | None = None
        self.retranslate()

    # ------------------------------------------------------------------ the wizard's questions

    def initializePage(self) -> None:
        """Detect the machine (once) so its interpreters can be listed."""
        if self.state.machine is None and "detect" not in self.state.busy:
            self.state.start_detection()
        self.state.changed.connect(self.refresh, Qt.ConnectionType.UniqueConnection)
        self.refresh()

    def nextId(self) -> int:
        """The fix goes on to the Summary (Install, Verify), through the Actions page when it needs a driver,
        a Python or a restart first; without a fix the wizard ends here."""
        fix = self.diagnosis.fix if self.diagnosis is not None else None
        if fix is None:
            return -1
        return int(PageId.ACTIONS if fix.blocking_actions() else PageId.SUMMARY)

    def _path_changed(self, _text: str) -> None:
        """Another environment: the earlier diagnosis (and its fix) no longer applies."""
        if not self.running() and self.diagnosis is not None:
            self.diagnosis = None
            self.refresh()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """Next (to install the fix) once the doctor answered with one."""
        return not self.running() and self.diagnosis is not None and self.diagnosis.fix is not None

    def validatePage(self) -> bool:
        """The fix becomes the plan the next pages install, into the same environment."""
        if self.diagnosis is not None and self.diagnosis.fix is not None:
            self.state.use_doctor_fix(self.diagnosis)
        return True

    def busy(self) -> bool:
        """True while the doctor runs or the machine is being detected."""
        return self.running() or "detect" in self.state.busy

    def failed(self) -> bool:
        """True when the doctor could not run."""
        return self.problem is not None

    def running(self) -> bool:
        """True while the doctor runs."""
        return self.runner is not None and self.runner.running()

    def cancel(self) -> None:
        """Stop the doctor (the window closes)."""
        if self.runner is not None:
            self.runner.cancel()

    # ------------------------------------------------------------------ choosing

    def _picked(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.path.setText(str(item.data(Qt.ItemDataRole.UserRole)))

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the environment's folder"))
        if folder:
            self.path.setText(folder)

    def _browse_python(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Choose the Python interpreter"))
        if name:
            self.path.setText(name)

    def start(self) -> None:
        """Run the doctor on the chosen interpreter or folder (the core's flow, on a worker thread)."""
        python = self.path.text().strip()
        if not python or self.running():
            return
        machine, described = self.state.machine, self.state.simulated

        def flow(emit: Emit, cancel: threading.Event) -> Diagnosis:
            from wizard.core.doctor.runner import run_doctor

            # The home folder as the working folder: where a tutorial's "torch.py" usually lands,
            # never the app's own folder (the CLI takes --workdir, default the current folder).
            return run_doctor(python, machine=machine, described=described, workdir=str(Path.home()),
                              emit=emit, cancel=cancel)

        self.diagnosis, self.problem = None, None
        self.error.show_error(None)
        runner = FlowRunner(flow, self)
        runner.finished.connect(self._done)
        runner.failed.connect(self._failed)
        runner.cancelled.connect(lambda _what: self.refresh())
        self.runner = runner
        self.status.setText(self.tr("Checking {0}…").format(python))
        runner.start()
        self.refresh()

    def _done(self, result: object) -> None:
        assert isinstance(result, Diagnosis)
        self.diagnosis = result
        self.refresh()

    def _failed(self, error: object) -> None:
        assert isinstance(error, ErrorText)
        self.problem = error
        self.error.show_error(error)
        self.refresh()

    # ------------------------------------------------------------------ showing

    def refresh(self) -> None:
        """The interpreters found, and the findings and fix of the last check."""
        machine = self.state.machine
        if machine is not None and self.found.count() == 0:
            pythons = ([machine.python] if machine.python else []) + list(machine.interpreters)
            for py in pythons:
                if not py.path:
                    continue
                torch = py.installed_torch.version if py.installed_torch else self.tr("no torch")
                item = QListWidgetItem(f"{py.path}  (Python {py.version}, {torch})")
                item.setData(Qt.ItemDataRole.UserRole, py.path)
                self.found.addItem(item)
        self.check.setEnabled(not self.running() and machine is not None)
        if self.running():
            self.findings.setText("")
            self.fix.setText("")
        elif self.diagnosis is not None:
            self.status.setText(self.tr("Checked {0}.").format(self.diagnosis.python))
            self.findings.setText(self.findings_html(self.diagnosis))
            self.fix.setText(self.fix_html(self.diagnosis))
        else:   # a problem (shown by the error box), or nothing checked for this path yet
            self.status.setText("")
            self.findings.setText("")
            self.fix.setText("")
        self.completeChanged.emit()

    def findings_html(self, d: Diagnosis) -> str:
        """One line per finding with its fix, translated."""
        lines = [f"<p>{html.escape(core_text(note))}</p>" for note in d.notes]
        if d.healthy and d.torch_version:
            healthy = T(M.DOCTOR_HEALTHY, version=d.torch_version)
            lines.append(f"<p><b>{html.escape(core_text(healthy))}</b></p>")
        items = []
        for f in d.findings:
            fix = f"<br/>→ {html.escape(core_text(f.fix))}" if f.fix else ""
            items.append(f"<li>{MARKS.get(f.severity, '')} <b>{html.escape(core_text(f.message))}</b> "
                         f"<small>({f.code})</small>{fix}</li>")
        if items:
            lines.append("<ul>" + "".join(items) + "</ul>")
        return "".join(lines)

    def fix_html(self, d: Diagnosis) -> str:
        """The recommended next step."""
        if d.fix is None:
            return f"<p>{html.escape(core_text(d.fix_text))}</p>"
        return ("<p><b>" + html.escape(self.tr("Recommended next step:")) + "</b> "
                + html.escape(core_text(d.fix_text)) + "<br/>"
                + html.escape(self.tr("Next shows the installation into this same environment; a snapshot is "
                                      "taken first, so it can be rolled back.")) + "</p>")

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Check an existing environment"))
        self.setSubTitle(self.tr("The wizard looks at the PyTorch installed in an environment and says what is "
                                 "wrong and how to fix it."))
        self.intro.setText(self.tr("Pick a Python found on this computer, or choose an environment folder or an "
                                   "interpreter, then press Check."))
        self.path.setPlaceholderText(self.tr("Environment folder or Python interpreter"))
        self.browse_folder.setText(self.tr("&Folder…"))
        self.browse_python.setText(self.tr("&Interpreter…"))
        self.check.setText(self.tr("&Check"))
        if self.diagnosis is not None:
            self.refresh()
