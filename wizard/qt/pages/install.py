"""Page 7: download progress per file, the pip step, a live log; cancel undoes everything."""

from __future__ import annotations

import shlex
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
)

from wizard.core.units import format_bytes, format_duration
from wizard.qt.errors import ErrorText
from wizard.qt.pages.base import BasePage, ErrorPanel, label
from wizard.qt.state import WizardState
from wizard.qt.workers import TaskContext

if TYPE_CHECKING:
    from wizard.core.install.flow import InstallRequest
    from wizard.qt.adapters import InstallJob

#: The install flow's steps this page shows (wizard.core.events.INSTALL_STEPS; verify has its own page).
STEP_ORDER = ("prepare", "download", "venv", "snapshot", "pip", "pins")


class InstallPage(BasePage):
    """Runs the :class:`InstallJob`; Back is disabled (the Summary is a commit page)."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.steps = label(rich=True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.files = QTreeWidget()
        self.files.setColumnCount(4)
        self.files.setRootIsDecorated(False)
        self.files.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.pip_bar = QProgressBar()
        self.toggle = QPushButton()
        self.toggle.setCheckable(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setVisible(False)
        self.toggle.toggled.connect(self.log.setVisible)
        self.error = ErrorPanel()
        self.retry = QPushButton()
        self.retry.setVisible(False)
        self.retry.clicked.connect(self._start)
        self.change = QPushButton()           # back to the choices (a mirror, another build): nothing is lost
        self.change.setVisible(False)
        self.change.clicked.connect(self._change_choices)
        # after a network failure: which mirror answers fastest from here, and "use it"
        self.mirrors_text = label(selectable=True)
        self.mirrors_text.setVisible(False)
        self.probe_button = QPushButton()
        self.probe_button.setVisible(False)
        self.probe_button.clicked.connect(self._probe_mirrors)
        self.use_mirror = QPushButton()
        self.use_mirror.setVisible(False)
        self.use_mirror.clicked.connect(self._use_fastest)
        self.fastest: str | None = None
        for w in (self.steps, self.status, self.files, self.pip_bar):
            self.outer.addWidget(w)
        row = QHBoxLayout()
        row.addWidget(self.toggle)
        row.addStretch(1)
        row.addWidget(self.change)
        row.addWidget(self.retry)
        self.outer.addLayout(row)
        self.outer.addWidget(self.log, 1)
        self.outer.addWidget(self.error)
        mirrors = QHBoxLayout()
        mirrors.addWidget(self.mirrors_text, 1)
        mirrors.addWidget(self.probe_button)
        mirrors.addWidget(self.use_mirror)
        self.outer.addLayout(mirrors)
        self.job: InstallJob | None = None
        self.outcome: dict[str, object] | None = None
        self.problem: ErrorText | None = None
        self.was_cancelled = ""
        self.done_steps: list[str] = []
        self.current_step = ""
        self._last_ui = 0.0
        self.retranslate()

    # ------------------------------------------------------------------ Qt

    def initializePage(self) -> None:
        """Start the installation (or, for a simulated machine, show what would run); again after
        the person went back from a failure to change the choices."""
        if self.state.simulated:
            self._show_simulated()
            return
        if (self.job is None and self.outcome is None) or (self.failed() and not self.busy()):
            self._start()

    def isComplete(self) -> bool:
        """Next once installed."""
        return self.outcome is not None or self.state.simulated

    def busy(self) -> bool:
        """The job is running."""
        return self.job is not None and self.job.active

    def failed(self) -> bool:
        """It failed or was cancelled."""
        return self.problem is not None or bool(self.was_cancelled)

    def running(self) -> bool:
        """For the wizard's cancel and close handling."""
        return self.busy()

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Installing"))
        self.setSubTitle(self.tr("Downloading and installing PyTorch. You can cancel; everything is then undone."))
        self.files.setHeaderLabels([self.tr("File"), self.tr("Size"), self.tr("Progress"),
                                    self.tr("Speed / time left")])
        self.toggle.setText(self.tr("Show &log"))
        self.retry.setText(self.tr("Try &again"))
        self.change.setText(self.tr("< &Change the choices"))
        self.probe_button.setText(self.tr("Find the &fastest mirror"))
        if self.fastest:
            self.use_mirror.setText(self.tr("&Use {0} and try again").format(self._mirror_name(self.fastest)))
        self.pip_bar.setFormat(self.tr("pip is downloading: %p%"))
        self._show_steps()

    def _step_names(self) -> dict[str, str]:
        return {"prepare": self.tr("Check the environment"), "download": self.tr("Download"),
                "venv": self.tr("Create the environment"), "snapshot": self.tr("Snapshot"),
                "pip": self.tr("Install with pip"), "pins": self.tr("Pin the build")}

    def _show_steps(self) -> None:
        parts = []
        for step, name in self._step_names().items():
            if step == ("snapshot" if self.state.env.mode == "new" else "venv"):
                continue
            mark = "✔" if step in self.done_steps else ("▶" if step == self.current_step else "○")
            parts.append(f"{mark} {name}")
        self.steps.setText("&nbsp;&nbsp; ".join(parts))

    # ------------------------------------------------------------------ the job

    def request(self) -> InstallRequest:
        """The install request from the state (the same request type the CLI and answer files fill)."""
        return self.state.install_request()

    def _start(self) -> None:
        self.problem, self.was_cancelled, self.outcome = None, "", None
        self.done_steps, self.current_step = [], ""
        self.error.show_error(None)
        for widget in (self.retry, self.change, self.mirrors_text, self.probe_button, self.use_mirror):
            widget.setVisible(False)
        self.files.clear()
        self.pip_bar.setValue(0)
        self.pip_bar.setVisible(False)   # shown once pip reports a download (not while the venv is made)
        self.state.failed = False
        from wizard.qt.adapters import InstallJob  # downloads, pip, requests: loaded when an install starts

        request = self.request()
        from wizard.core.install.flow import command_line

        self._on_line("# the same from a terminal: " + shlex.join(command_line(replace(request, verify=True))))
        job = InstallJob(request, self)
        job.step.connect(self._on_step)
        job.status.connect(self.status.setText)
        job.line.connect(self._on_line)
        job.files_planned.connect(self._on_files)
        job.file_progress.connect(self._on_file_progress)
        job.pip_progress.connect(self._on_pip_progress)
        job.succeeded.connect(self._on_success)
        job.failed.connect(self._on_failure)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        job.start()
        self.completeChanged.emit()

    def cancel(self) -> None:
        """Stop the job; it undoes its work and then reports ``cancelled``."""
        if self.job is not None:
            self.job.cancel()

    def _on_step(self, step: str) -> None:
        if self.current_step and self.current_step not in self.done_steps and step != "undo":
            self.done_steps.append(self.current_step)
        self.current_step = step
        self._show_steps()

    def _on_line(self, text: str) -> None:
        self.state.log(text)
        self.log.appendPlainText(text)

    def _on_files(self, files: object) -> None:
        self.files.clear()
        for name, size in files if isinstance(files, list) else []:
            item = QTreeWidgetItem([name, format_bytes(size) if size else "?", "", ""])
            self.files.addTopLevelItem(item)

    def _on_file_progress(self, index: int, done: int, total: int, rate: float, eta: float) -> None:
        item = self.files.topLevelItem(index)
        if item is None:
            return
        percent = f"{100 * done / total:.0f}%" if total else format_bytes(done)
        item.setText(2, percent)
        speed = f"{format_bytes(rate)}/s" if rate > 0 else ""
        left = format_duration(eta) if done < total else self.tr("done")
        item.setText(3, "  ".join(p for p in (speed, left) if p))

    def _on_pip_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_ui < 0.05 and done < total:
            return  # pip prints a line per chunk; 20 updates a second are plenty
        self._last_ui = now
        self.pip_bar.setVisible(True)
        self.pip_bar.setValue(int(100 * done / total) if total else 0)

    def _on_success(self, outcome: object) -> None:
        assert isinstance(outcome, dict)
        self.outcome = outcome
        self.done_steps = list(STEP_ORDER)
        self.current_step = ""
        self._show_steps()
        self.pip_bar.setValue(100)
        self.state.installed_prefix = outcome["prefix"]
        self.state.installed_python = outcome["python"]
        self.state.activate = str(outcome["activate"])
        self.status.setText(self.tr("PyTorch is installed. Next: prove that it works."))
        self.completeChanged.emit()

    def _on_failure(self, error: object) -> None:
        assert isinstance(error, ErrorText)
        self.problem = error
        self.state.failed = True
        self.state.errors.append(error.plain())
        self.status.setText(self.tr("The installation did not finish."))
        self.error.show_error(error)
        self.retry.setVisible(True)
        self.change.setVisible(True)
        if error.network:
            self.mirrors_text.setText(self.tr("The download server could not be reached from here. A mirror "
                                              "closer to you may work (in mainland China: usually faster)."))
            for widget in (self.mirrors_text, self.probe_button):
                widget.setVisible(True)
        self.completeChanged.emit()

    def _on_cancelled(self, undone: str) -> None:
        self.was_cancelled = undone or "cancelled"
        self.state.errors.append("cancelled: " + undone)
        self.status.setText(self.tr("Cancelled. {0}").format(undone))
        self.retry.setVisible(True)
        self.change.setVisible(True)
        self.completeChanged.emit()

    # ------------------------------------------------------------------ recovering

    def _change_choices(self) -> None:
        """Back to the Build page (past the commit page: nothing was installed, so nothing is lost)."""
        from wizard.qt.state import PageId

        wizard, target = self.wizard(), int(PageId.BUILD)
        while wizard.currentId() != target and target in wizard.visitedIds():
            wizard.back()

    def _mirror_name(self, name: str) -> str:
        names = {"official": self.tr("PyTorch's own server"), "aliyun": self.tr("the Alibaba Cloud mirror"),
                 "sjtu": self.tr("the Shanghai Jiao Tong University mirror"),
                 "nju": self.tr("the Nanjing University mirror")}
        return names.get(name, name)

    def _probe_mirrors(self) -> None:
        """Time every mirror in the background (a few seconds at most), then offer the fastest."""
        build = self.state.build()
        if build is None:
            return
        variant, proxy = build.variant, self.state.proxy or None
        self.mirrors_text.setText(self.tr("Asking each mirror…"))
        self.probe_button.setEnabled(False)

        def probe(ctx: TaskContext) -> object:
            from wizard.core.fetch.mirror_probe import mirror_candidates, probe_sources
            from wizard.core.fetch.net import NetConfig, make_session

            return probe_sources(mirror_candidates(variant), session=make_session(NetConfig(proxy=proxy)),
                                 cancel=ctx.cancel)

        # the state's background job: closing the window stops it, as it stops every check
        self.state.run_in_background("mirrors", probe, self._probed)

    def _probed(self, results: object) -> None:
        self.probe_button.setEnabled(True)
        lines = []
        for r in results if isinstance(results, list) else []:
            lines.append(self.tr("{0}: answered in {1:.2f} s").format(self._mirror_name(r.name), r.seconds) if r.ok
                         else self.tr("{0}: no answer").format(self._mirror_name(r.name)))
        fastest = next((r.name for r in results if r.ok), None) if isinstance(results, list) else None
        self.fastest = fastest
        self.mirrors_text.setText("\n".join(lines) if lines else self.tr("No mirror answered."))
        self.use_mirror.setVisible(fastest is not None)
        if fastest is not None:
            self.use_mirror.setText(self.tr("&Use {0} and try again").format(self._mirror_name(fastest)))

    def _use_fastest(self) -> None:
        if self.fastest is None:
            return
        self.state.mirror = self.fastest
        self.state.remember()
        self._start()

    def _show_simulated(self) -> None:
        build = self.state.build()
        self.status.setText(self.tr("Simulated machine: nothing is installed. These commands would run:"))
        if build is None:
            return
        # the very request a real run would hand to the core, as the command that runs it from a terminal
        from wizard.core.install.flow import command_line

        # (the terminal's install verifies too: the window does that on its next page)
        self.log.setPlainText(shlex.join(command_line(replace(self.state.install_request(), verify=True))))
        self.pip_bar.setVisible(False)
        self.log.setVisible(True)
        self.toggle.setChecked(True)
        self.files.clear()
        for requirement in build.requirements:
            self.files.addTopLevelItem(QTreeWidgetItem([requirement, "", self.tr("simulated"), ""]))
