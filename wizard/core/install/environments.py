"""Where torch goes (the install's target): new venvs, existing venvs, conda environments, interpreters.

What an interpreter is comes from :mod:`wizard.core.install.interpreters`; the safety net around
changing an environment (snapshot and rollback) is :mod:`wizard.core.install.snapshots`.

The default target is a new venv in the user's data directory, named after the build it holds
(``envs/torch-2.14.1-cu126``). A Python managed by the operating system (PEP 668
``EXTERNALLY-MANAGED`` marker) is never changed. Windows specifics (``Scripts\\python.exe``,
Microsoft Store Python's redirected AppData, the 260-character path limit) are decided by
small functions that take the platform as an argument, so they are tested on Linux too.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core import paths
from wizard.core.errors import Cancelled, InputError, WizardError
from wizard.core.install import pip_runner
from wizard.core.install.interpreters import InterpreterInfo, inspect_interpreter, refuse_externally_managed
from wizard.core.plan import environment as where
from wizard.core.process import Command, run_command
from wizard.core.text import T

APP_NAME = paths.APP_NAME
#: Overrides the data directory (tests, portable installs).
DATA_DIR_ENV = paths.DATA_DIR_ENV
#: Written into every venv the wizard creates; rollback deletes only venvs that carry it.
CREATED_MARKER = "torch-gpu-setup-venv.json"

# The Windows path limit and the default folder are decided with the plan (one rule for every
# face): wizard/core/plan/environment.py.
TORCH_DEEPEST_RELATIVE_PATH = where.TORCH_DEEPEST_RELATIVE_PATH
WINDOWS_MAX_PATH = where.WINDOWS_MAX_PATH

LineCallback = Callable[[str], None]


def data_dir() -> Path:
    """The wizard's per-user data directory (envs, snapshots)."""
    return paths.data_dir()


