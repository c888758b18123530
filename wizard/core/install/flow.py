"""Install a planned torch build into an environment, safely, then prove it works: the one flow.

Both faces run this function: the CLI prints its events, the GUI turns them into Qt signals
(:mod:`wizard.core.events`). The steps, in order:

``prepare``  resolve the target, check the interpreter (never a PEP 668 one), ask for consent
             before replacing an existing torch; read the source (a bad URL or folder fails here);
``download`` fetch and verify the big wheels (torch, torchvision, torchaudio) into the cache's
             wheelhouse, resumable; a folder source is checked instead: nothing exists yet to undo;
``venv``     (new environment) create it, mark it as ours, upgrade its pip;
``snapshot`` (existing environment) record its distributions and release our own pins;
``pip``      pip installs the local big wheels; everything else comes the way pip would get it,
             from the user's pip configuration (``pip.conf``, ``PIP_*``) plus the source;
``pins``     pin the build (constraints file + the venv's pip.conf), record the last install;
``verify``   (when asked) the verification demo in the new environment.

Whatever goes wrong or is cancelled between ``venv``/``snapshot`` and ``pins``, the environment
is put back: a venv created by this run is deleted, an existing one is rolled back to the
snapshot. A cancel raises :class:`~wizard.core.errors.Cancelled`, any other failure a
:class:`~wizard.core.errors.WizardError`; both say in ``hint`` what was put back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.errors import Cancelled, InputError, WizardError
from wizard.core.events import (
    Emit,
    FileProgress,
    FilesPlanned,
    Finished,
    LogLine,
    Status,
    StepFinished,
    StepStarted,
    Undone,
    ignore,
)
from wizard.core.fetch.source import Source, parse_source
from wizard.core.fetch.wheelhouse import MANIFEST
from wizard.core.install import environments as envs
from wizard.core.install import envlock, interpreters, pip_runner, snapshots
from wizard.core.install.removal import remove_created_venv
from wizard.core.knowledge.base import load_knowledge, variant_device
from wizard.core.paths import atomic_write_text
from wizard.core.process import Command, CommandResult, run_command
from wizard.core.text import T
from wizard.core.units import format_bytes
from wizard.core.verify.runner import VerifyResult, run_verify

#: Packages whose exact build the wizard pins after a successful install.
PINNED_PACKAGES = ("torch", "torchvision", "torchaudio")
PIP_INSTALL_TIMEOUT_S = 3 * 3600.0  # a 2.5 GB CUDA wheel on a slow line; cancel is the real exit
#: Where the last successful install is recorded (in the data dir), for ``verify`` without --python.
LAST_INSTALL = "last_install.json"
GiB = 1024**3
#: The first program the Finish page and ``install`` show: it runs in every environment the
#: wizard makes (numpy is added to every install, :func:`companion_requirements`), on the GPU
#: when there is one. The end-to-end tests run it in the new environment.
FIRST_PROGRAM = (
    "import numpy as np\n"
    "import torch\n"
    "device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
    "x = torch.randn(1000, 1000, device=device)\n"
    "y = (x @ x).cpu().numpy()\n"
    "print(torch.__version__, device, y.shape, np.isfinite(y).all())\n"
)


@dataclass(frozen=True)
class InstallRequest:
    """What to install and where: the one request the CLI flags, an answer file and the GUI fill.

    ``requirements`` are exact pins such as ``torch==2.14.1+cu126``. ``index_url`` is where the
    PyTorch wheels come from: an index, a find-links page, a folder or a ``file://`` URL
    (:mod:`wizard.core.fetch.source`; ``source_kind`` ``find-links`` for a preset known to be
    flat). ``wheelhouse`` holds wheels already on disk (``fetch``, a bundle); ``offline`` makes
    pip see nothing else (a bundle). ``verify`` False leaves the demo to the caller (the GUI runs
    it on its own page). ``downloader_options`` tune the downloader's retries (tests, benchmarks).
    """

    torch: str
    variant: str
    requirements: tuple[str, ...]
    index_url: str | None = None
    source_kind: str = "auto"
    python: str | None = None
    venv: str | None = None
    new_venv: str | None = None
    wheelhouse: Path | None = None
    offline: bool = False
    consent: bool = False
    verify: bool = True
    expect_gpu: bool = False
    fetch: bool = True
    cache_dir: Path | None = None
    proxy: str | None = None
    downloader_options: tuple[tuple[str, Any], ...] = ()


def command_line(request: InstallRequest) -> list[str]:
    """The ``torch-gpu-setup install`` command that runs this same request from a terminal.

    Shown by the GUI (a simulated machine, the log) so a helpdesk can repeat what the window did.
    The proxy is left out: it may carry a password.
    """
    argv = ["torch-gpu-setup", "install"]
    if request.new_venv:
        argv += ["--new-venv", request.new_venv]
    elif request.venv:
        argv += ["--venv", request.venv]
    if request.python:
        argv += ["--python", request.python]
    argv += ["--torch", request.torch, "--variant", request.variant]
    if request.index_url:
        argv += ["--index-url", request.index_url]
    if request.consent:
        argv.append("--yes")
    if not request.verify:
        argv.append("--no-verify")
    return argv


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
    files = snapshots.pin_files(prefix, platform)
    constraints, conf = files["constraints"], files["pip_conf"]
    chained = [f for f in _user_constraints(python) if Path(f) != constraints]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    constraints.write_text(
        # pip decodes a requirements file by its coding line, else in the locale's encoding
        # (pip/_internal/utils/encoding.py auto_decode): a chained path in 张三's folder survives cp936.
        "# -*- coding: utf-8 -*-\n"
        "# Written by torch-gpu-setup on " + stamp + ".\n"
        "# Keeps this environment's PyTorch build: a later `pip install` may not replace it.\n"
        "# To change the build on purpose, run torch-gpu-setup install again, or delete this file.\n"
        + "".join(f"-c {pip_path_value(f, platform)}\n" for f in chained)
        + "\n".join(pins) + "\n",
        encoding="utf-8",
    )
    messages = [f"pinned {', '.join(pins)} in {constraints}"]
    wrote_conf = False
    value = pip_path_value(str(constraints), platform)
    if not conf.exists():
        # ASCII only: pip reads its config files in the locale's encoding (cp936 on Chinese
        # Windows; pip/_internal/configuration.py _construct_parser), and splits list values such
        # as ``constraint`` on whitespace; pip_path_value gives a file: URL when the path needs one.
        conf.write_text(
            "# Written by torch-gpu-setup: every pip install in this environment obeys the constraints.\n"
            f"[global]\nconstraint = {value}\n",
            encoding="ascii",
        )
        wrote_conf = True
        messages.append(f"pip in this environment reads it through {conf}")
    elif str(constraints) not in conf.read_text(encoding="utf-8", errors="replace") and \
            value not in conf.read_text(encoding="utf-8", errors="replace"):
        messages.append(
            f"{conf} exists and was left alone: add 'constraint = {constraints}' under [global], or set "
            f"PIP_CONSTRAINT={constraints} before pip install"
        )
    return constraints, wrote_conf, messages


def pip_path_value(path: str, platform: str) -> str:
    """``path`` as pip reads it back from a config or requirements file on any code page.

    A plain ASCII path without spaces stays as it is (a person reads it). Anything else, a space
    (pip splits list options on whitespace) or a non-ASCII character (the file is read in the
    locale's encoding), becomes a ``file:`` URL, which pip accepts wherever it takes a
    constraints file and which is pure ASCII (RFC 8089; ``Path.as_uri``).
    """
    if path.isascii() and not any(c.isspace() for c in path) and "%" not in path:
        return path
    if "://" in path:
        return path
    pure: PurePath = PureWindowsPath(path) if platform == "win32" else PurePosixPath(path)
    return pure.as_uri() if pure.is_absolute() else path


def release_own_pins(prefix: Path, platform: str) -> None:
    """Drop our own pins for the duration of an install that changes the build on purpose.

    The user's chained ``-c`` lines stay. The snapshot holds the file's content, so a rollback
    puts the old pins back; a successful install writes new ones.
    """
    constraints = snapshots.pin_files(prefix, platform)["constraints"]
    if not constraints.is_file():
        return
    kept = [line for line in constraints.read_text(encoding="utf-8").splitlines()
            if line.startswith(("#", "-c ")) or not line.strip()]
    constraints.write_text("\n".join(kept) + "\n", encoding="utf-8")


class _PipLines:
    """Reads pip's output once for every face: progress, a status sentence, the installed list."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.installed: list[tuple[str, str]] = []

    def __call__(self, line: str) -> None:
        meaning = pip_runner.read_line(line)
        if meaning.progress is not None:
            self.emit(meaning.progress)
            return
        self.emit(LogLine(line))
        if meaning.status is not None:
            self.emit(Status(meaning.status))
        if meaning.installed is not None:
            self.installed = meaning.installed


def _log(emit: Emit) -> Any:
    return lambda line: emit(LogLine(line))


def _with_env(command: Command, extra: Mapping[str, str]) -> Command:
    return dataclasses.replace(command, env={**command.env, **extra}) if extra else command


def pip_environment(request: InstallRequest, wheelhouse: Path | None) -> dict[str, str]:
    """What every pip call of this install gets on top of the user's environment.

    pip reads its options from ``PIP_<OPTION>`` variables (pip docs, "Configuration: Environment
    Variables"), so the venv's pip upgrade sees them too. Offline: no index, only the wheelhouse.
    """
    env: dict[str, str] = {}
    if request.proxy:
        env["PIP_PROXY"] = request.proxy
    if request.offline and wheelhouse is not None:
        # Wheels only (a bundle, issue 15): pip never builds, so never runs a setup.py it finds.
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_ONLY_BINARY": ":all:"})
    return env


def _step(emit: Emit, step: str, text: str) -> None:
    emit(StepStarted(step, text))
    emit(LogLine(f"== {text}"))


def _undo(target: envs.Target, created: bool, snapshot: snapshots.Snapshot | None, emit: Emit,
          previous: bytes | None = None) -> str:
    """Put the environment back after a failed or cancelled install; returns what was done."""
    emit(StepStarted("undo", T(M.FLOW_UNDO)))
    text: str
    if created or (snapshot is not None and snapshot.created_venv):
        # made by this run, or by an earlier one that was stopped half way (take_snapshot)
        try:
            # made by this run: nothing in it is the person's (an earlier run's remains were
            # sorted when this run began: the person's files there were kept aside then)
            removal = remove_created_venv(target.prefix, force=True, keep=not created)
            snapshots.snapshot_path(target.python).unlink(missing_ok=True)
            text = T(M.FLOW_UNDONE_REMOVED_KEPT, prefix=str(target.prefix), count=len(removal.kept),
                     kept=str(removal.kept_dir)) if removal.kept_dir is not None \
                else T(M.FLOW_UNDONE_REMOVED, prefix=str(target.prefix))
        except WizardError as exc:
            text = T(M.FLOW_ROLLBACK_FAILED, error=exc.one_line(), python=str(target.python))
    elif snapshot is None:
        text = T(M.FLOW_NOTHING_CHANGED)
    else:
        try:
            done = snapshots.rollback(target.python, on_line=_log(emit), snapshot=snapshot)
            # fully undone: `rollback` later should still undo the install before this attempt
            snapshots.restore_snapshot_bytes(target.python, previous)
            text = T(M.FLOW_UNDONE_RESTORED, what=done)
        except WizardError as exc:
            text = T(M.FLOW_ROLLBACK_FAILED, error=exc.one_line(), python=str(target.python))
    emit(Undone(text))
    return text


def check_parent_writable(prefix: Path) -> None:
    """A new environment's folder can be made: its nearest existing parent is a writable folder."""
    parent = prefix.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise WizardError(T(M.FLOW_PARENT_NOT_WRITABLE, prefix=str(prefix), parent=str(parent)),
                          hint=T(M.FLOW_PARENT_NOT_WRITABLE_HINT))


def run_install(
    request: InstallRequest,
    emit: Emit | None = None,
    cancel: threading.Event | None = None,
    platform: str | None = None,
) -> InstallOutcome:
    """Install ``request`` (and verify it when asked); on failure or cancel, leave the environment as it was.

    The environment is locked from the moment it is known until the end (:mod:`envlock`): a second
    install or a rollback of it meanwhile stops at once with :class:`EnvironmentBusy`.
    """
    with contextlib.ExitStack() as locks:
        return _run_install(request, emit, cancel, platform, locks)


def _run_install(
    request: InstallRequest,
    emit: Emit | None,
    cancel: threading.Event | None,
    platform: str | None,
    locks: contextlib.ExitStack,
) -> InstallOutcome:
    emit = ignore if emit is None else emit
    cancel = cancel or threading.Event()
    plat = platform or sys.platform
    warnings: list[str] = []
    existing: dict[str, str] = {}    # an existing environment's distributions (read in "prepare")

    _step(emit, "prepare", T(M.FLOW_PREPARE))
    try:
        source = parse_source(request.index_url, request.source_kind) if request.index_url else None
        target = envs.resolve_target(
            python=request.python, venv=request.venv, new_venv=request.new_venv,
            default_build=(request.torch, request.variant), platform=plat,
            long_paths_enabled=envs.windows_long_paths_enabled(),
        )
        locks.enter_context(envlock.hold(target.prefix, "install"))  # EnvironmentBusy passes as it is
        created = target.kind == "new_venv"
        if created:
            assert target.base_python is not None
            interpreters.inspect_interpreter(target.base_python)  # a broken base Python fails here, in words
            check_parent_writable(target.prefix)
            tag_python = target.base_python
        else:
            info = interpreters.inspect_interpreter(target.python)
            interpreters.refuse_externally_managed(info)
            existing = interpreters.list_distributions(target.python)
            needing = replacements_needing_consent(request.requirements, existing)
            if needing and not request.consent:
                raise WizardError(T(M.FLOW_NEEDS_CONSENT, prefix=str(target.prefix), what="; ".join(needing)),
                                  hint=T(M.FLOW_NEEDS_CONSENT_HINT))
            tag_python = str(target.python)
    except WizardError as exc:
        # Nothing has changed yet: a path, URL or interpreter that cannot be used is bad input.
        if type(exc) is not WizardError:
            raise
        raise InputError.from_error(exc) from exc
    emit(StepFinished("prepare"))

    # Before anything changes: a wrong source, a cut download or a cancel leaves no environment to undo.
    # A new environment's pip is looked for (written to the cache only) while the big wheels download.
    pip_wheel = _PipPrefetch(target.base_python, pip_environment(request, None), cancel) \
        if created and target.base_python and not request.offline else None
    wheelhouse, requirements, source = gather_wheels(request, source, tag_python, emit, cancel, existing)
    pip_env = pip_environment(request, wheelhouse)
    index_urls = (source.location,) if source is not None and source.kind == "index" else ()
    snapshot: snapshots.Snapshot | None = None
    previous: bytes | None = None
    lines = _PipLines(emit)
    if cancel.is_set():  # a signal during the download's last moments, or before anything ran
        raise Cancelled(T(M.FLOW_CANCELLED), hint=T(M.FLOW_NOTHING_CHANGED))
    try:
        if created:
            _step(emit, "venv", T(M.FLOW_CREATE_VENV, prefix=str(target.prefix)))
            # The snapshot first: from the first change on, "created by the wizard" is on record,
            # however the run ends (a kill during venv creation included).
            snapshot = snapshots.take_snapshot(target.python, target.prefix, created_venv=True, index_urls=index_urls)
            if envs.half_made(target.prefix):   # the remains of a stopped run: made again from scratch
                removal = remove_created_venv(target.prefix, force=True)
                emit(Status(T(M.FLOW_HALF_MADE_REMADE_KEPT, prefix=str(target.prefix), count=len(removal.kept),
                                kept=str(removal.kept_dir)) if removal.kept
                            else T(M.FLOW_HALF_MADE_REMADE, prefix=str(target.prefix))))
            envs.create_venv(target, on_line=_log(emit), cancel=cancel)   # lean: --without-pip
            chosen = pip_wheel.get(emit) if pip_wheel is not None else None
            if chosen is None:
                chosen = envs.pip_wheel_for(target.base_python or "", _log(emit), cancel, pip_env)
            emit(Status(T(M.FLOW_PROVIDE_PIP, version=envs.pip_wheel_version(chosen[0]) or "?")))
            info, warning = envs.provide_pip(target, on_line=_log(emit), cancel=cancel, env=pip_env, chosen=chosen)
            if warning:
                warnings.append(warning)
                emit(Status(warning))
            emit(StepFinished("venv"))
        else:
            _step(emit, "snapshot", T(M.FLOW_SNAPSHOT))
            previous = snapshots.stored_snapshot_bytes(target.python)
            snapshot = snapshots.take_snapshot(target.python, target.prefix, index_urls=index_urls)
            if snapshot.created_venv:  # a venv of an earlier run that was stopped: still ours to remove
                emit(Status(T(M.FLOW_HALF_MADE, prefix=str(target.prefix))))
            release_own_pins(target.prefix, plat)
            emit(StepFinished("snapshot"))

        _step(emit, "pip", T(M.FLOW_PIP, requirements=" ".join(
            [*request.requirements, *requirements[len(request.requirements):]])))
        with _staging_folder() as staging:
            links = [wheelhouse] if wheelhouse and not request.offline else []
            # The wheels unpacked in parallel (wheel_installer); pip when it cannot. In an existing
            # environment only what adds packages goes that way: pip replaces what is there.
            fast = _install_fast(target.python, requirements, staging, links, source, info.pip_version, pip_env,
                                 lines, emit, cancel, None if created or snapshot is None
                                 else dict(snapshot.distributions)) \
                if fast_install_enabled() and (created or snapshot is not None) else None
            if fast is not None:
                result, lines.installed = fast
            else:
                command = _with_env(pip_runner.install_command(
                    target.python, requirements, find_links=[*links, *([staging] if any(staging.iterdir()) else [])],
                    pip_version=info.pip_version, extra_args=source.pip_args() if source is not None else (),
                ), pip_env)
                emit(LogLine("$ " + command.display()))
                result = run_command(command, on_line=lines, cancel=cancel, timeout_s=PIP_INSTALL_TIMEOUT_S)
        if result.cancelled:
            raise Cancelled(T(M.FLOW_CANCELLED), hint=_undo(target, created, snapshot, emit, previous))
        if result.timed_out:
            raise WizardError(T(M.FLOW_TIMED_OUT), hint=_undo(target, created, snapshot, emit, previous))
        if not result.ok:
            failure = pip_runner.classify_failure(result.tail, result.returncode)
            if failure.kind == "invalid_wheel" and wheelhouse is not None and wheelhouse == wheelhouse_dir(request):
                forget_downloads(wheelhouse, request.cache_dir)   # a retry must not reuse the broken file
            undone = _undo(target, created, snapshot, emit, previous)
            raise WizardError(failure.message, hint=T(M.FLOW_FAILED_HINT, hint=failure.hint, undone=undone),
                              details=failure.details)
        emit(StepFinished("pip"))
    except WizardError as exc:
        # Errors after pip ran were already undone above; this covers the venv creation and the
        # pip upgrade (e.g. cancelled there): a venv of this run never stays half-made.
        if created and target.prefix.exists():
            undone = _undo(target, created, snapshot, emit, previous)
            if isinstance(exc, Cancelled) or cancel.is_set():
                raise Cancelled(T(M.FLOW_CANCELLED), hint=undone) from exc
        raise
    except BaseException:
        # KeyboardInterrupt, SIGTERM turned into SystemExit, or a bug: still put the environment back.
        _undo(target, created, snapshot, emit, previous)
        raise

    _step(emit, "pins", T(M.FLOW_PINS))
    after = interpreters.list_distributions(target.python)
    constraints, wrote_conf, messages = write_pins(target.prefix, target.python, after, plat)
    envs.mark_complete(target.prefix)  # a venv of ours is whole now: a later install snapshots it as usual
    for message in messages:
        emit(Status(message))
    outcome = InstallOutcome(
        target=target, python=target.python, installed=lines.installed, constraints_file=constraints,
        pip_conf_written=wrote_conf, activate=activation_hint(target.prefix, target.kind, plat),
        warnings=warnings,
    )
    record_last_install(outcome, request)
    emit(StepFinished("pins"))
    if request.verify:
        _step(emit, "verify", T(M.FLOW_VERIFY))
        outcome.verify = run_verify(target.python, expect_gpu=request.expect_gpu, emit=emit, cancel=cancel)
        emit(StepFinished("verify"))
    emit(Finished(True, T(M.FLOW_INSTALLED, prefix=str(target.prefix))))
    return outcome


class _PipPrefetch:
    """:func:`envs.pip_wheel_for` on a thread of its own, started before the big wheels download."""

    def __init__(self, base_python: str, env: Mapping[str, str], cancel: threading.Event) -> None:
        self.lines: list[str] = []
        self.result: tuple[Path | None, str | None] | None = None
        self.thread = threading.Thread(target=self._run, args=(base_python, env, cancel), daemon=True,
                                       name="pip-prefetch")
        self.thread.start()

    def _run(self, base_python: str, env: Mapping[str, str], cancel: threading.Event) -> None:
        try:
            self.result = envs.pip_wheel_for(base_python, self.lines.append, cancel, env)
        except Exception:   # provide_pip asks again on the flow's thread and reports it
            self.result = None

    def get(self, emit: Emit) -> tuple[Path | None, str | None] | None:
        """The wheel and warning (None: ask again), its log lines passed on from the flow's thread."""
        self.thread.join()
        for line in self.lines:
            emit(LogLine(line))
        return self.result


def _wheel_project(wheel: Path) -> tuple[str, str]:
    """(normalized project name, version) from a wheel's file name."""
    project, version, _, _ = parse_wheel_filename(wheel.name)
    return str(project), str(version)


#: ``pip`` here makes every install use pip itself (the fast path's fallback, for comparison).
INSTALLER_ENV = "TORCH_GPU_SETUP_INSTALLER"


def fast_install_enabled() -> bool:
    """Whether a new environment is filled by the parallel wheel installer (the default) or by pip."""
    return os.environ.get(INSTALLER_ENV, "").strip().lower() != "pip"


@contextlib.contextmanager
def _staging_folder() -> Iterator[Path]:
    """A folder in the cache (the file system of the downloads: hard links work) for pip's files."""
    import shutil
    import tempfile

    from wizard.core import paths

    base = paths.cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="install-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _install_fast(python: Path, requirements: Sequence[str], staging: Path, links: Sequence[Path],
                  source: Source | None, pip_version: str | None, pip_env: Mapping[str, str], lines: _PipLines,
                  emit: Emit, cancel: threading.Event, installed: Mapping[str, str] | None = None,
                  ) -> tuple[Any, list[tuple[str, str]]] | None:
    """The ``pip`` step of a new environment, fast (:mod:`wheel_installer`): returns (pip's result,
    installed) or None when pip must install (what was unpacked by then is complete and recorded).

    The big wheels, verified by the downloader, start unpacking at once; meanwhile ``pip download``
    resolves the rest with the user's configuration into ``staging``; then every file is unpacked
    by a pool of threads and the bytecode compiled by several processes. A failed ``pip download``
    is returned like a failed ``pip install`` (the caller classifies and undoes it).

    ``installed`` (an existing environment: its distributions) keeps to adding packages: a big
    wheel of a project already there, or a file pip chose in another version than the one
    installed, leaves the work to pip; one in the same version is skipped, as pip would.
    """
    from wizard.core.install import wheel_installer as wi

    big = [Path(r) for r in requirements if wi.is_wheel_path(r)]
    if installed is not None and any(_wheel_project(w)[0] in installed for w in big):
        return None   # a build replaced (with consent): pip uninstalls the old one
    try:
        installer = wi.ParallelInstaller(wi.read_scheme(python), cancel=cancel, existing=installed is not None,
                                         compile_bytecode=wi.compile_wanted({**os.environ, **pip_env}))
    except wi.FastPathUnavailable as exc:
        emit(Status(T(M.FLOW_FAST_FALLBACK, why=str(exc))))
        return None
    try:
        return _fast_steps(installer, big, python, requirements, staging, links, source, pip_version, pip_env,
                           lines, emit, cancel, installed)
    except (OSError, wi.DamagedWheel) as exc:
        # A file that cannot be written (permissions, a full disk) or a broken wheel: said as pip's
        # failure would be (classify_failure's words), so the caller explains and undoes it alike.
        installer.abort()
        why = f"{exc.details} has an invalid wheel" if isinstance(exc, wi.DamagedWheel) else str(exc)
        return CommandResult(Command(argv=("unpack",)), 1, (f"ERROR: {why}",)), []
    except BaseException:
        # Anything else (a cancel, a bug): no worker may still write while the undo deletes.
        with contextlib.suppress(Exception):
            installer.abort()
        raise


