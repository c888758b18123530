"""Install a planned torch build into an environment, safely, then prove it works.

The flow: target -> (create venv) -> (fetch into the wheelhouse) -> snapshot -> pip install ->
pin -> verify. Whatever goes wrong or is cancelled between the snapshot and the pin, the
environment is put back: a venv created by this run is deleted, an existing one is rolled back
to the snapshot. Replacing a torch that is already there (a CPU build, another CUDA build) or a
torchvision/torchaudio that would no longer match needs the user's consent.

Callers get progress through plain callbacks (:class:`InstallCallbacks`), so the CLI prints it
and the GUI can show it; cancel is a ``threading.Event``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, default_cache_dir
from wizard.core.fetch.wheelhouse import MANIFEST
from wizard.core.install import environments as envs
from wizard.core.install import pip_runner
from wizard.core.install.process import run_command
from wizard.core.knowledge.base import bundled_knowledge, variant_device
from wizard.core.verify.runner import VerifyResult, run_verify

#: Packages whose exact build the wizard pins after a successful install.
PINNED_PACKAGES = ("torch", "torchvision", "torchaudio")
PIP_INSTALL_TIMEOUT_S = 3 * 3600.0  # a 2.5 GB CUDA wheel on a slow line; cancel is the real exit
#: Where the last successful install is recorded (in the data dir), for ``verify`` without --python.
LAST_INSTALL = "last_install.json"
GiB = 1024**3


@dataclass(frozen=True)
class InstallRequest:
    """What to install and where. ``requirements`` are exact pins such as ``torch==2.14.1+cu126``."""

    torch: str
    variant: str
    requirements: tuple[str, ...]
    index_url: str | None = None
    python: str | None = None
    venv: str | None = None
    new_venv: str | None = None
    wheelhouse: Path | None = None
    consent: bool = False
    verify: bool = True
    expect_gpu: bool = False
    fetch: bool = True  # without a wheelhouse: download the big wheels into the cache's wheelhouse first
    cache_dir: Path | None = None  # the Downloader's cache (default: the platform cache dir)


@dataclass
class InstallCallbacks:
    """Progress for a person: a status sentence, each output line, pip download progress."""

    status: Callable[[str], None] = lambda text: None
    line: Callable[[str], None] = lambda text: None
    progress: Callable[[pip_runner.PipProgress], None] = lambda p: None
    verify_event: Callable[[dict[str, Any]], None] = lambda event: None


@dataclass
class InstallOutcome:
    """A finished install: where, what, how it is pinned, and the verification."""

    target: envs.Target
    python: Path
    installed: list[tuple[str, str]]
    constraints_file: Path | None
    pip_conf_written: bool
    activate: str
    verify: VerifyResult | None = None
    warnings: list[str] = field(default_factory=list)


def _pin_parts(requirement: str) -> tuple[str, str | None]:
    match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(?:==\s*(\S+))?", requirement)
    if match is None:
        raise WizardError(f"not a requirement: {requirement!r}", hint="use NAME==VERSION, e.g. torch==2.14.1+cu126")
    return str(canonicalize_name(match.group(1))), match.group(2)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def replacements_needing_consent(requirements: Sequence[str], installed: dict[str, str]) -> list[str]:
    """Installed torch / torchvision / torchaudio builds that the install would replace or break.

    A torch of another version or build is replaced; a torchvision/torchaudio is compiled against
    one torch, so one that is not being installed at the requested version no longer matches.
    """
    wanted = dict(_pin_parts(r) for r in requirements)
    torch_changes = "torch" in wanted and "torch" in installed and not _same_version(
        installed["torch"], wanted["torch"] or installed["torch"])
    messages = []
    for name in PINNED_PACKAGES:
        have = installed.get(name)
        if have is None:
            continue
        if name in wanted:
            want = wanted[name]
            if want is not None and not _same_version(have, want):
                messages.append(f"{name} {have} -> {want}")
        elif torch_changes:
            messages.append(f"{name} {have} (built for torch {installed['torch']}; would no longer match)")
    return messages


def activation_hint(prefix: Path, kind: str, platform: str) -> str:
    """How to activate the environment, in the shell's own words."""
    if kind == "conda":
        return f"conda activate {prefix}"
    if kind == "interpreter":
        return f"use this interpreter: {envs.conda_python(prefix, platform)}"
    if platform == "win32":
        return f"{prefix}\\Scripts\\activate   (PowerShell: {prefix}\\Scripts\\Activate.ps1)"
    return f"source {prefix}/bin/activate"


