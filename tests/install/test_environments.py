"""Targets, Windows rules (platform injected), PEP 668, snapshots and consent."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path, PureWindowsPath

import pytest

from tests.install.conftest import venv_py
from wizard.cli import main
from wizard.core.errors import WizardError
from wizard.core.install import environments as envs
from wizard.core.install import interpreters, snapshots
from wizard.core.install.flow import activation_hint, replacements_needing_consent

# What a Debian 12 /usr/bin/python3 reports to the probe (EXTERNALLY-MANAGED in its stdlib).
# What wizard/core/detect/probe_script.py prints on Debian 12's system Python (its fields, one JSON line).
DEBIAN_PROBE = {
    "probe": 1, "executable": "/usr/bin/python3", "version": "3.11.2", "implementation": "cpython", "bits": 64,
    "free_threaded": False, "prefix": "/usr", "base_prefix": "/usr", "in_venv": False, "venv_creator": None,
    "conda": False, "externally_managed": True, "pip_version": "23.0.1", "torch_version": None,
    "user_site_enabled": True, "user_site_torch": None, "platform": "linux", "system": "Linux",
    "machine": "x86_64", "glibc": "2.36", "release": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1",
    "purelib": "/usr/local/lib/python3.11/dist-packages", "microsoft_store": False,
}


@pytest.fixture
def debian_python(tmp_path: Path) -> Path:
    """A fake interpreter executable that answers the probe like Debian's system Python."""
    script = tmp_path / "bin" / "python3"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho '{json.dumps(DEBIAN_PROBE)}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_pep668_python_is_never_changed(debian_python: Path) -> None:
    with pytest.raises(WizardError) as err:
        envs.resolve_target(python=str(debian_python))
    assert "PEP 668" in err.value.message
    assert f"--new-venv DIR --python {debian_python}" in err.value.hint


def test_pep668_on_the_command_line_is_one_error_with_its_hint(debian_python: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["install", "--python", str(debian_python), "--torch", "2.13.0", "--variant", "cpu",
                 "--index-url", "http://127.0.0.1:9/", "--no-verify"])
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("- ")]
    assert code == 2 and len(errors) == 2   # bad input: nothing changed, no log to read
    assert errors[0].startswith("torch-gpu-setup: error: ") and "managed by the operating system" in errors[0]
    assert errors[1] == f"  hint: install into a new virtual environment instead: torch-gpu-setup install " \
                        f"--new-venv DIR --python {debian_python}"


def test_pep668_python_can_still_be_the_base_of_a_new_venv(debian_python: Path, tmp_path: Path) -> None:
    target = envs.resolve_target(python=str(debian_python), new_venv=str(tmp_path / "new"))
    assert target.kind == "new_venv" and target.base_python == str(debian_python)


def test_real_venv_is_inspected(venv: Path) -> None:
    info = interpreters.inspect_interpreter(venv_py(venv))
    assert info.kind == "venv" and not info.externally_managed and info.pip_version
    assert Path(info.prefix) == venv


def test_missing_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as err:
        interpreters.inspect_interpreter(tmp_path / "nope" / "python")
    assert "no Python interpreter at" in err.value.message


def test_new_venv_into_a_non_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("mine")
    with pytest.raises(WizardError, match="not empty"):
        envs.resolve_target(new_venv=str(tmp_path / "x"), python="python3")


def test_new_venv_on_an_existing_venv_means_that_venv(venv: Path) -> None:
    target = envs.resolve_target(new_venv=str(venv), python="python3")
    assert target.kind == "venv" and target.python == venv_py(venv)


def test_default_target_is_named_after_the_build(isolated_pip: Path) -> None:
    target = envs.resolve_target(default_name=envs.env_name_for("2.14.1", "cu126"))
    assert target.kind == "new_venv"
    assert target.prefix == isolated_pip / "envs" / "torch-2.14.1-cu126"


