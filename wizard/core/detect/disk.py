"""Free disk space where the environment, the download cache and temporary files will live."""

from __future__ import annotations

import os

from wizard.core import messages as M
from wizard.core.detect.host import Host
from wizard.core.text import T

GIB = 1024**3


def _existing_ancestor(path: str) -> str:
    """The folder itself or its nearest existing parent: the wizard's folders may not exist yet."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def detect_disk(host: Host, notes: list[str]) -> tuple[dict[str, float | None], float | None]:
    """({"environment": GiB, "cache": GiB, "temp": GiB}, the smallest of those) on ``host``."""
    places = {"environment": host.data_dir, "cache": host.cache_dir, "temp": host.temp_dir}
    free: dict[str, float | None] = {}
    for label, path in places.items():
        try:
            free[label] = round(host.disk_free_bytes(_existing_ancestor(path)) / GIB, 1)
        except (OSError, ValueError) as exc:
            free[label] = None
            notes.append(T(M.NOTE_DISK_UNKNOWN, label=label, path=path, error=exc))
    known = [v for v in free.values() if v is not None]
    return free, (min(known) if known else None)
