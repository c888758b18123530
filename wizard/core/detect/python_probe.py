"""Find the Python interpreters on a machine, probe each one, and choose the default target.

The wizard's own interpreter is never the default target: PyTorch goes into the person's
Python. Each candidate runs ``wizard/core/detect/probe_script.py`` (stdlib only) with a timeout; an
interpreter that hangs, crashes or prints garbage is reported as unusable with the reason.
"""

from __future__ import annotations

import contextlib
import json
import ntpath
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core import messages as M
from wizard.core.detect.host import Host
from wizard.core.detect.windows import py_launcher_interpreters
from wizard.core.errors import WizardError
from wizard.core.model.machine import InstalledTorch, PythonTarget
from wizard.core.text import T

PROBE_SCRIPT = Path(__file__).resolve().parent / "probe_script.py"
PROBE_TIMEOUT_S = 5.0
MAX_PARALLEL_PROBES = 8
# python3.8 .. python3.15 on PATH: 3.8 is the oldest any torch 2.x supported (docs/SOURCES.md torch-matrix §1.2),
# 3.15 the newest in sight.
PATH_MINORS = range(8, 16)
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?([abrc]+\d+)?\+?$")


@dataclass(frozen=True)
class Candidate:
    """An interpreter path and how it was found ('path', 'venv', 'conda', 'pyenv', 'py-launcher')."""

    path: str
    found_by: str


@dataclass(frozen=True)
class ProbeResult:
    """A probed interpreter: a target when usable, else the reason it is not."""

    candidate: Candidate
    target: PythonTarget | None
    reason: str = ""


# --------------------------------------------------------------------------- discovery


def _exe_names(host: Host, stem: str) -> tuple[str, ...]:
    return (f"{stem}.exe",) if host.is_windows else (stem,)


def _env_python(host: Host, prefix: str) -> str | None:
    """The interpreter inside an environment prefix (venv or conda), if present."""
    if host.is_windows:
        options = [ntpath.join(prefix, "python.exe"), ntpath.join(prefix, "Scripts", "python.exe")]
    else:
        options = [os.path.join(prefix, "bin", "python3"), os.path.join(prefix, "bin", "python")]
    for option in options:
        if host.is_file(option):
            return option
    return None


def _is_shim_dir(folder: str) -> bool:
    # pyenv/asdf/mise shims are scripts that re-dispatch to a real interpreter found elsewhere:
    # slow to run and duplicates of the versions folder scanned below.
    return os.path.basename(folder.rstrip("/\\")).lower() == "shims"


def _path_interpreters(host: Host) -> Iterable[str]:
    sep = ";" if host.is_windows else os.pathsep
    folders = [f for f in host.environ.get("PATH", "").split(sep) if f and not _is_shim_dir(f)]
    names = ["python3", *(f"python3.{m}" for m in PATH_MINORS)]
    if host.is_windows:
        names.insert(0, "python")
    for folder in folders:
        for name in names:
            for exe in _exe_names(host, name):
                full = ntpath.join(folder, exe) if host.is_windows else os.path.join(folder, exe)
                if host.is_file(full) and host.trusted(full):
                    yield full


def _conda_prefixes(host: Host) -> Iterable[str]:
    active = host.environ.get("CONDA_PREFIX")
    if active:
        yield active
    # conda records every environment it creates in ~/.conda/environments.txt (conda docs,
    # "Managing environments"); reading it avoids starting conda itself (~1 s).
    try:
        text = (host.home / ".conda" / "environments.txt").read_text(encoding="utf-8", errors="replace")
        yield from (line.strip() for line in text.splitlines() if line.strip())
    except OSError:
        pass
    conda_exe = host.environ.get("CONDA_EXE")
    if conda_exe:  # <base>/bin/conda or <base>\Scripts\conda.exe
        base = os.path.dirname(os.path.dirname(conda_exe)) if not host.is_windows else ntpath.dirname(
            ntpath.dirname(conda_exe))
        yield base
        envs = os.path.join(base, "envs")
        with contextlib.suppress(OSError):
            yield from (os.path.join(envs, e) for e in sorted(os.listdir(envs)))


def _pyenv_interpreters(host: Host) -> Iterable[str]:
    root = host.environ.get("PYENV_ROOT") or str(host.home / ".pyenv")
    # pyenv-win keeps its versions one level deeper than pyenv
    versions = os.path.join(root, "pyenv-win", "versions") if host.is_windows else os.path.join(
        root, "versions")
    try:
        entries = sorted(os.listdir(versions))
    except OSError:
        return
    for entry in entries:
        folder = os.path.join(versions, entry)
        for exe in ("python.exe",) if host.is_windows else ("bin/python3", "bin/python"):
            full = os.path.join(folder, exe)
            if host.is_file(full):
                yield full
                break


