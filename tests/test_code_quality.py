"""ruff and mypy are part of the test suite, so the README's one test command checks them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "wizard", "tests", "bench"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_never_imports_qt() -> None:
    """The core decides; Qt only shows: importing every core module must not pull in PySide6."""
    code = (
        "import importlib, pkgutil, sys, wizard.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'wizard.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert not any(k.startswith('PySide6') for k in sys.modules), 'PySide6 imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_import_contracts_hold() -> None:
    """The boundaries declared in pyproject.toml ([tool.importlinter]): see docs/ARCHITECTURE.md."""
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # a Qt import inside a core function (lazy imports count too)
    ("core/install/flow.py", "def _sneaky() -> None:\n    from PySide6 import QtCore  # noqa\n",
     "The core decides and never shows"),
    # a lower stage reaching up: the planner asking the installer
    ("core/plan/planner.py", "def _sneaky() -> None:\n    from wizard.core.install import flow  # noqa\n",
     "The pipeline's stages only look down"),
    # the GUI borrowing from the command line
    ("qt/state.py", "def _sneaky() -> None:\n    from wizard.commands import install  # noqa\n",
     "The faces sit on the core"),
])
def test_import_contracts_catch_a_forbidden_import(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(ROOT / "wizard", tmp_path / "wizard", ignore=shutil.ignore_patterns("__pycache__", "*.qm"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "wizard" / module).open("a", encoding="utf-8") as f:
        f.write("\n\n" + line)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the copy, not the installed tree
    result = subprocess.run([_tool("lint-imports")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
