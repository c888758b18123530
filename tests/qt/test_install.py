"""The install and verify pages against a real loopback index, real pip and real venvs.

Failure paths use tiny synthetic wheels (fast); ONE slow test walks the whole wizard on this
machine with the real torch 2.13.0 CPU wheel into a new venv, through verify.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.install.conftest import installed, venv_py
from tests.install.test_cli_e2e import TORCH_VERSION, torch_wheels  # noqa: F401  (session fixture)
from tests.net.server import LoopbackServer, SyntheticWheel, closed_port, make_wheel, publish
from tests.qt.conftest import MACHINES, MessageBoxes, settings, texts
from wizard.core.install import snapshots
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan
from wizard.qt.app import Autopilot, create_wizard
from wizard.qt.pages.install import InstallPage
from wizard.qt.state import GuiOptions, PageId, WizardState
from wizard.qt.wizard import SetupWizard

TORCH_FILE = "torch-2.13.0+cpu-py3-none-any.whl"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


def torch_wheel(payload: int = 64 * 1024) -> SyntheticWheel:
    return make_wheel("torch", "2.13.0+cpu", payload=payload)


def install_wizard(qtbot: QtBot, tmp_path: Path, index_url: str, env: Path,
                   downloader: dict[str, object] | None = None) -> tuple[SetupWizard, InstallPage]:
    """The wizard opened on the Install page, installing torch 2.13.0+cpu into the venv ``env``."""
    state = WizardState(GuiOptions(torch="2.13.0", variant="cpu", index_url=index_url, no_torchvision=True),
                        settings(tmp_path))
    state.machine = load_profile(str(MACHINES["no-gpu"]))
    state.plan = make_plan(state.machine, state.choices)
    state.env.mode, state.env.path = "existing", str(env)
    state.downloader_options = downloader or {}
    wizard = SetupWizard(state)
    wizard.setStartId(int(PageId.INSTALL))
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.page_of(PageId.INSTALL)
    assert isinstance(page, InstallPage) and page.job is not None
    return wizard, page


def assert_left_alone(page: InstallPage, env: Path, before: dict[str, str]) -> None:
    assert installed(env) == before
    assert page.job is not None and not page.job.running()
    assert not snapshots.snapshot_path(venv_py(env)).exists()


def test_index_unreachable(qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path) -> None:
    before = installed(venv)
    url = f"http://127.0.0.1:{closed_port()}/whl/cpu/"
    _wizard, page = install_wizard(qtbot, tmp_path, url, venv)
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    assert page.error.isVisible() and page.problem is not None
    assert "127.0.0.1" in page.problem.message and page.problem.message in texts(page)
    assert not page.isComplete() and page.retry.isVisible()
    assert_left_alone(page, venv, before)


def test_download_cut_off(qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path,
                          server: LoopbackServer) -> None:
    wheel = torch_wheel(256 * 1024)
    publish(server, "/whl/cpu", [wheel])
    server.fault(wheel.path("/whl/cpu"), cut_after=10_000, ignore_range=True, times=-1)  # no resume possible
    before = installed(venv)
    _wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv,
                                  {"max_attempts": 2, "backoff": 0.01})
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    assert page.done_steps == ["prepare"] and page.files.topLevelItemCount() == 1
    assert page.problem is not None and page.problem.message in texts(page)
    assert_left_alone(page, venv, before)


def test_pip_fails(qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path, server: LoopbackServer,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    # pip's own failure on the page (the fast path finds a broken wheel before pip runs:
    # tests/install/test_wheel_installer.py)
    monkeypatch.setenv("TORCH_GPU_SETUP_INSTALLER", "pip")
    good = torch_wheel()
    broken = SyntheticWheel(good.filename, b"PK\x03\x04 this is not a zip archive" * 64, good.metadata)
    publish(server, "/whl/cpu", [broken])
    before = installed(venv)
    wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv)
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    assert "download" in page.done_steps and page.current_step == "undo"
    assert page.problem is not None and page.problem.message in texts(page)
    assert any(line.startswith("$ ") and "pip install" in line for line in wizard.state.install_log)
    assert_left_alone(page, venv, before)
    assert "damaged" in page.problem.message    # pip's "is invalid", in words
    # the broken file is not kept: a retry downloads it again instead of failing the same way
    assert not (Path(os.environ["TORCH_GPU_SETUP_CACHE_DIR"]) / "wheelhouses" / "torch-2.13.0-cpu").exists()


def test_cancel_during_download(qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path,
                                server: LoopbackServer, message_boxes: MessageBoxes) -> None:
    wheel = torch_wheel(4 * 1024 * 1024)
    publish(server, "/whl/cpu", [wheel])
    server.fault(wheel.path("/whl/cpu"), rate=200_000, times=-1)  # ~20 s: cancel comes first
    before = installed(venv)
    wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv)
    qtbot.waitUntil(lambda: page.files.topLevelItemCount() == 1 and page.files.topLevelItem(0).text(2) != "",
                    timeout=30000)
    message_boxes.expect(QMessageBox.StandardButton.Yes)
    wizard.reject()  # the Cancel button: asks, stops, undoes, and the window stays
    assert page.was_cancelled and message_boxes.shown == ["Stop the installation?"]
    # the download comes before any change: nothing to undo, and the next try resumes the file
    assert wizard.isVisible() and page.current_step == "download"
    assert "Cancelled" in page.status.text() and "resumes" in page.status.text()
    assert_left_alone(page, venv, before)


def test_cancel_during_pip(qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path,
                           server: LoopbackServer, message_boxes: MessageBoxes) -> None:
    publish(server, "/whl/cpu", [torch_wheel()])
    # The target's pip hangs at start-up for the install command only (a .pth file runs at every
    # interpreter start): pip is still busy whenever Cancel comes.
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "zz_slow_pip.pth").write_text(
        "import sys, time; time.sleep(60) if 'install' in sys.orig_argv and '--extra-index-url' in sys.orig_argv "
        "else None\n")
    before = installed(venv)
    wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv)
    qtbot.waitUntil(lambda: page.current_step == "pip" and page.job is not None and page.job.running(),
                    timeout=60000)
    message_boxes.expect(QMessageBox.StandardButton.Yes)
    wizard.reject()
    assert page.was_cancelled and page.job is not None and not page.job.running()
    assert_left_alone(page, venv, before)


def test_closing_mid_install_asks_and_keeps_going_when_told_no(
        qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path, server: LoopbackServer,
        message_boxes: MessageBoxes) -> None:
    wheel = torch_wheel(4 * 1024 * 1024)
    publish(server, "/whl/cpu", [wheel])
    server.fault(wheel.path("/whl/cpu"), rate=200_000, times=-1)
    wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv)
    qtbot.waitUntil(lambda: page.files.topLevelItemCount() == 1, timeout=30000)
    message_boxes.expect(QMessageBox.StandardButton.No)
    assert not wizard.close() and wizard.isVisible() and page.running()
    message_boxes.expect(QMessageBox.StandardButton.Yes)
    assert wizard.close() and not page.running() and page.was_cancelled


def synthetic_from(path: Path) -> SyntheticWheel:
    """A real wheel file served by the loopback index (its METADATA published as PEP 658 file)."""
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(name)
    return SyntheticWheel(path.name, path.read_bytes(), metadata)


@pytest.mark.slow
def test_autopilot_installs_and_verifies_on_this_machine(
        qtbot: QtBot, tmp_path: Path, torch_wheels: tuple[Path, str],  # noqa: F811
        server: LoopbackServer, isolated_pip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, python = torch_wheels
    wheels = [synthetic_from(p) for p in sorted(cache.glob("*.whl"))]
    publish(server, "/simple", [w for w in wheels if w.filename.startswith("pip-")])
    publish(server, "/whl/cpu", [w for w in wheels if not w.filename.startswith("pip-")])
    # the user's pip configuration names the general index (where the new venv's newer pip comes from)
    config = tmp_path / "user-pip.conf"
    config.write_text(f"[global]\nindex-url = {server.url('/simple/')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_INDEX_URL")
    env_dir = tmp_path / "torch-env"
    options = GuiOptions(autopilot=True, python=shutil.which(python), torch=TORCH_VERSION, variant="cpu",
                         index_url=server.url("/whl/cpu/"), new_venv=str(env_dir), no_torchvision=True,
                         lang=os.environ.get("TGS_REAL_LANG", "en"))   # zh_CN: the Chinese real-run pages
    wizard = create_wizard(options, settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    # TGS_REAL_SCREENSHOTS=DIR keeps this real run's pages (docs/screenshots/en/this-machine-cpu).
    shots = Path(os.environ.get("TGS_REAL_SCREENSHOTS") or tmp_path / "shots")
    pilot = Autopilot(wizard, shots, page_timeout_s=600)
    pilot.start()
    qtbot.waitUntil(lambda: pilot.exit_code is not None, timeout=900_000)
    state = wizard.state
    assert pilot.exit_code == 0, "\n".join(state.install_log[-40:] + state.errors)
    assert state.verify is not None and state.verify.verdict == "cpu-only"
    packages = installed(env_dir)
    assert packages["torch"] == f"{TORCH_VERSION}+cpu"
    assert "numpy" in packages and "torchvision" not in packages   # numpy comes without torchvision too
    names = sorted(p.name for p in shots.glob("*.png"))
    assert len(names) == 8 and names[-1] == "08-finish.png"  # no Drivers page: a CPU build needs no action
    if options.lang == "en":
        assert "PyTorch works, on the processor (CPU) only." in texts(wizard.page_of(PageId.FINISH))


def test_a_network_failure_offers_the_fastest_mirror_and_installs_from_it(
        qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path, server: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The official server is unreachable from here; a mirror answers: one click finds it, one uses it."""
    from wizard.core.knowledge import mirrors

    publish(server, "/nju/cpu", [torch_wheel()])
    dead = f"http://127.0.0.1:{closed_port()}/whl"
    # the world at its edge: the known mirrors, here on loopback (one dead, one alive)
    for name in list(mirrors.MIRROR_PRESETS):
        monkeypatch.delitem(mirrors.MIRROR_PRESETS, name)
    monkeypatch.setitem(mirrors.MIRROR_PRESETS, "official", mirrors.MirrorPreset("official", dead, "index", "", ""))
    monkeypatch.setitem(mirrors.MIRROR_PRESETS, "nju",
                        mirrors.MirrorPreset("nju", server.url("/nju"), "index", "", ""))
    before = installed(venv)
    wizard, page = install_wizard(qtbot, tmp_path, f"{dead}/cpu/", venv)
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    assert page.problem is not None and page.problem.network
    assert page.probe_button.isVisible() and page.change.isVisible() and installed(venv) == before
    page.probe_button.click()
    qtbot.waitUntil(lambda: page.use_mirror.isVisible(), timeout=30000)
    shown = page.mirrors_text.text()
    assert "the Nanjing University mirror: answered in" in shown and "PyTorch's own server: no answer" in shown
    page.use_mirror.click()
    qtbot.waitUntil(lambda: page.outcome is not None or (page.problem is not None and not page.busy()),
                    timeout=60000)
    assert page.outcome is not None, page.problem
    assert installed(venv)["torch"] == "2.13.0+cpu" and wizard.state.mirror == "nju"


