"""At the moment of failure the Chinese wizard speaks Chinese: network down, pip failing, the demo failing.

Each page's visible text (what ``--screenshots`` saves beside the picture) is searched for English
sentences: four or more English words in a row, once URLs, paths, options, commands, file and
package names are set aside (those stay as they are in every language).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.net.server import LoopbackServer, SyntheticWheel, closed_port, publish
from tests.qt.conftest import MACHINES, settings
from tests.qt.test_install import install_wizard, server, torch_wheel  # noqa: F401  (fixture)
from wizard.core.install.flow import FIRST_PROGRAM
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan
from wizard.qt.app import visible_text
from wizard.qt.i18n import Translations
from wizard.qt.pages.finish import FinishPage
from wizard.qt.pages.verify import VerifyPage
from wizard.qt.state import GuiOptions, PageId, WizardState
from wizard.qt.wizard import SetupWizard

# What is not prose: URLs, paths, options, commands, requirement pins, file names, exception class names.
NOT_PROSE = re.compile(
    r"https?://\S+|file://\S+|(?:[A-Za-z]:)?[/\\][^\s，。；：（）、]*|--?[A-Za-z][\w-]*|torch-gpu-setup(?: \w+)?"
    r"|reg add HKLM\S* /v \w+ /t \w+ /d \d+ /f"     # the long-paths command (Windows)
    r"|[\w.+-]+==[\w.+-]+|[\w.-]+\.(?:whl|so|dll|py|txt|conf|json|html|zip)\b|\b\w+Error\b|\bsm_\d+\b")
CODE_LINES = {line.strip() for line in FIRST_PROGRAM.splitlines()}
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z']+(?:[ ,;:]+[A-Za-z][A-Za-z']+){3,}")


def english_sentences(text: str) -> list[str]:
    """Runs of four or more English words in ``text`` (what a Chinese reader would meet untranslated)."""
    found: list[str] = []
    for line in text.splitlines():
        if line.strip() in CODE_LINES:
            continue    # the first program on the Finish page is Python: it stays as it is
        found += ENGLISH_RUN.findall(NOT_PROSE.sub(" ", line))
    return found


def test_the_detector_finds_english_and_ignores_what_stays_english() -> None:
    assert english_sentences("The installation did not finish.") == ["The installation did not finish"]
    assert english_sentences("安装未完成：pip install --no-input /tmp/a b/torch-2.13.0+cpu-py3-none-any.whl") == []
    assert english_sentences("请运行 torch-gpu-setup rollback --python /x/bin/python") == []


@pytest.fixture
def chinese() -> None:
    assert Translations().switch("zh_CN")


def assert_chinese(text: str) -> None:
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    assert english_sentences(text) == [], text


def test_network_down_reads_in_chinese(chinese: None, qtbot: QtBot, tmp_path: Path, venv: Path,
                                       isolated_pip: Path) -> None:
    _wizard, page = install_wizard(qtbot, tmp_path, f"http://127.0.0.1:{closed_port()}/whl/cpu/", venv)
    qtbot.waitUntil(lambda: page.problem is not None, timeout=60000)
    assert page.probe_button.isVisible()
    assert_chinese(visible_text(page))


def test_a_pip_failure_and_its_undo_read_in_chinese(chinese: None, qtbot: QtBot, tmp_path: Path, venv: Path,
                                                    isolated_pip: Path, server: LoopbackServer) -> None:  # noqa: F811
    good = torch_wheel()
    publish(server, "/whl/cpu", [SyntheticWheel(good.filename, b"PK\x03\x04 not a zip" * 64, good.metadata)])
    _wizard, page = install_wizard(qtbot, tmp_path, server.url("/whl/cpu/"), venv)
    qtbot.waitUntil(lambda: page.problem is not None and not page.busy(), timeout=60000)
    assert_chinese(visible_text(page))


def test_a_failing_demo_and_the_finish_page_read_in_chinese(chinese: None, qtbot: QtBot, tmp_path: Path,
                                                            venv: Path) -> None:
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text("raise OSError('libtorch_cuda.so')\n")
    state = WizardState(GuiOptions(torch="2.13.0", variant="cpu", no_torchvision=True), settings(tmp_path))
    state.machine = load_profile(str(MACHINES["no-gpu"]))
    state.plan = make_plan(state.machine, state.choices)
    state.installed_python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    state.activate = f"source {venv}/bin/activate"
    wizard = SetupWizard(state)
    wizard.setStartId(int(PageId.VERIFY))
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.page_of(PageId.VERIFY)
    assert isinstance(page, VerifyPage)
    qtbot.waitUntil(lambda: page.result is not None, timeout=120000)
    assert page.failed()
    assert_chinese(visible_text(page))
    wizard.next()
    finish = wizard.page_of(PageId.FINISH)
    assert isinstance(finish, FinishPage)
    assert_chinese(visible_text(finish))


PROFILES = Path(__file__).resolve().parents[1] / "profiles"
SHARED = sorted(PROFILES.glob("*.json")) + sorted((PROFILES / "extra").glob("*.json"))   # shared, then our own
TITLES = {"driver": ("Driver and tools", "驱动和工具"), "python": ("Python first", "先安装 Python"),
          "disk": ("Free disk space", "释放磁盘空间"), "reboot": ("Restart first", "先重启电脑")}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
@pytest.mark.parametrize("profile", SHARED, ids=[p.stem for p in SHARED])
def test_every_profile_walks_to_the_page_for_its_real_problem(qtbot: QtBot, tmp_path: Path, profile: Path,
                                                                     lang: str) -> None:
    from wizard.qt.app import Autopilot, create_wizard

    plan = make_plan(load_profile(str(profile)))
    topic = plan.recommended.topic() if plan.recommended else None
    shots = tmp_path / "shots"
    wizard = create_wizard(GuiOptions(machine=str(profile), autopilot=True, lang=lang), settings(tmp_path))
    qtbot.addWidget(wizard)
    wizard.show()
    pilot = Autopilot(wizard, shots, page_timeout_s=30)
    pilot.start()
    qtbot.waitUntil(lambda: pilot.exit_code is not None, timeout=60_000)
    pages = {p.stem.split("-", 1)[1]: p.read_text(encoding="utf-8") for p in sorted(shots.glob("*.txt"))}
    if topic is None:
        assert "actions" not in pages and pilot.exit_code == 0 and "finish" in pages
    else:
        assert pages["actions"].splitlines()[0] == TITLES[topic][lang == "zh_CN"]
    if lang == "zh_CN":
        for name, text in pages.items():
            quoted = re.sub(r"“[^”]*”", " ", text)   # a profile's own description, quoted as it is
            for gpu in load_profile(str(profile)).gpus:   # product names stay as the vendor spells them
                quoted = quoted.replace(gpu.name, " ")
            assert english_sentences(quoted) == [], (name, text)
