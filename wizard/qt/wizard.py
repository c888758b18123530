"""The QWizard: pages in order, branching, cancel and close that stop and clean up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import QWizard

from wizard.qt.pages.base import BasePage
from wizard.qt.pages.welcome import WelcomePage
from wizard.qt.state import PageId, WizardState

if TYPE_CHECKING:
    from wizard.qt.pages.install import InstallPage
    from wizard.qt.pages.verify import VerifyPage


class SetupWizard(QWizard):
    """Nine pages; Drivers only when the plan has actions; Summary commits ("Install").

    Only the Welcome page is made before the window first paints; the other eight (and the
    planner, environment and verify modules they load) right after it, or at once when
    something asks for them first (:meth:`build_pages`). The window so appears in about the time
    an empty Qt window does (bench/bench_gui.py).
    """

    def __init__(self, state: WizardState, language: str = "en") -> None:
        super().__init__()
        self.state = state
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.pages: dict[PageId, BasePage] = {PageId.WELCOME: WelcomePage(state, language)}
        self.setPage(int(PageId.WELCOME), self.pages[PageId.WELCOME])
        super().setStartId(int(PageId.WELCOME))
        self.resize(900, 680)
        self.setMinimumSize(760, 560)
        self.retranslate()

    def build_pages(self) -> None:
        """Make the pages after Welcome (once): after the first paint, or when first needed."""
        if len(self.pages) > 1:
            return
        from wizard.qt.pages.actions import ActionsPage
        from wizard.qt.pages.build import BuildPage
        from wizard.qt.pages.doctor import DoctorPage
        from wizard.qt.pages.environment import EnvironmentPage
        from wizard.qt.pages.finish import FinishPage
        from wizard.qt.pages.install import InstallPage
        from wizard.qt.pages.summary import SummaryPage
        from wizard.qt.pages.system import SystemPage
        from wizard.qt.pages.verify import VerifyPage

        state = self.state
        rest: dict[PageId, BasePage] = {
            PageId.SYSTEM: SystemPage(state),
            PageId.ENVIRONMENT: EnvironmentPage(state),
            PageId.BUILD: BuildPage(state),
            PageId.ACTIONS: ActionsPage(state),
            PageId.SUMMARY: SummaryPage(state),
            PageId.INSTALL: InstallPage(state),
            PageId.VERIFY: VerifyPage(state),
            PageId.FINISH: FinishPage(state),
            PageId.DOCTOR: DoctorPage(state),
        }
        self.pages.update(rest)
        for page_id, page in rest.items():
            self.setPage(int(page_id), page)

    def paintEvent(self, event: QPaintEvent) -> None:
        """After the first paint, make the remaining pages (the event loop runs this next)."""
        super().paintEvent(event)
        if len(self.pages) == 1 and not getattr(self, "_build_queued", False):
            self._build_queued = True
            QTimer.singleShot(0, self, self.build_pages)

    def setStartId(self, id: int) -> None:  # Qt's parameter name
        """Start on page ``id`` (its page is made first when it is not Welcome)."""
        if id != PageId.WELCOME:
            self.build_pages()
        super().setStartId(id)

    def validateCurrentPage(self) -> bool:
        """Next was pressed: the following pages must exist (Next before they were made)."""
        self.build_pages()
        return super().validateCurrentPage()

    def nextId(self) -> int:
        """Finish is the last page although the Doctor page's id comes after it."""
        if self.currentId() == PageId.FINISH:
            return -1
        return super().nextId()

    def page_of(self, page_id: PageId) -> BasePage:
        """The page object for an id (the pages after Welcome are made when first asked for)."""
        if page_id not in self.pages:
            self.build_pages()
        return self.pages[page_id]

    def retranslate(self) -> None:
        """Window title and button texts (Qt's own are replaced so they translate with ours)."""
        self.setWindowTitle(self.tr("PyTorch GPU setup"))
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("&Next >"))
        self.setButtonText(QWizard.WizardButton.BackButton, self.tr("< &Back"))
        self.setButtonText(QWizard.WizardButton.CancelButton, self.tr("Cancel"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Finish"))

    def changeEvent(self, event: object) -> None:
        """Retranslate on language change."""
        from PySide6.QtCore import QEvent

        if isinstance(event, QEvent) and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ cancel and close

    def _running_page(self) -> InstallPage | VerifyPage | None:
        if len(self.pages) == 1:
            return None  # nothing can run before the pages exist
        from wizard.qt.pages.install import InstallPage
        from wizard.qt.pages.verify import VerifyPage

        for page_id in (PageId.INSTALL, PageId.VERIFY):
            page = self.pages[page_id]
            if isinstance(page, (InstallPage, VerifyPage)) and page.running():
                return page
        return None

    def stop_running(self) -> bool:
        """Ask, then stop a running install/demo and wait until it cleaned up. False: keep going."""
        page = self._running_page()
        if page is None:
            return True
        from wizard.qt.errors import ask
        from wizard.qt.pages.install import InstallPage

        if isinstance(page, InstallPage):
            question = self.tr("Stop the installation?")
            info = self.tr("Everything done so far is undone: a new environment is deleted, an existing one is "
                           "put back as it was.")
        else:
            question = self.tr("Stop the demo?")
            info = self.tr("PyTorch stays installed.")
        if not ask(self, self.tr("Cancel"), question, info):
            return False
        page.cancel()
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if not page.running() else None)
        timer.start(50)
        loop.exec()
        timer.stop()
        return True

    def reject(self) -> None:
        """Cancel: while something runs, stop it (asking first) and stay; otherwise close."""
        if self._running_page() is not None:
            self.stop_running()
            return
        self._stop_doctor()
        self.state.stop_all()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing mid-install asks, stops and cleans up before the window goes."""
        if not self.stop_running():
            event.ignore()
            return
        self._stop_doctor()
        self.state.stop_all()
        super().closeEvent(event)

    def _stop_doctor(self) -> None:
        """A check still running stops with the window (it changes nothing, so nothing is asked)."""
        page = self.pages.get(PageId.DOCTOR)
        runner = getattr(page, "runner", None)
        if runner is not None and runner.running():
            runner.cancel()
            runner.wait(10000)
