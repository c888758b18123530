"""What every page shares: the state, a busy flag, and retranslation on language change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from wizard.qt.state import WizardState

if TYPE_CHECKING:
    from wizard.qt.errors import ErrorText


def label(text: str = "", rich: bool = False, selectable: bool = False) -> QLabel:
    """A word-wrapping label (every text in the wizard may be long in another language)."""
    from PySide6.QtCore import Qt  # here, not at the top: its enums cost 15 ms before the first paint

    widget = QLabel(text)
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if selectable:
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                       | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    return widget


def clear_layout(layout: QLayout) -> None:
    """Remove and delete every widget and sub-layout of ``layout``."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
        else:
            sub = item.layout()
            if sub is not None:
                clear_layout(sub)


def scroll_box(parent_layout: QVBoxLayout) -> QVBoxLayout:
    """A scrollable column added to ``parent_layout``; returns the column's layout."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.setContentsMargins(0, 0, 8, 0)
    area.setWidget(inner)
    parent_layout.addWidget(area, 1)
    return column


class ErrorPanel(QFrame):
    """Message, hint, and details behind a toggle: how every error appears inside a page."""

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("ErrorPanel { border: 1px solid #c0392b; border-radius: 4px; }")
        layout = QVBoxLayout(self)
        self.message = label()
        self.message.setStyleSheet("font-weight: bold; color: #a93226;")
        self.hint = label(selectable=True)
        self.toggle = QPushButton()
        self.toggle.setCheckable(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMaximumHeight(160)
        self.toggle.toggled.connect(self.details.setVisible)
        for w in (self.message, self.hint, self.toggle, self.details):
            layout.addWidget(w)
        self.setVisible(False)
        self.retranslate()

    def retranslate(self) -> None:
        """Texts of the panel's own controls."""
        self.toggle.setText(self.tr("Show &details"))

    def show_error(self, error: ErrorText | None) -> None:
        """Show ``error`` (or hide the panel for None)."""
        self.setVisible(error is not None)
        if error is None:
            return
        self.message.setText(error.message)
        self.hint.setText(error.hint)
        self.hint.setVisible(bool(error.hint))
        self.details.setPlainText(error.details)
        self.toggle.setVisible(bool(error.details))

    def changeEvent(self, event: QEvent) -> None:
        """Retranslate when the language changes."""
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class BasePage(QWizardPage):
    """A page bound to the shared state. Subclasses implement ``retranslate`` and ``refresh``."""

    def __init__(self, state: WizardState) -> None:
        super().__init__()
        self.state = state
        self.outer = QVBoxLayout(self)

    def busy(self) -> bool:
        """True while the page waits for background work (autopilot waits too)."""
        return False

    def failed(self) -> bool:
        """True when the page's own step failed (autopilot then stops with exit code 1)."""
        return False

    def retranslate(self) -> None:
        """Set every translated text (called at start and on language change)."""

    def refresh(self) -> None:
        """Show the current state."""

    def changeEvent(self, event: QEvent) -> None:
        """Retranslate when the language changes."""
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            self.refresh()
        super().changeEvent(event)
