"""The QWizard: pages in order, branching, cancel and close that stop and clean up."""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWizard

from wizard.qt.errors import ask
from wizard.qt.pages.base import BasePage
from wizard.qt.pages.build import BuildPage
from wizard.qt.pages.drivers import DriversPage
from wizard.qt.pages.environment import EnvironmentPage
from wizard.qt.pages.finish import FinishPage
from wizard.qt.pages.install import InstallPage
from wizard.qt.pages.summary import SummaryPage
from wizard.qt.pages.system import SystemPage
from wizard.qt.pages.verify import VerifyPage
from wizard.qt.pages.welcome import WelcomePage
from wizard.qt.state import PageId, WizardState


class SetupWizard(QWizard):
    """Nine pages; Drivers only when the plan has actions; Summary commits ("Install")."""

    def __init__(self, state: WizardState, language: str = "en") -> None:
        super().__init__()
        self.state = state
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.pages: dict[PageId, BasePage] = {
            PageId.WELCOME: WelcomePage(state, language),
            PageId.SYSTEM: SystemPage(state),
            PageId.ENVIRONMENT: EnvironmentPage(state),
            PageId.BUILD: BuildPage(state),
            PageId.DRIVERS: DriversPage(state),
            PageId.SUMMARY: SummaryPage(state),
            PageId.INSTALL: InstallPage(state),
            PageId.VERIFY: VerifyPage(state),
            PageId.FINISH: FinishPage(state),
        }
        for page_id, page in self.pages.items():
            self.setPage(int(page_id), page)
        self.setStartId(int(PageId.WELCOME))
        self.resize(900, 680)
        self.setMinimumSize(760, 560)
        self.retranslate()

    def page_of(self, page_id: PageId) -> BasePage:
        """The page object for an id."""
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
        self.state.stop_all()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing mid-install asks, stops and cleans up before the window goes."""
        if not self.stop_running():
            event.ignore()
            return
        self.state.stop_all()
        super().closeEvent(event)
