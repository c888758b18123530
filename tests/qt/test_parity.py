"""One product, two faces: the same install scenario through the CLI and through the GUI ends the same.

Real pip in real venvs, a real loopback index, real Qt (offscreen). The sources are the ones a
person may give: a PyTorch mirror that carries only torch (its dependencies come from the user's
own pip configuration, as several mirrors in China are used), a find-links page, a local folder
as a ``file://`` URL. Each scenario runs once through ``torch-gpu-setup install`` and once
through the wizard's Install page, into two copies of the same venv, and the two venvs must end
up holding the same distributions, pinned the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.install.conftest import installed, venv_py
from tests.net.server import LoopbackServer, closed_port, make_wheel, publish
from tests.qt.conftest import MACHINES, settings
from wizard.cli import build_parser, main
from wizard.commands.install import build_request
from wizard.core.install.flow import command_line, last_install_python
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan
from wizard.qt.pages.install import InstallPage
from wizard.qt.state import GuiOptions, PageId, WizardState
from wizard.qt.wizard import SetupWizard

pytestmark = pytest.mark.usefixtures("isolated_pip")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def users_pip(server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """The user's own pip configuration names a general index (/simple) that has the dependencies."""
    publish(server, "/simple", [make_wheel("helper", "1.0")])
    config = tmp_path / "user-pip.conf"
    config.write_text(f"[global]\nindex-url = {server.url('/simple/')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_INDEX_URL")
    return server


def torch(version: str = "2.13.0") -> object:
    return make_wheel("torch", f"{version}+cpu", requires=["helper>=1"], payload=32 * 1024)


def two_venvs(template_venv: Path, tmp_path: Path) -> tuple[Path, Path]:
    cli, gui = tmp_path / "cli-env", tmp_path / "gui-env"
    for path in (cli, gui):
        shutil.copytree(template_venv, path, symlinks=True)
    return cli, gui


def cli_install(source: str, env: Path, torch_version: str = "2.13.0", *extra: str) -> int:
    return main(["install", "--venv", str(env), "--torch", torch_version, "--variant", "cpu",
                 "--index-url", source, "--no-verify", *extra])


def gui_install(qtbot: QtBot, tmp_path: Path, source: str, env: Path | None = None, *, new_venv: Path | None = None,
                torch_version: str = "2.13.0", consent: bool = False) -> InstallPage:
    """The wizard on its Install page with these choices, run until it ends."""
    state = WizardState(GuiOptions(torch=torch_version, variant="cpu", index_url=source, no_torchvision=True),
                        settings(tmp_path))
    state.machine = load_profile(str(MACHINES["no-gpu"]))
    state.plan = make_plan(state.machine, state.choices)
    if new_venv is not None:
        state.env.mode, state.env.path, state.env.base_python = "new", str(new_venv), sys.executable
    else:
        state.env.mode, state.env.path = "existing", str(env)
    state.env.consent = consent
    wizard = SetupWizard(state)
    wizard.setStartId(int(PageId.INSTALL))
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.page_of(PageId.INSTALL)
    assert isinstance(page, InstallPage)
    qtbot.waitUntil(lambda: not page.busy() and (page.outcome is not None or page.failed()), timeout=120_000)
    return page


def same_result(cli_env: Path, gui_env: Path) -> dict[str, str]:
    """Both environments hold the same distributions and the same pin; returns them."""
    cli, gui = installed(cli_env), installed(gui_env)
    assert cli == gui
    pins = [(env / "torch-gpu-setup-constraints.txt").read_text().splitlines()[-1] for env in (cli_env, gui_env)]
    assert pins[0] == pins[1] == f"torch=={cli['torch']}"
    return cli


def folder_source(tmp_path: Path) -> str:
    folder = tmp_path / "my wheels"   # a space: a person's folder
    folder.mkdir()
    wheel = torch()
    (folder / wheel.filename).write_bytes(wheel.data)  # type: ignore[attr-defined]
    return folder.as_uri()


@pytest.mark.parametrize("kind", ["torch-only index", "find-links page", "file:// folder"])
def test_every_source_installs_the_same_through_both_faces(
        kind: str, qtbot: QtBot, tmp_path: Path, template_venv: Path, users_pip: LoopbackServer) -> None:
    if kind == "torch-only index":
        publish(users_pip, "/mirror/cpu", [torch()])            # only torch: helper is not there
        source = users_pip.url("/mirror/cpu/")
    elif kind == "find-links page":
        publish(users_pip, "/files", [torch()], flat_page="/flat/cpu/")
        source = users_pip.url("/flat/cpu/")
    else:
        source = folder_source(tmp_path)
    cli_env, gui_env = two_venvs(template_venv, tmp_path)

    assert cli_install(source, cli_env) == 0
    page = gui_install(qtbot, tmp_path, source, gui_env)
    assert page.problem is None and page.outcome is not None, page.problem

    result = same_result(cli_env, gui_env)
    assert result["torch"] == "2.13.0+cpu" and result["helper"] == "1.0"     # the dependency: the user's index
    assert users_pip.served("/simple/helper/") >= 2
    # the GUI's install is recorded like the CLI's: `verify` without --python checks it
    assert last_install_python() == venv_py(gui_env).absolute()


