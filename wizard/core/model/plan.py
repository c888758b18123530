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



#: Action kinds (SCHEMA.md) that must be done before the build runs; ``cuda_toolkit`` is optional.
BLOCKING_ACTIONS = ("driver_install", "driver_update", "python_install", "free_disk", "reboot")
#: What a person does about each kind: the topic of the page that guides them.
ACTION_TOPICS = {"driver_install": "driver", "driver_update": "driver", "python_install": "python",
                 "free_disk": "disk", "reboot": "reboot"}


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

    def blocking_actions(self) -> list[Action]:
        """The actions that must be done before this build runs (in the plan's order)."""
        return [a for a in self.actions if a.kind in BLOCKING_ACTIONS]

    def topic(self) -> str | None:
        """What must happen first, as one word: ``driver``, ``python``, ``disk``, ``reboot``; None: nothing."""
        topics = [ACTION_TOPICS[a.kind] for a in self.blocking_actions()]
        # a driver install brings its own restart: the driver is what the person acts on
        return next((t for t in ("python", "disk", "driver", "reboot") if t in topics), None)

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
    compute_capability: str | None = None  # NVIDIA, "8.6"
    gfx_arch: str | None = None  # AMD, "gfx1100"
    family: str | None = None  # "Ampere", "RDNA3", "Xe2 (Lunar Lake)"
    known_by: str | None = None  # "driver", "pci_id" or "name": where the architecture came from

    def to_json(self) -> dict[str, Any]:
        """The verdict as in the plan contract (architecture fields are null where not known)."""
        return {"name": self.name, "supported": self.supported, "reason": self.reason,
                "compute_capability": self.compute_capability, "gfx_arch": self.gfx_arch,
                "family": self.family, "known_by": self.known_by}



@dataclass(frozen=True)
class EnvironmentChoice:
    """The default folder of a new environment and the reason, in words."""

    path: str
    why: str
    #: Optional steps that would let the usual place work (``enable_long_paths`` on Windows).
    actions: tuple[Action, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As in the plan contract: ``{"path": ..., "why": ..., "actions": [...]}``."""
        return {"path": self.path, "why": self.why, "actions": [a.to_json() for a in self.actions]}


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
    #: Where a new environment goes by default on this machine, and why (``plan.environment``).
    environment: EnvironmentChoice | None = None

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
            "environment": self.environment.to_json() if self.environment else None,
        }
