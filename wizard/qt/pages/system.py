"""Page 2: the system check: GPUs with their verdicts, the driver, Pythons, readiness."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLabel, QProgressBar, QVBoxLayout

from wizard.core.model.machine import DriverState, Gpu
from wizard.core.model.plan import GpuVerdict
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, ErrorPanel, clear_layout, label, scroll_box
from wizard.qt.state import WizardState, size_estimate


class SystemPage(BasePage):
    """Detection runs in the background with a visible busy state; then the findings."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.busy_label = QLabel()
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)  # an indeterminate bar: "working"
        self.spinner.setTextVisible(False)
        self.outer.addWidget(self.busy_label)
        self.outer.addWidget(self.spinner)
        self.error = ErrorPanel()
        self.outer.addWidget(self.error)
        self.column = scroll_box(self.outer)
        state.changed.connect(self.refresh)
        state.busy_changed.connect(self._busy_changed)
        self.retranslate()

    def initializePage(self) -> None:
        """Start detection on the first visit (a simulated machine is already known)."""
        if self.state.plan is None and not self.state.busy:
            self.state.start_detection()
        self.refresh()

    def busy(self) -> bool:
        """Detection, planning or the network check still running."""
        return bool(self.state.busy)

    def failed(self) -> bool:
        """Detection itself failed."""
        return self.state.detect_error is not None and self.state.machine is None

    def isComplete(self) -> bool:
        """Next once the machine is known and planned."""
        return self.state.plan is not None and "plan" not in self.state.busy and "detect" not in self.state.busy

    def _busy_changed(self) -> None:
        self.refresh()
        self.completeChanged.emit()

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("System check"))
        self.setSubTitle(self.tr("What this computer has, and whether PyTorch can use it."))

    def _busy_text(self) -> str:
        if "detect" in self.state.busy:
            return self.tr("Checking this computer: graphics cards, driver, Python…")
        if "plan" in self.state.busy:
            return self.tr("Choosing the right PyTorch build…")
        if "network" in self.state.busy:
            return self.tr("Checking that the download server can be reached…")
        return ""

    def refresh(self) -> None:
        """Rebuild the findings from the state."""
        text = self._busy_text()
        self.busy_label.setText(text)
        self.busy_label.setVisible(bool(text))
        self.spinner.setVisible(bool(text))
        self.error.show_error(self.state.detect_error if self.failed() else None)
        clear_layout(self.column)
        machine = self.state.machine
        if machine is None:
            self.column.addStretch(1)
            return
        if self.state.simulated:
            # the profile's own words, quoted as they are (a profile is written in one language)
            self.column.addWidget(label(self.tr("Simulated machine: “{0}”").format(machine.description or machine.id)))
        verdicts = self.state.plan.gpus if self.state.plan else []
        if not machine.gpus:
            self.column.addWidget(label(self.tr("No graphics card was found. PyTorch will use the processor (CPU).")))
        for i, gpu in enumerate(machine.gpus):
            verdict = verdicts[i] if i < len(verdicts) and verdicts[i].name == gpu.name else next(
                (v for v in verdicts if v.name == gpu.name), None)
            self.column.addWidget(self._gpu_card(gpu, verdict))
        self.column.addWidget(self._driver_box())
        self.column.addWidget(self._python_box())
        self.column.addWidget(self._readiness_box())
        if machine.notes:
            self.column.addWidget(self._notes_box(machine.notes))
        self.column.addStretch(1)

    def _gpu_card(self, gpu: Gpu, verdict: GpuVerdict | None) -> QGroupBox:
        box = QGroupBox(gpu.name)
        layout = QVBoxLayout(box)
        if verdict is not None:
            head = self.tr("✔ PyTorch can use this card.") if verdict.supported else self.tr(
                "✘ PyTorch will not use this card.")
            first = label(head)
            first.setStyleSheet("font-weight: bold; color: %s;" % ("#1e8449" if verdict.supported else "#a93226"))
            layout.addWidget(first)
            layout.addWidget(label(core_text(verdict.reason)))
        facts = []
        if gpu.architecture:
            facts.append(self.tr("Architecture: {0}").format(gpu.architecture))
        if gpu.compute_capability:
            facts.append(self.tr("Compute capability: {0}").format(gpu.compute_capability))
        if gpu.gfx_arch:
            facts.append(self.tr("GPU target: {0}").format(gpu.gfx_arch))
        if gpu.memory_mib:
            facts.append(self.tr("Memory: {0:.1f} GB").format(gpu.memory_mib / 1024))
        if gpu.integrated:
            facts.append(self.tr("Integrated graphics"))
        if facts:
            layout.addWidget(label(" · ".join(facts)))
        return box

    def _driver_box(self) -> QGroupBox:
        machine = self.state.machine
        assert machine is not None
        box = QGroupBox(self.tr("Driver"))
        layout = QVBoxLayout(box)
        drv = machine.nvidia_driver
        if drv is not None:
            text = self.tr("NVIDIA driver {0}").format(drv.version)
            if drv.cuda_version:
                text += " " + self.tr("(supports CUDA up to {0})").format(drv.cuda_version)
            layout.addWidget(label(text))
        status = machine.driver_status
        words = {
            DriverState.OK: self.tr("The driver is working."),
            DriverState.NO_DRIVER: self.tr("No NVIDIA driver is installed."),
            DriverState.NOT_LOADED: self.tr("The driver is installed but not running."),
            DriverState.MISMATCH: self.tr("The driver and its libraries do not match (usually after an update "
                                          "without a restart)."),
            DriverState.NO_PERMISSION: self.tr("The driver refused access to the card."),
            DriverState.GPU_LOST: self.tr("The card stopped answering the driver."),
            DriverState.ERROR: self.tr("The driver reported an error."),
            DriverState.NOT_APPLICABLE: self.tr("No NVIDIA driver is needed here."),
        }
        has_nvidia = any(g.vendor == "nvidia" for g in machine.gpus)
        if status is not None and status.state is DriverState.NO_DRIVER and not has_nvidia:
            # No NVIDIA card and so no driver: one line says it all (detection's words repeat it).
            layout.addWidget(label(words[DriverState.NOT_APPLICABLE]))
        elif status is not None:
            layout.addWidget(label(words.get(status.state, "")))
            if status.message:
                layout.addWidget(label(core_text(status.message)))
            if status.hint:
                layout.addWidget(label(self.tr("What to do: {0}").format(core_text(status.hint))))
        elif drv is None:
            layout.addWidget(label(words[DriverState.NO_DRIVER] if has_nvidia else words[DriverState.NOT_APPLICABLE]))
        return box

    def _python_box(self) -> QGroupBox:
        machine = self.state.machine
        assert machine is not None
        box = QGroupBox(self.tr("Python"))
        layout = QVBoxLayout(box)
        pythons = ([machine.python] if machine.python else []) + list(machine.interpreters)
        if not pythons:
            layout.addWidget(label(self.tr("No Python was found. Install Python 3.12 from python.org first.")))
        for i, py in enumerate(pythons[:6]):
            parts = [f"Python {py.version} ({py.bits}-bit, {py.source})"]
            if i == 0:
                parts.append(self.tr("used for the new environment"))
            if py.installed_torch:
                parts.append(self.tr("has torch {0}").format(py.installed_torch.version))
            if py.externally_managed:
                parts.append(self.tr("managed by the operating system: it will not be changed"))
            line = " — ".join(parts) + (f"\n{py.path}" if py.path else "")
            layout.addWidget(label(line, selectable=True))
        return box

    def _notes_box(self, notes: list[str]) -> QGroupBox:
        """What detection noticed on the way (sources that failed, guesses), in the interface language."""
        box = QGroupBox(self.tr("Notes from the system check"))
        layout = QVBoxLayout(box)
        for note in notes:
            layout.addWidget(label("ℹ " + core_text(note), selectable=True))
        return box

    def _readiness_box(self) -> QGroupBox:
        machine = self.state.machine
        assert machine is not None
        box = QGroupBox(self.tr("Ready to install?"))
        layout = QVBoxLayout(box)
        _, needed = size_estimate(self.state.build())
        if machine.disk_free_gib is not None:
            ok = machine.disk_free_gib >= needed
            text = self.tr("Disk: {0:.0f} GB free, about {1:.0f} GB needed.").format(machine.disk_free_gib, needed)
            if not ok:
                text += " " + self.tr("Free some space or choose an environment folder on another drive.")
            layout.addWidget(label(("✔ " if ok else "✘ ") + text))
        if machine.python and machine.python.externally_managed:
            layout.addWidget(label(self.tr("ℹ Your Python is managed by the operating system; the wizard installs "
                                           "into a new environment instead and leaves it alone.")))
        net = self.state.network
        if self.state.simulated:
            layout.addWidget(label(self.tr("Network: not checked for a simulated machine.")))
        elif net is not None:
            if net.get("ok"):
                layout.addWidget(label(self.tr("✔ Network: the download server {0} answers.").format(net["url"])))
            else:
                layout.addWidget(label(self.tr("✘ Network: {0}").format(net.get("message", ""))))
                if net.get("hint"):
                    layout.addWidget(label(self.tr("What to do: {0}").format(net["hint"])))
        return box
