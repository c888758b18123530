"""The resume record is written by bytes as well as by time (issue 16): a kill re-fetches at most
about SAVE_EVERY_BYTES per file, however fast the link."""

from __future__ import annotations

import json
import time
from pathlib import Path

from wizard.core.fetch import download
from wizard.core.fetch.download import SAVE_EVERY_BYTES, SAVE_MIN_GAP_S, DownloadItem, _Part


def _recorded(part: _Part) -> int:
    return sum(s[2] for s in json.loads(part.sidecar.read_text())["segments"])


def test_the_record_follows_the_bytes_not_only_the_clock(tmp_path: Path) -> None:
    part = _Part(DownloadItem(url="http://127.0.0.1:9/big.whl", filename="big.whl", size=64 * 2**20), tmp_path)
    part.segments = [[0, 32 * 2**20, 0], [32 * 2**20, 64 * 2**20, 0]]
    part.save(force=True)
    # less than SAVE_EVERY_BYTES over two segments, well within the 0.5 s: not yet
    part.segments[0][2] = SAVE_EVERY_BYTES // 2
    part.segments[1][2] = SAVE_EVERY_BYTES // 4
    time.sleep(SAVE_MIN_GAP_S * 2)
    part.save()
    assert _recorded(part) == 0
    # SAVE_EVERY_BYTES received in all (a fast link), long before the 0.5 s: written now
    part.segments[1][2] = SAVE_EVERY_BYTES // 2
    part.save()
    assert _recorded(part) == SAVE_EVERY_BYTES
    # but never twice within the minimum gap, whatever arrived (each write is an fsynced file)
    part.segments[0][2] += 3 * SAVE_EVERY_BYTES
    part.save()
    assert _recorded(part) == SAVE_EVERY_BYTES
    time.sleep(SAVE_MIN_GAP_S * 2)
    part.save()
    assert _recorded(part) == 4 * SAVE_EVERY_BYTES
    # a slow link still gets its record by time
    part.segments[0][2] += 1
    time.sleep(download.SAVE_EVERY_S + 0.05)
    part.save()
    assert _recorded(part) == 4 * SAVE_EVERY_BYTES + 1
