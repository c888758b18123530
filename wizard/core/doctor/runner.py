"""The doctor flow: run the doctor's script in the target interpreter, diagnose, propose the fix.

Like verify, the script (:mod:`wizard.core.doctor.doctor_script`) is copied to a fresh temporary
folder and run from there by the one process runner (:func:`wizard.core.process.run_command`);
``--workdir`` tells it the folder the person works in, so a ``torch.py`` there is seen as their
own programs would see it. The fix is applied by the normal install flow
(:func:`fix_request` → :func:`wizard.core.install.flow.run_install`: snapshot and rollback).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from wizard.core import messages as M
from wizard.core.detect.python_probe import describe_interpreter
from wizard.core.doctor.diagnose import action_words, blocking_actions, diagnose
from wizard.core.doctor.model import Diagnosis
from wizard.core.errors import Cancelled, InputError, WizardError
from wizard.core.events import Emit, LogLine, Status, ignore
from wizard.core.install import environments as envs
from wizard.core.install.flow import InstallRequest
from wizard.core.install.snapshots import pin_files
from wizard.core.knowledge.base import Knowledge
from wizard.core.model.machine import Machine
from wizard.core.process import Command, run_command
from wizard.core.text import T

MARKER = "TGS-DOCTOR "
# import torch of a CUDA build plus the CUDA initialisation take 5-30 s (the verify stage
# "import" measures the same); 300 s leaves room for a slow disk and a first PTX JIT on an old GPU
# without letting a hung driver block forever.
DOCTOR_TIMEOUT_S = 300.0


def script_text() -> str:
    """The source of the doctor's script (from the package, also when frozen)."""
    return resources.files("wizard.core.doctor").joinpath("doctor_script.py").read_text(encoding="utf-8")


def doctor_command(python: str | Path, script: Path, workdir: str | None, gpu: bool) -> Command:
    """The command that runs the script with the target interpreter.

    Not ``-I`` and no PYTHONNOUSERSITE: the doctor must see the environment as the person's own
    programs do (``PYTHONPATH``, the user site), which is where a shadowing torch comes from.
    """
    argv = [str(python), str(script)]
    if workdir:
        argv += ["--workdir", workdir]
    if gpu:
        argv.append("--gpu")
    return Command(argv=tuple(argv), env={"PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"}, cwd=str(script.parent))


def interpreter_of(path: str, platform: str = sys.platform) -> str:
    """``path`` as an interpreter: a venv or conda folder becomes the Python inside it."""
    p = Path(path)
    if p.is_dir():
        if (p / "pyvenv.cfg").is_file():
            return str(envs.venv_python(p, platform))
        if (p / "conda-meta").is_dir():
            return str(envs.conda_python(p, platform))
        raise InputError(T(M.DOCTOR_NOT_AN_ENVIRONMENT, path=str(p)), hint=T(M.DOCTOR_NOT_AN_ENVIRONMENT_HINT))
    return str(path)


def read_pins(prefix: str | Path, platform: str = sys.platform) -> list[str]:
    """The wizard's pin lines in an environment (``torch==2.14.1+cu126``), empty when none."""
    path = pin_files(Path(prefix), platform)["constraints"]
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-c "))]


def _gpu_present(machine: Machine) -> bool:
    return any(g.vendor in ("nvidia", "amd") and not g.integrated for g in machine.gpus)


def _facts_without_answer(probe: Mapping[str, Any], returncode: int | None, tail: list[str],
                          script_error: str | None = None) -> dict[str, Any]:
    """The script gave no answer (the interpreter crashed in ``import torch``): what the probe knows."""
    torch = probe.get("torch_version")
    message = script_error or f"the interpreter stopped with exit code {returncode}"
    return {
        "python": {k: probe.get(k) for k in ("version", "implementation", "bits", "executable", "prefix",
                                             "in_venv", "platform", "machine")},
        "distributions": [{"name": "torch", "version": torch, "requires": [], "location": ""}] if torch else [],
        "import_error": {"type": "Crash", "message": message,
                         "traceback": "\n".join(tail[-5:]) or message},
    }


