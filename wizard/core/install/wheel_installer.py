"""Install verified wheels into an environment in parallel: the install's fast path (issue 16).

pip installs one wheel after another, one file after another, then compiles the bytecode in the
same process; on a torch install that was 59% of the time (73% on a 20 MB/s link). Here:

* pip stays the resolver: ``pip download`` with the user's configuration (index, extra indexes,
  find-links, certificates, proxy, constraints) decides and fetches everything beside the big
  wheels the wizard's own downloader has already verified (:func:`resolve_rest`);
* the files of every wheel are unpacked by a pool of threads (zlib and hashlib release the GIL),
  each checked against its wheel's ``RECORD`` while it is written; the big wheels start while pip
  is still resolving the rest (:class:`ParallelInstaller`);
* entry-point scripts come from PyPA's ``installer`` library (:mod:`installer.scripts`), which also
  parses ``RECORD``; every distribution gets ``INSTALLER`` and a complete ``RECORD`` (bytecode
  included), so ``pip list``, ``pip uninstall`` and the wizard's rollback see an ordinary install;
* bytecode is compiled by several processes of the *target* interpreter (its magic number), as
  pip would with ``compileall``; ``PIP_NO_COMPILE`` (pip's own setting) leaves it to the first
  import, as pip's ``--no-compile`` does.

Anything the fast path cannot do (an sdist among the files, a wheel layout it does not know)
raises :class:`FastPathUnavailable` before a file is written, and the flow installs with pip.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import os
import shlex
import shutil
import stat
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from wizard.core import messages as M
from wizard.core.errors import Cancelled, WizardError
from wizard.core.process import Command, run_command
from wizard.core.text import T

#: What ``INSTALLER`` says (PEP 376 / the PyPA "Recording installed projects" spec: the tool's name).
INSTALLER_NAME = "torch-gpu-setup"
#: Read size per block while unpacking: large enough that zlib and sha256 run without the GIL
#: for most of the time (CPython releases it around inflate() and for hashlib updates > 2 KiB).
BLOCK = 1024 * 1024
#: Seconds the scheme probe may take (one interpreter start).
SCHEME_TIMEOUT_S = 60.0

_SCHEME_CODE = (
    "import json, sys, sysconfig\n"
    "p = sysconfig.get_paths()\n"
    "print(json.dumps({'purelib': p['purelib'], 'platlib': p['platlib'], 'scripts': p['scripts'],\n"
    "  'data': p['data'], 'version': '%d.%d' % sys.version_info[:2],\n"
    "  'cache_tag': sys.implementation.cache_tag, 'platform': sys.platform,\n"
    "  'machine': __import__('platform').machine(), 'prefix': sys.prefix}))\n"
)
# One bytecode worker: compiles the files listed (one a line) in argv[1], as pip does
# (pip/_internal/operations/install/wheel.py: compileall.compile_file(path, force=True, quiet=True)).
_COMPILE_CODE = (
    "import compileall, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as f:\n"
    "    for line in f:\n"
    "        compileall.compile_file(line.rstrip('\\n'), force=True, quiet=2)\n"
)


class FastPathUnavailable(Exception):
    """The fast path cannot install these files (the flow falls back to pip); ``str`` says why."""


@dataclass(frozen=True)
class Scheme:
    """Where a wheel's parts go in the target environment (sysconfig's paths of its interpreter)."""

    python: Path
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers: Path
    cache_tag: str
    platform: str
    machine: str

    def target(self, key: str) -> Path:
        """The folder of a ``.data/<key>/`` part (purelib, platlib, scripts, data, headers)."""
        return {"purelib": self.purelib, "platlib": self.platlib, "scripts": self.scripts,
                "data": self.data, "headers": self.headers}[key]

    def launcher_kind(self) -> str:
        """The kind of entry-point script ``installer`` writes for this platform."""
        if self.platform != "win32":
            return "posix"
        machine = self.machine.lower()
        return "win-arm64" if machine in ("arm64", "aarch64") else \
            "win-amd64" if machine in ("amd64", "x86_64") else "win-ia32"


def read_scheme(python: Path) -> Scheme:
    """Ask the target interpreter where purelib, platlib, scripts and data are (one process)."""
    result = run_command(Command(argv=(str(python), "-I", "-c", _SCHEME_CODE)), timeout_s=SCHEME_TIMEOUT_S)
    try:
        data = json.loads(result.tail[-1]) if result.ok and result.tail else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise FastPathUnavailable(f"{python} did not say where packages go: {' '.join(result.tail[-3:])}")
    # pip's header folder in a venv: <prefix>/include/site/pythonX.Y/<project> (pip/_internal/locations)
    headers = Path(str(data["prefix"])) / "include" / "site" / f"python{data['version']}"
    return Scheme(python=python, purelib=Path(str(data["purelib"])), platlib=Path(str(data["platlib"])),
                  scripts=Path(str(data["scripts"])), data=Path(str(data["data"])), headers=headers,
                  cache_tag=str(data["cache_tag"]), platform=str(data["platform"]), machine=str(data["machine"]))


def _b64_sha256(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class _Member:
    """One file of a wheel and where it goes."""

    name: str
    dest: Path
    size: int
    compressed: int
    expected: str | None          # "sha256=..." from RECORD
    executable: bool
    fix_shebang: bool = False


@dataclass
class _Wheel:
    """A wheel being installed: its files, its root folder and what RECORD will list."""

    path: Path
    project: str
    version: str
    dist_info: str
    root: Path                    # purelib or platlib: RECORD paths are relative to it
    members: list[_Member]
    entry_points: str
    requested: bool
    rows: dict[Path, tuple[str, str]] = field(default_factory=dict)   # dest -> (hash, size)
    pending: int = 0              # batches still unpacking


class DamagedWheel(WizardError):
    """A wheel whose content does not match its RECORD, or that is not a zip (pip's "invalid wheel")."""


def damaged(path: Path, why: str) -> DamagedWheel:
    """The error for a wheel whose content does not match its RECORD (or is not a zip)."""
    return DamagedWheel(T(M.PIP_INVALID_WHEEL), hint=T(M.PIP_INVALID_WHEEL_HINT), details=f"{path.name}: {why}")


def _plan_wheel(path: Path, scheme: Scheme, requested: bool) -> _Wheel:
    """Read a wheel's WHEEL, RECORD and entry points; decide where each file goes. Writes nothing."""
    try:
        project, version, _, _ = parse_wheel_filename(path.name)
    except (InvalidWheelFilename, ValueError) as exc:
        raise FastPathUnavailable(f"{path.name}: {exc}") from exc
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            dist_infos = {i.filename.split("/", 1)[0] for i in infos
                          if i.filename.split("/", 1)[0].endswith(".dist-info")}
            if len(dist_infos) != 1:
                raise FastPathUnavailable(f"{path.name}: {len(dist_infos)} .dist-info folders")
            dist_info = dist_infos.pop()
            wheel_meta = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
            record_text = zf.read(f"{dist_info}/RECORD").decode("utf-8")
            try:
                entry_points = zf.read(f"{dist_info}/entry_points.txt").decode("utf-8")
            except KeyError:
                entry_points = ""
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError) as exc:
        raise damaged(path, str(exc)) from exc
    fields = dict(line.split(":", 1) for line in wheel_meta.splitlines() if ":" in line)
    if not fields.get("Wheel-Version", "1.0").strip().startswith("1."):
        raise FastPathUnavailable(f"{path.name}: Wheel-Version {fields.get('Wheel-Version')}")
    purelib = fields.get("Root-Is-Purelib", "true").strip().lower() == "true"
    root = scheme.purelib if purelib else scheme.platlib
    from installer.records import parse_record_file

    record = {name: digest for name, digest, _ in parse_record_file(record_text.splitlines())}
    data_prefix = dist_info[: -len(".dist-info")] + ".data/"
    members: list[_Member] = []
    for info in infos:
        name = info.filename
        if name.endswith("/") or name in (f"{dist_info}/RECORD", f"{dist_info}/RECORD.jws",
                                          f"{dist_info}/RECORD.p7s"):
            continue
        if name not in record or not record[name]:
            raise damaged(path, f"{name} is not in RECORD")
        if not str(record[name]).startswith("sha256="):
            # PEP 376 allows any hashlib algorithm of sha256 or stronger; this path checks sha256
            # only, so pip installs such a wheel (it is not damaged)
            raise FastPathUnavailable(f"{path.name}: RECORD uses {str(record[name]).split('=', 1)[0]}")
        shebang = False
        if name.startswith(data_prefix):
            key, _, rest = name[len(data_prefix):].partition("/")
            if key not in ("purelib", "platlib", "scripts", "data", "headers") or not rest:
                raise FastPathUnavailable(f"{path.name}: unknown data folder {key!r}")
            base = scheme.target(key)
            if key == "headers":
                base = base / project
            dest = base / rest
            shebang = key == "scripts"
        else:
            dest = root / name
        resolved = os.path.normpath(dest)
        if ".." in Path(name).parts or not resolved.startswith(os.path.normpath(scheme.data)):
            raise damaged(path, f"{name} points outside the environment")
        mode = (info.external_attr >> 16) & 0o777
        members.append(_Member(name, dest, info.file_size, info.compress_size, record[name],
                               executable=bool(mode & 0o111) or shebang, fix_shebang=shebang))
    return _Wheel(path, str(canonicalize_name(project)), str(version), dist_info, root, members,
                  entry_points, requested)


