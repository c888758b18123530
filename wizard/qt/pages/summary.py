"""Page 6, the commit page ("Install"): everything that will happen and the disk it needs."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWizard

from wizard.core.helpdesk.answers import AUTO, NEWEST, Answers, dump_answers
from wizard.qt.errors import error_text, show_error
from wizard.qt.pages.base import BasePage, label, scroll_box
from wizard.qt.state import WizardState, size_estimate


def answers_from_state(state: WizardState) -> Answers:
    """The person's choices as unattended-install answers ("use these settings on other machines").

    A build the person kept as recommended stays a policy ("newest", "auto"), so that each
    machine gets what fits it; a chosen version or alternative is pinned. The proxy is never
    written (it may hold a password), as the GUI never stores it either.
    """
    build = state.build()
    choices = state.choices
    pinned = build is not None and (state.choice_index > 0 or bool(choices.torch) or bool(choices.variant)
                                    or (state.action_route == "without" and state.needs_actions()))
    target = state.target_args()
    mirror: str | None = state.mirror
    index_url: str | None = None
    if mirror == "custom":
        mirror, index_url = None, state.custom_index.strip() or None
    elif mirror == "official":
        mirror = None
    return Answers(
        python=target["python"], venv=target["venv"], new_venv=target["new_venv"],
        torch=build.torch if pinned and build else NEWEST, variant=build.variant if pinned and build else AUTO,
        torchvision=choices.torchvision, torchaudio=choices.torchaudio,
        index_url=index_url, mirror=mirror,
        # the Drivers page's "update the driver" becomes: fetch it, a person installs it
        driver_policy="download-only" if state.needs_actions() and state.action_route == "first" else "never",
        consent=state.env.consent,
    )


class SummaryPage(BasePage):
    """After this page nothing goes back: its button says "Install"."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.setCommitPage(True)
        self.text = label(rich=True, selectable=True)
        self.answers_button = QPushButton()
        self.answers_button.clicked.connect(self._save_answers)
        self.note = label(selectable=True)
        column = scroll_box(self.outer)
        column.addWidget(self.text)
        column.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.answers_button)
        row.addStretch(1)
        self.outer.addLayout(row)
        self.outer.addWidget(self.note)
        self.retranslate()

    def initializePage(self) -> None:
        """Describe the install as chosen."""
        self.refresh()

    def isComplete(self) -> bool:
        """Something to install, and nothing it needs first still pending (see :meth:`blocked_reason`)."""
        return self.state.build() is not None and not self.state.install_blocked()

    def blocked_reason(self) -> str:
        """Why Install is off, in words; empty when it is on."""
        build = self.state.chosen_build()
        if build is None or not self.state.install_blocked():
            return ""
        what = {"python": self.tr("install Python {0}"), "disk": self.tr("free disk space"),
                "driver": self.tr("update the NVIDIA driver"), "reboot": self.tr("restart the computer")}
        actions = build.blocking_actions()
        python = next((a.min_version for a in actions if a.kind == "python_install" and a.min_version), "3.12")
        words = what.get(build.topic() or "", self.tr("do what the build needs")).format(python)
        keep = self.state.build_without_actions()
        if keep is None:
            return self.tr("Install is off: first {0} (the previous page says how).").format(words)
        return self.tr("Install is off: first {0} (the previous page says how), or go Back and choose {1}, "
                       "which works as this computer is now.").format(words, keep.label())

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Ready to install"))
        self.setSubTitle(self.tr("Check what will happen, then press Install."))
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("&Install"))
        self.answers_button.setText(self.tr("Save as &answer file…"))
        self.answers_button.setToolTip(self.tr("Use these settings on other machines: "
                                               "torch-gpu-setup install --unattended --answers FILE"))

    def save_answers(self, path: Path) -> Path:
        """Write the choices as an answer file at ``path``; returns it."""
        path.write_text(dump_answers(answers_from_state(self.state)), encoding="utf-8")
        return path

    def _save_answers(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Save answer file"),
                                              str(Path.home() / "torch-gpu-setup-answers.toml"),
                                              self.tr("Answer files (*.toml)"))
        if not name:
            return
        try:
            path = self.save_answers(Path(name))
        except OSError as exc:
            show_error(self, error_text(exc))
            return
        self.note.setText(self.tr("Saved {0}. On another machine: torch-gpu-setup install --unattended "
                                  "--answers {1}").format(path, path.name))

    def refresh(self) -> None:
        """The list of what will happen."""
        build = self.state.build()
        if build is None:
            self.text.setText(self.tr("No build is selected."))
            return
        blocked = self.blocked_reason()
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
        warning = f"<p style='color:#b9770e'><b>{html.escape(blocked)}</b></p>" if blocked else ""
        self.text.setText(warning + "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
        self.completeChanged.emit()
