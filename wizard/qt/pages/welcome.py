"""Page 1: what will happen, how long, what is and is not touched; the language."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QRadioButton

from wizard.qt.pages.base import BasePage
from wizard.qt.state import PageId, WizardState


class WelcomePage(BasePage):
    """Welcome and language choice."""

    def __init__(self, state: WizardState, language: str) -> None:
        super().__init__(state)
        # Plain QLabels in Qt's automatic text format (the intro is HTML, the rest has no markup):
        # base.label() sets formats through the Qt namespace, which costs 15 ms before the first paint.
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.outer.addWidget(self.intro)
        # the two journeys: a new environment, or the doctor for one that exists (issue 14)
        self.setup_new = QRadioButton()
        self.setup_new.setChecked(not state.doctor_mode)
        self.check_existing = QRadioButton()
        self.check_existing.setChecked(state.doctor_mode)
        self.check_existing.toggled.connect(self._journey_chosen)
        self.outer.addWidget(self.setup_new)
        self.outer.addWidget(self.check_existing)
        self.outer.addStretch(1)
        form = QFormLayout()
        self.language = QComboBox()
        self.language.addItem("English", "en")
        self.language.addItem("简体中文", "zh_CN")
        self.language.setCurrentIndex(max(0, self.language.findData(language)))
        self.language_label = QLabel()
        self.language_label.setWordWrap(True)
        self.language_label.setBuddy(self.language)
        form.addRow(self.language_label, self.language)
        self.outer.addLayout(form)
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.retranslate()

    def nextId(self) -> int:
        """The System page (or the Doctor page), also before the wizard has made it (so Next shows from the start)."""
        return int(PageId.DOCTOR if self.state.doctor_mode else PageId.SYSTEM)

    def _journey_chosen(self, checked: bool) -> None:
        self.state.doctor_mode = checked

    def _language_chosen(self) -> None:
        self.state.language_changed.emit(str(self.language.currentData()))

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Set up PyTorch for your graphics card"))
        self.setSubTitle(self.tr("This wizard finds the PyTorch build that fits this computer, installs it and "
                                 "proves that it works."))
        self.intro.setText(self.tr(
            "<p><b>What will happen</b></p><ol>"
            "<li>The wizard looks at your graphics cards, driver and Python.</li>"
            "<li>It recommends a PyTorch build and explains why.</li>"
            "<li>It downloads PyTorch into a new, separate Python environment.</li>"
            "<li>It runs a short training demo to prove that the GPU is used.</li></ol>"
            "<p><b>How long:</b> about 5 to 30 minutes, mostly the download (0.2 to 4 GB).</p>"
            "<p><b>What it touches:</b> only the environment folder you choose and a download cache. "
            "<b>What it does not touch:</b> your system Python, your other environments, and your "
            "driver (unless you ask for a driver update and confirm it).</p>"
            "<p>You can cancel at any time; a cancelled installation is undone.</p>"))
        self.language_label.setText(self.tr("&Language:"))
        self.setup_new.setText(self.tr("&Set up PyTorch in a new environment"))
        self.check_existing.setText(self.tr("&Check an existing environment (PyTorch does not use the GPU, "
                                            "import torch fails …)"))
