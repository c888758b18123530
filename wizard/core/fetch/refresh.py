"""``data refresh``: read the live index and record what it really has (an OBSERVED-INDEX overlay).

The overlay goes to ``<user data dir>/knowledge/observed_index.json``; ``wizard.core.knowledge.base``
merges it over the bundled data, which stays the fallback. Shape (schema ``observed-index/1``)::

    {"schema": "observed-index/1", "fetched_at": "2026-12-01T10:00:00+00:00",
     "index_base": "https://download.pytorch.org/whl",
     "projects": {"torch": {"2.15.0": {"cu132": ["cp311-cp311-manylinux_2_28_x86_64", ...]}},
                  "torchvision": {...}, "torchaudio": {...}}}

The variant key is the wheel's local label (``cu132``, ``rocm7.2``, ``cpu``) or ``"pypi"`` when it
has none (macOS wheels, and PyPI copies); tags are the filename's own tag triple.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import requests

from wizard.core.errors import WizardError
from wizard.core.fetch.index import IndexClient
from wizard.core.fetch.net import OFFICIAL_INDEX, NetworkError, make_session, redact_url
from wizard.core.paths import atomic_write_text

SCHEMA = "observed-index/1"
PROJECTS = ("torch", "torchvision", "torchaudio")
# Variants worth asking for: every CUDA/ROCm/XPU index the 2.4 - 2.15 releases used
# (docs/SOURCES.md torch-matrix §1.1) plus the next likely names, so a new release is seen without a wizard
# update. A variant the server does not have is a 404 and is simply skipped.
DEFAULT_VARIANTS: tuple[str, ...] = (
    "cpu", "cu118", "cu121", "cu124", "cu126", "cu128", "cu129", "cu130", "cu132", "cu134",
    "rocm6.1", "rocm6.2", "rocm6.2.4", "rocm6.3", "rocm6.4", "rocm7.0", "rocm7.1", "rocm7.2", "xpu",
)


def overlay_path() -> Path:
    """Where the overlay lives (the same place ``wizard.core.knowledge.base`` reads it from)."""
    try:
        from wizard.core.knowledge.base import overlay_path as knowledge_overlay_path
    except ImportError:  # pragma: no cover - knowledge.py not there yet
        import platformdirs

        return platformdirs.user_data_path("torch-gpu-setup", appauthor=False) / "knowledge" / "observed_index.json"
    return knowledge_overlay_path()


@dataclass
class RefreshResult:
    """The overlay written, where, and which variants were missing or failed."""

    path: Path
    document: dict[str, Any]
    missing: list[str] = field(default_factory=list)      # "cu134/torch": 404 on the index


def observe(index_base: str = OFFICIAL_INDEX, variants: Sequence[str] = DEFAULT_VARIANTS,
            projects: Sequence[str] = PROJECTS, session: requests.Session | None = None) -> RefreshResult:
    """Read ``<index_base>/<variant>/<project>/`` for every pair; return the overlay (not written)."""
    session = session or make_session()
    observed: dict[str, dict[str, dict[str, set[str]]]] = {p: {} for p in projects}
    missing: list[str] = []
    pages_read = 0
    for variant in variants:
        client = IndexClient(f"{index_base.rstrip('/')}/{variant}", session, kind="index")
        for project in projects:
            try:
                files = client.project_files(project)
            except NetworkError as exc:
                if exc.kind in ("dns", "refused", "proxy", "proxy-auth", "tls"):
                    raise   # the whole index is unreachable: say so once, write nothing
                missing.append(f"{variant}/{project}: {exc.message}")
                continue
            if not files:
                missing.append(f"{variant}/{project}: not on the index")
                continue
            pages_read += 1
            for f in files:
                label = f.version.local or "pypi"
                public = f.version.public
                triple = f.filename[:-4].split("-")[-3:]
                observed[project].setdefault(public, {}).setdefault(label, set()).add("-".join(triple))
    if pages_read == 0:
        raise WizardError(f"no torch project page could be read from {redact_url(index_base)}",
                          hint="check the index URL (it should be like https://download.pytorch.org/whl)",
                          details="\n".join(missing[:50]))
    doc = {
        "schema": SCHEMA,
        "fetched_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "index_base": index_base.rstrip("/"),
        "projects": {p: {v: {lab: sorted(tags) for lab, tags in sorted(labels.items())}
                         for v, labels in sorted(versions.items())}
                     for p, versions in observed.items()},
    }
    return RefreshResult(overlay_path(), doc, missing)


def refresh(index_base: str = OFFICIAL_INDEX, variants: Sequence[str] = DEFAULT_VARIANTS,
            out: Path | None = None, session: requests.Session | None = None) -> RefreshResult:
    """Observe the live index and write the overlay atomically to ``out`` (default :func:`overlay_path`)."""
    result = observe(index_base, variants, PROJECTS, session)
    path = out or overlay_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(result.document, indent=1, sort_keys=True))
    except OSError as exc:
        raise WizardError(f"cannot write {path}: {exc.strerror}", hint="check the folder's permissions") from None
    result.path = path
    return result


def _age_days(stamp: str, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now - when).total_seconds() / 86400


def status(overlay: Path | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The bundled data files and the overlay, each with its date and age in days."""
    now = now or datetime.now(timezone.utc)
    rows: list[dict[str, Any]] = []
    for entry in sorted(resources.files("wizard.data").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            date = str(json.loads(entry.read_text(encoding="utf-8")).get("date") or "")
        except (OSError, ValueError, AttributeError):
            date = ""
        rows.append({"what": f"bundled {entry.name}", "date": date or None,
                     "age_days": _age_days(date, now) if date else None})
    path = overlay or overlay_path()
    row: dict[str, Any] = {"what": f"observed index overlay ({path})", "date": None, "age_days": None}
    if path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            row["date"] = doc.get("fetched_at")
            row["age_days"] = _age_days(str(doc.get("fetched_at", "")), now)
            row["index_base"] = doc.get("index_base")
        except (OSError, ValueError, AttributeError):
            row["problem"] = "unreadable; run 'torch-gpu-setup data refresh' again"
    else:
        row["problem"] = "none yet (run 'torch-gpu-setup data refresh')"
    rows.append(row)
    return rows