def script_shebang(python: Path, windowed: bool = False) -> bytes:
    """The first line(s) of a ``.data/scripts`` file: this environment's interpreter.

    ``#!pythonw`` keeps its ``w`` (a windowed script, Windows). A path with a space, or longer than
    the 127 bytes a Linux kernel reads of a ``#!`` line, cannot be a plain shebang; then the script
    starts as ``/bin/sh`` and re-executes itself with the interpreter (the form pip's and PyPA
    installer's launchers write for such paths).
    """
    exe = str(python)
    if windowed and exe.lower().endswith("python.exe"):
        exe = exe[: -len("python.exe")] + "pythonw.exe"
    raw = exe.encode("utf-8")
    if b" " not in raw and len(raw) <= 127:
        return b"#!" + raw
    return (b"#!/bin/sh\n" + b"'''exec' " + shlex.quote(exe).encode("utf-8") + b' "$0" "$@"\n'
            + b"' '''")


def _write_member(zf: zipfile.ZipFile, member: _Member, python: Path, cancel: threading.Event) -> tuple[str, str]:
    """Unpack one file, checking its sha256 against RECORD; returns its RECORD (hash, size).

    One hash over the bytes as they come out of the zip: that is the RECORD check and, unless a
    ``#!python`` line was rewritten, also the hash of the file written.
    """
    if cancel.is_set():
        raise Cancelled("cancelled while unpacking")
    check = hashlib.sha256()
    written = 0
    rewritten: bytes | None = None
    with zf.open(member.name) as src, open(member.dest, "wb") as out:
        data = src.read(BLOCK)
        if member.fix_shebang and data.startswith(b"#!python"):
            # a script in .data/scripts: "#!python" becomes this environment's interpreter (PEP 427)
            check.update(data)
            first, _, rest = data.partition(b"\n")
            rewritten = script_shebang(python, windowed=first.rstrip().endswith(b"pythonw")) + b"\n" + rest
            out.write(rewritten)
            written += len(rewritten)
            data = src.read(BLOCK)
        while data:
            check.update(data)
            out.write(data)
            written += len(data)
            data = src.read(BLOCK)
    if member.expected is not None and _b64_sha256(check.digest()) != member.expected:
        raise DamagedWheel(T(M.PIP_INVALID_WHEEL), hint=T(M.PIP_INVALID_WHEEL_HINT),
                           details=f"{member.name}: sha256 does not match RECORD")
    if member.executable:
        os.chmod(member.dest, os.stat(member.dest).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if rewritten is not None:
        return _b64_sha256(hashlib.sha256(member.dest.read_bytes()).digest()), str(written)
    return member.expected or _b64_sha256(check.digest()), str(written)


class _StopSignal(threading.Event):
    """The installer's own stop joined with the caller's cancel.

    A failure in one worker stops the others by setting this (never the caller's event, which
    would make the flow report the person's cancel for a broken wheel); the person's cancel is
    seen through :meth:`is_set` as well.
    """

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self._outer = outer

    def is_set(self) -> bool:
        """Stopped by the installer itself or cancelled by the caller."""
        return super().is_set() or self.cancelled_by_caller()

    def cancelled_by_caller(self) -> bool:
        """The caller's cancel (the person's Cancel, a signal)."""
        return self._outer is not None and self._outer.is_set()


class ParallelInstaller:
    """Unpack wheels with a pool of threads, then scripts, INSTALLER, bytecode and RECORD.

    ``add`` may be called while other wheels are still unpacking (the big wheels start before pip
    has resolved the rest); ``finish`` waits for every file, writes the metadata and compiles.
    """

    def __init__(self, scheme: Scheme, workers: int | None = None, cancel: threading.Event | None = None,
                 existing: bool = False, compile_bytecode: bool = False) -> None:
        """``existing``: the environment holds other packages (not one this run created): a wheel
        that would overwrite a file is left to pip, and a failure removes every file written.
        ``compile_bytecode``: each wheel's bytecode is compiled as soon as that wheel is unpacked,
        while the others still unpack or download (else :meth:`finish` may compile at the end)."""
        self.scheme = scheme
        self.compile_early = compile_bytecode
        self.compiler = ThreadPoolExecutor(max_workers=self._compile_workers(), thread_name_prefix="compile")
        self.compiles: list[Future[Any]] = []
        self.lock = threading.Lock()
        self.listings = Path(tempfile.mkdtemp(prefix="tgs-compile-"))
        self.existing = existing
        self.made_dirs: list[Path] = []
        self.workers = max(1, workers or min(32, (os.cpu_count() or 2) + 2))
        self.cancel = _StopSignal(cancel)
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="unpack")
        self.wheels: list[_Wheel] = []
        self.futures: list[Future[None]] = []
        self.local = threading.local()
        self.bytes = 0

    def _zip(self, path: Path) -> zipfile.ZipFile:
        handles = getattr(self.local, "handles", None)
        if handles is None:
            handles = self.local.handles = {}
        if path not in handles:
            handles[path] = zipfile.ZipFile(path)
        return handles[path]   # type: ignore[no-any-return]

    def add(self, wheel: Path, requested: bool = False) -> None:
        """Plan a wheel and start unpacking it (checks first: nothing is written for a bad wheel)."""
        if any(w.path.name == wheel.name for w in self.wheels):
            return   # a big wheel already started, met again among pip's files
        plan = _plan_wheel(wheel, self.scheme, requested)
        if self.existing:
            scripts = [self.scheme.scripts / (n + (".exe" if self.scheme.platform == "win32" else ""))
                       for n in _script_names(plan.entry_points)]
            taken = next((d for d in [*(m.dest for m in plan.members), *scripts] if os.path.lexists(d)), None)
            if taken is not None:
                raise FastPathUnavailable(f"{wheel.name} would replace {taken}")
        self.wheels.append(plan)
        for folder in sorted({m.dest.parent for m in plan.members}):
            missing = [f for f in (folder, *folder.parents) if not f.exists()]
            if missing:
                self.made_dirs.append(missing[-1])   # the top-most folder made for this wheel
            folder.mkdir(parents=True, exist_ok=True)
        # Batches balanced by size, largest files first: one 300 MB .so must not finish last.
        order = sorted(plan.members, key=lambda m: m.compressed, reverse=True)
        batches: list[list[_Member]] = [[] for _ in range(min(self.workers, max(1, len(order))))]
        loads = [0] * len(batches)
        for member in order:
            i = loads.index(min(loads))
            batches[i].append(member)
            loads[i] += member.compressed + 4096   # a file's own cost (open, write, close)
        self.bytes += sum(m.size for m in plan.members)
        plan.pending = len(batches)
        for batch in batches:
            self.futures.append(self.pool.submit(self._run_batch, plan, batch))

    def _run_batch(self, plan: _Wheel, batch: list[_Member]) -> None:
        zf = self._zip(plan.path)
        for member in batch:
            try:
                plan.rows[member.dest] = _write_member(zf, member, self.scheme.python, self.cancel)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise damaged(plan.path, str(exc)) from exc
        with self.lock:
            plan.pending -= 1
            whole = plan.pending == 0
        if whole and self.compile_early and not self.cancel.is_set():
            self._queue_compile(self._python_files([plan]))

    def wait(self) -> None:
        """Wait for every file queued so far; the first failure stops the rest and is raised.

        The stop the failure sets makes the other workers end with ``Cancelled``: the failure
        itself is raised, not one of those (the person did not cancel).
        """
        failures: list[BaseException] = []
        for future in self.futures:
            try:
                future.result()
            except BaseException as exc:   # collected: the real failure is raised below
                if not failures:
                    self.cancel.set()
                    for other in self.futures:
                        other.cancel()
                failures.append(exc)
        if failures:
            self.pool.shutdown(wait=True)
            real = [f for f in failures if not isinstance(f, (Cancelled, CancelledError))]
            raise real[0] if real and not self.cancel.cancelled_by_caller() else failures[0]

    def finish(self, compile_bytecode: bool = True, on_status: Callable[[str], None] | None = None,
               ) -> list[tuple[str, str]]:
        """Wait, write scripts and INSTALLER, compile, write RECORD; returns [(project, version)].

        In an existing environment a failure (or a cancel) removes every file written first.
        """
        try:
            self.wait()
            for plan in self.wheels:
                self._scripts(plan)
            if compile_bytecode:
                if on_status is not None:
                    on_status(T(M.FLOW_COMPILE, workers=self._compile_workers()))
                if not self.compile_early:
                    self._queue_compile(self._python_files(self.wheels))
                self._wait_compiles()
            elif self.compile_early:
                self._wait_compiles()   # already running: RECORD lists what they write
            for plan in self.wheels:
                self._record(plan)
        except BaseException:
            self.cancel.set()
            with contextlib.suppress(Exception):
                self._wait_compiles()
            self._remove_written()
            raise
        finally:
            self.pool.shutdown(wait=True)
            self.compiler.shutdown(wait=True)
            shutil.rmtree(self.listings, ignore_errors=True)
        return [(p.project, p.version) for p in self.wheels]

    def abort(self) -> None:
        """Stop unpacking and, in an existing environment, remove what was written."""
        self.cancel.set()
        with contextlib.suppress(Exception):
            self.wait()
        with contextlib.suppress(Exception):
            self._wait_compiles()
        self.pool.shutdown(wait=True)
        self.compiler.shutdown(wait=True)
        shutil.rmtree(self.listings, ignore_errors=True)
        self._remove_written()

    def _remove_written(self) -> None:
        """Every file this installer wrote, and the folders it made (an existing environment only:
        a new one is removed whole by the flow's undo)."""
        if not self.existing:
            return
        for plan in self.wheels:
            written = [m.dest for m in plan.members] + list(plan.rows)
            for dest in written:
                with contextlib.suppress(OSError):
                    dest.unlink()
                if dest.suffix == ".py":
                    with contextlib.suppress(OSError):
                        (dest.parent / "__pycache__" / f"{dest.stem}.{self.scheme.cache_tag}.pyc").unlink()
            for extra in ("INSTALLER", "REQUESTED", "RECORD"):
                with contextlib.suppress(OSError):
                    (plan.root / plan.dist_info / extra).unlink()
        for folder in sorted(self.made_dirs, key=lambda f: len(f.parts), reverse=True):
            shutil.rmtree(folder, ignore_errors=True)   # made by this run: all of it is ours

    def _scripts(self, plan: _Wheel) -> None:
        """Console and GUI scripts from ``entry_points.txt``, written by ``installer``'s generator."""
        if not plan.entry_points:
            return
        from installer.scripts import Script
        from installer.utils import parse_entrypoints

        kind = self.scheme.launcher_kind()
        self.scheme.scripts.mkdir(parents=True, exist_ok=True)
        for name, module, attr, section in parse_entrypoints(plan.entry_points):
            filename, data = Script(name, module, attr, section).generate(str(self.scheme.python), kind)  # type: ignore[arg-type]
            dest = self.scheme.scripts / filename
            dest.write_bytes(data)
            os.chmod(dest, 0o755)
            plan.rows[dest] = (_b64_sha256(hashlib.sha256(data).digest()), str(len(data)))

    def _python_files(self, plans: Iterable[_Wheel]) -> list[Path]:
        """The .py files these wheels put into purelib/platlib (what pip compiles)."""
        libs = (os.path.normpath(self.scheme.purelib), os.path.normpath(self.scheme.platlib))
        return [dest for plan in plans for dest in plan.rows
                if dest.suffix == ".py" and os.path.normpath(dest).startswith(libs)]

    def _compile_workers(self) -> int:
        return max(1, min(os.cpu_count() or 1, 16))

    def _queue_compile(self, files: list[Path]) -> None:
        """Compile ``files`` with the target interpreter, in chunks run by parallel processes."""
        if not files:
            return
        chunks = min(self._compile_workers(), max(1, len(files) // 200))
        with self.lock:
            first = len(self.compiles)
            for i in range(chunks):
                listing = self.listings / f"files{first + i}.txt"
                listing.write_text("".join(f"{p}\n" for p in files[i::chunks]), encoding="utf-8")
                command = Command(argv=(str(self.scheme.python), "-c", _COMPILE_CODE, str(listing)),
                                  env={"PYTHONUTF8": "1"})
                self.compiles.append(self.compiler.submit(run_command, command, cancel=self.cancel,
                                                          timeout_s=3600))

    def _wait_compiles(self) -> None:
        """Wait for every compile process; a cancel raises. A file that does not compile (a test
        fixture with a syntax error) is skipped, as pip does."""
        index = 0
        while True:
            with self.lock:
                if index >= len(self.compiles):
                    break
                future = self.compiles[index]
            index += 1
            if future.result().cancelled:
                raise Cancelled("cancelled while compiling")

    def _record(self, plan: _Wheel) -> None:
        """INSTALLER, REQUESTED and a RECORD listing every file (bytecode included, without hash)."""
        info = plan.root / plan.dist_info
        extra = {"INSTALLER": f"{INSTALLER_NAME}\n".encode()}
        if plan.requested:
            extra["REQUESTED"] = b""
        for name, data in extra.items():
            (info / name).write_bytes(data)
            plan.rows[info / name] = (_b64_sha256(hashlib.sha256(data).digest()), str(len(data)))
        rows: list[tuple[str, str, str]] = []
        for dest, (digest, size) in plan.rows.items():
            rows.append((self._relative(dest, plan.root), digest, size))
            if dest.suffix == ".py":
                pyc = dest.parent / "__pycache__" / f"{dest.stem}.{self.scheme.cache_tag}.pyc"
                if pyc.exists():
                    rows.append((self._relative(pyc, plan.root), "", ""))
        rows.append((f"{plan.dist_info}/RECORD", "", ""))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(sorted(rows))
        (info / "RECORD").write_text(buffer.getvalue(), encoding="utf-8")

    @staticmethod
    def _relative(path: Path, root: Path) -> str:
        # RECORD paths are relative to the folder the .dist-info is in, "/"-separated (PyPA spec)
        return os.path.relpath(path, root).replace(os.sep, "/")


def _script_names(entry_points: str) -> list[str]:
    """The names of a wheel's console and GUI scripts."""
    if not entry_points:
        return []
    from installer.utils import parse_entrypoints

    return [name for name, _, _, _ in parse_entrypoints(entry_points)]


def compile_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether to compile bytecode, as pip would decide from ``PIP_NO_COMPILE``.

    pip reads an environment variable of a ``--no-*`` switch as the value of the option behind it
    (pip/_internal/cli/parser.py, ``_update_defaults``: ``strtobool(val)`` becomes ``compile``), so
    ``PIP_NO_COMPILE=0`` (or false/no/off) turns compiling off and ``PIP_NO_COMPILE=1`` leaves it on.
    The fast path follows pip, quirk included, so one setting means the same for both.
    """
    value = (os.environ if environ is None else environ).get("PIP_NO_COMPILE", "").strip().lower()
    if not value:
        return True
    return value not in ("0", "false", "no", "n", "off", "f")


def wheels_in(folder: Path) -> list[Path]:
    """The files pip put in ``folder``; raises FastPathUnavailable when one is not a wheel (an sdist)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    other = [p.name for p in files if p.suffix != ".whl"]
    if other:
        raise FastPathUnavailable("not wheels: " + ", ".join(other))
    return files


def download_command(python: Path, requirements: Sequence[str], dest: Path, *, find_links: Iterable[Path] = (),
                     extra_args: Sequence[str] = (), raw_progress: bool = True) -> Command:
    """``pip download`` of the whole closure into ``dest``: pip resolves with the user's configuration.

    The big wheels are already in ``dest`` (hard links) or named by path, so pip neither fetches
    nor copies them (pip/_internal/operations/prepare.py save_linked_requirement skips a file
    that exists).
    """
    argv = [str(python), "-m", "pip", "download", "--no-input", "--dest", str(dest)]
    if raw_progress:
        argv.append("--progress-bar=raw")
    for folder in find_links:
        argv += ["--find-links", str(folder)]
    argv += [*extra_args, *requirements]
    return Command(argv=tuple(argv), env={"PYTHONUTF8": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


def link_into(folder: Path, wheels: Iterable[Path]) -> None:
    """Hard-link (else leave) each wheel into ``folder`` so ``pip download`` finds it there."""
    for wheel in wheels:
        target = folder / wheel.name
        if target.exists():
            continue
        with contextlib.suppress(OSError):   # another file system: pip copies it (a cost, not an error)
            os.link(wheel, target)


def requested_names(requirements: Sequence[str]) -> set[str]:
    """The projects the person asked for (pip marks them REQUESTED): names of pins and of wheel paths."""
    names = set()
    for requirement in requirements:
        base = os.path.basename(requirement)
        if base.endswith(".whl"):
            try:
                names.add(str(parse_wheel_filename(base)[0]))
                continue
            except (InvalidWheelFilename, ValueError):
                pass
        head = requirement.split(";", 1)[0]
        for sep in ("==", ">=", "<=", "~=", "!=", "<", ">", "[", " ", "@"):
            head = head.split(sep, 1)[0]
        if head.strip():
            names.add(str(canonicalize_name(head.strip())))
    return names


def is_wheel_path(requirement: str) -> bool:
    """Whether a requirement is a local wheel file (a big wheel the downloader verified)."""
    return requirement.endswith(".whl") and os.path.isfile(requirement)
