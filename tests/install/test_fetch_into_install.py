"""The big wheels reach pip through the wizard's own downloader and the cache's wheelhouse.

Real pip, real venvs, a real loopback index: the server's request log shows who fetched what.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.install.conftest import LoopbackIndex, Recorder, build_wheel, installed, venv_py
from wizard.cli import main
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import FileProgress, LogLine, Status, StepStarted
from wizard.core.install import snapshots
from wizard.core.install.flow import (
    InstallRequest,
    last_install_path,
    last_install_python,
    run_install,
    wheelhouse_dir,
)

pytestmark = pytest.mark.usefixtures("isolated_pip")

TORCH_FILE = "torch-1.0+cpu-py3-none-any.whl"


def _publish(index: LoopbackIndex, tmp_path: Path, payload_kib: int = 64) -> None:
    wheels = tmp_path / "wheels"
    index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",), payload_kib=payload_kib))
    index.add("whl/cpu", build_wheel(wheels, "helper", "1.0"))


def _gets(index: LoopbackIndex, filename: str) -> int:
    """GETs of one file, however the client quoted the ``+`` of a local version label."""
    return [unquote(r) for r in index.requests].count(f"/files/{filename}")


def _request(index: LoopbackIndex, venv: Path, **kw: object) -> InstallRequest:
    return InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                          index_url=index.url("whl/cpu"), venv=str(venv), verify=False, **kw)  # type: ignore[arg-type]


def test_big_wheel_comes_through_the_wizard_and_the_cache_is_reused(
        loopback_index: LoopbackIndex, venv: Path, template_venv: Path, tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    events = Recorder()
    run_install(_request(loopback_index, venv), events)
    statuses, lines = events.texts(Status, StepStarted), events.texts(LogLine)
    progress = events.of(FileProgress)

    assert installed(venv)["torch"] == "1.0+cpu" and installed(venv)["helper"] == "1.0"
    house = wheelhouse_dir(_request(loopback_index, venv))
    assert (house / TORCH_FILE).is_file() and (house / "wheelhouse.json").is_file()
    # one GET of the big wheel: the wizard's downloader; pip took the local copy (its --find-links)
    assert _gets(loopback_index, TORCH_FILE) == 1
    assert _gets(loopback_index, "helper-1.0-py3-none-any.whl") == 1          # the rest: pip, from the index
    assert any("--find-links" in line and str(house / TORCH_FILE) in line for line in lines)
    assert any(s.startswith("Downloading 1 file(s)") for s in statuses)
    size = (house / TORCH_FILE).stat().st_size
    assert progress and progress[-1].done == size and progress[-1].total == size
    assert statuses.index(next(s for s in statuses if s.startswith("Downloading 1"))) < \
        statuses.index("Recording a snapshot of the environment")

    # a second install (another environment) reuses the verified file from the cache
    second = tmp_path / "env2"
    shutil.copytree(template_venv, second, symlinks=True)
    run_install(_request(loopback_index, second))
    assert installed(second)["torch"] == "1.0+cpu"
    assert _gets(loopback_index, TORCH_FILE) == 1
    assert _gets(loopback_index, "helper-1.0-py3-none-any.whl") == 2

    # verify without --python: the environment of the last successful install
    assert last_install_python() == venv_py(second).absolute()


def test_cancel_while_the_wizard_downloads_leaves_the_environment_untouched(
        loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path, payload_kib=4096)
    loopback_index.slow.add(TORCH_FILE)
    cancel = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, FileProgress) and event.done > 0:
            cancel.set()

    before = installed(venv)
    with pytest.raises(Cancelled) as err:
        run_install(_request(loopback_index, venv), on_event, cancel=cancel)
    assert "Nothing was changed" in err.value.hint
    assert installed(venv) == before
    assert not snapshots.snapshot_path(venv_py(venv)).exists()      # stopped before the snapshot
    assert not (wheelhouse_dir(_request(loopback_index, venv)) / TORCH_FILE).exists()
    assert not last_install_path().exists()


def test_a_missing_wheel_fails_before_a_venv_is_made(loopback_index: LoopbackIndex, tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    target = tmp_path / "new-env"
    events = Recorder()
    with pytest.raises(WizardError) as err:
        run_install(InstallRequest(torch="9.9", variant="cpu", requirements=("torch==9.9+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), python=sys.executable,
                                   new_venv=str(target), verify=False), events)
    assert "torch 9.9+cpu is not on the index" in err.value.message and "1.0+cpu" in err.value.message
    assert not any(e.step == "venv" for e in events.of(StepStarted))
    assert not target.exists()


def test_an_explicit_wheelhouse_is_used_as_given(loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    own = tmp_path / "own-wheelhouse"
    own.mkdir()
    shutil.copy(tmp_path / "wheels" / TORCH_FILE, own / TORCH_FILE)
    run_install(_request(loopback_index, venv, wheelhouse=own))
    assert installed(venv)["torch"] == "1.0+cpu"
    assert _gets(loopback_index, TORCH_FILE) == 0
    assert not wheelhouse_dir(_request(loopback_index, venv)).exists()


def test_verify_default_python(venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # recorded: verify uses it (never the wizard's own interpreter)
    last_install_path().parent.mkdir(parents=True, exist_ok=True)
    last_install_path().write_text(json.dumps({"python": str(venv_py(venv))}))
    code = main(["verify", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["python"] == str(venv_py(venv))   # no torch there: failed, but the right one

    # recorded but gone: the target Python that detection finds (an existing interpreter), not the venv
    shutil.rmtree(venv)
    assert last_install_python() is None
    code = main(["verify", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["python"] != str(venv_py(venv)) and Path(data["python"]).is_file()
