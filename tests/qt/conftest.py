"""Fixtures for the Qt tests: offscreen platform, private settings/logs/caches, guarded message boxes.

Every QMessageBox goes through ``exec``; it is patched so a box that a test did not announce
with ``message_boxes.expect(...)`` fails the test instead of blocking it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from tests.install.conftest import isolated_pip, loopback_index, template_venv, venv  # noqa: F401
from wizard.qt.i18n import build_qm

PROFILES = Path(__file__).resolve().parent.parent / "profiles"

# The machines every page is tried on (issue 5): Blackwell, Pascal, no driver, no GPU, AMD, mixed
# GPUs, a driver too old for the recommended build.
MACHINES = {
    "blackwell": PROFILES / "ubuntu2404-rtx5090-drv590.json",
    "pascal": PROFILES / "ubuntu2204-gtx1080-drv570.json",
    "no-driver": PROFILES / "ubuntu2404-rtx3060-nodriver.json",
    "no-gpu": PROFILES / "ubuntu2404-cpu-only.json",
    "amd": PROFILES / "ubuntu2404-rx7900xtx.json",
    "mixed": PROFILES / "fedora41-1080ti-5090-drv580.json",
    "driver-too-old": PROFILES / "extra" / "ubuntu2404-rtx5090-drv570.json",
}


@dataclass
class MessageBoxes:
    """Answers for the message boxes a test expects, in order; what was shown."""

    answers: list[QMessageBox.StandardButton] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)

    def expect(self, *answers: QMessageBox.StandardButton) -> None:
        """Announce boxes and how to answer them."""
        self.answers.extend(answers)


@pytest.fixture(autouse=True)
def message_boxes(monkeypatch: pytest.MonkeyPatch) -> MessageBoxes:
    """Fail any test that meets a message box it did not expect."""
    boxes = MessageBoxes()

    def fake_exec(box: QMessageBox) -> int:
        boxes.shown.append(box.text())
        if not boxes.answers:
            raise AssertionError(f"unexpected message box: {box.text()!r} / {box.informativeText()!r}")
        return int(boxes.answers.pop(0).value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(
            lambda *a, _n=name, **k: (_ for _ in ()).throw(AssertionError(f"unexpected QMessageBox.{_n}"))))
    return boxes


@pytest.fixture(autouse=True)
def private_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings, logs, downloads and the wizard's data in tmp_path; no proxy from the shell."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TORCH_GPU_SETUP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_GPU_SETUP_DATA_DIR", str(tmp_path / "data"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path


@pytest.fixture(scope="session", autouse=True)
def translations_built() -> None:
    """A fresh clone has only the .ts: build the .qm the way the GUI's first start does."""
    build_qm("zh_CN")


def settings(tmp_path: Path) -> QSettings:
    """A settings file private to one test."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def texts(widget: QWidget) -> str:
    """Everything a person can read under ``widget``, one item per line (the same text --screenshots saves)."""
    from wizard.qt.app import visible_text

    QApplication.processEvents()  # widgets added by a refresh are shown by an already posted event
    return visible_text(widget)


@pytest.fixture(autouse=True)
def english_afterwards(qapp: QApplication) -> Iterator[None]:
    """The interface language belongs to the application: a test that switched it leaves English behind."""
    yield
    from wizard.qt.i18n import Translations

    Translations().switch("en")