def test_windows_paths() -> None:
    assert envs.venv_python(r"C:\envs\t", "win32") == PureWindowsPath(r"C:\envs\t\Scripts\python.exe")
    assert envs.conda_python(r"C:\conda\envs\t", "win32") == PureWindowsPath(r"C:\conda\envs\t\python.exe")
    assert activation_hint(Path("C:/envs/t"), "venv", "win32").startswith("C:/envs/t\\Scripts\\activate")


def test_microsoft_store_python_gets_envs_outside_redirected_appdata(tmp_path: Path) -> None:
    store = envs.envs_dir("win32", microsoft_store=True, home=tmp_path)
    assert store == tmp_path / "torch-gpu-setup" / "envs"
    assert envs.envs_dir("win32", microsoft_store=False, home=tmp_path) == envs.data_dir() / "envs"


def test_long_windows_paths_are_refused_unless_enabled() -> None:
    short = "C:\\envs\\torch-2.14.1-cu126"
    long = "C:\\Users\\" + "a" * 40 + "\\AppData\\Local\\torch-gpu-setup\\envs\\torch-2.14.1-cu126"
    envs.check_path_length(short, "win32", long_paths_enabled=False)
    envs.check_path_length(long, "win32", long_paths_enabled=True)
    envs.check_path_length(long, "linux", long_paths_enabled=None)
    with pytest.raises(WizardError) as err:
        envs.check_path_length(long, "win32", long_paths_enabled=None)
    assert "characters Windows allows" in err.value.message and "LongPathsEnabled" in err.value.hint


def test_rollback_plan() -> None:
    plan = snapshots.rollback_plan({"torch": "2.0.1+cpu", "numpy": "1.26.4"},
                              {"torch": "2.14.1+cu126", "numpy": "1.26.4", "triton": "3.7.0"})
    assert plan.remove == ("triton",) and plan.restore == ("torch==2.0.1+cpu",)
    assert snapshots.rollback_plan({"a": "1"}, {"a": "1"}).empty


def test_unreadable_snapshot_is_a_clear_error(isolated_pip: Path, venv: Path) -> None:
    path = snapshots.snapshot_path(venv_py(venv))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(WizardError, match="unreadable"):
        snapshots.load_snapshot(venv_py(venv))


def test_snapshot_is_keyed_by_interpreter_path_and_timestamped(isolated_pip: Path, venv: Path) -> None:
    snap = snapshots.take_snapshot(venv_py(venv), venv)
    stored = json.loads(snapshots.snapshot_path(venv_py(venv)).read_text())
    assert stored["python"] == os.path.abspath(venv_py(venv)) and stored["taken_at"] == snap.taken_at
    assert "pip" in stored["distributions"]
    assert snapshots.load_snapshot(venv_py(venv)) == snap


def test_delete_refuses_a_venv_the_wizard_did_not_create(venv: Path) -> None:
    with pytest.raises(WizardError, match="not created by"):
        envs.delete_created_venv(venv)
    assert venv.exists()


@pytest.mark.parametrize(("installed", "needs"), [
    ({}, []),
    ({"torch": "2.14.1+cu126"}, []),
    ({"torch": "2.5.1+cpu"}, ["torch 2.5.1+cpu -> 2.14.1+cu126"]),
    ({"torch": "2.5.1+cpu", "torchvision": "0.20.1+cpu"},
     ["torch 2.5.1+cpu -> 2.14.1+cu126", "torchvision 0.20.1+cpu -> 0.29.1+cu126"]),
])
def test_consent_needed_for_replacing_builds(installed: dict[str, str], needs: list[str]) -> None:
    assert replacements_needing_consent(["torch==2.14.1+cu126", "torchvision==0.29.1+cu126"], installed) == needs


def test_companion_that_would_no_longer_match_needs_consent() -> None:
    needs = replacements_needing_consent(["torch==2.14.1+cu126"], {"torch": "2.5.1+cpu", "torchaudio": "2.5.1+cpu"})
    assert needs[1].startswith("torchaudio 2.5.1+cpu (built for torch 2.5.1+cpu")
