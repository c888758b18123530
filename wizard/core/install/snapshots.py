"""Snapshots of an environment before the wizard changes it, and the rollback to one."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.core import messages as M
from wizard.core.errors import WizardError
from wizard.core.install import pip_runner
from wizard.core.install.environments import LineCallback, data_dir, half_made, now
from wizard.core.install.interpreters import list_distributions
from wizard.core.install.removal import remove_created_venv
from wizard.core.paths import atomic_write_text
from wizard.core.process import CommandResult, run_command
from wizard.core.text import T

SNAPSHOT_SCHEMA = "env-snapshot/1"


@dataclass(frozen=True)
class Snapshot:
    """The distributions of one environment before the wizard changed it."""

    python: str
    prefix: str
    taken_at: str
    distributions: Mapping[str, str]
    created_venv: bool = False
    index_urls: tuple[str, ...] = ()
    pin_files: Mapping[str, str | None] = field(default_factory=dict)  # name -> content, None: absent

    def to_json(self) -> dict[str, Any]:
        """The on-disk form (``env-snapshot/1``)."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "python": self.python,
            "prefix": self.prefix,
            "taken_at": self.taken_at,
            "created_venv": self.created_venv,
            "index_urls": list(self.index_urls),
            "pin_files": dict(self.pin_files),
            "distributions": dict(sorted(self.distributions.items())),
        }


def _key(python: str | os.PathLike[str]) -> str:
    # Not resolved: a venv's python is a symlink to its base, and each venv needs its own key.
    return os.path.abspath(str(python))


def snapshot_path(python: str | os.PathLike[str]) -> Path:
    """The JSON file that holds the snapshot for this interpreter path."""
    digest = hashlib.sha256(_key(python).encode("utf-8")).hexdigest()[:16]
    return data_dir() / "snapshots" / f"{digest}.json"


def pin_files(prefix: Path, platform: str = sys.platform) -> dict[str, Path]:
    """The constraint file and the venv-level pip config the wizard writes after an install."""
    conf = "pip.ini" if platform == "win32" else "pip.conf"
    return {"constraints": prefix / "torch-gpu-setup-constraints.txt", "pip_conf": prefix / conf}


def take_snapshot(
    python: str | os.PathLike[str], prefix: Path, *, created_venv: bool = False,
    index_urls: tuple[str, ...] = (),
) -> Snapshot:
    """Record the environment's distributions (and pin files) and store it in the data dir.

    A venv the wizard created whose first install never finished (:func:`half_made`: a run that
    was killed) keeps that fact: its snapshot says "created", so a rerun that fails, or a later
    rollback, removes it instead of "restoring" a half-made environment.
    """
    created_venv = created_venv or half_made(prefix)
    dists = {} if created_venv else list_distributions(python)
    snap = Snapshot(
        python=_key(python), prefix=str(prefix), taken_at=now(), distributions=dists,
        created_venv=created_venv, index_urls=index_urls,
        pin_files={name: path.read_text(encoding="utf-8") if path.is_file() else None
                   for name, path in pin_files(prefix).items()},
    )
    path = snapshot_path(python)
    path.parent.mkdir(parents=True, exist_ok=True)
    # atomic, under a fresh temporary name: a crash never leaves half a snapshot, and a link planted
    # at a predictable name is never written through (paths.atomic_write_text)
    atomic_write_text(path, json.dumps(snap.to_json(), indent=2))
    return snap


def stored_snapshot_bytes(python: str | os.PathLike[str]) -> bytes | None:
    """The stored snapshot file as it is now (to put back if a new attempt is undone)."""
    path = snapshot_path(python)
    return path.read_bytes() if path.is_file() else None


def restore_snapshot_bytes(python: str | os.PathLike[str], previous: bytes | None) -> None:
    """Put back the snapshot file that was there before an attempt that was fully undone."""
    path = snapshot_path(python)
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(previous)


