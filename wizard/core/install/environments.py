"""Where torch goes: new venvs, existing venvs, conda environments and interpreters.

Also the safety net around changing them: a snapshot of the installed distributions taken
before the wizard touches an existing environment, and :func:`rollback` to return to it.

The default target is a new venv in the user's data directory, named after the build it holds
(``envs/torch-2.14.1-cu126``). A Python managed by the operating system (PEP 668
``EXTERNALLY-MANAGED`` marker) is never changed. Windows specifics (``Scripts\\python.exe``,
Microsoft Store Python's redirected AppData, the 260-character path limit) are decided by
small functions that take the platform as an argument, so they are tested on Linux too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from wizard.core import paths
from wizard.core.errors import Cancelled, WizardError
from wizard.core.install import pip_runner
from wizard.core.process import Command, CommandResult, run_command

APP_NAME = paths.APP_NAME
#: Overrides the data directory (tests, portable installs).
DATA_DIR_ENV = paths.DATA_DIR_ENV
#: Written into every venv the wizard creates; rollback deletes only venvs that carry it.
CREATED_MARKER = "torch-gpu-setup-venv.json"
SNAPSHOT_SCHEMA = "env-snapshot/1"

# Windows MAX_PATH is 260 characters including the terminating NUL (Microsoft Learn, "Maximum
# Path Length Limitation"). The longest file inside the torch 2.13.0 wheel, measured on
# torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl, is 171 characters below site-packages
# (a third-party licence file); "\Lib\site-packages\" adds 19.
TORCH_DEEPEST_RELATIVE_PATH = 171
WINDOWS_MAX_PATH = 260
_SITE_PACKAGES_WINDOWS = len("\\Lib\\site-packages\\")

LineCallback = Callable[[str], None]


def data_dir() -> Path:
    """The wizard's per-user data directory (envs, snapshots)."""
    return paths.data_dir()


def env_name_for(torch: str, variant: str) -> str:
    """The directory name of a new venv holding a build: ``torch-2.14.1-cu126``."""
    safe = re.sub(r"[^A-Za-z0-9.]+", "-", f"torch-{torch}-{variant}")
    return safe.strip("-")


def envs_dir(platform: str = sys.platform, microsoft_store: bool = False, home: Path | None = None) -> Path:
    """Where new venvs go.

    Microsoft Store Python runs as a packaged app: its writes below ``%LOCALAPPDATA%`` are
    redirected into the package's private ``LocalCache`` (Python docs, "Using Python on Windows",
    4.2.1 Known issues), so a venv made there would not be where we look. For Store Python the
    envs go below the home directory instead.
    """
    if platform == "win32" and microsoft_store:
        return (home or Path.home()) / APP_NAME / "envs"
    return data_dir() / "envs"


def venv_python(prefix: str | PurePath, platform: str = sys.platform) -> PurePath:
    """The interpreter inside a venv (``bin/python`` or ``Scripts\\python.exe``)."""
    if platform == "win32":
        return PureWindowsPath(str(prefix)) / "Scripts" / "python.exe"
    return PurePosixPath(str(prefix)) / "bin" / "python"


def conda_python(prefix: str | PurePath, platform: str = sys.platform) -> PurePath:
    """The interpreter of a conda environment (``python.exe`` sits in the prefix on Windows)."""
    if platform == "win32":
        return PureWindowsPath(str(prefix)) / "python.exe"
    return PurePosixPath(str(prefix)) / "bin" / "python"


def check_path_length(prefix: str, platform: str, long_paths_enabled: bool | None) -> None:
    """Refuse a Windows prefix so long that torch's deepest file would pass MAX_PATH.

    ``long_paths_enabled`` is the registry value LongPathsEnabled (None: unknown, treated as off).
    """
    if platform != "win32" or long_paths_enabled:
        return
    longest = len(prefix) + _SITE_PACKAGES_WINDOWS + TORCH_DEEPEST_RELATIVE_PATH
    if longest >= WINDOWS_MAX_PATH:
        room = WINDOWS_MAX_PATH - 1 - _SITE_PACKAGES_WINDOWS - TORCH_DEEPEST_RELATIVE_PATH
        raise WizardError(
            f"the environment path is too long for Windows ({len(prefix)} characters; torch's files "
            f"would reach {longest} of the {WINDOWS_MAX_PATH} allowed)",
            hint=f"choose a folder with a path of at most {room} characters (e.g. C:\\envs\\torch), "
            "or enable long paths (LongPathsEnabled=1, needs administrator rights)",
            details=prefix,
        )


