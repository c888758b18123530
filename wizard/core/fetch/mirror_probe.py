"""Which PyTorch source answers fastest from here: a short timed probe of each, in parallel.

After a download failed (a person in mainland China and download.pytorch.org, typically), the
faces offer the mirrors with how long each took to answer. The probe asks each source for what an
install reads first (an index's ``torch`` project page, a find-links page itself) and times the
first bytes of the answer; it reads no more than that, so a 10 MB flat page costs one chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from wizard.core.fetch.net import PAGE_MAX_BYTES, SIMPLE_ACCEPT, NetworkError, classify_error, iter_body, make_session
from wizard.core.fetch.source import Source

#: Long enough for a slow but working mirror across the world; short enough to wait for.
PROBE_TIMEOUT_S = 6.0


@dataclass(frozen=True)
class ProbeResult:
    """One source's answer: seconds to the first bytes, or why it did not answer."""

    name: str
    source: Source
    seconds: float | None
    error: str = ""

    @property
    def ok(self) -> bool:
        """It answered with a page."""
        return self.seconds is not None


def _probe_url(source: Source) -> str:
    if source.kind == "index":
        return source.location.rstrip("/") + "/torch/"
    return source.location


def probe_one(name: str, source: Source, session: requests.Session, timeout: float = PROBE_TIMEOUT_S,
              cancel: threading.Event | None = None) -> ProbeResult:
    """Time one source; never raises (a failure is the result's ``error``)."""
    if cancel is not None and cancel.is_set():
        return ProbeResult(name, source, None, "cancelled")
    url = _probe_url(source)
    start = time.monotonic()
    try:
        with session.get(url, headers={"Accept": SIMPLE_ACCEPT}, stream=True, timeout=(timeout, timeout)) as resp:
            if resp.status_code >= 400:
                return ProbeResult(name, source, None, f"HTTP {resp.status_code}")
            # the first 16 KiB, within the probe's time in all: a trickling mirror is "no answer"
            got = 0
            for block in iter_body(resp, deadline_s=timeout, max_bytes=PAGE_MAX_BYTES):
                got += len(block)
                if got >= 16384:
                    break
    except requests.RequestException as exc:
        return ProbeResult(name, source, None, classify_error(exc, url).message)
    except NetworkError as exc:
        return ProbeResult(name, source, None, exc.message)
    return ProbeResult(name, source, round(time.monotonic() - start, 3))


def probe_sources(candidates: Sequence[tuple[str, Source]], *, session: requests.Session | None = None,
                  timeout: float = PROBE_TIMEOUT_S, cancel: threading.Event | None = None) -> list[ProbeResult]:
    """Probe every candidate at once; the fastest first, those that did not answer last."""
    session = session or make_session()
    with ThreadPoolExecutor(max_workers=max(1, len(candidates))) as pool:
        results = list(pool.map(lambda c: probe_one(c[0], c[1], session, timeout, cancel), candidates))
    return sorted(results, key=lambda r: (r.seconds is None, r.seconds or 0.0))


def mirror_candidates(variant: str) -> list[tuple[str, Source]]:
    """Every known mirror (and the official index) for one variant, as the resolver makes them."""
    from wizard.core.fetch.source import source_for
    from wizard.core.knowledge.mirrors import MIRROR_PRESETS

    out: list[tuple[str, Source]] = []
    for name in MIRROR_PRESETS:
        source = source_for(variant, mirror=name)
        if source is not None:
            out.append((name, source))
    return out