def discover_candidates(host: Host) -> list[Candidate]:
    """Every interpreter worth probing, the active environment first, duplicates removed."""
    found: list[Candidate] = []
    venv = host.environ.get("VIRTUAL_ENV")
    if venv:
        exe = _env_python(host, venv)
        if exe:
            found.append(Candidate(exe, "venv"))
    for prefix in _conda_prefixes(host):
        exe = _env_python(host, prefix)
        if exe:
            found.append(Candidate(exe, "conda"))
    found.extend(Candidate(p, "path") for p in _path_interpreters(host))
    if host.is_windows:
        found.extend(Candidate(p, "py-launcher") for p in py_launcher_interpreters(host))
    found.extend(Candidate(p, "pyenv") for p in _pyenv_interpreters(host))
    return dedupe(host, found)


def _identity(host: Host, path: str) -> tuple[str, str]:
    """Two paths are one interpreter when they resolve to the same file in the same folder.

    A venv's ``bin/python`` is a symlink to its base interpreter but runs as the venv, so the
    folder stays in the key; ``/bin/python3`` and ``/usr/bin/python3.11`` still match.
    """
    if host.is_windows:
        return ntpath.normcase(ntpath.dirname(path)), ntpath.normcase(path)
    try:
        return os.path.realpath(os.path.dirname(path)), os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.dirname(path), path


