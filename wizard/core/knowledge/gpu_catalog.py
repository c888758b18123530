"""What a GPU is when no driver says so: compute capability, architecture, gfx target, Arc or not.

The facts live in ``wizard/data/gpus.json`` (each entry with its source); this module only
matches names and PCI ids against them. Everything learned here is a guess and is marked
``inferred`` so the plan can say so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class NvidiaGuess:
    """Compute capability and architecture guessed from a name or PCI device id."""

    compute_capability: str
    architecture: str
    inferred: bool
    basis: str  # "name", "chip code" or "PCI device id"


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    text = resources.files("wizard.data").joinpath("gpus.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def architecture_name(compute_capability: str) -> str:
    """The NVIDIA architecture for a compute capability ("8.6" -> "Ampere"), or "unknown"."""
    try:
        major_s, minor_s = compute_capability.split(".", 1)
        major, minor = int(major_s), int(minor_s)
    except ValueError:
        return "unknown"
    fallback = "unknown"
    for entry in _catalog()["nvidia_architectures"]:
        if entry["cc_major"] != major:
            continue
        if entry["cc_minor"] == minor:
            return str(entry["name"])
        if entry["cc_minor"] is None:
            fallback = str(entry["name"])
    return fallback


def _device_id(pci_id: str | None) -> int | None:
    if not pci_id or ":" not in pci_id:
        return None
    try:
        return int(pci_id.split(":", 1)[1], 16)
    except ValueError:
        return None


def infer_nvidia(name: str, pci_id: str | None = None) -> NvidiaGuess | None:
    """Guess an NVIDIA GPU's compute capability from its marketing name, chip code or device id.

    Used when no driver reports the capability (fresh install, nouveau). Returns None when
    nothing matches; the planner then treats the GPU as unknown.
    """
    catalog = _catalog()
    for table, basis in (("nvidia_name_patterns", "name"), ("nvidia_chip_codes", "chip code")):
        for entry in catalog[table]:
            if re.search(entry["pattern"], name, flags=re.IGNORECASE):
                cc = str(entry["cc"])
                return NvidiaGuess(cc, architecture_name(cc), inferred=True, basis=basis)
    device = _device_id(pci_id)
    if device is not None:
        for entry in catalog["nvidia_device_id_ranges"]:
            if int(entry["first"], 16) <= device <= int(entry["last"], 16):
                cc = str(entry["cc"])
                return NvidiaGuess(cc, architecture_name(cc), inferred=True, basis="PCI device id")
    return None


def infer_amd_gfx(name: str, pci_id: str | None = None) -> str | None:
    """Guess an AMD GPU's gfx target ("gfx1100") from its PCI device id or name."""
    catalog = _catalog()
    if pci_id and ":" in pci_id:
        device = pci_id.split(":", 1)[1].lower()
        for entry in catalog["amd_device_ids"]:
            if entry["device"] == device:
                return str(entry["gfx"])
    for entry in catalog["amd_name_patterns"]:
        if re.search(entry["pattern"], name, flags=re.IGNORECASE):
            return str(entry["gfx"])
    return None


def intel_is_discrete(name: str, pci_id: str | None = None) -> bool:
    """True for a discrete Intel GPU (Arc A/B series, Data Center GPU), False for integrated.

    "Intel Arc Graphics" without a model number is the integrated GPU of Core Ultra chips, so
    the name must carry a model number (A770, B580) to count as discrete.
    """
    spec = _catalog()["intel_discrete"]
    device = _device_id(pci_id)
    if device is not None:
        for entry in spec["device_id_ranges"]:
            if int(entry["first"], 16) <= device <= int(entry["last"], 16):
                return True
    return re.search(spec["name_pattern"], name, flags=re.IGNORECASE) is not None
