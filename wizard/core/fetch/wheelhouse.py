"""Fetch the planned wheels (and their dependencies) into a local folder before installing.

An interrupted 3 GB download is then never restarted from zero: pip later installs from local
files only (``pip install --no-index --find-links DEST ...``, next issue).

Dependencies are read from the PEP 658 ``.metadata`` file next to each wheel (verified against
the index's hash when it gives one) or, when the index offers none, from the wheel's own
``METADATA`` after downloading it. Markers are evaluated for the TARGET interpreter and OS.
This is a breadth-first pick of the newest matching version per project, not a backtracking
resolver: PyTorch's own index pins what matters (torch pins its nvidia-* wheels exactly), and a
conflict is reported in words instead of guessed around.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import threading
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, DownloadItem, FileProgressCallback, ProgressCallback
from wizard.core.fetch.index import IndexClient, WheelFile, parse_requirement
from wizard.core.fetch.net import make_session, read_document
from wizard.core.fetch.tags import target_tags
from wizard.core.model.machine import OsInfo, PythonTarget
from wizard.core.paths import atomic_write_text
from wizard.core.text import T

MANIFEST = "wheelhouse.json"

_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "arm64",
         "i386": "x86", "i686": "x86", "x86": "x86"}
_FAMILY = {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}


def probe_target(python: str, timeout: float = 60.0) -> tuple[PythonTarget, OsInfo]:
    """What the interpreter ``python`` (a path or a name on PATH) is and where it runs.

    From the one interpreter probe (:func:`wizard.core.detect.python_probe.describe_interpreter`).
    """
    from wizard.core.detect.python_probe import describe_interpreter

    data = describe_interpreter(python, timeout)
    try:
        family = _FAMILY.get(str(data["system"]))
        if family is None:
            raise WizardError(f"'{python}' runs on {data['system']}, which the wizard does not support",
                              hint="PyTorch wheels exist for Linux, Windows and macOS")
        os_info = OsInfo(family=family, version=str(data.get("release") or ""),
                         arch=_ARCH.get(str(data["machine"]).lower(), str(data["machine"]).lower()),
                         glibc=data.get("glibc") or None)
        target = PythonTarget(version=str(data["version"]), implementation=str(data["implementation"]),
                              bits=int(data["bits"]), free_threaded=bool(data["free_threaded"]),
                              path=str(data.get("executable") or python))
    except (KeyError, TypeError, ValueError) as exc:
        raise WizardError(f"'{python}' did not answer like a Python 3 interpreter ({exc})",
                          hint="check it with: <python> --version") from None
    return target, os_info


def marker_environment(python: PythonTarget, os_info: OsInfo) -> dict[str, str]:
    """PEP 508 marker values for the target (not for the wizard's own interpreter)."""
    major, minor = python.minor
    system = {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}[os_info.family]
    if os_info.family == "windows":
        machine = {"x86_64": "AMD64", "aarch64": "ARM64", "arm64": "ARM64", "x86": "x86"}[os_info.arch]
    elif os_info.family == "macos":
        machine = "arm64" if os_info.arch in ("arm64", "aarch64") else "x86_64"
    else:
        machine = {"arm64": "aarch64", "x86": "i686"}.get(os_info.arch, os_info.arch)
    impl = python.implementation
    return {
        "implementation_name": impl,
        "implementation_version": python.version,
        "os_name": "nt" if os_info.family == "windows" else "posix",
        "platform_machine": machine,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        "platform_release": "",
        "platform_system": system,
        "platform_version": os_info.version,
        "python_full_version": python.version,
        "python_version": f"{major}.{minor}",
        "sys_platform": {"linux": "linux", "windows": "win32", "macos": "darwin"}[os_info.family],
    }


def requires_dist(metadata_text: str) -> list[str]:
    """The ``Requires-Dist`` lines of a METADATA file."""
    msg = email.parser.Parser().parsestr(metadata_text, headersonly=True)
    return [str(v) for v in (msg.get_all("Requires-Dist") or [])]


def metadata_from_wheel(path: Path) -> str:
    """The METADATA text inside a downloaded wheel."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if not names:
                raise WizardError(f"{path.name} has no .dist-info/METADATA", hint="the wheel is broken")
            return zf.read(names[0]).decode("utf-8", "replace")
    except zipfile.BadZipFile:
        raise WizardError(f"{path.name} is not a valid wheel (zip) file", hint="delete it and fetch again") from None


@dataclass
class WheelhouseResult:
    """What :func:`fetch_wheelhouse` put in the destination folder."""

    wheels: list[WheelFile]
    paths: list[Path]
    total_size: int
    notes: list[str] = field(default_factory=list)
    #: how the source publishes: "index" (a project page per package) or "find-links" (one flat page)
    layout: str = "index"


class _Resolver:
    def __init__(self, client: IndexClient, python: PythonTarget, os_info: OsInfo, no_deps: bool,
                 downloader: Downloader, dest: Path, cancel: threading.Event | None) -> None:
        self.client = client
        self.tags = target_tags(python, os_info)
        self.python = python
        self.env = marker_environment(python, os_info)
        self.no_deps = no_deps
        self.downloader = downloader
        self.dest = dest
        self.cancel = cancel
        self.session: requests.Session = client.session
        self.notes: list[str] = []

    def _applies(self, req: Requirement, extras: set[str]) -> bool:
        if req.marker is None:
            return True
        try:
            return any(req.marker.evaluate({**self.env, "extra": e}) for e in (extras or {""}))
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return False

    def _metadata(self, wheel: WheelFile) -> str:
        if wheel.metadata_url:
            # within a total deadline and a size cap, like an index page (net.read_document)
            _resp, content = read_document(self.session, wheel.metadata_url,
                                           T(M.NET_WHAT_METADATA, file=wheel.filename))
            want = (wheel.metadata or {}).get("sha256")
            if want and hashlib.sha256(content).hexdigest() != want:
                raise WizardError(f"the metadata file of {wheel.filename} does not match the index's hash",
                                  hint="the index or a proxy is serving altered files; try another mirror")
            return content.decode("utf-8", "replace")
        # No PEP 658 file: download the wheel itself (it is needed anyway) and read its METADATA.
        path = self.downloader.fetch(_item(wheel), self.dest, cancel=self.cancel)
        return metadata_from_wheel(path)

    def _pick(self, name: str, req: Requirement) -> tuple[WheelFile, str | None]:
        """The best wheel and its metadata; a wheel whose METADATA Requires-Python excludes the
        target is skipped (an index page may not carry data-requires-python)."""
        rejected: list[str] = []
        while True:
            wheel = self.client.find_best(name, req.specifier, self.tags, self.python.version, rejected)
            if self.no_deps:
                return wheel, None
            metadata = self._metadata(wheel)
            rp = email.parser.Parser().parsestr(metadata, headersonly=True).get("Requires-Python")
            try:
                fits = not rp or Version(self.python.version) in SpecifierSet(str(rp))
            except (InvalidSpecifier, InvalidVersion):
                fits = True
            if fits:
                return wheel, metadata
            self.notes.append(f"skipped {wheel.filename}: it requires Python {rp}")
            rejected.append(wheel.filename)
            # Downloaded only to read its METADATA: it must not stay in the wheelhouse for pip to find.
            (self.dest / wheel.filename).unlink(missing_ok=True)

    def resolve(self, requirements: list[str]) -> list[WheelFile]:
        chosen: dict[str, WheelFile] = {}
        wanted_by: dict[str, str] = {}
        queue: deque[tuple[Requirement, str, set[str]]] = deque(
            (parse_requirement(r), "you", set()) for r in requirements)
        while queue:
            req, parent, parent_extras = queue.popleft()
            if not self._applies(req, parent_extras):
                continue
            name = canonicalize_name(req.name)
            if name in chosen:
                have = chosen[name].version
                if req.specifier and not req.specifier.contains(have, prereleases=True):
                    raise WizardError(
                        f"conflicting requirements: {parent} needs {req}, but {wanted_by[name]} chose {name} {have}",
                        hint="pin compatible versions explicitly, or fetch with --no-deps and add the "
                             "dependencies yourself")
                continue
            wheel, metadata = self._pick(name, req)
            chosen[name] = wheel
            wanted_by[name] = parent
            if metadata is None:
                continue
            for line in requires_dist(metadata):
                try:
                    queue.append((Requirement(line), f"{name} {wheel.version}", set(req.extras)))
                except InvalidRequirement:
                    self.notes.append(f"ignored an unreadable requirement of {wheel.filename}: {line!r}")
        return list(chosen.values())


def _item(wheel: WheelFile) -> DownloadItem:
    return DownloadItem(url=wheel.url, filename=wheel.filename, sha256=wheel.sha256, size=wheel.size)


def fetch_wheelhouse(requirements: list[str], *, index_url: str, dest: Path, python: PythonTarget,
                     os_info: OsInfo, no_deps: bool = False, session: requests.Session | None = None,
                     downloader: Downloader | None = None, progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None, extra_bytes: int = 0,
                     on_plan: Any = None, on_file: FileProgressCallback | None = None) -> WheelhouseResult:
    """Resolve ``requirements`` for the target, prove every wheel exists, then download and verify.

    ``on_plan(wheels, total_size)`` is called once everything is known and before the large
    downloads start. ``extra_bytes`` is added to the disk-space check (the installer passes the
    unpacked size). Writes ``wheelhouse.json`` (file names, sha256, sizes) next to the wheels.
    """
    if not requirements:
        raise WizardError("nothing to fetch", hint="name at least one requirement, e.g. torch==2.14.1+cu126")
    session = session or make_session()
    downloader = downloader or Downloader(session)
    dest = Path(dest)
    client = IndexClient(index_url, session)
    resolver = _Resolver(client, python, os_info, no_deps, downloader, dest, cancel)
    wheels = [client.with_size(w) for w in resolver.resolve(list(requirements))]
    notes = list(resolver.notes)
    for w in wheels:
        if not w.sha256:
            notes.append(f"the index gave no sha256 for {w.filename}; only its size"
                         f"{'' if w.size is not None else ' (unknown too)'} could be checked, as pip would")
    total = sum(w.size or 0 for w in wheels)
    if on_plan is not None:
        on_plan(wheels, total)
    paths = downloader.fetch_all([_item(w) for w in wheels], dest, progress, cancel, extra_bytes, on_file=on_file)
    _write_manifest(dest, index_url, requirements, wheels)
    return WheelhouseResult(wheels, paths, total, notes, layout=client.layout)


def _write_manifest(dest: Path, index_url: str, requirements: list[str], wheels: list[WheelFile]) -> None:
    data = {
        "schema": "wheelhouse/1",
        "index_url": index_url,
        "requirements": list(requirements),
        "files": [{"filename": w.filename, "project": w.project, "version": str(w.version),
                   "sha256": w.sha256, "size": w.size} for w in wheels],
    }
    atomic_write_text(dest / MANIFEST, json.dumps(data, indent=2))