def _user_constraints(python: Path) -> list[str]:
    """Constraint files from the user's pip configuration, to chain into ours.

    A ``constraint`` in the venv's pip.conf replaces the same key from the user's and the global
    configuration (pip reads site config last), so their files are kept with ``-c`` lines.
    """
    result = run_command(pip_runner.pip_config_list_command(python), timeout_s=60)
    files: list[str] = []
    for line in result.tail if result.ok else ():
        match = re.match(r"^[\w:.-]*\.constraint='(.*)'$", line.strip())
        if match:
            files += match.group(1).split()
    return files


def write_pins(
    prefix: Path, python: Path, installed: dict[str, str], platform: str
) -> tuple[Path | None, bool, list[str]]:
    """Pin the torch build: a constraints file plus, where none exists yet, the venv's pip.conf.

    Why both: the constraints file states the build (``torch==2.13.0+cpu``); pip applies it to
    every ``pip install`` in this environment only when told, and the environment's own config
    file (``<prefix>/pip.conf``, ``pip.ini`` on Windows: pip's "site" configuration) is the one
    place that tells it without the user exporting PIP_CONSTRAINT. A later install that would
    swap torch then fails with a resolver conflict instead of silently replacing the build.
    An existing pip.conf is never rewritten; the user is told how to add the line instead.
    Returns (constraints file, whether pip.conf was written, messages).
    """
    pins = [f"{name}=={installed[name]}" for name in PINNED_PACKAGES if name in installed]
    if not pins:
        return None, False, []
    files = envs.pin_files(prefix, platform)
    constraints, conf = files["constraints"], files["pip_conf"]
    chained = [f for f in _user_constraints(python) if Path(f) != constraints]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    constraints.write_text(
        "# Written by torch-gpu-setup on " + stamp + ".\n"
        "# Keeps this environment's PyTorch build: a later `pip install` may not replace it.\n"
        "# To change the build on purpose, run torch-gpu-setup install again, or delete this file.\n"
        + "".join(f"-c {f}\n" for f in chained)
        + "\n".join(pins) + "\n",
        encoding="utf-8",
    )
    messages = [f"pinned {', '.join(pins)} in {constraints}"]
    wrote_conf = False
    if not conf.exists():
        conf.write_text(
            "# Written by torch-gpu-setup: every pip install in this environment obeys the constraints.\n"
            f"[global]\nconstraint = {constraints}\n",
            encoding="utf-8",
        )
        wrote_conf = True
        messages.append(f"pip in this environment reads it through {conf}")
    elif str(constraints) not in conf.read_text(encoding="utf-8", errors="replace"):
        messages.append(
            f"{conf} exists and was left alone: add 'constraint = {constraints}' under [global], or set "
            f"PIP_CONSTRAINT={constraints} before pip install"
        )
    return constraints, wrote_conf, messages


def release_own_pins(prefix: Path, platform: str) -> None:
    """Drop our own pins for the duration of an install that changes the build on purpose.

    The user's chained ``-c`` lines stay. The snapshot holds the file's content, so a rollback
    puts the old pins back; a successful install writes new ones.
    """
    constraints = envs.pin_files(prefix, platform)["constraints"]
    if not constraints.is_file():
        return
    kept = [line for line in constraints.read_text(encoding="utf-8").splitlines()
            if line.startswith(("#", "-c ")) or not line.strip()]
    constraints.write_text("\n".join(kept) + "\n", encoding="utf-8")


class _PipLineHandler:
    def __init__(self, callbacks: InstallCallbacks) -> None:
        self.callbacks = callbacks
        self.installed: list[tuple[str, str]] = []

    def __call__(self, line: str) -> None:
        meaning = pip_runner.read_line(line)
        if meaning.progress is not None:
            self.callbacks.progress(meaning.progress)
            return
        self.callbacks.line(line)
        if meaning.status is not None:
            self.callbacks.status(meaning.status)
        if meaning.installed is not None:
            self.installed = meaning.installed


def _undo(target: envs.Target, created: bool, snapshot: envs.Snapshot | None, callbacks: InstallCallbacks,
          previous: bytes | None = None) -> str:
    """Put the environment back after a failed or cancelled install; returns what was done."""
    if created:
        envs.delete_created_venv(target.prefix, force=True)
        envs.snapshot_path(target.python).unlink(missing_ok=True)
        return f"removed the new environment {target.prefix}"
    if snapshot is None:
        return "nothing was changed"
    callbacks.status("restoring the environment from its snapshot")
    try:
        done = envs.rollback(target.python, on_line=callbacks.line, snapshot=snapshot)
        # fully undone: `rollback` later should still undo the install before this attempt
        envs.restore_snapshot_bytes(target.python, previous)
        return done
    except WizardError as exc:
        return f"ROLLBACK FAILED: {exc.one_line()} - run torch-gpu-setup rollback --python {target.python}"


