"""Page 4: the recommended build and why; alternatives and why not; advanced choices."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
)

from wizard.core.knowledge.base import load_knowledge
from wizard.core.knowledge.mirrors import MIRROR_PRESETS
from wizard.core.model.plan import Build, Choices
from wizard.core.plan.planner import platform_key
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, clear_layout, label, scroll_box
from wizard.qt.state import PageId, WizardState

STATUS_COLOURS = {"ready": "#1e8449", "action_required": "#b9770e", "unsupported": "#a93226"}


class BuildPage(BasePage):
    """Shows the plan; changing an advanced choice plans again in the background."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.headline = label(rich=True)
        self.outer.addWidget(self.headline)
        self.column = scroll_box(self.outer)
        self.advanced = QGroupBox()
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        form = QFormLayout()
        self.advanced_body = QGroupBox()
        self.advanced_body.setFlat(True)
        self.advanced_body.setLayout(form)
        box_layout = QVBoxLayout(self.advanced)
        box_layout.addWidget(self.advanced_body)
        self.advanced_body.setVisible(False)
        self.advanced.toggled.connect(self.advanced_body.setVisible)
        self.torch = QComboBox()
        self.variant = QComboBox()
        self.torchvision = QCheckBox()
        self.torchaudio = QCheckBox()
        self.mirror = QComboBox()
        self.custom = QLineEdit()
        self.proxy = QLineEdit()
        self.proxy.setPlaceholderText("http://proxy.example:3128")
        self.form_labels = [label() for _ in range(5)]
        for lab, field in zip(self.form_labels, (self.torch, self.variant, self.mirror, self.custom, self.proxy),
                              strict=True):
            lab.setBuddy(field)
            form.addRow(lab, field)
        form.addRow(self.torchvision)
        form.addRow(self.torchaudio)
        self.outer.addWidget(self.advanced)
        self.alternatives = QButtonGroup(self)
        self.alternatives.idClicked.connect(self._alternative_chosen)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self._apply_advanced)
        self._fill_fixed_choices()
        for widget in (self.torch, self.variant, self.mirror):
            widget.currentIndexChanged.connect(self._debounce.start)
        for check in (self.torchvision, self.torchaudio):
            check.toggled.connect(self._debounce.start)
        self.custom.textEdited.connect(self._debounce.start)
        self.proxy.textEdited.connect(self._proxy_edited)
        state.changed.connect(self.refresh)
        state.busy_changed.connect(self.completeChanged)
        self.retranslate()

    def _fill_fixed_choices(self) -> None:
        kb = load_knowledge()
        self.torch.addItem("", None)
        for rel in kb.releases:
            self.torch.addItem(rel.torch, rel.torch)
        self.torch.setCurrentIndex(max(0, self.torch.findData(self.state.choices.torch)))
        machine = self.state.machine
        platform = platform_key(machine.os.family, machine.os.arch) if machine else "linux-x86_64"
        variants: list[str] = []
        for rel in kb.releases:
            for v in rel.variants.get(platform, {}):
                if v not in variants:
                    variants.append(v)
        self.variant.addItem("", None)
        for v in sorted(variants):
            self.variant.addItem(v, v)
        self.variant.setCurrentIndex(max(0, self.variant.findData(self.state.choices.variant)))
        for name in MIRROR_PRESETS:
            self.mirror.addItem(name, name)     # named for a person in retranslate()
        self.mirror.addItem("", "custom")
        self.mirror.setCurrentIndex(max(0, self.mirror.findData(self.state.mirror)))
        self.custom.setText(self.state.custom_index)
        self.torchvision.setChecked(self.state.choices.torchvision)
        self.torchaudio.setChecked(self.state.choices.torchaudio)

    # ------------------------------------------------------------------ Qt

    def initializePage(self) -> None:
        """Show the plan as it is now."""
        self.refresh()

    def isComplete(self) -> bool:
        """A build exists and no re-planning is running."""
        return self.state.build() is not None and "plan" not in self.state.busy

    def busy(self) -> bool:
        """Re-planning after a change."""
        return "plan" in self.state.busy or self._debounce.isActive()

    def nextId(self) -> int:
        """The Actions page only when the chosen build asks for an action first."""
        return int(PageId.ACTIONS if self.state.needs_actions() else PageId.SUMMARY)

    def validatePage(self) -> bool:
        """Remember the choices."""
        self.state.remember()
        return True

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("The PyTorch build"))
        self.setSubTitle(self.tr("The recommended build is chosen for your cards, driver and Python."))
        self.advanced.setTitle(self.tr("&Advanced choices"))
        texts = (self.tr("&Torch version:"), self.tr("&Variant:"), self.tr("Download &from:"),
                 self.tr("Other &source (URL or folder):"), self.tr("&Proxy:"))
        for lab, text in zip(self.form_labels, texts, strict=True):
            lab.setText(text)
        self.torch.setItemText(0, self.tr("Automatic (newest that fits)"))
        self.variant.setItemText(0, self.tr("Automatic"))
        names = {"official": self.tr("PyTorch's own server (download.pytorch.org)"),
                 "aliyun": self.tr("Alibaba Cloud mirror (mainland China)"),
                 "sjtu": self.tr("Shanghai Jiao Tong University mirror (mainland China)"),
                 "nju": self.tr("Nanjing University mirror (mainland China)")}
        for index in range(self.mirror.count() - 1):
            name = str(self.mirror.itemData(index))
            self.mirror.setItemText(index, names.get(name, name))
        self.mirror.setItemText(self.mirror.count() - 1, self.tr("Another server, or a folder of wheels (below)"))
        self.torchvision.setText(self.tr("Also install torch&vision (images)"))
        self.torchaudio.setText(self.tr("Also install torch&audio (sound)"))
        self.custom.setPlaceholderText("https://download.pytorch.org/whl/cu126")

    # ------------------------------------------------------------------ choices

    def _alternative_chosen(self, index: int) -> None:
        self.state.choice_index = index
        self.state.action_route = "first"
        self.refresh()
        self.completeChanged.emit()

    def _proxy_edited(self, text: str) -> None:
        self.state.proxy = text.strip()

    def _apply_advanced(self) -> None:
        self.state.mirror = str(self.mirror.currentData())
        self.state.custom_index = self.custom.text().strip()
        choices = Choices(torch=self.torch.currentData(), variant=self.variant.currentData(),
                          torchvision=self.torchvision.isChecked(), torchaudio=self.torchaudio.isChecked())
        if choices != self.state.choices:
            self.state.choices = choices
            self.state.replan()
        else:
            self.refresh()
        self.completeChanged.emit()

    # ------------------------------------------------------------------ showing the plan

    def _status_words(self, status: str) -> str:
        if status == "action_required":
            build = self.state.plan.recommended if self.state.plan else None
            first = {"python": self.tr("Something must be done first (see below): install another Python."),
                     "disk": self.tr("Something must be done first (see below): free disk space."),
                     "driver": self.tr("Something must be done first (see below): update the NVIDIA driver."),
                     "reboot": self.tr("Something must be done first (see below): restart the computer.")}
            return first.get((build.topic() if build else None) or "",
                             self.tr("Something must be done first (see below)."))
        return {
            "ready": self.tr("Ready: this build runs on your computer as it is."),
            "unsupported": self.tr("No PyTorch build fits this computer."),
        }.get(status, status)

    def refresh(self) -> None:
        """Rebuild the recommendation and the alternatives."""
        plan = self.state.plan
        clear_layout(self.column)
        for button in self.alternatives.buttons():
            self.alternatives.removeButton(button)
        if plan is None:
            self.headline.setText(self.tr("Planning…"))
            return
        colour = STATUS_COLOURS.get(plan.status, "#000")
        self.headline.setText(f"<b style='color:{colour}'>{self._status_words(plan.status)}</b>")
        builds = ([plan.recommended] if plan.recommended else []) + list(plan.alternatives)
        for i, build in enumerate(builds):
            self.column.addWidget(self._build_box(i, build, recommended=i == 0 and plan.recommended is not None))
        if plan.explanation:
            why = QGroupBox(self.tr("Why"))
            layout = QVBoxLayout(why)
            for sentence in plan.explanation:
                layout.addWidget(label("• " + core_text(sentence)))
            self.column.addWidget(why)
        for warning in plan.warnings:
            self.column.addWidget(label("⚠ " + core_text(warning)))
        self.column.addStretch(1)

    def _device_words(self, build: Build) -> str:
        return {
            "cuda": self.tr("uses your NVIDIA card (CUDA)"),
            "rocm": self.tr("uses your AMD card (ROCm)"),
            "xpu": self.tr("uses your Intel card (XPU)"),
            "mps": self.tr("uses the Apple GPU (MPS)"),
            "cpu": self.tr("runs on the processor only (no GPU)"),
        }.get(build.device, build.device)

    def _build_box(self, index: int, build: Build, recommended: bool) -> QGroupBox:
        box = QGroupBox()
        layout = QVBoxLayout(box)
        radio = QRadioButton((self.tr("Recommended: {0}") if recommended else "{0}").format(build.label())
                             + " — " + self._device_words(build))
        radio.setChecked(index == self.state.choice_index)
        self.alternatives.addButton(radio, index)
        layout.addWidget(radio)
        layout.addWidget(label(self.tr("Packages: {0}").format(", ".join(build.requirements)), selectable=True))
        layout.addWidget(label(self.tr("From: {0}").format(self.state.index_url(build)), selectable=True))
        if build.why_not:
            layout.addWidget(label(self.tr("Why not first: {0}").format(core_text(build.why_not))))
        for action in build.actions:
            layout.addWidget(label("⚠ " + self.tr("Needs first: {0}").format(core_text(action.detail))))
        return box
