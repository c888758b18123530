"""Fixtures for the bundle smoke test: the built app, and the loopback index of tests/install."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.install.conftest import isolated_pip, loopback_index  # noqa: F401
from tests.install.test_cli_e2e import torch_wheels  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
NAME = "torch-gpu-setup"
BUNDLE = ROOT / "dist" / NAME


@dataclass(frozen=True)
class BundleExecutables:
    """The bundle's programs: ``cli`` runs the commands, ``gui`` is the one a double-click starts."""

    cli: Path
    gui: Path


def bundle_executables(bundle: Path, platform: str = sys.platform) -> BundleExecutables:
    """Which executable of ``bundle`` the smoke test runs for what (packaging/torch-gpu-setup.spec).

    Windows: ``torch-gpu-setup.exe`` is a windowed program (no console: its sys.stdout is None and
    a terminal gets nothing back), so every command goes through the console program
    ``torch-gpu-setup-cli.exe``, and the windowed one runs only ``gui --autopilot``. Elsewhere one
    program is both.
    """
    if platform == "win32":
        return BundleExecutables(cli=bundle / f"{NAME}-cli.exe", gui=bundle / f"{NAME}.exe")
    return BundleExecutables(cli=bundle / NAME, gui=bundle / NAME)


EXES = bundle_executables(BUNDLE)
EXE = EXES.cli
# packaging/build.py sets this: there a missing or stale bundle is a failure, not a skip.
REQUIRED = bool(os.environ.get("TGS_BUNDLE_REQUIRED"))


def _newest_source() -> tuple[float, Path | None]:
    newest: tuple[float, Path | None] = (0.0, None)
    for pattern in ("wizard/**/*.py", "wizard/data/*.json", "wizard/i18n/*.ts", "packaging/*.spec"):
        for path in ROOT.glob(pattern):
            newest = max(newest, (path.stat().st_mtime, path), key=lambda item: item[0])
    return newest


def _built(exe: Path) -> Path:
    """``exe`` when built and newer than the source; skips (fails under build.py) otherwise."""
    if not exe.is_file():
        message = f"{exe} is not built: run python packaging/build.py"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    mtime, source = _newest_source()
    if mtime > exe.stat().st_mtime and not REQUIRED:
        pytest.skip(f"the bundle is older than {source}: rebuild with python packaging/build.py")
    return exe


@pytest.fixture(scope="session")
def bundle_exe() -> Path:
    """The built program for the commands (the console one on Windows)."""
    return _built(EXES.cli)


@pytest.fixture(scope="session")
def bundle_gui_exe() -> Path:
    """The built program a double-click starts (the windowed one on Windows): only for the GUI."""
    return _built(EXES.gui)
