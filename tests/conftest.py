"""Every test gets its own data and cache folders, so nothing a test writes (a refreshed
knowledge base, snapshots, downloads, the last install) reaches the user's real folders or
another test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("user")
    for name, sub in (("TORCH_GPU_SETUP_DATA_DIR", "data"), ("TORCH_GPU_SETUP_CACHE_DIR", "cache")):
        monkeypatch.setenv(name, str(Path(base) / sub))