def windows_long_paths_enabled() -> bool | None:  # pragma: no cover - Windows only
    """Read HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\\LongPathsEnabled."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem")
        value, _ = winreg.QueryValueEx(key, "LongPathsEnabled")
        return bool(value)
    except OSError:
        return None


# ---------------------------------------------------------------- inspecting an interpreter

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


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """The environment an install goes into.

    ``kind``: ``new_venv`` (made by this run), ``venv``, ``conda`` or ``interpreter``.
    ``python`` is the interpreter inside it (for a new venv: where it will be).
    """

    kind: str
    prefix: Path
    python: Path
    base_python: str | None = None


def default_base_python() -> str:
    """The interpreter new venvs are made with when none was named."""
    if getattr(sys, "frozen", False):  # a bundled wizard: its sys.executable is the app itself
        found = shutil.which("python3") or shutil.which("python") or shutil.which("py")
        if found is None:
            raise WizardError("no Python interpreter found to create the environment with",
                              hint="install Python 3.10 or newer from python.org, or pass --python")
        return found
    return sys.executable


def resolve_target(
    *,
    python: str | None = None,
    venv: str | None = None,
    new_venv: str | None = None,
    default_name: str | None = None,
    platform: str = sys.platform,
    long_paths_enabled: bool | None = None,
) -> Target:
    """Decide the target from the command line choices (runs only the probe, changes nothing).

    With ``new_venv`` (or nothing), ``python`` names the base interpreter. A ``new_venv`` path
    that already holds a venv is treated as that existing venv.
    """
    if venv and new_venv:
        raise WizardError("--venv and --new-venv exclude each other", hint="give one of them")
    if venv:
        prefix = Path(venv).absolute()
        if not (prefix / "pyvenv.cfg").is_file() and not (prefix / "conda-meta").is_dir():
            raise WizardError(f"{prefix} is not a virtual environment (no pyvenv.cfg)",
                              hint="to create one there use --new-venv DIR")
        kind = "conda" if (prefix / "conda-meta").is_dir() else "venv"
        interp = Path(venv_python(prefix, platform) if kind == "venv" else conda_python(prefix, platform))
        check_path_length(str(prefix), platform, long_paths_enabled)
        return Target(kind, prefix, interp)
    if new_venv is None and python is not None:
        info = inspect_interpreter(python)
        refuse_externally_managed(info)
        check_path_length(info.prefix, platform, long_paths_enabled)
        return Target(info.kind, Path(info.prefix), Path(python))
    base = python or default_base_python()
    if new_venv is not None:
        prefix = Path(new_venv).absolute()
    else:
        base_info = inspect_interpreter(base)
        prefix = envs_dir(platform, base_info.microsoft_store) / (default_name or "torch")
    check_path_length(str(prefix), platform, long_paths_enabled)
    if (prefix / "pyvenv.cfg").is_file():
        return Target("venv", prefix, Path(venv_python(prefix, platform)), base_python=base)
    if prefix.exists() and any(prefix.iterdir()):
        raise WizardError(f"{prefix} exists and is not empty", hint="choose a new folder for --new-venv")
    return Target("new_venv", prefix, Path(venv_python(prefix, platform)), base_python=base)


def create_venv(
    target: Target,
    on_line: LineCallback | None = None,
    cancel: threading.Event | None = None,
) -> InterpreterInfo:
    """Create the venv of a ``new_venv`` target with its base interpreter and mark it as ours."""
    assert target.kind == "new_venv" and target.base_python
    base_info = inspect_interpreter(target.base_python)
    target.prefix.parent.mkdir(parents=True, exist_ok=True)
    command = Command(argv=(target.base_python, "-m", "venv", str(target.prefix)), env={"PYTHONUTF8": "1"})
    result = run_command(command, on_line=on_line, cancel=cancel, timeout_s=600)
    if not result.ok:
        delete_created_venv(target.prefix, force=True)
        if result.cancelled:
            raise Cancelled("cancelled while creating the environment", hint="nothing was changed")
        raise WizardError(
            f"could not create a virtual environment with {target.base_python}",
            hint="on Debian/Ubuntu install the venv module (sudo apt install python3-venv)"
            if base_info.platform == "linux" else "check that this Python includes the venv module",
            details="\n".join(result.tail[-30:]),
        )
    (target.prefix / CREATED_MARKER).write_text(
        json.dumps({"created_by": APP_NAME, "created_at": _now(), "base_python": target.base_python}),
        encoding="utf-8",
    )
    return inspect_interpreter(target.python)


def upgrade_pip_if_old(
    info: InterpreterInfo, on_line: LineCallback | None = None, cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[InterpreterInfo, str | None]:
    """Give a venv a pip with ``--progress-bar=raw``; returns (new info, warning or None).

    ``env`` is what every pip call of the install gets (proxy, offline). A failed upgrade is not
    fatal: the install then runs without machine-readable progress.
    """
    if pip_runner.pip_supports_raw_progress(info.pip_version):
        return info, None
    command = pip_runner.upgrade_pip_command(info.python)
    if env:
        command = Command(command.argv, {**command.env, **env}, command.cwd, command.unset)
    result = run_command(command, on_line=on_line, cancel=cancel, timeout_s=600)
    if result.cancelled:
        raise Cancelled("cancelled while upgrading pip", hint="the new environment was removed")
    if not result.ok:
        return info, (f"pip {info.pip_version} could not be upgraded (continuing without a progress bar): "
                      + pip_runner.classify_failure(result.tail, result.returncode).message)
    return inspect_interpreter(info.python), None


def delete_created_venv(prefix: Path, force: bool = False) -> bool:
    """Delete a venv the wizard created (it carries the marker); returns whether it was deleted."""
    if not prefix.exists():
        return False
    if not force and not (prefix / CREATED_MARKER).is_file():
        raise WizardError(f"{prefix} was not created by {APP_NAME}; it will not be deleted",
                          hint="remove it yourself if you no longer need it")
    shutil.rmtree(prefix)
    return True


# ---------------------------------------------------------------- snapshots and rollback


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    """Record the environment's distributions (and pin files) and store it in the data dir."""
    dists = {} if created_venv else list_distributions(python)
    snap = Snapshot(
        python=_key(python), prefix=str(prefix), taken_at=_now(), distributions=dists,
        created_venv=created_venv, index_urls=index_urls,
        pin_files={name: path.read_text(encoding="utf-8") if path.is_file() else None
                   for name, path in pin_files(prefix).items()},
    )
    path = snapshot_path(python)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snap.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash never leaves half a snapshot
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
        deleted = delete_created_venv(prefix)
        snapshot_path(python).unlink(missing_ok=True)
        return f"deleted {prefix} (the wizard created it)" if deleted else f"{prefix} was already gone"
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
        return f"{prefix} already matches the snapshot of {snap.taken_at}"
    return (f"restored {prefix} to the snapshot of {snap.taken_at}: removed {len(plan.remove)}, "
            f"reinstalled {len(plan.restore)}")
