"""Page 8: the verification demo, live: stage checklist, loss curve, throughput against the peak."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QSizePolicy, QWidget

from wizard.core.events import Emit, Event, TrainingStep, VerifyStageDone, VerifyStageStarted
from wizard.core.verify.facts import stage_facts
from wizard.core.verify.runner import TrainingPoint, VerifyResult, percent_of_peak, run_verify
from wizard.core.verify.verify_script import STAGES
from wizard.qt.adapters import FlowRunner
from wizard.qt.errors import ErrorText
from wizard.qt.i18n import core_text
from wizard.qt.pages.base import BasePage, ErrorPanel, label
from wizard.qt.state import WizardState

MARKS = {"pass": "✔", "fail": "✘", "skip": "–", "running": "▶", "waiting": "○"}


class LossCurve(QWidget):
    """The training loss, drawn as it arrives (log-free, scaled to the points so far)."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[TrainingPoint] = []
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.caption = ""
        self.x_label = "step"
        self.y_label = "loss"

    def add(self, point: TrainingPoint) -> None:
        """One more point; repaints."""
        self.points.append(point)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Axes and the curve."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(48, 22, -16, -40)
        painter.fillRect(self.rect(), self.palette().base())
        painter.setPen(QPen(self.palette().text().color(), 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.drawLine(rect.bottomLeft(), rect.topLeft())
        align = Qt.AlignmentFlag
        painter.drawText(self.rect().adjusted(4, 2, 0, 0), align.AlignTop, f"{self.y_label}  —  {self.caption}")
        painter.drawText(self.rect().adjusted(48, 0, -16, -4), align.AlignBottom | align.AlignHCenter, self.x_label)
        if len(self.points) < 2:
            painter.end()
            return
        losses = [p.loss for p in self.points]
        top, bottom = max(losses), min(losses)
        span = (top - bottom) or 1.0
        last = max(p.step for p in self.points) or 1
        painter.drawText(4, rect.top() + 10, f"{top:.3g}")
        painter.drawText(4, rect.bottom(), f"{bottom:.3g}")
        painter.drawText(rect.left(), rect.bottom() + 16, "0")
        painter.drawText(rect.right() - painter.fontMetrics().horizontalAdvance(str(last)), rect.bottom() + 16,
                         str(last))
        curve = QPolygonF([QPointF(rect.left() + rect.width() * p.step / last,
                                   rect.bottom() - rect.height() * (p.loss - bottom) / span) for p in self.points])
        painter.setPen(QPen(QColor("#2e86c1"), 2))
        painter.drawPolyline(curve)
        painter.end()


class VerifyPage(BasePage):
    """Runs the core's verify flow (:func:`wizard.core.verify.runner.run_verify`) and shows its events."""

    def __init__(self, state: WizardState) -> None:
        super().__init__(state)
        self.stages = QListWidget()
        self.stages.setWordWrap(True)
        self.curve = LossCurve()
        self.throughput = label()
        self.error = ErrorPanel()
        for w in (self.stages, self.curve, self.throughput, self.error):
            self.outer.addWidget(w)
        self.runner: FlowRunner | None = None
        self.result: VerifyResult | None = None
        self.problem: ErrorText | None = None
        self.items: dict[str, QListWidgetItem] = {}
        self.retranslate()

    def stage_names(self) -> dict[str, str]:
        """Stage ids and their names for a person."""
        return {
            "import": self.tr("PyTorch imports"), "devices": self.tr("The GPU is visible"),
            "arch": self.tr("The build supports this GPU"), "kernels": self.tr("Computations are correct"),
            "precision": self.tr("Half and bfloat16 precision"), "linear_regression": self.tr("A first model learns"),
            "training": self.tr("A small network trains"), "throughput": self.tr("Speed against the datasheet"),
            "memory": self.tr("GPU memory"), "multi_gpu": self.tr("Several GPUs work together"),
        }

    def retranslate(self) -> None:
        """Texts of this page."""
        self.setTitle(self.tr("Proving that it works"))
        build = self.state.build()
        if build is not None and build.device == "cpu":
            self.setSubTitle(self.tr("A short demo runs in the new environment: it trains a small network on the "
                                     "processor (this build uses no GPU)."))
        else:
            self.setSubTitle(self.tr("A short demo runs in the new environment: it trains a small network on the GPU."))
        self.curve.caption = self.tr("training loss, falling as the network learns")
        self.curve.x_label = self.tr("training step")
        self.curve.y_label = self.tr("loss")
        self._reset_items()
        if self.result is not None:
            self._show_result(self.result)

    def _reset_items(self) -> None:
        done = {s.name: s.status for s in self.result.stages} if self.result else {}
        self.stages.clear()
        self.items = {}
        for name in STAGES:
            item = QListWidgetItem(f"{MARKS[done.get(name, 'waiting')]}  {self.stage_names().get(name, name)}")
            self.stages.addItem(item)
            self.items[name] = item

    def _mark(self, name: str, status: str, reason: str = "", facts: Sequence[str] | None = None) -> None:
        item = self.items.get(name)
        if item is not None:
            text = f"{MARKS.get(status, '?')}  {self.stage_names().get(name, name)}"
            if reason and status != "pass":
                text += f" — {core_text(reason)}"
            item.setText(text + "".join(f"\n      {core_text(f)}" for f in facts or []))

    # ------------------------------------------------------------------ Qt

    def initializePage(self) -> None:
        """Run the demo once (the words say GPU or processor: the build is known by now)."""
        self.retranslate()
        if self.state.simulated:
            self.throughput.setText(self.tr("Simulated machine: nothing was installed, so nothing is verified."))
            for name in STAGES:
                self._mark(name, "skip")
            return
        if self.result is None and not self.running() and self.state.installed_python:
            self._start()

    def isComplete(self) -> bool:
        """Next once the demo ended (whatever its verdict)."""
        return self.state.simulated or self.result is not None or self.problem is not None

    def busy(self) -> bool:
        """The demo runs."""
        return self.running()

    def failed(self) -> bool:
        """The demo could not run, or said the install does not work."""
        return self.problem is not None or (self.result is not None and self.result.verdict == "failed")

    def running(self) -> bool:
        """For cancel and close."""
        return self.runner is not None and self.runner.running()

    def cancel(self) -> None:
        """Stop the demo (the installation itself stays)."""
        if self.runner is not None:
            self.runner.cancel()

    def wait_idle(self, ms: int = 60000) -> None:
        """Block until the demo's thread ended (closing the window)."""
        if self.runner is not None:
            self.runner.wait(ms)

    def _start(self) -> None:
        build = self.state.build()
        python = self.state.installed_python
        assert python is not None
        expect_gpu = build is not None and build.device != "cpu"
        self.problem = None

        def flow(emit: Emit, cancel: threading.Event) -> VerifyResult:
            return run_verify(python, expect_gpu=expect_gpu, emit=emit, cancel=cancel)

        runner = FlowRunner(flow, self)
        runner.flow_event.connect(self._on_event)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        self.runner = runner
        runner.start()
        self.completeChanged.emit()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, VerifyStageStarted):
            self._mark(event.stage, "running")
        elif isinstance(event, VerifyStageDone):
            self._mark(event.result.name, event.result.status, event.result.reason, stage_facts(event.result))
        elif isinstance(event, TrainingStep):
            self.curve.add(TrainingPoint(event.step, event.loss, event.elapsed))

    def _on_finished(self, result: object) -> None:
        assert isinstance(result, VerifyResult)
        self.result = result
        self.state.verify = result
        self._show_result(result)
        self.completeChanged.emit()

    def _on_failed(self, error: object) -> None:
        assert isinstance(error, ErrorText)
        self.problem = error
        self.state.errors.append(error.plain())
        self.error.show_error(error)
        self.completeChanged.emit()

    def _on_cancelled(self, _undone: str) -> None:
        self.problem = ErrorText(self.tr("The demo was stopped."),
                                 self.tr("PyTorch stays installed; run torch-gpu-setup verify later."), "")
        self.error.show_error(self.problem)
        self.completeChanged.emit()

    def _show_result(self, result: VerifyResult) -> None:
        percent = percent_of_peak(result)
        for stage in result.stages:
            self._mark(stage.name, stage.status, stage.reason,
                       stage_facts(stage, percent if stage.name == "throughput" else None))
        if result.verdict == "cpu-only":
            self.throughput.setText(self.tr("Ran on the processor: no GPU speed to measure."))
        else:
            self.throughput.setText("")
        failures = [s for s in result.stages if s.status == "fail"]
        if failures:
            first = failures[0]
            self.error.show_error(ErrorText(core_text(first.reason), core_text(first.remedy),
                                            str(dict(first.data))[:2000]))
