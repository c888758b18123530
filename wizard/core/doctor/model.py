"""The doctor's answer as data: findings with codes, and the one proposed fix.

The codes are a contract (``doctor --json``, the support report, README "Doctor"): add new ones,
never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.core.model.plan import Build

SEVERITIES = ("error", "warning", "info")

#: Every finding code, in the order a technician reads them (README "Doctor" documents each).
CODES = (
    "no_torch",
    "broken_import",
    "torch_shadowed",
    "python_unsupported",
    "wrong_vendor_build",
    "cpu_build_on_gpu_machine",
    "no_driver",
    "driver_too_old",
    "arch_not_compiled",
    "cuda_unavailable",
    "gpu_op_failed",
    "mismatched_companions",
    "pinned_by_wizard",
)

#: Codes whose cure is installing the planned build into the environment (the top-level fix).
REINSTALL_CODES = frozenset({
    "no_torch", "broken_import", "python_unsupported", "wrong_vendor_build", "cpu_build_on_gpu_machine",
    "no_driver", "driver_too_old", "arch_not_compiled", "mismatched_companions",
})


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: what (``code``), how bad, in words, the facts, what to do."""

    code: str
    severity: str
    message: str
    evidence: tuple[str, ...] = ()
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        """The finding as in ``doctor --json``."""
        return {"code": self.code, "severity": self.severity, "message": str(self.message),
                "evidence": list(self.evidence), "fix": str(self.fix)}


@dataclass
class Diagnosis:
    """The findings for one interpreter on one machine, and the fix the planner chose."""

    python: str
    machine_id: str
    described: bool
    torch_version: str | None
    findings: list[Finding]
    fix: Build | None
    fix_text: str
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """True when nothing but information was found (exit code 0)."""
        return not any(f.severity in ("error", "warning") for f in self.findings)

    def codes(self) -> list[str]:
        """The codes of the findings, in order."""
        return [f.code for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        """The diagnosis as the ``doctor --json`` object; ``fix`` has the shape of the plan's ``recommended``."""
        return {
            "python": self.python,
            "machine": self.machine_id,
            "described": self.described,
            "torch": self.torch_version,
            "healthy": self.healthy,
            "findings": [f.to_json() for f in self.findings],
            "fix": self.fix.to_json() if self.fix is not None else None,
            "fix_text": str(self.fix_text),
            "notes": [str(n) for n in self.notes],
        }
