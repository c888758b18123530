"""Resumable, verified, cancellable downloads with progress.

How a file travels:

1. It is downloaded into the cache (:func:`default_cache_dir`) as ``<name>.part`` with a small
   JSON sidecar ``<name>.part.json`` saying what it is (url, sha256, size, etag) and how far each
   range got, so a restarted process resumes instead of starting over.
2. Dropped connections, timeouts and 5xx answers are retried with exponential backoff, each retry
   resuming with an HTTP ``Range`` request (``If-Range`` with the ETag, so a file that changed on
   the server restarts from zero instead of being spliced).
3. Large files are fetched as several ranges in parallel when the server says
   ``Accept-Ranges: bytes``; several files are fetched in parallel.
4. The finished ``.part`` is checked against the index's sha256 (or, when the index gave none,
   against the expected size: the same check pip can make without a hash). A mismatch deletes it
   and downloads once more from zero; a second mismatch is an error in words.
5. Only a verified file is moved into place with ``os.replace``, then hard-linked (or copied to a
   temporary name and renamed) into the destination: no unverified file ever sits where a
   finished one would.

Cancelling (a ``threading.Event``) stops at the next chunk and keeps the ``.part`` for later.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from wizard.core import messages as M
from wizard.core import paths
from wizard.core.errors import Cancelled, WizardError
from wizard.core.fetch.net import NetworkError, check_response, classify_error, make_session, redact_url
from wizard.core.text import T
from wizard.core.units import format_bytes as format_bytes  # re-exported: callers of the downloader use it
from wizard.core.units import format_duration

# done, total (0 when unknown), rate in bytes/s, eta in seconds (None when unknown). Python ints
# are unbounded; a Qt receiver must use qlonglong (ARCHITECTURE.md: Signal(int) overflows at 2 GiB).
ProgressCallback = Callable[[int, int, float, "float | None"], None]
#: Per file: (index in the batch, done, total, bytes/s, seconds left or None).
FileProgressCallback = Callable[[int, int, int, float, "float | None"], None]

CACHE_ENV = paths.CACHE_DIR_ENV
# A response slower than this over a whole window is cut, as curl's --speed-limit/--speed-time do
# (https://curl.se/docs/manpage.html#-Y): the read timeout alone never fires for a server that
# trickles a byte every few seconds. 1 KB/s over 60 s cuts nothing useful: a 2.5 GB wheel at that
# rate would take a month. The cut counts as a try without progress, so a trickle ends in words.
MIN_RATE_BPS = 1000.0
RATE_WINDOW_S = 60.0
_SIDECAR_SCHEMA = "download-part/1"
MiB = 1024 * 1024
# The resume record (sidecar) is written after every SAVE_EVERY_BYTES received or every
# SAVE_EVERY_S, whichever comes first, but never more often than SAVE_MIN_GAP_S (each write is a
# small fsynced file). By time alone it lagged up to 0.5 s of transfer: 10% of a file re-fetched
# after a kill at 4 x 40 MB/s (issue 16); by bytes a kill costs at most about 2 MiB per file at
# up to 100 MB/s, and 0.02 s of transfer beyond that.
SAVE_EVERY_BYTES = 2 * MiB
SAVE_EVERY_S = 0.5
SAVE_MIN_GAP_S = 0.02


def default_cache_dir() -> Path:
    """``$TORCH_GPU_SETUP_CACHE_DIR`` or the platform user cache dir + ``downloads``."""
    override = os.environ.get(CACHE_ENV, "").strip()
    return Path(override) if override else paths.cache_dir() / "downloads"


def free_bytes(path: Path) -> int:
    """Free space on the filesystem holding ``path`` (its nearest existing parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


@dataclass(frozen=True)
class DownloadItem:
    """One file to fetch: where from, what it must be."""

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None


class DownloadCancelled(Cancelled):
    """The user cancelled; the ``.part`` file was kept and the next run resumes it."""


class ChecksumMismatch(WizardError):
    """The file was downloaded twice and both times was not the file the index described."""


class DiskFull(WizardError):
    """Not enough free space to finish (checked before starting, and on ENOSPC while writing)."""


class _Progress:
    """Thread-safe byte counter with a sliding-window rate, throttled callbacks."""

    def __init__(self, callback: ProgressCallback | None, total: int, interval: float = 0.2) -> None:
        self.callback = callback
        self.total = total
        self.done = 0
        self.network_bytes = 0
        self.lock = threading.Lock()
        self.samples: deque[tuple[float, int]] = deque()
        self.interval = interval
        self.last_call = 0.0

    def add(self, n: int, *, network: bool = True) -> None:
        with self.lock:
            self.done += n
            if network:
                self.network_bytes += n
            now = time.monotonic()
            self.samples.append((now, self.network_bytes))
            while len(self.samples) > 2 and now - self.samples[0][0] > 3.0:  # a 3 s window
                self.samples.popleft()
            due = now - self.last_call >= self.interval
            if due:
                self.last_call = now
        if due:
            self.emit()

    def rate(self) -> float:
        with self.lock:
            if len(self.samples) < 2:
                return 0.0
            (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def emit(self) -> None:
        if self.callback is None:
            return
        rate = self.rate()
        with self.lock:
            done, total = self.done, self.total
        eta: float | None = None
        if rate > 0 and total > done:
            eta = (total - done) / rate
        elif total and done >= total:
            eta = 0.0
        self.callback(done, total, rate, eta)


class _FileTracker:
    """One file's bytes: counted for the batch and, when asked, for the file alone."""

    def __init__(self, batch: _Progress, own: _Progress | None) -> None:
        self.batch = batch
        self.own = own

    def add(self, n: int, *, network: bool = True) -> None:
        self.batch.add(n, network=network)
        if self.own is not None:
            self.own.add(n, network=network)

    def emit(self) -> None:
        if self.own is not None:
            self.own.emit()


class _Part:
    """The ``.part`` file, its sidecar, and the ranges still to fetch."""

    def __init__(self, item: DownloadItem, entry: Path) -> None:
        self.item = item
        self.path = entry / f"{item.filename}.part"
        self.sidecar = entry / f"{item.filename}.part.json"
        self.lock = threading.Lock()
        self.etag: str | None = None
        self.size: int | None = item.size
        self.segments: list[list[int]] = []   # [start, end (exclusive, -1 = unknown), done]
        self.last_saved = 0.0
        self.saved_bytes = 0   # done_bytes() when the sidecar was last written

    def save_due(self, now: float | None = None) -> bool:
        """Whether the resume record lags enough to be written (by bytes or by time)."""
        now = time.monotonic() if now is None else now
        since = now - self.last_saved
        return since >= SAVE_EVERY_S or (
            since >= SAVE_MIN_GAP_S and self.done_bytes() - self.saved_bytes >= SAVE_EVERY_BYTES)

    def load(self, discard: bool = True) -> bool:
        """Resume state from a previous run; False (and files removed) when it does not match.

        ``discard=False`` only reads (the space check, made without the entry's lock: another
        process may be writing that part right now).
        """
        try:
            state = json.loads(self.sidecar.read_text(encoding="utf-8"))
            ok = (state.get("schema") == _SIDECAR_SCHEMA and self.path.exists()
                  and (state.get("url") == self.item.url
                       or (self.item.sha256 and state.get("sha256") == self.item.sha256))
                  and (self.item.size is None or state.get("size") in (None, self.item.size)))
            segments = [[int(a), int(b), int(c)] for a, b, c in state.get("segments", [])]
        except (OSError, ValueError, TypeError, AttributeError, RecursionError):
            ok, segments = False, []
        if not ok or not segments:
            if discard:
                self.discard()
            return False
        self.etag = state.get("etag")
        self.size = state.get("size") or self.item.size
        if len(segments) == 1:
            # One stream appends in order: what is on disk is the truth (the sidecar may lag it).
            segments[0][2] = self.path.stat().st_size - segments[0][0]
            if segments[0][1] >= 0:
                segments[0][2] = min(segments[0][2], segments[0][1] - segments[0][0])
        self.segments = segments
        return True

    def discard(self) -> None:
        for p in (self.path, self.sidecar):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self.segments = []
        self.etag = None

    def done_bytes(self) -> int:
        return sum(s[2] for s in self.segments)

    def save(self, force: bool = False) -> None:
        """Write the sidecar (after the data it describes was flushed by the caller)."""
        now = time.monotonic()
        with self.lock:
            if not force and not self.save_due(now):
                return
            self.last_saved = now
            self.saved_bytes = self.done_bytes()
            state = {"schema": _SIDECAR_SCHEMA, "url": self.item.url, "sha256": self.item.sha256,
                     "size": self.size, "etag": self.etag, "segments": [list(s) for s in self.segments]}
            try:
                paths.atomic_write_text(self.sidecar, json.dumps(state))
            except OSError as exc:
                raise _write_error(exc, self.sidecar) from None


class _RestartFromZero(Exception):
    """The server ignored our Range or the file changed: the part must start over."""


class _WrongSize(Exception):
    """The server's file is not the size the index announced."""

    def __init__(self, actual: int) -> None:
        super().__init__(actual)
        self.actual = actual


class Downloader:
    """Fetches files into a cache and places verified copies in a destination folder.

    ``free_space`` is injectable (tests simulate a full disk without filling one). ``segments``
    is the most parallel ranges per file; files smaller than ``2 * min_segment`` use one stream.
    """

    def __init__(self, session: requests.Session | None = None, cache_dir: Path | None = None, *,
                 workers: int = 3, segments: int = 4, min_segment: int = 32 * MiB,
                 max_attempts: int = 6, backoff: float = 0.5, max_backoff: float = 10.0,
                 chunk_size: int = 256 * 1024, free_space: Callable[[Path], int] = free_bytes,
                 min_rate: float = MIN_RATE_BPS, rate_window_s: float = RATE_WINDOW_S) -> None:
        self.session = session or make_session()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.workers = max(1, workers)
        self.segments = max(1, segments)
        self.min_segment = max(1, min_segment)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.chunk_size = chunk_size
        self.min_rate = min_rate
        self.rate_window_s = rate_window_s
        self.free_space = free_space
        self.network_bytes = 0   # bytes received from the network by the last fetch_all

    # ------------------------------------------------------------------ public

    def entry_dir(self, item: DownloadItem) -> Path:
        """The cache folder for one file: keyed by its sha256, else by its URL."""
        key = item.sha256 or hashlib.sha256(item.url.encode("utf-8")).hexdigest()
        return self.cache_dir / key[:2] / key

    def cached_path(self, item: DownloadItem) -> Path:
        """Where the verified file lives in the cache."""
        return self.entry_dir(item) / item.filename

    def fetch(self, item: DownloadItem, dest_dir: Path, progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None, extra_bytes: int = 0) -> Path:
        """Download one file into ``dest_dir``; see :meth:`fetch_all`."""
        return self.fetch_all([item], dest_dir, progress, cancel, extra_bytes)[0]

    def fetch_all(self, items: Sequence[DownloadItem], dest_dir: Path,
                  progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                  extra_bytes: int = 0, on_file: FileProgressCallback | None = None) -> list[Path]:
        """Download every item (in parallel), verify each, and place it in ``dest_dir``.

        ``extra_bytes`` is space needed besides the downloads (the unpacked install), included
        in the disk-space check made before anything starts. ``progress`` gets the batch's bytes,
        ``on_file`` each file's (a face that shows one row per file). Returns the destination paths.
        """
        cancel = cancel or threading.Event()
        dest_dir = Path(dest_dir)
        names = [i.filename for i in items]
        if len(set(names)) != len(names):
            raise WizardError("two downloads have the same file name", hint="this is a bug; please report it",
                              details=", ".join(names))
        for i in items:
            if "/" in i.filename or "\\" in i.filename or i.filename in ("", ".", ".."):
                raise WizardError(f"refusing to download to the unsafe file name '{i.filename}'")
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WizardError(f"cannot create {exc.filename}: {exc.strerror}",
                              hint="choose a folder you can write to") from None
        left = self._check_space(items, dest_dir, extra_bytes)
        remaining = sum(left)
        total = sum(i.size or 0 for i in items)
        tracker = _Progress(progress, total)
        tracker.add(total - remaining if total else 0, network=False)
        trackers: list[_FileTracker] = []
        for k, (item, todo) in enumerate(zip(items, left, strict=True)):
            own = None
            if on_file is not None:
                own = _Progress(lambda d, t, r, e, k=k: on_file(k, d, t, r, e), item.size or 0)  # type: ignore[misc]
                own.add(max(0, (item.size or 0) - todo), network=False)
            trackers.append(_FileTracker(tracker, own))
        results: dict[str, Path] = {}
        errors: list[BaseException] = []
        stop = threading.Event()

        def one(k: int) -> None:
            item = items[k]
            try:
                results[item.filename] = self._fetch_one(item, dest_dir, trackers[k], cancel, stop)
                trackers[k].emit()
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(items)))) as pool:
            list(pool.map(one, range(len(items))))
        self.network_bytes = tracker.network_bytes
        tracker.emit()
        if errors:
            raise _first_error(errors, cancel)
        return [results[i.filename] for i in items]

    # ------------------------------------------------------------------ one file

    def _check_space(self, items: Sequence[DownloadItem], dest_dir: Path, extra_bytes: int) -> list[int]:
        """Bytes still to download per item (cached or partly downloaded files count less)."""
        left: list[int] = []
        for item in items:
            if self.cached_path(item).exists():
                left.append(0)
                continue
            part = _Part(item, self.entry_dir(item))
            try:
                have = part.done_bytes() if part.load(discard=False) else 0
            except OSError:
                have = 0   # it changed under us (another fetch finished it): counted as to do
            left.append(max(0, (item.size or 0) - have))
        remaining = sum(left)
        need = remaining + max(0, extra_bytes)
        free = self.free_space(self.cache_dir)
        if need > free:
            raise DiskFull(
                f"not enough disk space: {format_bytes(need)} needed in {self.cache_dir}, "
                f"{format_bytes(free)} free",
                hint="free some space or set TORCH_GPU_SETUP_CACHE_DIR to a bigger disk; "
                     "nothing was downloaded",
            )
        with contextlib.suppress(OSError):
            if os.stat(dest_dir).st_dev != os.stat(self.cache_dir).st_dev:
                # Another filesystem: the finished files are copied, not linked, so DEST needs room too.
                dest_need = sum(i.size or 0 for i in items)
                dest_free = self.free_space(dest_dir)
                if dest_need > dest_free:
                    raise DiskFull(
                        f"not enough disk space: {format_bytes(dest_need)} needed in {dest_dir}, "
                        f"{format_bytes(dest_free)} free", hint="choose another destination folder")
        return left

    def _verify(self, path: Path, item: DownloadItem) -> str | None:
        """None when ``path`` is the file ``item`` describes, else what is wrong (in words)."""
        size = path.stat().st_size
        if item.size is not None and size != item.size:
            return f"{size} bytes instead of {item.size}"
        if item.sha256:
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(4 * MiB), b""):
                    h.update(block)
            if h.hexdigest() != item.sha256.lower():
                return f"sha256 {h.hexdigest()} instead of {item.sha256.lower()}"
        return None

    def _fetch_one(self, item: DownloadItem, dest_dir: Path, tracker: _FileTracker,
                   cancel: threading.Event, stop: threading.Event) -> Path:
        entry = self.entry_dir(item)
        try:
            entry.mkdir(parents=True, exist_ok=True)
            # One download per cache entry at a time: a second process (or thread) sharing the
            # cache waits here, then finds the verified file instead of writing the same .part.
            with _EntryLock(entry / ".lock", cancel, item.filename):
                return self._fetch_locked(item, entry, dest_dir, tracker, cancel, stop)
        except requests.RequestException as exc:   # an OSError too: the network's, not the disk's
            raise classify_error(exc, item.url) from None
        except OSError as exc:
            raise _write_error(exc, Path(exc.filename) if exc.filename else entry) from None

    def _fetch_locked(self, item: DownloadItem, entry: Path, dest_dir: Path, tracker: _FileTracker,
                      cancel: threading.Event, stop: threading.Event) -> Path:
        final = entry / item.filename
        if final.exists() and self._verify(final, item) is not None:
            final.unlink()   # a cache entry that no longer checks out is never used
        if not final.exists():
            for round_no in (1, 2):
                part = _Part(item, entry)
                resumed = part.load()
                try:
                    self._download(part, tracker, cancel, stop, resumed)
                    problem = self._verify(part.path, item)
                except _WrongSize as exc:
                    problem = f"{exc.actual} bytes instead of {item.size}"
                if problem is None:
                    os.replace(part.path, final)
                    with contextlib.suppress(FileNotFoundError):
                        part.sidecar.unlink()
                    break
                tracker.add(-part.done_bytes(), network=False)
                part.discard()
                if round_no == 2:
                    raise ChecksumMismatch(
                        f"checksum mismatch: {item.filename} was downloaded twice and both times had "
                        f"{problem}; it was deleted and not installed",
                        hint="the server or a proxy is altering the file; try another mirror or network",
                        details=redact_url(item.url),
                    )
        return self._place(final, dest_dir / item.filename)

    @staticmethod
    def _place(src: Path, dest: Path) -> Path:
        """Put the verified ``src`` at ``dest`` atomically (hard link, else copy + rename)."""
        with contextlib.suppress(OSError):
            if dest.exists() and os.path.samefile(src, dest):
                return dest
        try:
            paths.atomic_link_or_copy(src, dest)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(f"the disk holding {dest.parent} is full", hint="free some space") from None
            raise WizardError(f"cannot write {dest}: {exc.strerror}",
                              hint="choose a folder you can write to") from None
        return dest

    # ------------------------------------------------------------------ the bytes

    def _probe(self, part: _Part) -> bool:
        """HEAD the file: fills size/etag; True when the server accepts byte ranges."""
        try:
            resp = self.session.head(part.item.url, allow_redirects=True)
        except requests.RequestException:
            return False  # the GET will report the real problem with its own retries
        if resp.status_code >= 400:
            return False
        length = resp.headers.get("Content-Length", "")
        if part.size is None and length.isdigit():
            part.size = int(length)
        etag = resp.headers.get("ETag")
        part.etag = etag if etag and not etag.startswith("W/") else None  # If-Range needs a strong ETag
        return resp.headers.get("Accept-Ranges", "").lower() == "bytes"

    def _plan_segments(self, part: _Part, ranges_ok: bool) -> None:
        size = part.size
        try:
            if size and ranges_ok and self.segments > 1 and size >= 2 * self.min_segment:
                n = min(self.segments, size // self.min_segment)
                bounds = [size * k // n for k in range(n + 1)]
                part.segments = [[bounds[k], bounds[k + 1], 0] for k in range(n)]
                with part.path.open("wb") as f:
                    f.truncate(size)
            else:
                part.segments = [[0, size if size else -1, 0]]
                part.path.write_bytes(b"")
        except OSError as exc:
            raise _write_error(exc, part.path) from None
        part.save(force=True)

    def _download(self, part: _Part, tracker: _FileTracker, cancel: threading.Event, stop: threading.Event,
                  resumed: bool) -> None:
        if not resumed:
            self._plan_segments(part, self._probe(part))
        for _ in range(3):
            try:
                self._run_segments(part, tracker, cancel, stop)
                return
            except _RestartFromZero:
                tracker.add(-part.done_bytes(), network=False)
                part.discard()
                self._plan_segments(part, False)
        raise NetworkError("connection", f"the server keeps changing {part.item.filename} while it downloads",
                           hint="try again later or use another mirror")

    def _run_segments(self, part: _Part, tracker: _FileTracker, cancel: threading.Event,
                      stop: threading.Event) -> None:
        todo = [k for k, s in enumerate(part.segments) if s[1] < 0 or s[2] < s[1] - s[0]]
        if len(todo) <= 1:
            for k in todo:
                self._segment(part, k, tracker, cancel, stop)
            part.save(force=True)
            return
        errors: list[BaseException] = []
        local_stop = threading.Event()

        def run(k: int) -> None:
            try:
                self._segment(part, k, tracker, cancel, local_stop)
            except BaseException as exc:
                errors.append(exc)
                local_stop.set()

        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in todo]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            if stop.is_set():
                local_stop.set()
            for t in threads:
                t.join(timeout=0.1)
        part.save(force=True)
        if errors:
            raise _first_error(errors, cancel)

    def _segment(self, part: _Part, k: int, tracker: _FileTracker, cancel: threading.Event,
                 stop: threading.Event) -> None:
        """Fetch one range to its end, resuming after every failure, with backoff."""
        seg = part.segments[k]
        failures = 0
        single = len(part.segments) == 1
        while True:
            start, end, done = seg
            pos = start + done
            if end >= 0 and pos >= end:
                return
            self._check_stop(part, cancel, stop)
            headers = {"Range": f"bytes={pos}-{end - 1}" if end >= 0 else f"bytes={pos}-",
                       "Accept-Encoding": "identity"}
            if part.etag and pos > 0:
                headers["If-Range"] = part.etag
            progressed = False
            try:
                with self.session.get(part.item.url, headers=headers, stream=True) as resp:
                    progressed = self._receive(part, seg, resp, pos, single, tracker, cancel, stop)
                if seg[1] < 0:
                    return  # unknown length: a clean end of the body is the end of the file
                if seg[2] >= seg[1] - seg[0]:
                    return
                # The body ended early without an error: resume (and count it if nothing came).
                error: WizardError = NetworkError(
                    "connection", f"the connection for {part.item.filename} closed early",
                    hint="downloads resume where they stopped")
            except (DownloadCancelled, _RestartFromZero, DiskFull):
                raise
            except NetworkError as exc:
                if exc.status is not None and exc.status < 500 and exc.status != 429:
                    raise   # 404, 403, 407 ...: retrying cannot help
                error = exc
                # a trickle cut for being too slow is a try without progress, whatever it brought
                progressed = exc.kind != "too-slow" and (progressed or seg[2] > done)
            except (requests.RequestException, OSError) as exc:
                error = classify_error(exc, part.item.url)
                progressed = seg[2] > done
            failures = 0 if progressed else failures + 1
            if failures >= self.max_attempts:
                error.hint = (f"gave up after {failures} tries without progress; the partial download is "
                              "kept and the next run resumes it")
                raise error
            if failures == 0:
                continue  # bytes were flowing until the cut: resume at once, as pip 25+ does
            delay = min(self.max_backoff, self.backoff * (2 ** (failures - 1)))
            if cancel.wait(delay):
                self._check_stop(part, cancel, stop)

    @staticmethod
    def _expected(part: _Part) -> int | None:
        return part.item.size

    def _check_stop(self, part: _Part, cancel: threading.Event, stop: threading.Event) -> None:
        if cancel.is_set() or stop.is_set():
            part.save(force=True)
            raise DownloadCancelled(f"download of {part.item.filename} cancelled",
                                    hint="the partial file is kept; run the same command again to resume")

    def _receive(self, part: _Part, seg: list[int], resp: requests.Response, pos: int, single: bool,
                 tracker: _FileTracker, cancel: threading.Event, stop: threading.Event) -> bool:
        """Write one response body into the part file at ``pos``; True when bytes arrived."""
        status = resp.status_code
        if status == 416 and pos > 0:
            raise _RestartFromZero()
        check_response(resp, part.item.filename)
        if status == 200 and pos > 0:
            # The server ignored the Range (or If-Range said the file changed): start over.
            if not single:
                raise _RestartFromZero()
            tracker.add(-seg[2], network=False)
            seg[2] = 0
            pos = 0
        elif status == 206:
            crange = resp.headers.get("Content-Range", "")
            if not crange.startswith(f"bytes {pos}-"):
                raise _RestartFromZero()
            total = crange.rsplit("/", 1)[-1]
            if total.isdigit():
                if self._expected(part) not in (None, int(total)):
                    raise _WrongSize(int(total))
                part.size = part.size or int(total)
        length = resp.headers.get("Content-Length", "")
        if status == 200 and length.isdigit() and self._expected(part) not in (None, int(length)):
            raise _WrongSize(int(length))
        if status == 200 and part.size is None and length.isdigit():
            part.size = int(length)
            if single and seg[1] < 0:
                seg[1] = part.size
        etag = resp.headers.get("ETag")
        if etag and not etag.startswith("W/") and part.etag is None:
            part.etag = etag
        limit = seg[1] - seg[0] if seg[1] >= 0 else None
        got_any = False
        window_start, window_bytes = time.monotonic(), 0
        try:
            # Unbuffered: every byte counted in the sidecar has already reached the OS, so a killed
            # process never leaves a sidecar claiming bytes that were still in a Python buffer.
            with part.path.open("r+b", buffering=0) as f:
                f.seek(pos)
                if single and status == 200:
                    f.truncate(0)
                for chunk in _body(resp, self.chunk_size):
                    if cancel.is_set() or stop.is_set():
                        self._check_stop(part, cancel, stop)
                    if not chunk:
                        continue
                    if limit is not None and seg[2] + len(chunk) > limit:
                        chunk = chunk[: limit - seg[2]]   # never write past our range
                    view = memoryview(chunk)
                    while view:
                        view = view[f.write(view) or 0:]
                    seg[2] += len(chunk)
                    got_any = True
                    tracker.add(len(chunk))
                    window_bytes += len(chunk)
                    now = time.monotonic()
                    if now - window_start >= self.rate_window_s:
                        if window_bytes < self.min_rate * (now - window_start):
                            part.save(force=True)
                            raise NetworkError(
                                "too-slow", T(M.NET_TOO_SLOW, what=f"{part.item.filename} ",
                                              host=urlsplit(part.item.url).hostname or "",
                                              received=format_bytes(window_bytes), seconds=f"{now - window_start:.0f}"),
                                hint=T(M.NET_TOO_SLOW_HINT), details=redact_url(part.item.url))
                        window_start, window_bytes = now, 0
                    if part.save_due():
                        part.save()   # after the data it describes was written
                    if limit is not None and seg[2] >= limit:
                        break
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                with contextlib.suppress(WizardError):
                    part.save(force=True)   # the disk may be too full for the sidecar too
                raise DiskFull(f"the disk holding {part.path.parent} is full",
                               hint="free some space and run again; the download resumes") from None
            raise
        part.save()
        return got_any


def _write_error(exc: OSError, path: Path) -> WizardError:
    """A failed write in words: a full disk (:class:`DiskFull`), else which file could not be written."""
    if exc.errno == errno.ENOSPC:
        return DiskFull(f"the disk holding {path.parent} is full",
                        hint="free some space (or set TORCH_GPU_SETUP_CACHE_DIR to a bigger disk) and run again; "
                             "the download resumes")
    return WizardError(f"cannot write {path}: {exc.strerror or exc}",
                       hint="check that the folder exists and that you may write there, or set "
                            "TORCH_GPU_SETUP_CACHE_DIR to another folder")


class _EntryLock:
    """An exclusive lock on one cache entry, shared by every process using the cache.

    ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows: both are released by the OS when the
    holder dies, so a killed fetch never leaves the entry locked. Waiting polls, so a cancel
    still stops a fetch that waits for another one.
    """

    POLL_S = 0.1

    def __init__(self, path: Path, cancel: threading.Event, filename: str) -> None:
        self.path = path
        self.cancel = cancel
        self.filename = filename
        self.fd: int | None = None

    def __enter__(self) -> _EntryLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while not _try_lock(fd):
                if self.cancel.wait(self.POLL_S):
                    raise DownloadCancelled(f"download of {self.filename} cancelled",
                                            hint="run the same command again to resume")
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = None


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False when another holder has it."""
    if sys.platform == "win32":   # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":   # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _body(resp: requests.Response, size: int) -> Iterator[bytes]:
    """The response body as it arrives.

    ``iter_content`` fills a whole chunk before yielding it, so a connection cut mid-chunk loses
    up to a chunk of bytes that did arrive; ``read1`` hands over whatever each read returned, so a
    resume starts exactly where the bytes stopped.
    """
    read1 = getattr(resp.raw, "read1", None)
    if read1 is None:   # pragma: no cover - urllib3 < 2
        yield from resp.iter_content(size)
        return
    while True:
        try:
            block = read1(size)
        except urllib3.exceptions.HTTPError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        if not block:
            return
        yield block


def _first_error(errors: list[BaseException], cancel: threading.Event) -> BaseException:
    """The error to report: the user's cancel if they cancelled, else the first real failure."""
    cancelled = [e for e in errors if isinstance(e, DownloadCancelled)]
    real = [e for e in errors if not isinstance(e, DownloadCancelled)]
    if cancel.is_set() and cancelled:
        return cancelled[0]
    return real[0] if real else errors[0]


def describe_progress(done: int, total: int, rate: float, eta: float | None) -> str:
    """``120.5 MB / 2.3 GB  11.2 MB/s  ETA 3:12`` for a terminal line."""
    parts = [f"{format_bytes(done)} / {format_bytes(total)}" if total else format_bytes(done)]
    if rate > 0:
        parts.append(f"{format_bytes(rate)}/s")
    if eta is not None and total:
        parts.append(f"ETA {format_duration(eta)}")
    return "  ".join(parts)


def as_json(item: DownloadItem) -> dict[str, Any]:
    """An item as plain JSON (for reports and ``--json`` outputs)."""
    return {"url": redact_url(item.url), "filename": item.filename, "sha256": item.sha256, "size": item.size}
