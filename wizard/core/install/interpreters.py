"""What an interpreter says about itself, and what is installed in its environment (asked, never assumed)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from wizard.core.errors import WizardError
from wizard.core.process import Command, run_command

_LIST_DISTS = r"""
import json
from importlib.metadata import distributions
seen = {}
for dist in distributions():
    name = (dist.metadata["Name"] or "").strip()
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    seen.setdefault(key, dist.version)
print("TGS-DISTS " + json.dumps(seen, sort_keys=True))
"""


@dataclass(frozen=True)
class InterpreterInfo:
    """What an interpreter says about itself."""

    python: str
    version: str
    prefix: str
    in_venv: bool
    conda: bool
    externally_managed: bool
    pip_version: str | None
    platform: str
    microsoft_store: bool
    purelib: str

    @property
    def kind(self) -> str:
        """``venv``, ``conda`` or ``interpreter``."""
        return "venv" if self.in_venv else "conda" if self.conda else "interpreter"


def _probe_json(python: str, code: str, tag: str, isolated: bool = True) -> Any:
    argv = (python, "-I", "-c", code) if isolated else (python, "-c", code)
    command = Command(argv=argv, env={"PYTHONUTF8": "1", "PYTHONNOUSERSITE": "1"})
    result = run_command(command, timeout_s=120)
    for line in result.tail:
        if line.startswith(tag + " "):
            try:
                return json.loads(line[len(tag) + 1:])
            except json.JSONDecodeError:
                break
    raise WizardError(
        f"could not inspect the Python interpreter {python}",
        hint="check that the path names a working Python 3 interpreter (python --version)",
        details="\n".join(result.tail[-20:]),
    )


def inspect_interpreter(python: str | os.PathLike[str]) -> InterpreterInfo:
    """Ask ``python`` about itself (prefix, venv/conda, PEP 668 marker, pip version).

    The one interpreter probe (:func:`wizard.core.detect.python_probe.describe_interpreter`).
    """
    from wizard.core.detect.python_probe import describe_interpreter

    path = str(python)
    data = describe_interpreter(path, timeout=120)
    try:
        return InterpreterInfo(
            python=path,
            version=str(data["version"]),
            prefix=str(data["prefix"]),
            in_venv=bool(data["in_venv"]),
            conda=bool(data["conda"]),
            externally_managed=bool(data["externally_managed"]),
            pip_version=data.get("pip_version"),
            platform=str(data["platform"]),
            microsoft_store=bool(data.get("microsoft_store")),
            purelib=str(data.get("purelib") or ""),
        )
    except (KeyError, TypeError) as exc:
        raise WizardError(f"could not inspect the Python interpreter {path} ({exc})",
                          hint="check that the path names a working Python 3 interpreter (python --version)") from None


def list_distributions(python: str | os.PathLike[str]) -> dict[str, str]:
    """Installed distributions of the environment as ``{normalized-name: version}``."""
    data = _probe_json(str(python), _LIST_DISTS, "TGS-DISTS")
    return {str(k): str(v) for k, v in dict(data).items()}


def refuse_externally_managed(info: InterpreterInfo) -> None:
    """Raise for a PEP 668 interpreter: the wizard never changes an OS-managed Python."""
    if info.externally_managed:
        raise WizardError(
            f"{info.python} is managed by the operating system (PEP 668 EXTERNALLY-MANAGED); "
            "the wizard will not change it",
            hint=f"install into a new virtual environment instead: torch-gpu-setup install --new-venv DIR "
            f"--python {info.python}",
        )
