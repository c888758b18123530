"""Deleting a venv the wizard created, without deleting what the person put in it.

A rollback (or the undo of a failed install) deletes the venv the wizard made. People keep things
in such a folder: a project, a notebook, a checkpoint saved while the venv was the working folder.
Those are not the environment's, and deleting them would lose the person's work (issue 15). So
before the folder goes, every file that is *not* part of the environment is moved, with its path
inside the venv, into a folder beside it (``<name>-kept-<time>``), and the result says where.

Part of the environment, and deleted with it:

- everything below a ``site-packages`` folder (what pip installs; a half-written package from a
  killed pip has no RECORD yet and is still the environment's);
- every file a package's ``RECORD`` lists (its scripts in ``bin``/``Scripts``, data files in
  ``share``, headers in ``include``), PEP 376 / the binary distribution format's RECORD;
- what ``python -m venv`` writes (``pyvenv.cfg``, the interpreter links, the activate scripts, the
  ``.gitignore`` of Python 3.13, ``lib64``), and pip's console scripts whose first line names this
  environment's interpreter;
- the wizard's own files (the marker, the constraints file, the environment's pip config) and
  compiled bytecode (``__pycache__``, ``*.pyc``).

Everything else is the person's. The marker goes last: a deletion that stops half way (a file in
use) leaves a folder that a second rollback still recognises as the wizard's.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wizard.core import messages as M
from wizard.core import paths
from wizard.core.errors import WizardError
from wizard.core.install.environments import APP_NAME, CREATED_MARKER
from wizard.core.text import T

# What ``python -m venv`` puts in bin/ (POSIX) or Scripts\ (Windows): CPython Lib/venv/__init__.py
# (setup_python, and the scripts of Lib/venv/scripts/{common,posix,nt}).
_VENV_SCRIPT_PREFIXES = ("python", "activate", "Activate", "deactivate", "venvlauncher", "venvwlauncher")
_VENV_ROOT_FILES = ("pyvenv.cfg", ".gitignore", "lib64", CREATED_MARKER,
                    "torch-gpu-setup-constraints.txt", "pip.conf", "pip.ini")


@dataclass(frozen=True)
class Removal:
    """What deleting a created venv did: whether it was there, and the person's files kept aside."""

    deleted: bool
    kept_dir: Path | None = None
    kept: tuple[str, ...] = ()


def _site_packages(prefix: Path) -> list[Path]:
    # lib64 is venv's link to lib (POSIX, 64-bit): the same folder, reached once through lib
    found = [*prefix.glob("lib/python*/site-packages"), prefix / "Lib" / "site-packages"]
    return [p for p in found if p.is_dir()]


def _recorded(prefix: Path, sites: list[Path]) -> set[str]:
    """Every file the installed distributions' RECORD files list, as normalized absolute paths."""
    files: set[str] = set()
    for site in sites:
        for record in site.glob("*.dist-info/RECORD"):
            try:
                with open(record, encoding="utf-8", newline="") as f:
                    for row in csv.reader(f):
                        if row and row[0]:
                            files.add(os.path.normcase(os.path.normpath(os.path.join(site, row[0]))))
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
    return files


def _venv_script(path: Path, prefix: Path) -> bool:
    """A file of bin/Scripts that venv or pip wrote (by name, or a shebang naming this environment)."""
    if path.name.startswith(_VENV_SCRIPT_PREFIXES):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(4096)
    except OSError:
        return False
    return first.startswith(b"#!") and os.fsencode(str(prefix)) in first