def dedupe(host: Host, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates with duplicates (by resolved location) removed, first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    result = []
    for candidate in candidates:
        key = _identity(host, candidate.path)
        if key not in seen:
            seen.add(key)
            result.append(candidate)
    return result


# --------------------------------------------------------------------------- probing


def classify_source(host: Host, data: dict[str, Any], path: str) -> str:
    """Where an interpreter comes from, in the profile's words (SCHEMA.md ``python.source``)."""
    exe = str(data.get("executable") or path)
    low = exe.replace("\\", "/").lower()
    if "/windowsapps/" in low:
        return "microsoft-store"
    if data.get("in_venv"):
        return "uv" if data.get("venv_creator") == "uv" else "venv"
    if data.get("conda"):
        return "conda"
    pyenv_root = (host.environ.get("PYENV_ROOT") or str(host.home / ".pyenv")).replace("\\", "/").lower()
    if low.startswith(pyenv_root.rstrip("/") + "/"):
        return "pyenv"
    if "/uv/python/" in low:
        return "uv"
    if low.startswith(("/opt/homebrew/", "/usr/local/cellar/", "/home/linuxbrew/")):
        return "homebrew"
    if "/library/frameworks/python.framework/" in low or re.search(
            r"/programs/python/|:/program files/python", low):
        return "python.org"
    if low.startswith(("/usr/bin/", "/bin/", "/usr/local/bin/", "/usr/libexec/")):
        return "system"
    return "unknown"


def target_from_probe(host: Host, data: dict[str, Any], path: str) -> PythonTarget:
    """A :class:`PythonTarget` from the probe script's JSON. Raises ValueError if malformed."""
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ValueError(f"no Python version in the answer ({version!r})")
    bits = data.get("bits")
    if bits not in (32, 64):
        raise ValueError(f"unexpected pointer size {bits!r}")
    torch = data.get("torch_version")
    user_torch = data.get("user_site_torch")
    source = classify_source(host, data, path)
    return PythonTarget(
        version=version,
        implementation=str(data.get("implementation") or "cpython"),
        bits=int(bits),
        free_threaded=bool(data.get("free_threaded")),
        externally_managed=bool(data.get("externally_managed")),
        source=source,
        installed_torch=InstalledTorch(torch) if isinstance(torch, str) and torch else None,
        path=path,
        pip_version=data["pip_version"] if isinstance(data.get("pip_version"), str) else None,
        microsoft_store=source == "microsoft-store",
        user_site_torch=user_torch if isinstance(user_torch, str) and user_torch else None,
        in_venv=bool(data.get("in_venv")),
    )


def _probe_data(host: Host, path: str, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run the probe script with one interpreter: (its answer, "") or (None, why not). Never raises."""
    # -I: isolated mode, so PYTHONPATH, PYTHONHOME or a stray file in the working folder
    # cannot change what the probe sees.
    result = host.run([path, "-I", str(PROBE_SCRIPT)], timeout)
    if result.timed_out:
        return None, T(M.PROBE_TIMEOUT, seconds=f"{timeout:g}")
    if result.returncode == 2 and "usage:" in result.stderr.lower():
        # Python 2 rejects -I (added in Python 3.4) with a usage message.
        return None, T(M.PROBE_NOT_PY3)
    if not result.ok:
        return None, T(M.PROBE_FAILED, why=result.why_failed().rstrip("."))
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        return None, T(M.PROBE_NOTHING)
    try:
        data = json.loads(lines[-1])
        if not isinstance(data, dict):
            raise ValueError("the answer is not a JSON object")
        if "error" in data:
            raise ValueError(str(data["error"]))
    except (ValueError, TypeError) as exc:
        return None, T(M.PROBE_GARBLED, error=str(exc))
    return data, ""


#: The probe answers kept between runs, in the wizard's cache folder (issue 16: ``detect`` spent
#: 0.94 s of 1.2 s waiting on interpreters that had not changed).
PROBE_CACHE_FILE = "python-probes.json"
PROBE_CACHE_VERSION = 1


def _stat_key(path: str) -> list[Any]:
    """What says a file or folder changed: [path, mtime_ns, size, inode] (None where it is absent)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return [path, None, None, None]
    return [path, st.st_mtime_ns, st.st_size, st.st_ino]


class ProbeCache:
    """Probe answers keyed by interpreter path, valid while the files they were read from are unchanged.

    An answer is reused only when the interpreter (the link and the file it points to) and every
    folder the probe read (``watch`` in its answer: ``sys.path`` folders, the user site, the
    stdlib with its PEP 668 marker, the prefix and its ``pyvenv.cfg``) have the same mtime, size
    and inode as when it was recorded. Installing, upgrading or removing a package adds, renames
    or deletes an entry of ``site-packages``, which changes that folder's mtime (POSIX
    ``rename``/``unlink``/``creat`` update the parent directory's mtime). The probe script and the
    ``PYTHONNOUSERSITE`` setting are part of the key of the whole file. Never raises: a missing,
    unreadable or foreign cache is an empty one.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.context = [PROBE_CACHE_VERSION, _stat_key(str(PROBE_SCRIPT)), os.environ.get("PYTHONNOUSERSITE", "")]
        self.entries: dict[str, Any] = {}
        self.changed = False
        if path is None:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("context") == self.context and isinstance(data.get("entries"), dict):
            self.entries = data["entries"]

    @staticmethod
    def _signature(exe: str, watch: Iterable[str]) -> list[Any]:
        try:
            link = os.lstat(exe)
            own: list[int | None] = [link.st_mtime_ns, link.st_ino]
        except (OSError, ValueError):
            own = [None, None]
        return [own, _stat_key(exe), *(_stat_key(w) for w in sorted(watch))]

    def get(self, exe: str) -> dict[str, Any] | None:
        """The recorded answer for ``exe`` while nothing it was read from changed, else None."""
        entry = self.entries.get(exe)
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            return None
        watch = entry["data"].get("watch")
        if not isinstance(watch, list):
            return None
        if entry.get("sig") != self._signature(exe, [str(w) for w in watch]):
            return None
        return dict(entry["data"])

    def put(self, exe: str, data: dict[str, Any]) -> None:
        """Record an answer (only one that names what it was read from)."""
        watch = data.get("watch")
        if isinstance(watch, list):
            self.entries[exe] = {"sig": self._signature(exe, [str(w) for w in watch]), "data": data}
            self.changed = True

    def save(self) -> None:
        """Write the cache back (atomically) when an answer was added; a failure only costs speed."""
        if self.path is None or not self.changed:
            return
        from wizard.core import paths

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            paths.atomic_write_text(self.path, json.dumps({"context": self.context, "entries": self.entries}))
        except OSError:
            pass


def probe_interpreter(host: Host, candidate: Candidate, timeout: float = PROBE_TIMEOUT_S,
                      cache: ProbeCache | None = None) -> ProbeResult:
    """Run the probe script with one interpreter (or reuse ``cache``'s valid answer); never raises."""
    data = cache.get(candidate.path) if cache is not None else None
    why = ""
    if data is None:
        data, why = _probe_data(host, candidate.path, timeout)
        if data is not None and cache is not None:
            cache.put(candidate.path, data)
    if data is None:
        return ProbeResult(candidate, None, why)
    try:
        return ProbeResult(candidate, target_from_probe(host, data, candidate.path))
    except (ValueError, TypeError, KeyError) as exc:
        return ProbeResult(candidate, None, T(M.PROBE_GARBLED, error=str(exc)))


def describe_interpreter(python: str, timeout: float = 60.0, host: Host | None = None) -> dict[str, Any]:
    """The probe script's answer for one interpreter (a path or a name on PATH): the one probe
    every stage uses (detection, the install's target checks, the wheel tags of a download).

    Raises a WizardError saying why the interpreter cannot be used.
    """
    host = host or Host.current()
    path = python
    if not host.isabs(python) and os.sep not in python:
        found = host.which(python)
        if found is None:
            raise WizardError(T(M.PROBE_NOT_ON_PATH, python=python), hint=T(M.PROBE_NOT_ON_PATH_HINT))
        path = found
    elif not os.path.exists(python):
        raise WizardError(T(M.PROBE_NO_FILE, python=python), hint=T(M.PROBE_NO_FILE_HINT))
    data, why = _probe_data(host, path, timeout)
    if data is None:
        raise WizardError(T(M.PROBE_UNUSABLE, python=python, why=why), hint=T(M.PROBE_UNUSABLE_HINT))
    return data


def probe_all(host: Host, candidates: list[Candidate], timeout: float = PROBE_TIMEOUT_S,
              cache: ProbeCache | None = None) -> list[ProbeResult]:
    """Probe candidates in parallel (each is one process start), results in candidate order.

    With ``cache``, an interpreter whose files are unchanged is answered from it (no process).
    """
    if not candidates:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_PROBES, len(candidates)),
                            thread_name_prefix="python-probe") as pool:
        results = list(pool.map(lambda c: probe_interpreter(host, c, timeout, cache), candidates))
    if cache is not None:
        cache.save()
    return results


def host_probe_cache(host: Host) -> ProbeCache | None:
    """The probe cache of a real host (its cache folder); None for a simulated one.

    A simulated host (tests, profiles) answers through its own ``run``; its answers must never
    be mixed with this machine's, so only :meth:`Host.current`'s runner gets a cache.
    """
    if not host.probe_cache:
        return None
    return ProbeCache(Path(host.cache_dir) / PROBE_CACHE_FILE)


def _is_own_environment(host: Host, target: PythonTarget) -> bool:
    """The wizard's own venv or frozen app is never a target unless given by path."""
    if not host.own_is_env or not target.path:
        return False
    own = os.path.realpath(os.path.dirname(host.own_executable))
    return os.path.realpath(os.path.dirname(target.path)) == own


def choose_target(targets: list[PythonTarget], active: set[str]) -> PythonTarget | None:
    """The default target: an active environment if usable, else the newest 64-bit CPython
    that is not externally managed (PEP 668), else the newest 64-bit CPython at all (the
    planner then offers a venv).

    ``active`` holds the paths of interpreters of the active venv/conda environment.
    """
    usable = [t for t in targets if t.implementation == "cpython" and t.bits == 64]
    if not usable:
        return None
    # A Python newer than any current torch release (a pre-release 3.15, say) is a poor default
    # when an older one that has wheels sits beside it.
    from wizard.core.knowledge.base import bundled_knowledge

    current = {v for rel in bundled_knowledge().releases[:2] for v in rel.python}

    def key(t: PythonTarget) -> tuple[bool, bool, bool, tuple[int, ...], bool]:
        has_wheels = f"{t.minor[0]}.{t.minor[1]}" in current
        return (t.path in active, has_wheels, not t.externally_managed, _version_key(t), not t.free_threaded)

    return max(usable, key=key)


@dataclass
class PythonScan:
    """All interpreters found: the chosen target, the others, and notes on unusable ones."""

    target: PythonTarget | None
    others: list[PythonTarget]
    notes: list[str]


def scan_pythons(host: Host, timeout: float = PROBE_TIMEOUT_S) -> PythonScan:
    """Discover, probe and choose. Never raises."""
    candidates = discover_candidates(host)
    results = probe_all(host, candidates, timeout, host_probe_cache(host))
    notes: list[str] = []
    targets = []
    for result in results:
        if result.target is None:
            notes.append(T(M.NOTE_PYTHON_UNUSABLE, path=result.candidate.path, reason=result.reason))
        elif _is_own_environment(host, result.target):
            notes.append(T(M.NOTE_PYTHON_OWN_ENV, path=result.target.path))
        else:
            targets.append(result.target)
    active = {c.path for c in candidates if c.found_by == "venv"}
    if host.environ.get("CONDA_PREFIX"):
        active |= {c.path for c in candidates if c.found_by == "conda"
                   and c.path.startswith(host.environ["CONDA_PREFIX"])}
    target = choose_target(targets, active)
    if target is None:
        notes.append(T(M.NOTE_PYTHON_NONE))
    others = sorted((t for t in targets if t is not target), key=_version_key, reverse=True)
    return PythonScan(target, others, notes)


def _version_key(t: PythonTarget) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", t.version)[:3])


def detect_python(path: str, host: Host | None = None, timeout: float = PROBE_TIMEOUT_S) -> PythonTarget:
    """Probe the interpreter at ``path`` (``--python PATH``). Raises :class:`WizardError` if unusable."""
    host = host or Host.current()
    if not host.is_file(path):
        raise WizardError(f"--python {path}: no such file", hint="give the path of a python executable")
    result = probe_interpreter(host, Candidate(path, "argument"), timeout)
    if result.target is None:
        raise WizardError(f"--python {path}: this Python {result.reason}",
                          hint="give the path of a working Python 3 interpreter")
    return result.target