def test_reinstall_over_a_pinned_build_with_consent(qtbot: QtBot, tmp_path: Path, template_venv: Path,
                                                   users_pip: LoopbackServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    publish(users_pip, "/mirror/cpu", [torch("2.13.0"), torch("2.14.1")])
    source = users_pip.url("/mirror/cpu/")
    cli_env, gui_env = two_venvs(template_venv, tmp_path)
    assert cli_install(source, cli_env) == 0
    assert gui_install(qtbot, tmp_path, source, gui_env).outcome is not None

    # without consent: refused the same way, nothing changed
    assert cli_install(source, cli_env, "2.14.1") == 2
    assert "already has torch 2.13.0+cpu -> 2.14.1+cpu" in capsys.readouterr().err
    refused = gui_install(qtbot, tmp_path, source, gui_env, torch_version="2.14.1")
    assert refused.problem is not None and "already has torch 2.13.0+cpu -> 2.14.1+cpu" in refused.problem.message
    assert installed(cli_env)["torch"] == installed(gui_env)["torch"] == "2.13.0+cpu"

    # with consent: both release their own pin of 2.13.0 and end on 2.14.1, pinned again
    assert cli_install(source, cli_env, "2.14.1", "--yes") == 0
    assert gui_install(qtbot, tmp_path, source, gui_env, torch_version="2.14.1", consent=True).outcome is not None
    assert same_result(cli_env, gui_env)["torch"] == "2.14.1+cpu"

    # and `verify` with no --python looks at the environment of the last install (the GUI's)
    capsys.readouterr()
    main(["verify", "--json"])
    assert json.loads(capsys.readouterr().out)["python"] == str(venv_py(gui_env).absolute())


@pytest.mark.parametrize("mode", ["new", "existing"])
def test_the_windows_request_is_the_command_lines_request(mode: str, tmp_path: Path) -> None:
    """What the GUI hands the core, written as a command line, makes the CLI hand it the same request."""
    state = WizardState(GuiOptions(torch="2.13.0", variant="cpu", index_url="https://mirror.example/whl/cpu/",
                                   no_torchvision=True), settings(tmp_path))
    state.machine = load_profile(str(MACHINES["no-gpu"]))
    state.plan = make_plan(state.machine, state.choices)
    state.env.mode, state.env.path, state.env.consent = mode, str(tmp_path / "env"), True
    state.env.base_python = sys.executable if mode == "new" else None
    gui = state.install_request()
    argv = command_line(gui)[1:]
    cli = build_request(build_parser(argv).parse_args(argv))
    fields = ("torch", "variant", "requirements", "index_url", "python", "venv", "new_venv", "consent", "verify",
              "expect_gpu")
    assert {f: getattr(cli, f) for f in fields} == {f: getattr(gui, f) for f in fields}


@pytest.mark.parametrize(("make_url", "code"), [
    (lambda: f"http://127.0.0.1:{closed_port()}/whl/cpu/", 6),   # nothing listens there
    (lambda: "ftp://mirror.example/whl/cpu/", 2),                # not a source at all
    (lambda: "/no/such/folder/of/wheels", 2),
])
def test_a_wrong_source_is_refused_before_any_environment_exists(
        make_url: object, code: int, qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = make_url()  # type: ignore[operator]
    cli_target, gui_target = tmp_path / "cli" / "env", tmp_path / "gui" / "env"
    assert main(["install", "--new-venv", str(cli_target), "--python", sys.executable, "--torch", "2.13.0",
                 "--variant", "cpu", "--index-url", url, "--no-verify"]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and "  hint: " in err
    page = gui_install(qtbot, tmp_path, url, new_venv=gui_target)
    assert page.problem is not None and page.outcome is None
    assert not cli_target.exists() and not gui_target.exists()


def test_ctrl_c_during_pip_puts_the_environment_back(tmp_path: Path, template_venv: Path,
                                                     users_pip: LoopbackServer) -> None:
    """The CLI's cancel is Ctrl+C (the GUI's Cancel button: tests/qt/test_install.py): same undo."""
    publish(users_pip, "/mirror/cpu", [torch()])
    env = tmp_path / "env"
    shutil.copytree(template_venv, env, symlinks=True)
    site = next((env / "lib").glob("python3*/site-packages"))
    # pip hangs at start-up for the install command only: Ctrl+C always lands while pip runs
    (site / "zz_slow_pip.pth").write_text(
        "import sys, time; time.sleep(60) if 'install' in sys.orig_argv and '--extra-index-url' in sys.orig_argv "
        "else None\n")
    before = installed(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "install", "--venv", str(env), "--torch", "2.13.0", "--variant", "cpu",
         "--index-url", users_pip.url("/mirror/cpu/"), "--no-verify"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 60
    snapshot_dir = Path(os.environ["TORCH_GPU_SETUP_DATA_DIR"]) / "snapshots"
    while not any(snapshot_dir.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)   # the snapshot is taken right before pip starts
    assert proc.poll() is None, proc.communicate()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # the same cancel-and-undo as the GUI's Cancel button (the signal sets the flow's cancel)
    assert "The installation was cancelled." in err and "put back" in err and "Traceback" not in err
    assert installed(env) == before