def user_files(prefix: Path) -> list[str]:
    """The files (and links) inside the venv at ``prefix`` that are not part of the environment,
    as paths relative to it, sorted."""
    prefix = Path(os.path.abspath(prefix))
    sites = _site_packages(prefix)
    site_roots = {os.path.normcase(str(s)) for s in sites}
    recorded = _recorded(prefix, sites)
    found: list[str] = []
    for root, dirs, names in os.walk(prefix):
        here = Path(root)
        # do not descend into the packages, bytecode caches or linked folders (a link is an entry)
        for d in list(dirs):
            full = here / d
            if os.path.normcase(str(full)) in site_roots or d == "__pycache__":
                dirs.remove(d)
            elif full.is_symlink():
                dirs.remove(d)
                names.append(d)
        for name in names:
            path = here / name
            rel = path.relative_to(prefix)
            if here == prefix and name in _VENV_ROOT_FILES:
                continue
            if name.endswith((".pyc", ".pyo")):
                continue
            if os.path.normcase(os.path.normpath(str(path))) in recorded:
                continue
            if rel.parts[0] in ("bin", "Scripts") and len(rel.parts) == 2 and _venv_script(path, prefix):
                continue
            found.append(str(rel))
    return sorted(found)


def _kept_dir(prefix: Path, stamp: str) -> Path:
    base = prefix.parent / f"{prefix.name}-kept-{stamp}"
    candidate, n = base, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def keep_user_files(prefix: Path, stamp: str | None = None) -> tuple[Path | None, tuple[str, ...]]:
    """Move the person's files out of the venv at ``prefix`` (see the module); returns where to
    and which. Raises a WizardError naming what was moved so far when a move fails."""
    found = user_files(prefix)
    if not found:
        return None, ()
    kept = _kept_dir(prefix, stamp or datetime.now().strftime("%Y%m%d-%H%M%S"))
    moved: list[str] = []
    try:
        kept.mkdir(parents=True)  # exclusive: a folder of that name made meanwhile is never merged into
        for rel in found:
            dest = kept / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(prefix / rel), str(dest))  # a rename on one filesystem; else copy, then delete
            moved.append(rel)
    except OSError as exc:
        raise WizardError(T(M.ROLLBACK_KEEP_FAILED, prefix=str(prefix), error=exc.strerror or str(exc),
                            moved=len(moved), kept=str(kept)),
                          hint=T(M.ROLLBACK_KEEP_FAILED_HINT), details="\n".join(found)) from exc
    return kept, tuple(moved)


def _delete_tree(prefix: Path) -> None:
    """Delete the folder, the wizard's marker last."""
    def remove(path: Path) -> None:
        # an antivirus scan or the search indexer holding a file on Windows: waited out briefly
        if path.is_dir() and not path.is_symlink():
            paths.retry_on_lock(lambda: shutil.rmtree(path), str(path))
        else:
            paths.retry_on_lock(path.unlink, str(path))

    try:
        for entry in sorted(prefix.iterdir()):
            if entry.name != CREATED_MARKER:
                remove(entry)
        (prefix / CREATED_MARKER).unlink(missing_ok=True)
        prefix.rmdir()
    except OSError as exc:
        raise WizardError(T(M.ROLLBACK_DELETE_FAILED, prefix=str(prefix), error=exc.strerror or str(exc)),
                          hint=T(M.ROLLBACK_DELETE_FAILED_HINT), details=str(exc.filename or prefix)) from exc


def remove_created_venv(prefix: Path, force: bool = False, stamp: str | None = None, keep: bool = True) -> Removal:
    """Delete a venv the wizard created (it carries the marker, unless ``force``), keeping the
    person's files aside first. Nothing is deleted when they cannot be kept.

    ``keep`` False: the venv was made by the install that is being undone, minutes ago, so every
    file in it is that install's (a wheel's data or headers not yet in a RECORD are not the
    person's files, and are not moved aside as if they were)."""
    if not prefix.exists() and not prefix.is_symlink():
        return Removal(False)
    if not force and not (prefix / CREATED_MARKER).is_file():
        raise WizardError(f"{prefix} was not created by {APP_NAME}; it will not be deleted",
                          hint="remove it yourself if you no longer need it")
    kept_dir, kept = keep_user_files(prefix, stamp) if keep else (None, ())
    _delete_tree(prefix)
    return Removal(True, kept_dir, kept)

