"""Rolling back a venv the wizard created keeps the person's files; a half-made venv stays "created"."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.install.conftest import build_wheel, venv_py
from wizard.core.errors import WizardError
from wizard.core.install import snapshots
from wizard.core.install.environments import CREATED_MARKER, half_made, mark_complete
from wizard.core.install.removal import remove_created_venv, user_files

pytestmark = pytest.mark.usefixtures("isolated_pip")


def _mark(prefix: Path, complete: bool | None) -> None:
    data: dict[str, object] = {"created_by": "torch-gpu-setup"}
    if complete is not None:
        data["complete"] = complete
    (prefix / CREATED_MARKER).write_text(json.dumps(data))


def _site(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3*/site-packages"))


@pytest.fixture
def used_venv(venv: Path, tmp_path: Path) -> Path:
    """A created venv someone worked in: a package pip installed, and their own files."""
    wheel = build_wheel(tmp_path / "wheels", "helper", "1.0")
    subprocess.run([str(venv_py(venv)), "-m", "pip", "install", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    _mark(venv, complete=True)
    (venv / "torch-gpu-setup-constraints.txt").write_text("torch==1.0+cpu\n")
    (venv / "notes.txt").write_text("my notes")
    (venv / "project").mkdir()
    (venv / "project" / "train.py").write_text("print('train')\n")
    (venv / "project" / "__pycache__").mkdir()
    (venv / "project" / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    (venv / "bin" / "my-tool").write_text("echo mine\n")
    (venv / "data").symlink_to(tmp_path)  # a link to their data: the link is theirs, not what it points to
    # a package a killed pip had half written (no RECORD yet): the environment's, not the person's
    (_site(venv) / "torch").mkdir()
    (_site(venv) / "torch" / "__init__.py").write_text("")
    return venv


def test_user_files_are_what_the_person_added(used_venv: Path) -> None:
    assert user_files(used_venv) == ["bin/my-tool", "data", "notes.txt", "project/train.py"]


def test_removing_a_created_venv_moves_the_persons_files_beside_it(used_venv: Path, tmp_path: Path) -> None:
    removal = remove_created_venv(used_venv, stamp="20261201-120000")
    assert removal.deleted and not used_venv.exists()
    kept = tmp_path / "env-kept-20261201-120000"
    assert removal.kept_dir == kept and removal.kept == ("bin/my-tool", "data", "notes.txt", "project/train.py")
    assert (kept / "notes.txt").read_text() == "my notes"
    assert (kept / "project" / "train.py").read_text() == "print('train')\n"
    assert (kept / "data").is_symlink() and (kept / "data").resolve() == tmp_path.resolve()
    assert tmp_path.is_dir()  # what the link pointed to is untouched
    # a second removal with the same stamp never merges into the first folder
    (tmp_path / "again").mkdir()
    _mark(tmp_path / "again", complete=True)
    (tmp_path / "again" / "x.txt").write_text("x")
    assert remove_created_venv(tmp_path / "again", stamp="s").kept_dir == tmp_path / "again-kept-s"


def test_rollback_says_where_the_files_went(used_venv: Path) -> None:
    python = venv_py(used_venv)
    snapshots.take_snapshot(python, used_venv, created_venv=True)
    message = snapshots.rollback(python)
    assert f"deleted {used_venv}" in message and "4 files you had added to it were moved to" in message
    kept = Path(message.rsplit("moved to ", 1)[1])
    assert (kept / "notes.txt").is_file() and not used_venv.exists()


def test_a_venv_without_the_persons_files_is_just_deleted(venv: Path) -> None:
    _mark(venv, complete=True)
    removal = remove_created_venv(venv)
    assert removal.deleted and removal.kept_dir is None and not venv.exists()
    assert not list(venv.parent.glob("env-kept-*"))


def test_a_half_made_venv_keeps_its_created_snapshot_on_a_rerun(venv: Path) -> None:
    python = venv_py(venv)
    _mark(venv, complete=False)  # an install that was killed: the marker never said complete
    assert half_made(venv)
    snap = snapshots.take_snapshot(python, venv)  # what the rerun's snapshot step does
    assert snap.created_venv and snapshots.load_snapshot(python).created_venv
    mark_complete(venv)  # the rerun finished: from now on, installs snapshot it as usual
    assert not half_made(venv)
    assert not snapshots.take_snapshot(python, venv).created_venv


@pytest.mark.parametrize("marker", [None, True])
def test_finished_and_older_venvs_are_snapshotted_as_usual(venv: Path, marker: bool | None) -> None:
    _mark(venv, complete=marker)  # None: a marker written before "complete" existed
    assert not half_made(venv)
    snap = snapshots.take_snapshot(venv_py(venv), venv)
    assert not snap.created_venv and "pip" in snap.distributions


def test_a_venv_without_the_marker_is_not_deleted(venv: Path) -> None:
    with pytest.raises(WizardError, match="was not created by torch-gpu-setup"):
        remove_created_venv(venv)
    assert (venv / "pyvenv.cfg").is_file() and os.path.exists(venv_py(venv))
