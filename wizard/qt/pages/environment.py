"""Page 3: where PyTorch goes: a new venv (default), an existing venv/conda env, or an interpreter."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
)

from wizard.core.install import environments as envs
from wizard.core.install import interpreters
from wizard.core.model.machine import PythonTarget
from wizard.core.plan.planner import rank_pythons
from wizard.qt.adapters import FlowRunner, step_runner
from wizard.qt.errors import ErrorText, ask, error_text
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, label
from wizard.qt.state import WizardState
from wizard.qt.workers import Task, TaskContext

MODES = ("new", "existing", "interpreter")



def _replacements(requirements: Sequence[str], existing: dict[str, str]) -> list[str]:
    """What installing ``requirements`` would replace (install_flow loads the download stack: lazily)."""
    from wizard.core.install.flow import replacements_needing_consent

    return replacements_needing_consent(requirements, existing)

class EnvironmentPage(BasePage):
    """Choose the target environment; an existing torch is shown with what will happen to it."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        grid = QGridLayout()
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.paths: dict[str, QLineEdit] = {}
        self.browse: dict[str, QPushButton] = {}
        row = 0
        for mode in MODES:
            radio = QRadioButton()
            self.group.addButton(radio)
            self.radios[mode] = radio
            grid.addWidget(radio, row, 0, 1, 3)
            edit = QLineEdit()
            self.paths[mode] = edit
            button = QPushButton()
            self.browse[mode] = button
            grid.addWidget(edit, row + 1, 1)
            grid.addWidget(button, row + 1, 2)
            edit.textEdited.connect(self._path_edited)
            button.clicked.connect(lambda _=False, m=mode: self._browse(m))
            radio.toggled.connect(self._mode_changed)
            row += 2
            if mode == "new":
                self.base_label = label()
                self.base = QComboBox()
                self.base.setEditable(True)
                self.base_label.setBuddy(self.base)
                grid.addWidget(self.base_label, row, 1, 1, 2)
                grid.addWidget(self.base, row + 1, 1, 1, 2)
                self.base.currentTextChanged.connect(self._base_changed)
                row += 2
        grid.setColumnMinimumWidth(0, 24)
        grid.setColumnStretch(1, 1)
        self.outer.addLayout(grid)
        self.info = label(selectable=True)    # the long-paths command can be copied
        self.outer.addWidget(self.info)
        self.long_paths = QPushButton()       # Windows, long paths off: the optional reg change
        self.long_paths.clicked.connect(self._enable_long_paths)
        self.outer.addWidget(self.long_paths)
        self._long_paths_runner: FlowRunner | None = None
        state.changed.connect(self._replanned)
        self.consent = QCheckBox()
        self.consent.toggled.connect(self._consent_changed)
        self.outer.addWidget(self.consent)
        self.outer.addStretch(1)
        self._reader: Task | None = None
        self.pythons: dict[str, PythonTarget] = {}
        self.fits: dict[str, str] = {}
        mode = state.env.mode if state.env.mode in MODES else "new"
        self.paths[mode].setText(state.env.path)
        self.radios[mode].setChecked(True)
        self.retranslate()

    # ------------------------------------------------------------------ Qt

    def initializePage(self) -> None:
        """Fill the paths and the base interpreters, the best for PyTorch first (never one with no wheels)."""
        machine = self.state.machine
        self.base.blockSignals(True)
        self.base.clear()
        self.pythons = {}
        ranked = rank_pythons(machine, self.state.choices) if machine else []
        self.fits = {}
        for py, fit in ranked:
            # A system Python under PEP 668 still makes venvs: only its own site-packages is off limits.
            text = py.path or (self.tr("Python {0} (simulated machine)").format(py.version)
                               if self.state.simulated else "")
            if text:
                self.base.addItem(text)
                self.pythons[text] = py
                self.fits[text] = fit
        chosen = self.state.env.base_python
        detected = machine.python.path if machine and machine.python else None
        if chosen and chosen != detected and chosen not in self.pythons:
            self.base.setEditText(chosen)          # a path the person gave (--python, typed earlier)
        else:
            usable = [text for text, fit in self.fits.items() if fit != "none"]
            self.base.setEditText(chosen if chosen in usable and self.fits.get(chosen) == "recommended"
                                  else (usable[0] if usable else ""))
        self.base.blockSignals(False)
        self._base_changed(self.base.currentText())
        if not self.paths["new"].text():
            self.paths["new"].setText(self.state.env_path() if self.state.env.mode == "new" else
                                      self.state.default_env_path())
        self._read_existing()
        self.refresh()

    def isComplete(self) -> bool:
        """A path is given, and consent when something would be replaced."""
        env = self.state.env
        if not self.state.env_path().strip() or self.state.env_path_problem():
            return False
        if env.replacements and not env.consent:
            return False
        return not (self._reader is not None and self._reader.running)

    def busy(self) -> bool:
        """Reading the chosen environment."""
        return self._reader is not None and self._reader.running

    def validatePage(self) -> bool:
        """Remember the choice."""
        self.state.remember()
        return True

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Where should PyTorch go?"))
        self.setSubTitle(self.tr("A new, separate environment is safest: nothing else on this computer changes."))
        self.radios["new"].setText(self.tr("Create a &new environment (recommended)"))
        self.radios["existing"].setText(self.tr("Use an &existing virtual or conda environment"))
        self.radios["interpreter"].setText(self.tr("Use a Python &interpreter directly"))
        for mode in MODES:
            self.browse[mode].setText(self.tr("Browse…"))
        self.paths["new"].setPlaceholderText(self.tr("Folder for the new environment"))
        self.paths["existing"].setPlaceholderText(self.tr("Folder of the environment"))
        self.paths["interpreter"].setPlaceholderText(self.tr("Path of python or python.exe"))
        self.base_label.setText(self.tr("&Python used to create it:"))
        self.consent.setText(self.tr("&Replace them (a snapshot is taken first; you can roll back)"))
        self.long_paths.setText(self.tr("Enable &long paths (administrator)…"))

    # ------------------------------------------------------------------ events

    def _mode(self) -> str:
        return next(m for m, r in self.radios.items() if r.isChecked())

    def _mode_changed(self) -> None:
        mode = self._mode()
        for m in MODES:
            self.paths[m].setEnabled(m == mode)
            self.browse[m].setEnabled(m == mode)
        self.base.setEnabled(mode == "new")
        self.state.env.mode = mode
        self.state.env.path = self.paths[mode].text().strip()
        self._read_existing()

    def _path_edited(self) -> None:
        self.state.env.path = self.paths[self._mode()].text().strip()
        self._read_existing()

    def _base_changed(self, text: str) -> None:
        self.state.env.base_python = (text.strip() or None) if text not in self.pythons or \
            self.pythons[text].path else None
        target = self.pythons.get(text)
        if target is not None:
            self.state.use_python(target)    # the plan is for the Python the environment is made with
        self.refresh()

    def _consent_changed(self, on: bool) -> None:
        self.state.env.consent = on
        self.completeChanged.emit()

    def _browse(self, mode: str) -> None:
        if mode == "interpreter":
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a Python interpreter"))
        else:
            path = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder"))
        if path:
            self.paths[mode].setText(path)
            self._path_edited()

    # ------------------------------------------------------------------ the existing environment

    def _read_existing(self) -> None:
        env = self.state.env
        env.existing, env.replacements = {}, []
        build = self.state.build()
        requirements = build.requirements if build else []
        machine = self.state.machine
        if self.state.simulated:
            # the profile says what the simulated machine's Python has; nothing is read from disk
            if env.mode != "new" and machine and machine.python and machine.python.installed_torch:
                env.existing = {"torch": machine.python.installed_torch.version}
                env.replacements = _replacements(requirements, env.existing)
            self.refresh()
            return
        if env.mode == "new" or not env.path:
            self.refresh()
            return
        path = env.path

        def read(ctx: TaskContext) -> dict[str, str]:
            prefix = Path(path)
            if env.mode == "existing":
                kind_conda = (prefix / "conda-meta").is_dir()
                python = envs.conda_python(prefix) if kind_conda else envs.venv_python(prefix)
            else:
                python = prefix
            return interpreters.list_distributions(str(python))

        task = Task(read, self)
        self._reader = task

        def done(result: object) -> None:
            if self._reader is task and isinstance(result, dict):
                env.existing = result
                env.replacements = _replacements(requirements, result)
                self.refresh()

        def failed(exc: object) -> None:
            if self._reader is task:
                text = error_text(exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
                self.info.setText(self.tr("This environment could not be read: {0}").format(text.message))
                self.completeChanged.emit()

        task.finished.connect(done)
        task.failed.connect(failed)
        task.start()
        self.refresh()

    def refresh(self) -> None:
        """Say what happens to an existing torch."""
        env = self.state.env
        build = self.state.build()
        fit = self.fits.get(self.base.currentText()) if env.mode == "new" else None
        problem = self.state.env_path_problem() if env.mode != "interpreter" else None
        plan = self.state.plan
        where = plan.environment if plan is not None and plan.environment is not None else None
        if problem:
            self.info.setText(self.tr("This folder will not work: {0}").format(core_text(problem)))
        elif env.mode == "new" and self.fits and not any(f != "none" for f in self.fits.values()):
            self.info.setText(self.tr("No Python on this computer can run PyTorch; the next pages say which one "
                                      "to install."))
        elif fit == "none":
            self.info.setText(self.tr("PyTorch publishes no wheels for this Python: choose another one."))
        elif env.mode == "new":
            text = self.tr("A new environment is created at the path above; if the install fails or is "
                           "cancelled, it is removed again.")
            if where is not None and self.state.env_path() == where.path:
                text += "\n" + self.tr("Why this folder: {0}.").format(core_text(where.why))
                for action in where.actions:
                    text += "\n" + core_text(action.detail)
            self.info.setText(text)
        elif self.busy():
            self.info.setText(self.tr("Reading the environment…"))
        elif env.replacements:
            self.info.setText(self.tr("This environment already has: {0}. They will be replaced by {1}.").format(
                "; ".join(env.replacements), build.label() if build else "?"))
        elif "torch" in env.existing:
            self.info.setText(self.tr("This environment already has torch {0}; it is kept.").format(
                env.existing["torch"]))
        elif env.path:
            self.info.setText(self.tr("No torch in this environment yet; other packages are left as they are."))
        else:
            self.info.setText("")
        self.consent.setVisible(bool(env.replacements))
        offered = where is not None and any(a.kind == "enable_long_paths" for a in where.actions)
        self.long_paths.setVisible(offered and env.mode == "new")
        can_run = not self.state.simulated and sys.platform == "win32"
        self.long_paths.setEnabled(can_run and not self._running_long_paths())
        self.long_paths.setToolTip("" if can_run else self.tr("Not available for a simulated machine."))
        self.completeChanged.emit()

    # ------------------------------------------------------------------ long paths (Windows)

    def _running_long_paths(self) -> bool:
        return self._long_paths_runner is not None and self._long_paths_runner.running()

    def _enable_long_paths(self) -> None:
        """Run the core's long-paths step elevated (UAC), then detect and plan again."""
        from wizard.core.drivers.installers import long_paths_step

        plan = self.state.plan
        action = next((a for a in plan.environment.actions if a.kind == "enable_long_paths"), None) \
            if plan is not None and plan.environment is not None else None
        if action is None:
            return
        step = long_paths_step(action)
        if not ask(self, self.tr("Enable long paths"), self.tr("Run this command with administrator rights?"),
                   core_text(action.detail)):
            return
        self._long_paths_runner = step_runner(step.commands, self, self._long_paths_done, self._long_paths_failed)
        self.refresh()

    def _replanned(self) -> None:
        """New facts (long paths turned on): the plan's folder fills an emptied path."""
        if self.isVisible() and self.state.env.mode == "new" and not self.paths["new"].text():
            self.paths["new"].setText(self.state.default_env_path())
            self.refresh()

    def _long_paths_done(self, _result: object) -> None:
        self.info.setText(self.tr("Long paths are on. Checking the computer again…"))
        self.paths["new"].setText("")             # the plan's folder for the new facts
        self.state.env.path = ""
        self.state.start_detection(again=True)

    def _long_paths_failed(self, error: object) -> None:
        message = error.message if isinstance(error, ErrorText) else str(error)
        self.info.setText(self.tr("Long paths were not enabled: {0}").format(message))
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        """The long-paths button after its run ended."""
        self.long_paths.setEnabled(not self.state.simulated and sys.platform == "win32"
                                   and not self._running_long_paths())
