"""Run the verification demo in the target environment and read its JSON lines.

:mod:`wizard.core.verify.verify_script` runs as a child of the TARGET interpreter. It is copied to a
fresh temporary directory first and run from there: the interpreter then never sees a ``torch``
folder in the user's current directory, and a frozen wizard (whose modules live in an archive)
works the same way. Lines that are not JSON (a library printing a warning) are kept as
``garbage`` and otherwise ignored.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from wizard.core import messages as M
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import Emit, TrainingStep, VerifyStageDone, VerifyStageStarted
from wizard.core.process import Command, run_command
from wizard.core.text import Text

VERDICTS = ("gpu-ok", "cpu-only", "failed")
# The CPU run takes ~20 s on 2 cores, a modern GPU < 60 s; 15 minutes covers a slow first CUDA
# kernel JIT (PTX) on an old card without letting a hung driver block forever.
VERIFY_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class StageResult:
    """One stage's outcome; ``data`` holds its measurements."""

    name: str
    status: str  # "pass" | "fail" | "skip"
    reason: str = ""
    remedy: str = ""
    seconds: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingPoint:
    """A point of the live training curve."""

    step: int
    loss: float
    elapsed: float


@dataclass
class VerifyResult:
    """The verdict and every stage, plus what could not be parsed."""

    verdict: str
    stages: list[StageResult]
    training: list[TrainingPoint] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)
    returncode: int | None = None

    def stage(self, name: str) -> StageResult | None:
        """The stage of this name, if it ran."""
        return next((s for s in self.stages if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The result as the ``verify --json`` object."""
        return {
            "verdict": self.verdict,
            "stages": [
                {"name": s.name, "status": s.status, "reason": s.reason, "remedy": s.remedy,
                 "seconds": s.seconds, **dict(s.data)}
                for s in self.stages
            ],
        }


def _words(value: Any, english: str) -> str:
    """The script's ``{"template", "params"}`` as a translatable Text, when the template is one the
    wizard knows (messages.VERIFY_TEXTS); otherwise the English the script wrote."""
    if not isinstance(value, dict) or value.get("template") not in M.VERIFY_TEXTS:
        return english
    params = {k: _words(v, str(v)) for k, v in dict(value.get("params") or {}).items()}
    try:
        return Text(str(value["template"]).format(**params), str(value["template"]), params)
    except (KeyError, IndexError, ValueError):
        return english


def _stage_from(record: Mapping[str, Any]) -> StageResult:
    known = {"name", "status", "reason", "remedy", "seconds", "event", "reason_words", "remedy_words"}
    seconds = record.get("seconds")
    return StageResult(
        name=str(record.get("name", "?")),
        status=str(record.get("status", "fail")),
        reason=_words(record.get("reason_words"), str(record.get("reason") or "")),
        remedy=_words(record.get("remedy_words"), str(record.get("remedy") or "")),
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        data={k: v for k, v in record.items() if k not in known},
    )


class VerifyParser:
    """Feed it output lines; it builds the :class:`VerifyResult` and reports events as they come."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.on_event = on_event
        self.stages: list[StageResult] = []
        self.training: list[TrainingPoint] = []
        self.garbage: list[str] = []
        self.verdict: str | None = None

    def feed(self, line: str) -> None:
        """Take one line of the script's output."""
        text = line.strip()
        if not text:
            return
        try:
            event = json.loads(text)
        except json.JSONDecodeError:
            self.garbage.append(line)
            return
        if not isinstance(event, dict):
            self.garbage.append(line)
            return
        kind = event.get("event")
        try:
            if kind == "stage":
                self.stages.append(_stage_from(event))
            elif kind == "progress":
                self.training.append(TrainingPoint(int(event["step"]), float(event["loss"]),
                                                   float(event["elapsed"])))
            elif kind == "result":
                verdict = event.get("verdict")
                self.verdict = verdict if verdict in VERDICTS else "failed"
                records = event.get("stages")
                if isinstance(records, list) and records:
                    self.stages = [_stage_from(r) for r in records if isinstance(r, dict)]
        except (KeyError, TypeError, ValueError):
            self.garbage.append(line)
            return
        if self.on_event is not None:
            self.on_event(event)

    def result(self, returncode: int | None) -> VerifyResult:
        """The final result; without a result line the verdict is ``failed`` with a reason."""
        verdict = self.verdict
        stages = list(self.stages)
        if verdict is None:
            verdict = "failed"
            stages.append(StageResult(
                name="script", status="fail",
                reason=f"the verification script stopped without a result (exit code {returncode})",
                remedy="see the details; the Python or torch in this environment may be broken",
                data={"output": self.garbage[-20:]},
            ))
        return VerifyResult(verdict, stages, list(self.training), list(self.garbage), returncode)


def script_text() -> str:
    """The source of the verification script (from the package, also when frozen)."""
    return resources.files("wizard.core.verify").joinpath("verify_script.py").read_text(encoding="utf-8")


def verify_command(python: str | Path, script: Path, expect_gpu: bool = False, quick: bool = False) -> Command:
    """The command that runs the script with the target interpreter.

    No PYTHONNOUSERSITE here on purpose: verify must see the environment as the user's own
    programs will, so that a torch in the user site that shadows the environment is caught.
    """
    argv = [str(python), str(script)]
    if expect_gpu:
        argv.append("--expect-gpu")
    if quick:
        argv.append("--quick")
    return Command(argv=tuple(argv), env={"PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"}, cwd=str(script.parent))


def _typed(emit: Emit) -> Callable[[dict[str, Any]], None]:
    """The script's JSON events as the flow's typed events."""

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "stage_start":
            emit(VerifyStageStarted(str(event.get("stage"))))
        elif kind == "stage":
            emit(VerifyStageDone(_stage_from(event)))
        elif kind == "progress":
            emit(TrainingStep(int(event["step"]), float(event["loss"]), float(event["elapsed"])))

    return on_event


def run_verify(
    python: str | Path,
    *,
    expect_gpu: bool = False,
    quick: bool = False,
    emit: Emit | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = VERIFY_TIMEOUT_S,
) -> VerifyResult:
    """The verify flow: run the demo in ``python``'s environment, emitting each stage as it ends.

    Returns the parsed result; a cancel raises :class:`~wizard.core.errors.Cancelled`, a demo
    that outlives ``timeout_s`` a :class:`WizardError`.
    """
    parser = VerifyParser(_typed(emit) if emit is not None else None)
    with tempfile.TemporaryDirectory(prefix="tgs-verify-") as tmp:
        script = Path(tmp) / "verify_script.py"
        script.write_text(script_text(), encoding="utf-8")
        result = run_command(verify_command(python, script, expect_gpu, quick), on_line=parser.feed,
                             cancel=cancel, timeout_s=timeout_s)
    if result.cancelled:
        raise Cancelled("verification cancelled", hint="PyTorch stays installed; run torch-gpu-setup verify later")
    if result.timed_out:
        raise WizardError(f"verification did not finish within {timeout_s:.0f} s",
                          hint="a GPU that hangs often needs a driver update or a reboot",
                          details="\n".join(result.tail[-30:]))
    return parser.result(result.returncode)


# ---------------------------------------------------------------- datasheet peaks


@dataclass(frozen=True)
class GpuPeak:
    """Datasheet peaks of one GPU model (None where it has no such unit)."""

    id: str
    match: tuple[str, ...]
    fp32: float | None
    tf32: float | None
    bf16: float | None
    memory_gb_s: float | None
    inferred: tuple[str, ...]
    source: str


def load_gpu_peaks() -> list[GpuPeak]:
    """The bundled table ``wizard/data/gpu_peaks.json``."""
    raw = json.loads(resources.files("wizard.data").joinpath("gpu_peaks.json").read_text(encoding="utf-8"))
    return [
        GpuPeak(
            id=str(g["id"]), match=tuple(g["match"]), fp32=g.get("fp32"), tf32=g.get("tf32"),
            bf16=g.get("bf16"), memory_gb_s=g.get("memory_gb_s"), inferred=tuple(g.get("inferred", [])),
            source=str(g["source"]),
        )
        for g in raw["gpus"]
    ]


def peak_for(device_name: str, peaks: list[GpuPeak] | None = None) -> GpuPeak | None:
    """The table entry whose match string occurs in the device name (first match wins)."""
    name = f" {device_name.lower()}"
    for peak in peaks if peaks is not None else load_gpu_peaks():
        if any(m.lower() in name for m in peak.match):
            return peak
    return None


def percent_of_peak(result: VerifyResult) -> dict[str, float | None] | None:
    """Measured throughput as % of the datasheet peak, or None when the GPU is not in the table."""
    stage = result.stage("throughput")
    if stage is None or stage.status != "pass":
        return None
    peak = peak_for(str(stage.data.get("device", "")))
    if peak is None:
        return None
    measured = stage.data.get("matmul_tflops") or {}
    out: dict[str, float | None] = {}
    for key in ("fp32", "tf32", "bf16"):
        value, top = measured.get(key), getattr(peak, key)
        out[key] = round(100 * value / top, 1) if value and top else None
    copy = stage.data.get("copy_gb_s")
    out["memory"] = round(100 * copy / peak.memory_gb_s, 1) if copy and peak.memory_gb_s else None
    return out
