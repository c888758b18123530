"""Fixtures for the network tests: a loopback index server, a clean environment, a target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.server import LoopbackServer
from wizard.core.model.machine import OsInfo, PythonTarget

_NET_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
            "no_proxy")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No proxy from the developer's shell; a private download cache per test."""
    for name in _NET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TORCH_GPU_SETUP_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def linux311() -> tuple[PythonTarget, OsInfo]:
    """CPython 3.11 on x86_64 Linux with glibc 2.36 (Debian 12)."""
    return PythonTarget(version="3.11.7"), OsInfo(family="linux", version="Debian 12", arch="x86_64", glibc="2.36")
