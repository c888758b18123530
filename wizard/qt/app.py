"""Start the GUI: the application, translations, logging, the wizard, and autopilot."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from wizard import __version__
from wizard.qt.i18n import Translations, system_language
from wizard.qt.state import GuiOptions, PageId, WizardState
from wizard.qt.wizard import SetupWizard

log = logging.getLogger("wizard.qt")
ORGANIZATION = "torch-gpu-setup"
APPLICATION = "torch-gpu-setup"


def log_file() -> Path:
    """``gui.log`` in the platform's user log directory."""
    import platformdirs

    return platformdirs.user_log_path(APPLICATION, appauthor=False) / "gui.log"


def setup_logging() -> Path | None:
    """Log to the platform log directory (never fails the GUI: a read-only home just skips it)."""
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("wizard")
    if not any(isinstance(h, logging.FileHandler) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


#: The window icon in every size resources/png has (copies shipped as package data, wizard/qt/icons).
ICON_DIR = Path(__file__).resolve().parent / "icons"


def app_icon() -> QIcon:
    """The wizard's icon (all sizes; empty when the files are missing, which Qt tolerates)."""
    icon = QIcon()
    for path in sorted(ICON_DIR.glob("torch-gpu-setup-*.png")):
        icon.addFile(str(path))
    return icon


GUI_SWITCH_INTERVAL_S = 0.001


def make_application() -> QApplication:
    """The QApplication (or the one that exists, under pytest-qt)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # HiDPI: Qt 6 scales by default; pass fractional factors (150 %) through unrounded. Said with
    # Qt's environment variable (a person's own setting wins): touching the Qt namespace in Python
    # creates all its ~120 enums, 15 ms before the window could show.
    os.environ.setdefault("QT_SCALE_FACTOR_ROUNDING_POLICY", "PassThrough")
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    # The flows run on worker threads that parse a child's output line by line; with Python's default
    # 5 ms GIL switch interval, several busy threads keep the GUI thread waiting in turn. 1 ms keeps
    # the window responsive (bench/bench_gui.py: the longest stall under a 60 000-line pip flood).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    return app


def create_wizard(options: GuiOptions, settings: QSettings | None = None,
                  translations: Translations | None = None) -> SetupWizard:
    """Build the state and the wizard for ``options`` (a profile is loaded here: bad ones raise)."""
    settings = settings or QSettings(ORGANIZATION, APPLICATION)
    state = WizardState(options, settings)
    if options.machine:
        from wizard.core.model.machine import load_profile

        state.machine = load_profile(options.machine)
    translations = translations or Translations()
    language = options.lang or str(settings.value("language", "")) or system_language()
    translations.switch(language)
    wizard = SetupWizard(state, translations.language)
    wizard.setWindowIcon(app_icon())

    def switch_language(lang: str) -> None:
        translations.switch(lang)
        settings.setValue("language", lang)

    state.language_changed.connect(switch_language)
    state.problem.connect(lambda error: log.warning("%s", error.plain()))
    wizard.translations = translations  # type: ignore[attr-defined]  # kept alive with the window
    return wizard


def visible_text(widget: QWidget) -> str:
    """Everything a person can read in ``widget``, one item per line: the page's title and subtitle,
    labels, buttons, group titles, fields, lists, trees and text boxes (``--screenshots``' ``.txt``)."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QPlainTextEdit,
        QTreeWidget,
        QWizardPage,
    )

    out: list[str] = []
    if isinstance(widget, QWizardPage):
        out += [widget.title(), widget.subTitle()]
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget):
            continue
        if isinstance(child, (QLabel, QAbstractButton)):
            out.append(child.text())
        elif isinstance(child, QGroupBox):
            out.append(child.title())
        elif isinstance(child, QLineEdit):
            out.append(child.text() or child.placeholderText())
        elif isinstance(child, QComboBox):
            out.append(child.currentText())
        elif isinstance(child, QPlainTextEdit):
            out.append(child.toPlainText())
        elif isinstance(child, QListWidget):
            out += [child.item(i).text() for i in range(child.count())]
        elif isinstance(child, QTreeWidget):
            header = child.headerItem()
            out.append("  |  ".join(header.text(c) for c in range(header.columnCount())))
            for i in range(child.topLevelItemCount()):
                item = child.topLevelItem(i)
                if item is not None:
                    out.append("  |  ".join(item.text(c) for c in range(item.columnCount())))
    return "\n".join(line for line in out if line.strip())


class Autopilot(QObject):
    """Walks every page with the defaults, saving one PNG and its text per page; ``finished`` gives 0 or 1."""

    finished = Signal(int)

    def __init__(self, wizard: SetupWizard, shots: Path | None, page_timeout_s: float = 1800.0) -> None:
        super().__init__(wizard)
        self.wizard = wizard
        self.shots = shots
        self.timeout_ms = int(page_timeout_s * 1000)
        self.shot_ids: list[int] = []
        self.exit_code: int | None = None
        self.waited_ms = 0
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        """Begin walking once the event loop runs."""
        self.timer.start()

    def _shoot(self, page_id: int) -> None:
        if self.shots is None or page_id in self.shot_ids:
            return
        QApplication.processEvents()
        name = f"{len(self.shot_ids) + 1:02d}-{PageId(page_id).name.lower()}"
        self.wizard.grab().save(str(self.shots / f"{name}.png"))
        # the page's text beside its picture: pages reviewed (and tested) as text, in every language
        (self.shots / f"{name}.txt").write_text(visible_text(self.wizard.page_of(PageId(page_id))) + "\n",
                                                encoding="utf-8")
        self.shot_ids.append(page_id)

    def _finish(self, code: int) -> None:
        self.timer.stop()
        self.exit_code = code
        log.info("autopilot finished with exit code %d", code)
        self.wizard.done(0)
        self.finished.emit(code)

    def _tick(self) -> None:
        page_id = self.wizard.currentId()
        page = self.wizard.page_of(PageId(page_id))
        if page.failed():
            self._shoot(page_id)
            self._finish(1)
            return
        if page_id == PageId.SUMMARY and self.wizard.state.install_blocked() and not page.busy():
            self._shoot(page_id)
            self._finish(1)   # nothing can be installed before a person acts (the page says what)
            return
        if page.busy() or not page.isComplete():
            self.waited_ms += self.timer.interval()
            if self.waited_ms > self.timeout_ms:
                self._shoot(page_id)
                self._finish(1)
            return
        self.waited_ms = 0
        self._shoot(page_id)
        state = self.wizard.state
        if page_id == PageId.ACTIONS and state.install_blocked() and state.build_without_actions() is not None:
            # a walk cannot install a driver or a Python: it takes the build that works as the machine is now
            state.action_route = "without"
            state.changed.emit()
        if page_id == PageId.FINISH:
            self._finish(0)
        else:
            self.wizard.next()


def run_gui(options: GuiOptions) -> int:
    """Open the wizard; returns the exit code (autopilot: 0 when every page succeeded)."""
    app = make_application()
    path = setup_logging()
    log.info("torch-gpu-setup %s GUI started; log file %s", __version__, path)
    wizard = create_wizard(options)
    wizard.show()
    state = wizard.state
    if not options.autopilot:
        from wizard.qt.errors import show_error

        state.problem.connect(lambda error: show_error(wizard, error) if wizard.currentId() != PageId.SYSTEM
                              else None)
        return int(app.exec())
    pilot = Autopilot(wizard, options.screenshots)
    pilot.finished.connect(app.exit)
    pilot.start()
    code = int(app.exec())
    return pilot.exit_code if pilot.exit_code is not None else code