def test_after_a_failure_back_leads_to_the_choices_and_next_tries_again(
        qtbot: QtBot, tmp_path: Path, venv: Path, isolated_pip: Path, server: LoopbackServer) -> None:
    publish(server, "/whl/cpu", [torch_wheel()])
    dead = f"http://127.0.0.1:{closed_port()}/whl/cpu/"
    state = WizardState(GuiOptions(torch="2.13.0", variant="cpu", index_url=dead, no_torchvision=True),
                        settings(tmp_path))
    state.machine = load_profile(str(MACHINES["no-gpu"]))
    state.plan = make_plan(state.machine, state.choices)
    state.env.mode, state.env.path = "existing", str(venv)
    wizard = SetupWizard(state)
    wizard.setStartId(int(PageId.BUILD))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()   # -> Summary
    wizard.next()   # Install
    page = wizard.page_of(PageId.INSTALL)
    assert isinstance(page, InstallPage)
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    page.change.click()
    assert wizard.currentId() == PageId.BUILD      # past the commit page: nothing was installed
    state.custom_index = server.url("/whl/cpu/")   # the person picks another source
    wizard.next()
    wizard.next()
    qtbot.waitUntil(lambda: page.outcome is not None or (page.problem is not None and not page.busy()),
                    timeout=60000)
    assert page.outcome is not None, page.problem
