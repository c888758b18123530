"""Page 9: the verdict in plain words, how to start, the diagnostics report, rollback."""

from __future__ import annotations

import html
import threading
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPlainTextEdit, QPushButton

from wizard.core.events import Emit, LogLine, StepStarted
from wizard.core.helpdesk.report import Report, build_report, helpdesk_summary
from wizard.core.install.flow import FIRST_PROGRAM
from wizard.qt.adapters import FlowRunner
from wizard.qt.errors import ErrorText, ask, error_text, show_error
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, label
from wizard.qt.state import WizardState


class FinishPage(BasePage):
    """The end: verdict, first steps, report, rollback."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.verdict = label(rich=True)
        self.howto = label(rich=True, selectable=True)
        self.snippet = QPlainTextEdit()
        self.snippet.setReadOnly(True)
        self.snippet.setPlainText(FIRST_PROGRAM)
        self.snippet.setMaximumHeight(120)
        self.report_button = QPushButton()
        self.copy_button = QPushButton()
        self.rollback_button = QPushButton()
        self.note = label(selectable=True)
        row = QHBoxLayout()
        for b in (self.report_button, self.copy_button, self.rollback_button):
            row.addWidget(b)
        row.addStretch(1)
        for w in (self.verdict, self.howto, self.snippet):
            self.outer.addWidget(w)
        self.outer.addLayout(row)
        self.outer.addWidget(self.note)
        self.outer.addStretch(1)
        self.report_button.clicked.connect(self._save_report)
        self.copy_button.clicked.connect(self._copy)
        self.rollback_button.clicked.connect(self._rollback)
        self._rollback_task: FlowRunner | None = None
        self.rolled_back = False
        self.retranslate()

    def initializePage(self) -> None:
        """Show the verdict."""
        self.refresh()

    def busy(self) -> bool:
        """A rollback runs."""
        return self._rollback_task is not None and self._rollback_task.running()

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Finished"))
        self.setSubTitle(self.tr("What happened, and how to start."))
        self.report_button.setText(self.tr("&Save diagnostics report…"))
        self.copy_button.setText(self.tr("&Copy for helpdesk"))
        self.rollback_button.setText(self.tr("&Roll back…"))

    def verdict_words(self) -> str:
        """The outcome in one sentence."""
        if self.state.simulated:
            machine = self.state.machine
            return self.tr("This was a simulation of “{0}”: nothing was installed.").format(
                machine.description or machine.id if machine else "?")
        result = self.state.verify
        if self.rolled_back:
            return self.tr("The installation was rolled back.")
        if self.state.installed_python is None:
            return self.tr("PyTorch was not installed.")
        if result is None:
            return self.tr("PyTorch is installed, but the demo did not finish.")
        return {
            "gpu-ok": self.tr("PyTorch works on your GPU."),
            "cpu-only": self.tr("PyTorch works, on the processor (CPU) only."),
        }.get(result.verdict, self.tr("PyTorch is installed, but the demo found a problem (see the Verify page)."))

    def refresh(self) -> None:
        """Verdict and first steps."""
        ok = self.state.verify is not None and self.state.verify.verdict in ("gpu-ok", "cpu-only")
        colour = "#1e8449" if ok else ("#000" if self.state.simulated else "#a93226")
        self.verdict.setText(f"<h3 style='color:{colour}'>{html.escape(self.verdict_words())}</h3>")
        installed = self.state.installed_python is not None
        if installed:
            self.howto.setText(self.tr("<b>To use it</b>, open a terminal and activate the environment:<br>"
                                       "<code>{0}</code><br>then run this first program:").format(
                html.escape(self.state.activate)))
        else:
            self.howto.setText(self.tr("A first program to run once PyTorch is installed:"))
        self.rollback_button.setEnabled(installed and not self.busy())

    # ------------------------------------------------------------------ actions

    def report(self) -> Report:
        """The redacted diagnostics report of this session."""
        extra = {"environment": {"mode": self.state.env.mode, "path": self.state.env_path()},
                 "index_url": self.state.index_url(), "errors": list(self.state.errors),
                 "requirements": list(build.requirements) if (build := self.state.build()) else [],
                 "simulated": self.state.simulated}
        return build_report(self.state.machine, self.state.plan, self.state.install_log, self.state.verify,
                            extra=extra)

    def save_report(self, path: Path) -> tuple[Path, Path]:
        """Write ``path`` as HTML and its ``.json`` twin; returns both paths."""
        report = self.report()
        html_path = path.with_suffix(".html")
        json_path = path.with_suffix(".json")
        html_path.write_text(report.html, encoding="utf-8")
        json_path.write_text(report.json_text(), encoding="utf-8")
        return html_path, json_path

    def _save_report(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Save diagnostics report"),
                                              str(Path.home() / "torch-gpu-setup-report.html"), "HTML (*.html)")
        if not name:
            return
        try:
            html_path, json_path = self.save_report(Path(name))
        except OSError as exc:
            show_error(self, error_text(exc))
            return
        self.note.setText(self.tr("Saved {0} and {1}.").format(html_path, json_path))

    def helpdesk_text(self) -> str:
        """A plain-text summary for a helpdesk chat or e-mail (redacted, the core's one summary)."""
        return helpdesk_summary(self.report().data, self.verdict_words())

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.helpdesk_text())
        self.note.setText(self.tr("Copied. Paste it into your message to the helpdesk."))

    def _rollback(self) -> None:
        python = self.state.installed_python
        if python is None or not ask(self, self.tr("Roll back"),
                                     self.tr("Undo this installation?"),
                                     self.tr("A new environment is deleted; an existing one returns to its "
                                             "snapshot.")):
            return

        from wizard.core.install.flow import run_rollback

        def flow(emit: Emit, cancel: threading.Event) -> str:
            return run_rollback(python, emit)

        runner = FlowRunner(flow, self)
        self._rollback_task = runner
        runner.flow_event.connect(self._rollback_progress)
        runner.finished.connect(self._rolled_back)
        runner.failed.connect(self._rollback_failed)
        self.note.setText(self.tr("Rolling back…"))
        runner.start()
        self.refresh()

    def _rollback_progress(self, event: object) -> None:
        if isinstance(event, StepStarted):
            self.note.setText(core_text(event.text) + "…")
        elif isinstance(event, LogLine):
            self.state.log(event.text)

    def _rollback_failed(self, error: object) -> None:
        self.note.setText("")
        self.refresh()
        if isinstance(error, ErrorText):
            show_error(self, error)

    def _rolled_back(self, done: object) -> None:
        self.rolled_back = True
        self.note.setText(core_text(done) if isinstance(done, str) else str(done))
        self.state.installed_python = None
        self.state.verify = None
        self.refresh()