def run_install(
    request: InstallRequest,
    callbacks: InstallCallbacks | None = None,
    cancel: threading.Event | None = None,
    platform: str | None = None,
) -> InstallOutcome:
    """Install ``request`` and verify it; on failure or cancel, leave the environment as it was."""
    cb = callbacks or InstallCallbacks()
    plat = platform or sys.platform
    warnings: list[str] = []
    target = envs.resolve_target(
        python=request.python, venv=request.venv, new_venv=request.new_venv,
        default_name=envs.env_name_for(request.torch, request.variant), platform=plat,
        long_paths_enabled=envs.windows_long_paths_enabled(),
    )
    created = target.kind == "new_venv"
    snapshot: envs.Snapshot | None = None
    previous: bytes | None = None
    index_urls = (request.index_url,) if request.index_url else ()
    wheelhouse = request.wheelhouse
    try:
        if created:
            # Download first: a cancelled or failed 3 GB download must not create (and delete) a venv.
            wheelhouse = wheelhouse or fetch_big_wheels(
                request, target.base_python or envs.default_base_python(), cb, cancel)
            cb.status(f"creating the environment {target.prefix}")
            info = envs.create_venv(target, on_line=cb.line, cancel=cancel)
            snapshot = envs.take_snapshot(target.python, target.prefix, created_venv=True, index_urls=index_urls)
            cb.status("upgrading pip in the new environment")
            info, warning = envs.upgrade_pip_if_old(info, on_line=cb.line, cancel=cancel)
            if warning:
                warnings.append(warning)
        else:
            info = envs.inspect_interpreter(target.python)
            envs.refuse_externally_managed(info)
            current = envs.list_distributions(target.python)
            needing = replacements_needing_consent(request.requirements, current)
            if needing and not request.consent:
                raise WizardError(
                    f"{target.prefix} already has {'; '.join(needing)}",
                    hint="replacing them needs your consent: run again with --yes "
                    "(the environment is snapshotted first and can be rolled back)",
                )
            # Before the snapshot: while the wheels download, the environment is not touched.
            wheelhouse = wheelhouse or fetch_big_wheels(request, str(target.python), cb, cancel)
            cb.status("recording a snapshot of the environment")
            previous = envs.stored_snapshot_bytes(target.python)
            snapshot = envs.take_snapshot(target.python, target.prefix, index_urls=index_urls)
            release_own_pins(target.prefix, plat)

        # The big wheels come from the local wheelhouse, everything else from the index and the
        # user's own pip configuration. The verified files are named by path: of two equal
        # candidates (the --find-links copy and the index's) pip may well pick the index's and
        # download the 3 GB again.
        find_links = [wheelhouse] if wheelhouse else []
        pip_requirements = local_requirements(request.requirements, wheelhouse) if wheelhouse \
            else list(request.requirements)
        command = pip_runner.install_command(
            target.python, pip_requirements, index_url=request.index_url, find_links=find_links,
            pip_version=info.pip_version,
        )
        cb.status(f"installing {' '.join(request.requirements)}")
        cb.line("$ " + command.display())
        handler = _PipLineHandler(cb)
        result = run_command(command, on_line=handler, cancel=cancel, timeout_s=PIP_INSTALL_TIMEOUT_S)
        if result.cancelled or result.timed_out:
            undone = _undo(target, created, snapshot, cb, previous)
            why = "cancelled" if result.cancelled else "timed out"
            raise WizardError(f"installation {why}", hint=undone)
        if not result.ok:
            failure = pip_runner.classify_failure(result.tail, result.returncode)
            undone = _undo(target, created, snapshot, cb, previous)
            raise WizardError(failure.message, hint=f"{failure.hint}; {undone}", details=failure.details)
    except WizardError:
        # Errors after pip ran were already undone above; this covers the venv creation and the
        # pip upgrade (e.g. cancelled there): a venv of this run never stays half-made.
        if created and target.prefix.exists():
            _undo(target, created, snapshot, cb, previous)
        raise
    except BaseException:
        # KeyboardInterrupt or a bug: still put the environment back before going up.
        _undo(target, created, snapshot, cb, previous)
        raise

    after = envs.list_distributions(target.python)
    constraints, wrote_conf, messages = write_pins(target.prefix, target.python, after, plat)
    for message in messages:
        cb.status(message)
    outcome = InstallOutcome(
        target=target, python=target.python, installed=handler.installed, constraints_file=constraints,
        pip_conf_written=wrote_conf, activate=activation_hint(target.prefix, target.kind, plat),
        warnings=warnings,
    )
    record_last_install(outcome, request)
    if request.verify:
        cb.status("verifying: running the demo in the new environment")
        outcome.verify = run_verify(target.python, expect_gpu=request.expect_gpu, on_event=cb.verify_event,
                                    cancel=cancel)
    return outcome