def _fast_steps(installer: Any, big: list[Path], python: Path, requirements: Sequence[str], staging: Path,
                links: Sequence[Path], source: Source | None, pip_version: str | None, pip_env: Mapping[str, str],
                lines: _PipLines, emit: Emit, cancel: threading.Event, installed: Mapping[str, str] | None,
                ) -> tuple[Any, list[tuple[str, str]]] | None:
    """:func:`_install_fast` once its installer is made: big wheels, ``pip download``, the rest."""
    from wizard.core.install import wheel_installer as wi

    requested = wi.requested_names(requirements)
    try:
        for wheel in big:
            installer.add(wheel, requested=True)
    except wi.FastPathUnavailable as exc:
        emit(Status(T(M.FLOW_FAST_FALLBACK, why=str(exc))))
        installer.finish(compile_bytecode=False)
        return None
    wi.link_into(staging, big)
    emit(Status(T(M.FLOW_RESOLVE)))
    command = _with_env(wi.download_command(
        python, requirements, staging, find_links=links, extra_args=source.pip_args() if source is not None else (),
        raw_progress=pip_runner.pip_supports_raw_progress(pip_version)), pip_env)
    emit(LogLine("$ " + command.display()))
    result = run_command(command, on_line=lines, cancel=cancel, timeout_s=PIP_INSTALL_TIMEOUT_S)
    if not result.ok:
        installer.abort()
        return result, []
    try:
        for wheel in wi.wheels_in(staging):
            name, version = _wheel_project(wheel)
            if installed is not None and name in installed:
                if _same_version(installed[name], version):
                    continue   # already there: pip would leave it too
                raise wi.FastPathUnavailable(f"{wheel.name} would replace {name} {installed[name]}")
            installer.add(wheel, requested=name in requested)
    except wi.FastPathUnavailable as exc:
        emit(Status(T(M.FLOW_FAST_FALLBACK, why=str(exc))))
        installer.finish(compile_bytecode=False)   # what is unpacked is a complete install: pip skips it
        return None
    emit(Status(T(M.FLOW_UNPACK, count=len(installer.wheels), size=format_bytes(installer.bytes),
                  workers=installer.workers)))
    done = installer.finish(compile_bytecode=installer.compile_early, on_status=lambda text: emit(Status(text)))
    return result, done


