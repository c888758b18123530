"""Page 6, the commit page ("Install"): everything that will happen and the disk it needs."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QWizard

from wizard.qt.pages.base import BasePage, label, scroll_box
from wizard.qt.state import WizardState, size_estimate


class SummaryPage(BasePage):
    """After this page nothing goes back: its button says "Install"."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.setCommitPage(True)
        self.text = label(rich=True, selectable=True)
        column = scroll_box(self.outer)
        column.addWidget(self.text)
        column.addStretch(1)
        self.retranslate()

    def initializePage(self) -> None:
        """Describe the install as chosen."""
        self.refresh()

    def isComplete(self) -> bool:
        """Something to install."""
        return self.state.build() is not None

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Ready to install"))
        self.setSubTitle(self.tr("Check what will happen, then press Install."))
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("&Install"))

    def refresh(self) -> None:
        """The list of what will happen."""
        build = self.state.build()
        if build is None:
            self.text.setText(self.tr("No build is selected."))
            return
        download, needed = size_estimate(build)
        env = self.state.env
        where = {
            "new": self.tr("a new environment at {0}"),
            "existing": self.tr("the existing environment {0}"),
            "interpreter": self.tr("the Python interpreter {0}"),
        }[env.mode].format(self.state.env_path())
        items = [
            self.tr("Install <b>{0}</b> into {1}.").format(html.escape(build.label()), html.escape(where)),
            self.tr("Packages: {0}").format(html.escape(", ".join(build.requirements))),
            self.tr("Download from: {0}").format(html.escape(self.state.index_url())),
            self.tr("Download about {0:.1f} GB; about {1:.0f} GB of disk needed in all.").format(download, needed),
            self.tr("Then run a short training demo to prove that it works."),
        ]
        if env.replacements:
            items.append(self.tr("Replace: {0} (a snapshot is taken first).").format(
                html.escape("; ".join(env.replacements))))
        if self.state.proxy:
            items.append(self.tr("Use the proxy you entered."))
        if self.state.simulated:
            items.append(self.tr("<b>Simulated machine:</b> nothing will be installed; the next pages show what "
                                 "would happen."))
        self.text.setText("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