def env_name_for(torch: str, variant: str) -> str:
    """The directory name of a new venv holding a build: ``torch-2.14.1-cu126``."""
    return where.env_name_for(torch, variant)


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
    The environment page runs the same check (:func:`wizard.core.plan.environment.path_problem`)
    as soon as a folder is chosen; this is the install's own guard.
    """
    problem = where.path_problem(prefix, "windows" if platform == "win32" else platform, long_paths_enabled)
    if problem is not None:
        raise WizardError(problem, hint=T(M.ENV_PATH_TOO_LONG_HINT, room=where.WINDOWS_ENV_ROOM,
                                          command=" ".join(where.ENABLE_LONG_PATHS_ARGV)), details=prefix)


def default_prefix(torch: str, variant: str, base: InterpreterInfo | None, platform: str = sys.platform,
                   long_paths_enabled: bool | None = None, home: Path | None = None) -> Path:
    """The default folder of a new venv on this computer (the plan's ``environment``, here)."""
    family = {"win32": "windows", "darwin": "macos"}.get(platform, "linux")
    choice = where.default_environment(
        family=family, torch=torch, variant=variant, user_home=str(home or Path.home()),
        data_dir=str(data_dir()), long_paths_enabled=long_paths_enabled,
        microsoft_store=bool(base and base.microsoft_store))
    return Path(choice.path)


def windows_long_paths_enabled() -> bool | None:
    """Windows' LongPathsEnabled for this computer (None off Windows): detection's own reading."""
    from wizard.core.detect.host import read_long_paths_enabled

    return read_long_paths_enabled()


# ---------------------------------------------------------------- inspecting an interpreter


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


def default_base_python(*, frozen: bool | None = None, executable: str = sys.executable,
                        which: Callable[[str], str | None] = shutil.which) -> str:
    """The interpreter new venvs are made with when none was named.

    From source: the wizard's own interpreter. Frozen (the bundled app, whose ``sys.executable``
    is the app itself): the first of ``python3``, ``python``, ``py`` on PATH that is a real
    interpreter: never the app itself, and never a Microsoft Store *alias* in ``WindowsApps``,
    which opens the Store instead of running Python when that Python is not installed (Python
    docs, "Using Python on Windows", the Microsoft Store package; the installed Store Python is
    found by detection and passed with --python).
    """
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    if not frozen:
        return executable
    own = _norm(executable)
    for name in ("python3", "python", "py"):
        found = which(name)
        if found and _norm(found) != own and not is_store_alias(found):
            return found
    raise WizardError(T(M.NO_BASE_PYTHON), hint=T(M.NO_BASE_PYTHON_HINT))


def is_store_alias(path: str) -> bool:
    """Whether ``path`` is an App Execution Alias in ``...\\Microsoft\\WindowsApps`` (not an interpreter)."""
    parts = [p.lower() for p in PureWindowsPath(path).parts]
    return any(a == "microsoft" and b == "windowsapps" for a, b in itertools.pairwise(parts))


def _norm(path: str) -> str:
    return str(PureWindowsPath(path)).lower() if "\\" in path else str(Path(path).resolve())


def resolve_target(
    *,
    python: str | None = None,
    venv: str | None = None,
    new_venv: str | None = None,
    default_name: str | None = None,
    default_build: tuple[str, str] | None = None,
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
    elif default_build is not None:
        prefix = default_prefix(*default_build, inspect_interpreter(base), platform, long_paths_enabled)
    else:
        base_info = inspect_interpreter(base)
        prefix = envs_dir(platform, base_info.microsoft_store) / (default_name or "torch")
    check_path_length(str(prefix), platform, long_paths_enabled)
    # A file where the folder (or one above it) would go is bad input, said before anything runs.
    blocking = next((p for p in (prefix, *prefix.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(T(M.ENV_PATH_IS_FILE, blocking=str(blocking), prefix=str(prefix)),
                         hint=T(M.ENV_PATH_IS_FILE_HINT))
    if (prefix / "pyvenv.cfg").is_file():
        if half_made(prefix):
            # An earlier run was stopped before it finished this venv (packages half unpacked, no
            # pip yet): the install makes it again from scratch rather than build on the remains.
            return Target("new_venv", prefix, Path(venv_python(prefix, platform)), base_python=base)
        return Target("venv", prefix, Path(venv_python(prefix, platform)), base_python=base)
    # A folder that holds only our marker is one an earlier, stopped run had begun to make.
    if prefix.exists() and any(p.name != CREATED_MARKER for p in prefix.iterdir()):
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
    # The marker first, "complete": false until the install finishes (mark_complete): a run killed
    # at any later point leaves a folder that says it is the wizard's and half made.
    target.prefix.mkdir(parents=True, exist_ok=True)
    (target.prefix / CREATED_MARKER).write_text(
        json.dumps({"created_by": APP_NAME, "created_at": now(), "base_python": target.base_python,
                    "complete": False}),
        encoding="utf-8",
    )
    # Without pip's bundled installer: ensurepip unpacks and compiles an old pip (5.25 s of an
    # install, against 0.07 s without it: issue 16), which the install then upgraded anyway.
    # A current pip goes in once, from a wheel (provide_pip).
    command = Command(argv=(target.base_python, "-m", "venv", "--without-pip", str(target.prefix)),
                      env={"PYTHONUTF8": "1"})
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
    return inspect_interpreter(target.python)


#: Where the pip wheel for new environments is kept (in the cache folder), and how long one is used
#: before the index is asked for a newer one (the upgrade it replaces always took the newest).
PIP_WHEELS_DIR = "pip-wheels"
PIP_WHEEL_FRESH_S = 7 * 24 * 3600
# ensurepip's way of running the pip inside a wheel: the wheel on sys.path, pip run as __main__
# (CPython Lib/ensurepip/__init__.py, _run_pip).
_RUN_PIP_FROM_WHEEL = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
                       "runpy.run_module('pip', run_name='__main__', alter_sys=True)")
# Where an interpreter keeps the pip wheel ensurepip would install: its _bundled folder, or the
# folder Debian's python3-pip-whl puts it in (/usr/share/python-wheels).
_FIND_BUNDLED_PIP = (
    "import glob, os\n"
    "try:\n"
    "    import ensurepip\n"
    "    folders = [os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')]\n"
    "except ImportError:\n"
    "    folders = []\n"
    "folders.append('/usr/share/python-wheels')\n"
    "for f in folders:\n"
    "    for w in glob.glob(os.path.join(f, 'pip-*.whl')):\n"
    "        print(w)\n"
)


def _pip_wheel_version(path: Path) -> Version | None:
    try:
        return Version(path.name.split("-")[1])
    except (IndexError, InvalidVersion):
        return None


def pip_wheel_version(path: Path | None) -> str | None:
    """The pip version a pip wheel's file name states (None for no wheel)."""
    version = _pip_wheel_version(path) if path is not None else None
    return str(version) if version is not None else None


def _newest_pip_wheel(paths: list[Path]) -> Path | None:
    known = [(v, p) for p in paths if (v := _pip_wheel_version(p)) is not None]
    return max(known)[1] if known else None


def bundled_pip_wheel(base_python: str) -> Path | None:
    """The pip wheel that ships with ``base_python`` (what ensurepip would install), if any."""
    result = run_command(Command(argv=(base_python, "-I", "-c", _FIND_BUNDLED_PIP)), timeout_s=60)
    return _newest_pip_wheel([Path(line) for line in result.tail if line.strip().endswith(".whl")]) \
        if result.ok else None


def _download_pip(base_python: str, runner: Path | None, dest: Path, env: Mapping[str, str] | None,
                  on_line: LineCallback | None, cancel: threading.Event | None) -> Path | None:
    """Fetch the newest pip wheel the user's pip configuration offers into ``dest``; None on failure."""
    dest.mkdir(parents=True, exist_ok=True)
    args = ("download", "--no-input", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--dest", str(dest), f"pip>={pip_runner.PIP_MIN_RAW_PROGRESS}")
    argv = (base_python, "-c", _RUN_PIP_FROM_WHEEL, str(runner), *args) if runner is not None \
        else (base_python, "-m", "pip", *args)
    before = {p.name for p in dest.glob("pip-*.whl")}
    result = run_command(Command(argv=argv, env={"PYTHONUTF8": "1", **(env or {})}), on_line=on_line,
                         cancel=cancel, timeout_s=600)
    if result.cancelled:
        raise Cancelled("cancelled while fetching pip", hint="the new environment was removed")
    if not result.ok:
        return None
    wheels = list(dest.glob("pip-*.whl"))
    for wheel in wheels:
        if wheel.name in before:
            os.utime(wheel)   # asked again today: fresh for another week
    return _newest_pip_wheel(wheels)


def pip_wheel_for(base_python: str, on_line: LineCallback | None = None, cancel: threading.Event | None = None,
                  env: Mapping[str, str] | None = None, cache: Path | None = None) -> tuple[Path | None, str | None]:
    """The pip wheel a new environment gets; returns (wheel or None, warning or None). Changes no environment.

    One fetched in the last week (the cache's ``pip-wheels``), else the newest the user's pip
    configuration offers (``env`` as every pip call of the install), fetched with the pip bundled
    with the base interpreter, else that bundled pip itself (an old pip: the install then runs
    without machine-readable progress, as before). The install asks for it while the big wheels
    download (it only writes to the cache).
    """
    folder = (cache or paths.cache_dir()) / PIP_WHEELS_DIR
    cached = [p for p in folder.glob("pip-*.whl")
              if (v := _pip_wheel_version(p)) is not None and v >= pip_runner.PIP_MIN_RAW_PROGRESS]
    fresh = [p for p in cached if time.time() - p.stat().st_mtime < PIP_WHEEL_FRESH_S]
    wheel = _newest_pip_wheel(fresh)
    warning = None
    if wheel is None:
        bundled = bundled_pip_wheel(base_python)
        version = _pip_wheel_version(bundled) if bundled is not None else None
        if bundled is not None and version is not None and version >= pip_runner.PIP_MIN_RAW_PROGRESS:
            wheel = bundled
        else:
            wheel = _download_pip(base_python, bundled, folder, env, on_line, cancel) or _newest_pip_wheel(cached)
            if wheel is None and bundled is not None:
                wheel = bundled
                warning = (f"pip {version} could not be upgraded (continuing without a progress bar): "
                           "the pip index could not be reached")
    return wheel, warning


def provide_pip(
    target: Target, on_line: LineCallback | None = None, cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None, cache: Path | None = None,
    chosen: tuple[Path | None, str | None] | None = None,
) -> tuple[InterpreterInfo, str | None]:
    """Put one current pip into a venv made ``--without-pip``; returns (its info, warning or None).

    The wheel is :func:`pip_wheel_for`'s (``chosen`` when the install already asked for it),
    unpacked by the wheel installer in a fraction of a second; pip compiles its own bytecode as
    it runs.
    """
    from wizard.core.install.wheel_installer import FastPathUnavailable, ParallelInstaller, read_scheme

    assert target.base_python is not None
    wheel, warning = chosen or pip_wheel_for(target.base_python, on_line, cancel, env, cache)
    if wheel is None:
        raise WizardError(
            f"could not create a virtual environment with {target.base_python}: no pip to put into it",
            hint="on Debian/Ubuntu install the venv module (sudo apt install python3-venv)",
        )
    if on_line is not None:
        on_line(f"pip from {wheel}")
    try:
        installer = ParallelInstaller(read_scheme(target.python), cancel=cancel)
        installer.add(wheel, requested=True)
        installer.finish(compile_bytecode=False)
    except Cancelled:
        raise
    except (FastPathUnavailable, WizardError, OSError) as exc:
        # A damaged pip wheel (a cut download in the cache) or a scheme the fast path does not
        # know: forget a cached copy so the next run fetches it again, and put pip in the slow,
        # always-available way instead (what `python -m venv` itself does).
        if _inside(wheel, cache or paths.cache_dir()):
            with contextlib.suppress(OSError):
                wheel.unlink()
        ensure = run_command(Command((str(target.python), "-m", "ensurepip", "--default-pip")), on_line=on_line,
                             cancel=cancel, timeout_s=600)
        if ensure.cancelled:
            raise Cancelled(T(M.FLOW_CANCELLED), hint=T(M.FLOW_NOTHING_CHANGED)) from exc
        if not ensure.ok:
            raise WizardError(T(M.PIP_PROVIDE_FAILED, prefix=str(target.prefix), error=str(exc)),
                              hint=T(M.PIP_PROVIDE_FAILED_HINT), details="\n".join(ensure.tail[-30:])) from exc
    return inspect_interpreter(target.python), warning


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except (ValueError, OSError):
        return False


def _marker(prefix: Path) -> dict[str, object] | None:
    try:
        data = json.loads((prefix / CREATED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def half_made(prefix: Path) -> bool:
    """A venv the wizard created whose first install never finished (killed, power cut).

    Only an explicit ``"complete": false`` counts: markers written before this field existed
    belong to finished installs.
    """
    marker = _marker(prefix)
    return marker is not None and marker.get("complete") is False


def mark_complete(prefix: Path) -> None:
    """Record in a created venv's marker that its install finished (a no-op for other environments)."""
    marker = _marker(prefix)
    if marker is None or marker.get("complete") is not False:
        return
    marker["complete"] = True
    (prefix / CREATED_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def delete_created_venv(prefix: Path, force: bool = False) -> bool:
    """Delete a venv the wizard created (it carries the marker); returns whether it was deleted."""
    if not prefix.exists():
        return False
    if not force and not (prefix / CREATED_MARKER).is_file():
        raise WizardError(f"{prefix} was not created by {APP_NAME}; it will not be deleted",
                          hint="remove it yourself if you no longer need it")
    paths.remove_tree(prefix)   # waits out an antivirus scan on Windows
    return True


# ---------------------------------------------------------------- snapshots and rollback


def now() -> str:
    """The time now, UTC, as ISO 8601 to the second (markers and snapshots)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


