"""The plan as data: the person's choices, the builds, the actions, the verdict per GPU.

The plan contract of ``tests/profiles/SCHEMA.md``; made by :mod:`wizard.core.plan.planner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Choices:
    """What the user asked for; None means "let the planner decide"."""

    torch: str | None = None
    variant: str | None = None
    torchvision: bool = True
    torchaudio: bool = False
    prefer_cpu: bool = False



@dataclass(frozen=True)
class Action:
    """Something that must happen before the build can run (``kind`` per SCHEMA.md)."""

    kind: str
    min_version: str | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The action as in the plan contract."""
        return {"kind": self.kind, "min_version": self.min_version, "detail": self.detail}



@dataclass
class Build:
    """One installable build: torch version, variant, where it comes from, what it needs first."""

    torch: str
    variant: str
    device: str
    index_url: str
    requirements: list[str]
    actions: list[Action] = field(default_factory=list)
    why_not: str | None = None
    inferred: bool = False
    python: str | None = None

    def label(self) -> str:
        """"torch 2.14.1+cu126" for sentences."""
        return f"torch {self.torch}" + ("" if self.variant in ("mps",) else f"+{self.variant}")

    def to_json(self) -> dict[str, Any]:
        """The build as in the plan contract."""
        data: dict[str, Any] = {
            "torch": self.torch,
            "variant": self.variant,
            "device": self.device,
            "index_url": self.index_url,
            "requirements": list(self.requirements),
            "actions": [a.to_json() for a in self.actions],
            "inferred": self.inferred,
        }
        if self.python:
            data["python"] = self.python
        if self.why_not is not None:
            data["why_not"] = self.why_not
        return data



@dataclass
class GpuVerdict:
    """Whether the recommended build will use this GPU, and why."""

    name: str
    supported: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The verdict as in the plan contract."""
        return {"name": self.name, "supported": self.supported, "reason": self.reason}



@dataclass
class Plan:
    """The planner's answer (SCHEMA.md "plan contract")."""

    status: str
    recommended: Build | None
    alternatives: list[Build]
    gpus: list[GpuVerdict]
    warnings: list[str]
    explanation: list[str]
    knowledge_date: str = ""
    machine_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """The plan as one JSON-ready object."""
        return {
            "status": self.status,
            "recommended": self.recommended.to_json() if self.recommended else None,
            "alternatives": [b.to_json() for b in self.alternatives],
            "gpus": [g.to_json() for g in self.gpus],
            "warnings": list(self.warnings),
            "explanation": list(self.explanation),
            "knowledge_date": self.knowledge_date,
            "machine": self.machine_id,
        }
