"""Fixtures for the install tests: wheels built on the spot, a loopback PEP 503 index, venvs.

The world is real at its edges: pip runs for real in real venvs and talks HTTP to a server on
127.0.0.1. The index can damage a file (hash mismatch), cut a download in half (server cut) or
serve slowly (cancel mid-install).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def build_wheel(dest: Path, name: str, version: str, requires: tuple[str, ...] = (), payload_kib: int = 1) -> Path:
    """A minimal valid pure-Python wheel: a package, METADATA, WHEEL and RECORD."""
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"__version__ = {version!r}\n".encode(),
        # incompressible filler so that downloads take a measurable number of bytes
        f"{dist}/data.bin": hashlib.sha256(name.encode()).digest() * (32 * payload_kib),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires)
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record_lines = []
    for arcname, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{arcname},sha256={digest},{len(data)}")
    record_lines.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for arcname, data in files.items():
            zf.writestr(arcname, data)
    return path


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@dataclass
class LoopbackIndex:
    """A PEP 503 simple index on 127.0.0.1 with several roots (``/whl/cpu/``, ``/simple/``)."""

    roots: dict[str, dict[str, list[Path]]] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)  # file names served with one byte changed
    cut: set[str] = field(default_factory=set)  # file names whose download breaks off halfway
    slow: set[str] = field(default_factory=set)  # file names served at ~200 KiB/s
    requests: list[str] = field(default_factory=list)
    port: int = 0
    #: Serve a stand-in numpy in every root that has none: every install adds numpy
    #: (``flow.companion_requirements``) and PyTorch's variant indexes mirror it.
    numpy: bool = True
    _numpy: list[Path] = field(default_factory=list)

    def numpy_wheels(self) -> list[Path]:
        """The stand-in numpy wheels (a 1.x for torch before 2.3.1, a 2.x), built once per index."""
        if not self._numpy:
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="numpy-wheels-"))
            self._numpy = [build_wheel(folder, "numpy", v) for v in ("1.26.4", "2.2.6")]
        return self._numpy

    def add(self, root: str, wheel: Path) -> None:
        """Publish a wheel under ``/<root>/<project>/``."""
        project = _normalize(wheel.name.split("-")[0])
        self.roots.setdefault(root.strip("/"), {}).setdefault(project, []).append(wheel)

    def url(self, root: str) -> str:
        """The index URL of a root."""
        return f"http://127.0.0.1:{self.port}/{root.strip('/')}/"

    def find(self, filename: str) -> Path | None:
        for wheel in self._numpy if self.numpy else ():
            if wheel.name == filename:
                return wheel
        for projects in self.roots.values():
            for wheels in projects.values():
                for wheel in wheels:
                    if wheel.name == filename:
                        return wheel
        return None


def _handler(index: LoopbackIndex) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        head = False

        def _send(self, status: int, body: bytes, ctype: str = "text/html") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not self.head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            # what a real index answers (the wizard's downloader asks for sizes first); not logged
            # in ``requests``, which counts GETs
            self.head = True
            parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].split("/") if p]
            wheel = index.find(parts[1]) if parts[:1] == ["files"] and len(parts) == 2 else None
            if wheel is None:
                self._send(404, b"")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(wheel.stat().st_size))
            self.end_headers()

        def do_GET(self) -> None:
            self.head = False
            index.requests.append(self.path)
            parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].split("/") if p]
            if parts[:1] == ["files"] and len(parts) == 2:
                self._file(parts[1])
                return
            for root, projects in index.roots.items():
                depth = len(root.split("/"))
                if "/".join(parts[:depth]) == root and len(parts) == depth + 1:
                    wheels = projects.get(_normalize(parts[depth]))
                    if wheels is None and index.numpy and _normalize(parts[depth]) == "numpy":
                        wheels = index.numpy_wheels()
                    if wheels is None:
                        self._send(404, b"not found")
                        return
                    links = "".join(
                        f'<a href="/files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">{w.name}</a>\n'
                        for w in wheels)
                    self._send(200, f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode())
                    return
            self._send(404, b"not found")

        def _file(self, filename: str) -> None:
            wheel = index.find(filename)
            if wheel is None:
                self._send(404, b"no such file")
                return
            data = wheel.read_bytes()
            if filename in index.corrupt:
                data = data[:-100] + bytes(b ^ 0xFF for b in data[-100:])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if filename in index.cut:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            step = 16 * 1024 if filename in index.slow else 1024 * 1024
            try:
                for start in range(0, len(data), step):
                    self.wfile.write(data[start:start + step])
                    if filename in index.slow:
                        time.sleep(0.08)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@pytest.fixture
def loopback_index() -> Iterator[LoopbackIndex]:
    """A fresh loopback index, served from a thread for the duration of one test."""
    index = LoopbackIndex()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(index))
    server.daemon_threads = True
    index.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield index
    server.shutdown()
    server.server_close()


@pytest.fixture
def isolated_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No pip configuration of this user or machine (/etc/pip.conf aside), no cache; the wizard's
    data dir and download cache inside tmp_path.

    PIP_INDEX_URL points at a closed port so nothing can leak to a real index.
    """
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    # Not os.devnull: that would also hide the venv's own pip.conf ("site" config), which the wizard
    # writes to pin torch. An empty file plus empty XDG dirs hide this machine's user/global config.
    empty = tmp_path / "empty-config"
    empty.mkdir()
    (empty / "pip.conf").write_text("")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(empty / "pip.conf"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(empty))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(empty))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/nothing/")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    data = tmp_path / "wizard-data"
    monkeypatch.setenv("TORCH_GPU_SETUP_DATA_DIR", str(data))
    monkeypatch.setenv("TORCH_GPU_SETUP_CACHE_DIR", str(tmp_path / "wizard-cache"))
    return data


@pytest.fixture(scope="session")
def template_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real venv (with the pip that ensurepip bundles), copied by :func:`venv`."""
    path = tmp_path_factory.mktemp("template") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path


@pytest.fixture
def venv(template_venv: Path, tmp_path: Path) -> Path:
    """A private copy of the template venv; returns its prefix."""
    path = tmp_path / "env"
    shutil.copytree(template_venv, path, symlinks=True)
    return path


def venv_py(prefix: Path) -> Path:
    """The interpreter of a venv on this platform."""
    return prefix / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def installed(prefix: Path) -> dict[str, str]:
    """``pip list`` of a venv as a dict, read independently of the code under test."""
    out = subprocess.run(
        [str(venv_py(prefix)), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    ).stdout
    return dict(line.split("==", 1) for line in out.splitlines() if "==" in line)


class Recorder(list):  # type: ignore[type-arg]
    """An event sink for the core flows that keeps every event (a face that only listens)."""

    def __call__(self, event: object) -> None:
        self.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        """The events of one type, in order."""
        return [e for e in self if isinstance(e, kind)]

    def texts(self, *kinds: type) -> list[str]:
        """The ``text`` of the events of these types (steps, sentences, log lines), in order."""
        return [str(e.text) for e in self if isinstance(e, kinds)]