def load_snapshot(python: str | os.PathLike[str]) -> Snapshot:
    """Read the stored snapshot for an interpreter, or raise a WizardError saying why not."""
    path = snapshot_path(python)
    if not path.is_file():
        raise WizardError(f"no snapshot recorded for {_key(python)}",
                          hint="a snapshot is taken when torch-gpu-setup install changes an environment")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SNAPSHOT_SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}")
        return Snapshot(
            python=str(data["python"]), prefix=str(data["prefix"]), taken_at=str(data["taken_at"]),
            distributions={str(k): str(v) for k, v in dict(data["distributions"]).items()},
            created_venv=bool(data.get("created_venv", False)),
            index_urls=tuple(str(u) for u in data.get("index_urls", [])),
            pin_files={str(k): None if v is None else str(v) for k, v in dict(data.get("pin_files", {})).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WizardError(f"the snapshot {path} is unreadable: {exc}",
                          hint="it cannot be used for a rollback; delete it", details=str(path)) from exc


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback does: remove what was added, put back what changed or went missing."""

    remove: tuple[str, ...]
    restore: tuple[str, ...]  # "name==version" pins

    @property
    def empty(self) -> bool:
        """True when the environment already matches the snapshot."""
        return not self.remove and not self.restore


def rollback_plan(snapshot: Mapping[str, str], current: Mapping[str, str]) -> RollbackPlan:
    """The difference between the recorded and the current distributions."""
    remove = tuple(sorted(n for n in current if n not in snapshot))
    restore = tuple(sorted(f"{n}=={v}" for n, v in snapshot.items() if current.get(n) != v))
    return RollbackPlan(remove, restore)


def rollback(
    python: str | os.PathLike[str],
    on_line: LineCallback | None = None,
    snapshot: Snapshot | None = None,
) -> str:
    """Return an environment to its snapshot; a venv the wizard created is deleted instead.

    Returns a sentence saying what was done. Raises WizardError when the result does not match.
    """
    snap = snapshot or load_snapshot(python)
    prefix = Path(snap.prefix)
    if snap.created_venv:
        removal = remove_created_venv(prefix)
        snapshot_path(python).unlink(missing_ok=True)
        if removal.kept_dir is not None:
            return T(M.ROLLBACK_DELETED_KEPT, prefix=str(prefix), count=len(removal.kept), kept=str(removal.kept_dir))
        return T(M.ROLLBACK_DELETED if removal.deleted else M.ROLLBACK_GONE, prefix=str(prefix))
    # Pin files first: our own constraints would otherwise forbid reinstalling the old build.
    for name, path in pin_files(prefix).items():
        if name not in snap.pin_files:
            continue
        content = snap.pin_files[name]
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content, encoding="utf-8")
    plan = rollback_plan(snap.distributions, list_distributions(python))
    failures: list[CommandResult] = []
    if plan.remove:
        result = run_command(pip_runner.uninstall_command(str(python), plan.remove), on_line=on_line)
        if not result.ok:
            failures.append(result)
    if plan.restore:
        result = run_command(
            pip_runner.reinstall_command(str(python), plan.restore, snap.index_urls), on_line=on_line,
        )
        if not result.ok:
            failures.append(result)
    left = rollback_plan(snap.distributions, list_distributions(python))
    if not left.empty:
        why = pip_runner.classify_failure(failures[-1].tail, failures[-1].returncode) if failures else None
        raise WizardError(
            f"rollback incomplete: still to remove {list(left.remove)}, to restore {list(left.restore)}",
            hint=why.hint if why else "run the rollback again",
            details=why.details if why else "",
        )
    if plan.empty:
        return T(M.ROLLBACK_MATCHES, prefix=str(prefix), taken_at=snap.taken_at)
    return T(M.ROLLBACK_RESTORED, prefix=str(prefix), taken_at=snap.taken_at, removed=len(plan.remove),
             reinstalled=len(plan.restore))