def big_wheel_requirements(requirements: Sequence[str]) -> list[str]:
    """The requirements worth a verified, resumable download: torch, torchvision, torchaudio."""
    return [r for r in requirements if _pin_parts(r)[0] in PINNED_PACKAGES]


def local_requirements(requirements: Sequence[str], wheelhouse: Path) -> list[str]:
    """The requirements with each pin that a wheel in ``wheelhouse`` satisfies replaced by its path.

    When several wheels of that version lie there (other Pythons), the one ``fetch`` last listed
    in ``wheelhouse.json`` is taken; without such a listing the pin stays and pip chooses.
    """
    try:
        manifest = json.loads((wheelhouse / MANIFEST).read_text(encoding="utf-8"))
        listed = {str(f["filename"]) for f in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        listed = set()
    wheels: list[tuple[str, Version, Path]] = []
    for path in wheelhouse.glob("*.whl"):
        try:
            project, version, _, _ = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        wheels.append((str(project), version, path))
    out: list[str] = []
    for requirement in requirements:
        name, pinned = _pin_parts(requirement)
        matches = [p for n, v, p in wheels if n == name and pinned and _same_version(str(v), pinned)]
        if len(matches) > 1:
            matches = [p for p in matches if p.name in listed]
        out.append(str(matches[0]) if len(matches) == 1 else requirement)
    return out


def wheelhouse_dir(request: InstallRequest) -> Path:
    """The cache's wheelhouse for one build; the files are hard links to the download cache."""
    cache = request.cache_dir or default_cache_dir()
    return cache / "wheelhouses" / envs.env_name_for(request.torch, request.variant)


def fetch_big_wheels(request: InstallRequest, python: str, cb: InstallCallbacks,
                     cancel: threading.Event | None) -> Path | None:
    """Download and verify the big wheels into the cache's wheelhouse; None when there is nothing to fetch.

    Only torch/torchvision/torchaudio, without their dependencies (``no_deps``): those are the
    1-3 GB files worth resuming; pip gets the rest from the index and the user's pip settings.
    The disk check covers the unpacked environment too (``disk_needs_gib`` of the knowledge
    base, per device; it includes the downloads, so it errs on the safe side).
    """
    wanted = big_wheel_requirements(request.requirements)
    if not request.fetch or not request.index_url or not wanted:
        return None
    from wizard.core.fetch.wheelhouse import fetch_wheelhouse, probe_target  # requests etc.: only when fetching

    target, os_info = probe_target(python)
    need_gib = bundled_knowledge().disk_needs_gib.get(variant_device(request.variant), 0.0)
    dest = wheelhouse_dir(request)
    downloader = Downloader(cache_dir=request.cache_dir)

    def on_plan(wheels: Sequence[Any], total: int) -> None:
        cb.status(f"downloading {len(wheels)} wheel(s), {total / 1e6:.1f} MB, into {dest}")

    def on_progress(done: int, total: int, rate: float, eta: float | None) -> None:
        cb.progress(pip_runner.PipProgress(done, total or None))

    cb.status(f"checking the index for {' '.join(wanted)}")
    fetch_wheelhouse(wanted, index_url=request.index_url, dest=dest, python=target, os_info=os_info,
                     no_deps=True, downloader=downloader, progress=on_progress, cancel=cancel,
                     extra_bytes=int(need_gib * GiB), on_plan=on_plan)
    return dest


def last_install_path() -> Path:
    """``<data_dir>/last_install.json``."""
    return envs.data_dir() / LAST_INSTALL


def record_last_install(outcome: InstallOutcome, request: InstallRequest) -> None:
    """Remember where the last successful install went (``verify`` uses it by default)."""
    path = last_install_path()
    data = {"python": str(outcome.python), "prefix": str(outcome.target.prefix), "kind": outcome.target.kind,
            "torch": request.torch, "variant": request.variant,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a convenience only: verify then asks for --python


def last_install_python() -> Path | None:
    """The interpreter of the last successful install, when recorded and still there."""
    try:
        data = json.loads(last_install_path().read_text(encoding="utf-8"))
        python = Path(str(data["python"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return python if python.exists() else None