def run_doctor(
    python: str,
    *,
    machine: Machine | None = None,
    described: bool = False,
    workdir: str | None = None,
    kb: Knowledge | None = None,
    emit: Emit | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = DOCTOR_TIMEOUT_S,
    gpu_probes: bool | None = None,
) -> Diagnosis:
    """Diagnose the torch of ``python`` (an interpreter or an environment folder) on ``machine``.

    ``machine`` None: this machine, detected. ``described`` True: the machine is a profile, so
    the GPU probes are skipped and said so (``gpu_probes`` overrides that choice). A path that
    is not a working interpreter raises :class:`InputError`; a cancel :class:`Cancelled`.
    """
    emit = ignore if emit is None else emit
    try:
        python = interpreter_of(python)
        probe = describe_interpreter(python)
    except WizardError as exc:
        raise InputError.from_error(exc) from exc
    emit(Status(T(M.DOCTOR_CHECKING, python=python)))
    if machine is None:
        from wizard.core.detect import detect_machine

        machine = detect_machine(python=python)
    probes = (not described and _gpu_present(machine)) if gpu_probes is None else gpu_probes
    answer: dict[str, Any] | None = None
    other: list[str] = []

    def on_line(line: str) -> None:
        nonlocal answer
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER):])
            except ValueError:
                other.append(line)
                return
            answer = data if isinstance(data, dict) else None
            return
        other.append(line)
        emit(LogLine(line))

    with tempfile.TemporaryDirectory(prefix="tgs-doctor-") as tmp:
        script = Path(tmp) / "doctor_script.py"
        script.write_text(script_text(), encoding="utf-8")
        result = run_command(doctor_command(python, script, workdir or os.getcwd(), probes), on_line=on_line,
                             cancel=cancel, timeout_s=timeout_s)
    if result.cancelled:
        raise Cancelled(T(M.DOCTOR_CANCELLED), hint=T(M.DOCTOR_NOTHING_CHANGED))
    if result.timed_out:
        raise WizardError(T(M.DOCTOR_TIMED_OUT, seconds=f"{timeout_s:.0f}"), hint=T(M.DOCTOR_TIMED_OUT_HINT),
                          details="\n".join(result.tail[-30:]))
    facts = answer if answer is not None and "error" not in answer else _facts_without_answer(
        probe, result.returncode, other, str(answer["error"]) if answer is not None else None)
    prefix = str((facts.get("python") or {}).get("prefix") or probe.get("prefix") or "")
    pins = read_pins(prefix) if prefix else []
    found = diagnose(facts, machine, kb, output=other, pins=pins)
    notes: list[str] = [T(M.DOCTOR_GPU_PROBES_SKIPPED)] if described and not probes else []
    # attributes an old or odd torch lacks are noted, never a failure of the check
    notes += [T(M.DOCTOR_NOT_AVAILABLE, what=str(m)) for m in facts.get("missing") or []]
    return Diagnosis(python=python, machine_id=machine.id, described=described, torch_version=found.torch_version,
                     findings=found.findings, fix=found.fix, fix_text=found.fix_text, notes=notes, facts=facts)


def fix_request(diagnosis: Diagnosis, *, index_url: str | None = None, verify: bool = True) -> InstallRequest:
    """The install that applies the diagnosis's fix to the same environment (consent is the fix itself).

    Raises :class:`WizardError` when there is nothing to install or the fix needs a driver, a
    Python or a restart first: those the person does; the doctor says which.
    """
    build = diagnosis.fix
    if build is None:
        raise WizardError(T(M.DOCTOR_NOTHING_TO_FIX), hint=str(diagnosis.fix_text))
    first = blocking_actions(build)
    if first:
        raise WizardError(T(M.DOCTOR_FIX_BLOCKED, actions=action_words(first)),
                          hint="; ".join(str(a.detail) for a in first))
    return InstallRequest(torch=build.torch, variant=build.variant, requirements=tuple(build.requirements),
                          index_url=index_url or build.index_url, python=diagnosis.python, consent=True,
                          verify=verify, expect_gpu=build.device != "cpu")
