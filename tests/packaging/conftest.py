"""Fixtures for the bundle smoke test: the built app, and the loopback index of tests/install."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.install.conftest import isolated_pip, loopback_index  # noqa: F401
from tests.install.test_cli_e2e import torch_wheels  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "torch-gpu-setup"
EXE = BUNDLE / ("torch-gpu-setup.exe" if os.name == "nt" else "torch-gpu-setup")
# packaging/build.py sets this: there a missing or stale bundle is a failure, not a skip.
REQUIRED = bool(os.environ.get("TGS_BUNDLE_REQUIRED"))


def _newest_source() -> tuple[float, Path | None]:
    newest: tuple[float, Path | None] = (0.0, None)
    for pattern in ("wizard/**/*.py", "wizard/data/*.json", "wizard/i18n/*.ts", "packaging/*.spec"):
        for path in ROOT.glob(pattern):
            newest = max(newest, (path.stat().st_mtime, path), key=lambda item: item[0])
    return newest


@pytest.fixture(scope="session")
def bundle_exe() -> Path:
    """The built executable; skips (fails under build.py) when absent or older than the source."""
    if not EXE.is_file():
        message = f"{EXE} is not built: run python packaging/build.py"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    mtime, source = _newest_source()
    if mtime > EXE.stat().st_mtime and not REQUIRED:
        pytest.skip(f"the bundle is older than {source}: rebuild with python packaging/build.py")
    return EXE
