"""Bytes and durations in words, the same for the CLI and the GUI (no third-party imports)."""

from __future__ import annotations


def format_bytes(n: float) -> str:
    """``1.5 GB`` style, decimal units as download sites show them."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def format_duration(seconds: float | None) -> str:
    """``3:12`` or ``1:03:12``; empty when unknown (None or negative)."""
    if seconds is None or seconds < 0:
        return ""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
