"""A real HTTP server on 127.0.0.1 that plays a PyTorch-like index, with faults on demand.

Used by the tests and by ``bench/bench_fetch.py``. Everything is real sockets and real HTTP:

* files with ``Range`` / ``If-Range`` / ``ETag`` / ``Accept-Ranges`` support, an optional
  bandwidth limit shared by all connections (a "link"), per-path byte counters;
* per-variant PEP 503 project pages (``#sha256=``, ``data-core-metadata``,
  ``data-dist-info-metadata``, ``data-requires-python``), a PEP 691 JSON twin answered when the
  client's Accept header asks for it, and a find-links flat page;
* faults: cut the connection after N bytes, answer a status (500, 404, 407 ...) N times, serve
  wrong bytes, a slow link, a stalled response, a server that ignores Range;
* :class:`LoopbackProxy`, a plain HTTP forward proxy (absolute-URI GETs) that can demand
  ``Proxy-Authorization`` (407).

Synthetic wheels come from :func:`make_wheel`: a real zip with METADATA/WHEEL/RECORD and an
incompressible payload of the asked size. Never the real torch.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import http.server
import io
import json
import os
import random
import socket
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit


@dataclass
class Fault:
    """One misbehaviour for one path. ``times`` = how many requests it affects (-1: all)."""

    status: int | None = None          # answer with this status instead
    cut_after: int | None = None       # close the connection after this many body bytes
    wrong_bytes: bool = False          # serve different bytes of the same length
    rate: float | None = None          # bytes per second for this response
    stall: float | None = None         # sleep this long after the headers, before the body
    ignore_range: bool = False         # answer 200 with the whole file even when asked for a range
    times: int = 1
    method: str | None = None          # only requests of this method ("HEAD": a server refusing HEAD)


@dataclass
class Record:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    body_bytes: int = 0


@dataclass
class _Resource:
    data: bytes | Path
    content_type: str = "application/octet-stream"
    json_twin: bytes | None = None      # PEP 691 answer for the same URL
    etag: str = ""

    def size(self) -> int:
        return self.data.stat().st_size if isinstance(self.data, Path) else len(self.data)

    def read(self, start: int, end: int) -> Iterable[bytes]:
        """Bytes [start, end) in chunks."""
        step = 64 * 1024
        if isinstance(self.data, Path):
            with self.data.open("rb") as f:
                f.seek(start)
                pos = start
                while pos < end:
                    block = f.read(min(step, end - pos))
                    if not block:
                        return
                    pos += len(block)
                    yield block
        else:
            for pos in range(start, end, step):
                yield self.data[pos:min(end, pos + step)]


class _Bucket:
    """A token bucket shared by every connection: the 'link' bandwidth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.lock = threading.Lock()
        self.next_free = time.monotonic()

    def take(self, n: int) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_free)
            self.next_free = start + n / self.rate
            wait = self.next_free - now
        if wait > 0:
            time.sleep(wait)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        rec = Record(self.command, path, {k: v for k, v in self.headers.items()})
        with owner.lock:
            owner.log.append(rec)
        fault = owner._take_fault(path, head)
        res = owner.resources.get(path)
        if fault is not None and fault.status is not None:
            body = f"fault {fault.status}".encode()
            self.send_response(fault.status)
            if fault.status == 407:
                self.send_header("Proxy-Authenticate", 'Basic realm="loopback"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            rec.status = fault.status
            if not head:
                self.wfile.write(body)
            return
        if res is None:
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            rec.status = 404
            if not head:
                self.wfile.write(body)
            return
        if res.json_twin is not None and "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", "") \
                and owner.answer_json:
            self._plain(200, res.json_twin, "application/vnd.pypi.simple.v1+json", head, rec)
            return
        size = res.size()
        start, end, status = 0, size, 200
        rng = self.headers.get("Range", "")
        if_range = self.headers.get("If-Range")
        range_ok = owner.ranges and not (fault and fault.ignore_range) and (not if_range or if_range == res.etag)
        if rng.startswith("bytes=") and range_ok:
            first, _, last = rng[6:].split(",")[0].partition("-")
            start = int(first) if first else 0
            end = min(size, int(last) + 1) if last else size
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                rec.status = 416
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", res.content_type)
        self.send_header("Content-Length", str(end - start))
        if owner.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if res.etag:
            self.send_header("ETag", res.etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        rec.status = status
        if head:
            return
        if fault is not None and fault.stall:
            time.sleep(fault.stall)
        sent = 0
        rate = fault.rate if fault and fault.rate else owner.rate
        try:
            for block in res.read(start, end):
                if fault is not None and fault.wrong_bytes:
                    block = bytes((b ^ 0x5A) for b in block)
                if fault is not None and fault.cut_after is not None and sent + len(block) > fault.cut_after:
                    block = block[: max(0, fault.cut_after - sent)]
                    self._write(block, rate, rec)
                    sent += len(block)
                    self._cut()
                    return
                # paced: 16 KiB pieces, or a second's worth when slower (a trickle sends byte by byte)
                step = max(1, min(16 * 1024, int(rate))) if rate else (16 * 1024 if owner.bucket else len(block) or 1)
                for piece in _pieces(block, step):
                    self._write(piece, rate, rec)
                sent += len(block)
                if owner.closing.is_set():
                    self._cut()
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write(self, data: bytes, rate: float | None, rec: Record) -> None:
        owner = self.server.owner
        if not data:
            return
        if owner.bucket is not None:
            owner.bucket.take(len(data))
        self.wfile.write(data)
        rec.body_bytes += len(data)
        with owner.lock:
            owner.bytes_sent += len(data)
        if rate:
            time.sleep(len(data) / rate)

    def _cut(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _plain(self, status: int, body: bytes, ctype: str, head: bool, rec: Record) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        rec.status = status
        if not head:
            self.wfile.write(body)
            rec.body_bytes += len(body)


def _pieces(block: bytes, size: int) -> Iterable[bytes]:
    for i in range(0, len(block), size):
        yield block[i:i + size]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up mid-answer is what the fault tests make happen."""

    def __init__(self, owner: LoopbackServer, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)


class LoopbackServer:
    """The test index server. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, *, ranges: bool = True, answer_json: bool = True, link_rate: float | None = None) -> None:
        self.resources: dict[str, _Resource] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.log: list[Record] = []
        self.bytes_sent = 0
        self.lock = threading.Lock()
        self.ranges = ranges
        self.answer_json = answer_json
        self.rate: float | None = None
        self.bucket = _Bucket(link_rate) if link_rate else None
        self.closing = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life
    def start(self) -> LoopbackServer:
        self._httpd = _Server(self, _Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- content
    def add(self, path: str, data: bytes | Path, content_type: str = "application/octet-stream",
            json_twin: bytes | None = None) -> None:
        digest = hashlib.sha256(path.encode() + (data if isinstance(data, bytes) else str(data).encode()))
        self.resources[path] = _Resource(data, content_type, json_twin, f'"{digest.hexdigest()[:16]}"')

    def fault(self, path: str, **kwargs: Any) -> Fault:
        f = Fault(**kwargs)
        self.faults.setdefault(path, []).append(f)
        return f

    def _take_fault(self, path: str, head: bool) -> Fault | None:
        with self.lock:
            for f in self.faults.get(path, []):
                if f.times == 0 or (f.method is not None and f.method != ("HEAD" if head else "GET")):
                    continue
                if head and f.status is None:
                    return None   # body faults do not affect HEAD
                if f.times > 0:
                    f.times -= 1
                return f
        return None

    def served(self, path: str, method: str = "GET") -> int:
        """Body bytes sent for ``path`` so far."""
        with self.lock:
            return sum(r.body_bytes for r in self.log if r.path == path and r.method == method)

    def requests_for(self, path: str) -> list[Record]:
        with self.lock:
            return [r for r in self.log if r.path == path]


# --------------------------------------------------------------------------- synthetic wheels


@dataclass
class SyntheticWheel:
    filename: str
    data: bytes
    metadata: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def project(self) -> str:
        return self.filename.split("-")[0].replace("_", "-").lower()

    def path(self, prefix: str) -> str:
        """The URL path the index links to (``+`` quoted as ``%2B``, like download.pytorch.org)."""
        return f"{prefix.rstrip('/')}/{quote(self.filename)}"


def make_wheel(name: str, version: str, tag: str = "py3-none-any", *, requires: Iterable[str] = (),
               requires_python: str | None = None, payload: int = 1024, seed: int = 0) -> SyntheticWheel:
    """A real (tiny) wheel: a zip with METADATA, WHEEL, RECORD and ``payload`` random bytes."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta_lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        meta_lines.append(f"Requires-Python: {requires_python}")
    meta_lines += [f"Requires-Dist: {r}" for r in requires]
    metadata = ("\n".join(meta_lines) + "\n").encode()
    wheel_txt = f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()
    blob = random.Random(f"{name}{version}{tag}{seed}").randbytes(payload)
    files = {f"{dist}/__init__.py": b"", f"{dist}/payload.bin": blob,
             f"{info}/METADATA": metadata, f"{info}/WHEEL": wheel_txt}
    record = io.StringIO()
    for path, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        record.write(f"{path},sha256={digest},{len(content)}\n")
    record.write(f"{info}/RECORD,,\n")
    files[f"{info}/RECORD"] = record.getvalue().encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for path, content in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), content)
    return SyntheticWheel(f"{dist}-{version}-{tag}.whl", buf.getvalue(), metadata)


@dataclass
class IndexOptions:
    hashes: bool = True
    metadata: bool = True
    requires_python: dict[str, str] = field(default_factory=dict)   # filename -> specifier
    json: bool = True
    absolute_hrefs: bool = True


#: The numpy every install adds (``flow.companion_requirements``); PyTorch's variant indexes mirror
#: it (../shared/research/torch-matrix.md, "Variant indexes also mirror the third-party
#: dependencies"), so a test index does too unless told otherwise.
NUMPY = (make_wheel("numpy", "1.26.4"), make_wheel("numpy", "2.2.6"))   # torch < 2.3.1 gets numpy<2


def publish(server: LoopbackServer, prefix: str, wheels: Iterable[SyntheticWheel],
            options: IndexOptions | None = None, flat_page: str | None = None, numpy: bool = True) -> None:
    """Serve ``wheels`` as a PEP 503 index at ``prefix`` (``/whl/cpu``): project pages, files,
    ``.metadata`` files, a PEP 691 JSON twin, and optionally a find-links page at ``flat_page``.

    A stand-in numpy is added when ``wheels`` hold none (``numpy=False``: a torch-only mirror)."""
    opts = options or IndexOptions()
    prefix = prefix.rstrip("/")
    wheels = list(wheels)
    if numpy and not any(w.project == "numpy" for w in wheels):
        wheels += NUMPY
    by_project: dict[str, list[SyntheticWheel]] = {}
    for w in wheels:
        by_project.setdefault(w.project, []).append(w)
        quoted = quote(w.filename)
        server.add(f"{prefix}/{quoted}", w.data)
        if opts.metadata:
            server.add(f"{prefix}/{quoted}.metadata", w.metadata)
    all_links: list[str] = []
    for project, items in by_project.items():
        links, files = [], []
        for w in items:
            href = f"{prefix}/{quote(w.filename)}" if opts.absolute_hrefs else f"../{quote(w.filename)}"
            if opts.hashes:
                href += f"#sha256={w.sha256}"
            attrs = ""
            meta_hash = hashlib.sha256(w.metadata).hexdigest()
            if opts.metadata:
                attrs += f' data-dist-info-metadata="sha256={meta_hash}" data-core-metadata="sha256={meta_hash}"'
            rp = opts.requires_python.get(w.filename)
            if rp:
                attrs += f' data-requires-python="{rp.replace(">", "&gt;").replace("<", "&lt;")}"'
            links.append(f'<a href="{href}"{attrs}>{w.filename}</a><br/>')
            entry: dict[str, Any] = {"filename": w.filename, "url": f"{prefix}/{quote(w.filename)}",
                                     "hashes": {"sha256": w.sha256} if opts.hashes else {}, "size": len(w.data)}
            if opts.metadata:
                entry["core-metadata"] = {"sha256": meta_hash}
            if rp:
                entry["requires-python"] = rp
            files.append(entry)
        page = f"<!DOCTYPE html>\n<html><body><h1>Links for {project}</h1>\n{''.join(links)}\n</body></html>\n"
        twin = json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": files}).encode() \
            if opts.json else None
        server.add(f"{prefix}/{project}/", page.encode(), "text/html", json_twin=twin)
        all_links += links
    root = "".join(f'<a href="{p}/">{p}</a><br/>' for p in by_project)
    server.add(f"{prefix}/", f"<html><body>{root}</body></html>".encode(), "text/html")
    if flat_page:
        server.add(flat_page, f"<html><body>{''.join(all_links)}</body></html>".encode(), "text/html")


# --------------------------------------------------------------------------- a forward proxy


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.seen.append(self.path)
        if owner.credentials is not None:
            want = "Basic " + base64.b64encode(f"{owner.credentials[0]}:{owner.credentials[1]}".encode()).decode()
            if self.headers.get("Proxy-Authorization") != want:
                body = b"proxy authentication required"
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="loopback-proxy"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return
        target = urlsplit(self.path)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-authorization", "proxy-connection", "connection", "host")}
        conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), headers=headers)
        resp = conn.getresponse()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            while True:
                block = resp.read(64 * 1024)
                if not block:
                    break
                self.wfile.write(block)
        conn.close()


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LoopbackProxy) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class LoopbackProxy:
    """A forward HTTP proxy on 127.0.0.1; ``credentials=(user, password)`` makes it demand 407 auth."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self._httpd = _ProxyServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> LoopbackProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def run_forever(prefix: str, wheels: list[SyntheticWheel], link_rate: float | None = None) -> None:  # pragma: no cover
    """``python -m tests.net.server``: serve a tiny index until killed (for poking by hand)."""
    with LoopbackServer(link_rate=link_rate) as server:
        publish(server, prefix, wheels)
        print(server.url(prefix + "/"), flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    run_forever("/whl/cpu", [make_wheel("demo", "1.0+cpu", payload=int(os.environ.get("SIZE", "1000000")))])
