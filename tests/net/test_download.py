"""The downloader against a real loopback server with faults: resume, verify, cancel, disk, retries."""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from pathlib import Path

import pytest

from tests.net.server import LoopbackServer
from wizard.core.fetch.download import ChecksumMismatch, DiskFull, DownloadCancelled, Downloader, DownloadItem
from wizard.core.fetch.net import NetConfig, NetworkError, make_session

SIZE = 2_000_000
DATA = random.Random(7).randbytes(SIZE)
SHA = hashlib.sha256(DATA).hexdigest()
PATH = "/files/big.whl"


def _item(server: LoopbackServer, sha: str | None = SHA, size: int | None = SIZE) -> DownloadItem:
    return DownloadItem(url=server.url(PATH), filename="big.whl", sha256=sha, size=size)


def _downloader(tmp_path: Path, **kw: object) -> Downloader:
    opts: dict = {"cache_dir": tmp_path / "cache", "segments": 1, "backoff": 0.01, "max_backoff": 0.05}
    opts.update(kw)
    session = make_session(NetConfig(timeout=(2.0, float(opts.pop("read_timeout", 5.0)))))  # type: ignore[arg-type]
    return Downloader(session, **opts)  # type: ignore[arg-type]


def test_resume_after_a_cut_transfers_well_under_twice_the_file(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, cut_after=SIZE // 2)
    dest = tmp_path / "dest"
    got = _downloader(tmp_path).fetch(_item(server), dest)
    assert got.read_bytes() == DATA
    assert server.served(PATH) < 1.1 * SIZE
    gets = [r for r in server.requests_for(PATH) if r.method == "GET"]
    assert len(gets) == 2 and gets[1].headers["Range"].startswith(f"bytes={SIZE // 2}-")


def test_a_cut_after_progress_resumes_at_once(server: LoopbackServer, tmp_path: Path) -> None:
    """Backoff is for a server that sends nothing; a link that was flowing resumes without waiting."""
    server.add(PATH, DATA)
    server.fault(PATH, cut_after=SIZE // 2)
    downloader = _downloader(tmp_path, backoff=30.0, max_backoff=60.0)  # would dominate if applied here
    started = time.monotonic()
    got = downloader.fetch(_item(server), tmp_path / "dest")
    assert got.read_bytes() == DATA
    assert time.monotonic() - started < 10


def test_parallel_ranges_for_a_large_file(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, cut_after=100_000)          # one of the ranges is cut too
    got = _downloader(tmp_path, segments=4, min_segment=256 * 1024).fetch(_item(server), tmp_path / "d")
    assert got.read_bytes() == DATA
    ranges = {r.headers.get("Range") for r in server.requests_for(PATH) if r.method == "GET"}
    assert {"bytes=0-499999", "bytes=500000-999999", "bytes=1000000-1499999", "bytes=1500000-1999999"} <= ranges
    assert server.served(PATH) < 1.1 * SIZE


def test_server_that_ignores_range_restarts_from_zero_and_still_verifies(tmp_path: Path) -> None:
    with LoopbackServer(ranges=False) as server:
        server.add(PATH, DATA)
        server.fault(PATH, cut_after=SIZE // 3)
        got = _downloader(tmp_path, segments=4, min_segment=256 * 1024).fetch(_item(server), tmp_path / "d")
        assert got.read_bytes() == DATA


def test_500_then_success(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, status=500, times=2)
    got = _downloader(tmp_path).fetch(_item(server), tmp_path / "d")
    assert got.read_bytes() == DATA


def test_wrong_bytes_once_are_deleted_and_downloaded_again(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, wrong_bytes=True, times=1)
    got = _downloader(tmp_path).fetch(_item(server), tmp_path / "d")
    assert got.read_bytes() == DATA


def test_checksum_mismatch_never_lands_in_dest(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, wrong_bytes=True, times=-1)
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumMismatch, match=r"checksum mismatch: big\.whl was downloaded twice"):
        _downloader(tmp_path).fetch(_item(server), dest)
    assert list(dest.iterdir()) == []
    # no part, no sidecar, no file (only the entry's empty lock file, kept: removing it would race)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name != ".lock"]
    assert len([r for r in server.requests_for(PATH) if r.method == "GET"]) == 2


def test_no_hash_is_checked_by_size(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA[: SIZE - 10])          # truncated upstream, and the index has no hash
    with pytest.raises(ChecksumMismatch, match=re.escape(f"{SIZE - 10} bytes instead of {SIZE}")):
        _downloader(tmp_path).fetch(_item(server, sha=None), tmp_path / "d")


def test_cancel_keeps_a_resumable_part(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.add(PATH, DATA)
        server.rate = 2_000_000.0                  # 1 s for the file
        cancel = threading.Event()
        seen: list[int] = []

        def progress(done: int, total: int, rate: float, eta: float | None) -> None:
            seen.append(done)
            if done > SIZE // 4:
                cancel.set()

        dl = _downloader(tmp_path)
        with pytest.raises(DownloadCancelled, match="cancelled"):
            dl.fetch(_item(server), tmp_path / "d", progress=progress, cancel=cancel)
        part = dl.entry_dir(_item(server)) / "big.whl.part"
        side = json.loads((part.parent / "big.whl.part.json").read_text())
        assert part.stat().st_size > 0 and side["url"] == server.url(PATH) and side["sha256"] == SHA
        assert not (tmp_path / "d" / "big.whl").exists()
        server.rate = None
        before, partial = server.served(PATH), part.stat().st_size
        got = _downloader(tmp_path).fetch(_item(server), tmp_path / "d")
        assert got.read_bytes() == DATA
        # Resumed where it stopped (the old connection may still push one 16 KB piece into a socket).
        assert SIZE - partial <= server.served(PATH) - before <= SIZE - partial + 64 * 1024
        assert not part.exists()
        assert seen == sorted(seen)


def test_full_disk_is_refused_before_any_byte(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    dl = _downloader(tmp_path, free_space=lambda path: SIZE - 1)
    with pytest.raises(DiskFull, match="not enough disk space"):
        dl.fetch(_item(server), tmp_path / "d")
    assert server.log == []


def test_unpacked_size_counts_in_the_disk_check(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    dl = _downloader(tmp_path, free_space=lambda path: SIZE + 1000)
    with pytest.raises(DiskFull):
        dl.fetch(_item(server), tmp_path / "d", extra_bytes=2 * SIZE)


def test_404_fails_at_once_with_words(server: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"not found at the index \(404\)") as err:
        _downloader(tmp_path).fetch(_item(server), tmp_path / "d")
    assert err.value.kind == "not-found"
    assert len([r for r in server.log if r.method == "GET"]) == 1


def test_stalled_response_times_out_and_resumes(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    server.fault(PATH, stall=3.0)
    start = time.monotonic()
    got = _downloader(tmp_path, read_timeout=0.5).fetch(_item(server), tmp_path / "d")
    assert got.read_bytes() == DATA and time.monotonic() - start < 3.0


def test_progress_reports_64_bit_totals_and_ends_at_total(server: LoopbackServer, tmp_path: Path) -> None:
    server.add(PATH, DATA)
    calls: list[tuple[int, int, float, float | None]] = []
    _downloader(tmp_path).fetch(_item(server), tmp_path / "d", progress=lambda *a: calls.append(a))
    assert calls[-1][0] == calls[-1][1] == SIZE


def test_several_files_in_parallel_and_cache_reuse(server: LoopbackServer, tmp_path: Path) -> None:
    items = []
    for k in range(3):
        blob = random.Random(k).randbytes(300_000)
        server.add(f"/files/f{k}.whl", blob)
        items.append(DownloadItem(server.url(f"/files/f{k}.whl"), f"f{k}.whl",
                                  hashlib.sha256(blob).hexdigest(), len(blob)))
    paths = _downloader(tmp_path, workers=3).fetch_all(items, tmp_path / "a")
    assert [p.name for p in paths] == ["f0.whl", "f1.whl", "f2.whl"]
    served = server.bytes_sent
    again = _downloader(tmp_path).fetch_all(items, tmp_path / "b")        # from the cache: no bytes
    assert server.bytes_sent == served and all(p.exists() for p in again)