def run_rollback(python: str | os.PathLike[str], emit: Emit | None = None) -> str:
    """Undo the last install in an environment (the ``rollback`` flow); returns what was done."""
    emit = ignore if emit is None else emit
    _step(emit, "rollback", T(M.FLOW_ROLLBACK, python=str(python)))
    prefix = snapshots.load_snapshot(python).prefix  # no snapshot: says so, before anything is locked
    with envlock.hold(prefix, "rollback"):  # never while an install (or its pip) works on it
        done = snapshots.rollback(python, on_line=_log(emit))
    emit(Undone(done))
    emit(Finished(True, done))
    return done


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
    from wizard.core.fetch.download import default_cache_dir

    cache = request.cache_dir or default_cache_dir()
    return cache / "wheelhouses" / envs.env_name_for(request.torch, request.variant)


def forget_downloads(wheelhouse: Path, cache_dir: Path | None) -> None:
    """Delete a wheelhouse of the cache and the cached files it links to (pip found one broken).

    Only the cache's own wheelhouse: a folder the person gave or a bundle is never touched.
    """
    import shutil

    from wizard.core.fetch.download import default_cache_dir

    cache = cache_dir or default_cache_dir()
    try:
        listed = json.loads((wheelhouse / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        listed = []
    for entry in listed:
        sha = str(entry.get("sha256") or "") if isinstance(entry, dict) else ""
        if len(sha) == 64:
            shutil.rmtree(cache / sha[:2] / sha, ignore_errors=True)
    shutil.rmtree(wheelhouse, ignore_errors=True)


def gather_wheels(request: InstallRequest, source: Source | None, python: str, emit: Emit,
                  cancel: threading.Event, installed: Mapping[str, str] | None = None,
                  ) -> tuple[Path | None, list[str], Source | None]:
    """The ``download`` step: the big wheels as local files, before any environment changes.

    Returns (wheelhouse or None, the requirements with each big pin replaced by its file, the
    source as reading it showed it: an http URL may turn out to be a find-links page). A folder
    source is checked for a wheel of every big pin that fits the target interpreter.
    """
    wanted = big_wheel_requirements(request.requirements)
    wheelhouse = request.wheelhouse
    if wheelhouse is None and source is not None and wanted:
        if source.kind == "folder":
            _step(emit, "download", T(M.FLOW_CHECK_FOLDER, folder=source.location))
            wheelhouse = Path(source.location)
            _require_local(wanted, wheelhouse, python)
            emit(StepFinished("download"))
        elif request.fetch:
            _step(emit, "download", T(M.FLOW_DOWNLOAD))
            try:
                wheelhouse, layout = fetch_big_wheels(request, source, python, emit, cancel)
            except Cancelled as exc:
                raise Cancelled(T(M.FLOW_CANCELLED), hint=T(M.FLOW_DOWNLOAD_CANCELLED_HINT)) from exc
            source = source.with_layout(layout)
            emit(StepFinished("download"))
    requirements = local_requirements(request.requirements, wheelhouse) if wheelhouse \
        else list(request.requirements)
    offline_wheels = wheelhouse if request.offline else None
    requirements += companion_requirements(request.torch, request.requirements, offline_wheels, installed)
    return wheelhouse, requirements, source


def companion_requirements(torch: str, requirements: Sequence[str], offline_wheels: Path | None = None,
                           installed: Mapping[str, str] | None = None) -> list[str]:
    """What every install adds beside the build: numpy, so that the first program runs.

    torch does not require numpy (only torchvision does), yet ``tensor.numpy()`` and most first
    programs need it; a build without torchvision would otherwise end without it. torch older
    than 2.3.1 was compiled against NumPy 1's C API and fails to load NumPy 2 ("_ARRAY_API not
    found": https://github.com/pytorch/pytorch/issues/107302,
    https://github.com/neuromorphs/tonic/issues/317), so those get ``numpy<2``. A requirement the
    request already names wins. Offline (a bundle), numpy is added only when the bundle holds a
    numpy wheel: a bundle made before numpy was added still installs. An existing environment
    that already has a numpy (``installed``) keeps it: pandas or scipy there may need that one.
    """
    if any(_pin_parts(r)[0] == "numpy" for r in requirements) or "numpy" in (installed or {}):
        return []
    if offline_wheels is not None and not any(offline_wheels.glob("numpy-*.whl")):
        return []
    try:
        old = Version(torch.split("+", 1)[0]) < Version("2.3.1")
    except InvalidVersion:
        old = False
    return ["numpy<2" if old else "numpy"]


def _require_local(wanted: Sequence[str], folder: Path, python: str) -> None:
    """Each big pin has a wheel in ``folder`` that the target interpreter accepts."""
    from wizard.core.fetch.tags import target_tags
    from wizard.core.fetch.wheelhouse import probe_target

    target, os_info = probe_target(python)
    tags = set(target_tags(target, os_info))
    for requirement in wanted:
        name, pinned = _pin_parts(requirement)
        fits = False
        for path in folder.glob("*.whl"):
            try:
                project, version, _, wheel_tags = parse_wheel_filename(path.name)
            except (InvalidWheelFilename, InvalidVersion):
                continue
            if project == name and (pinned is None or _same_version(str(version), pinned)) and wheel_tags & tags:
                fits = True
                break
        if not fits:
            raise WizardError(T(M.FLOW_FOLDER_MISSING, folder=str(folder), requirement=requirement,
                                python=target.version), hint=T(M.FLOW_FOLDER_MISSING_HINT))


def fetch_big_wheels(request: InstallRequest, source: Source, python: str, emit: Emit,
                     cancel: threading.Event | None) -> tuple[Path, str]:
    """Download and verify the big wheels into the cache's wheelhouse; returns it and the source's layout.

    Only torch/torchvision/torchaudio, without their dependencies (``no_deps``): those are the
    1-3 GB files worth resuming; pip gets the rest the way it would on its own. The disk check
    covers the unpacked environment too (``disk_needs_gib`` of the knowledge base, per device;
    it includes the downloads, so it errs on the safe side).
    """
    from wizard.core.fetch.download import Downloader  # requests etc.: only when fetching
    from wizard.core.fetch.net import NetConfig, make_session
    from wizard.core.fetch.wheelhouse import fetch_wheelhouse, probe_target

    wanted = big_wheel_requirements(request.requirements)
    target, os_info = probe_target(python)
    need_gib = load_knowledge().size_estimate(variant_device(request.variant))[1]
    dest = wheelhouse_dir(request)
    session = make_session(NetConfig(proxy=request.proxy or None))
    downloader = Downloader(session=session, cache_dir=request.cache_dir, **dict(request.downloader_options))

    def on_plan(wheels: Sequence[Any], total: int) -> None:
        emit(FilesPlanned(tuple((w.filename, w.size or 0) for w in wheels)))
        emit(Status(T(M.FLOW_DOWNLOADING, count=len(wheels), size=format_bytes(total))))

    def on_file(index: int, done: int, total: int, rate: float, eta: float | None) -> None:
        emit(FileProgress(index, done, total, rate, eta))

    emit(Status(T(M.FLOW_CHECK_SOURCE, requirements=" ".join(wanted), source=source.location)))
    result = fetch_wheelhouse(wanted, index_url=source.location, dest=dest, python=target, os_info=os_info,
                              no_deps=True, session=session, downloader=downloader, cancel=cancel,
                              extra_bytes=int(need_gib * GiB), on_plan=on_plan, on_file=on_file)
    return dest, result.layout


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
        atomic_write_text(path, json.dumps(data, indent=2))
    except (OSError, WizardError):
        pass  # a convenience only: verify then asks for --python


def last_install_python() -> Path | None:
    """The interpreter of the last successful install, when recorded and still there."""
    try:
        data = json.loads(last_install_path().read_text(encoding="utf-8"))
        python = Path(str(data["python"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return python if python.exists() else None
