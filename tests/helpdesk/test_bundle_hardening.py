"""A tampered bundle runs nothing (issue 15): only the wheels its manifest lists, by name and sha256.

Each test makes a real bundle from a loopback index, tampers with it the way an attacker (or a
careless copy) would, and installs it into a real venv: the install must be refused with exit 8
before pip starts, and no code from the bundle may have run (a planted ``setup.py`` would leave a
marker file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, build_wheel, installed, venv_py
from wizard.cli import main
from wizard.core.helpdesk.bundle import BUNDLE_MANIFEST
from wizard.core.helpdesk.exit_codes import ExitCode
from wizard.core.install.flow import InstallRequest, pip_environment

PROFILES = Path(__file__).parent.parent / "profiles"
TORCH = "2.13.0"


def _sdist(dest: Path, name: str, version: str, marker: Path) -> Path:
    """A source archive whose setup.py, if anything ever ran it, would create ``marker``."""
    setup = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
             f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n").encode()
    path = dest / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for arcname, data in ((f"{name}-{version}/setup.py", setup),
                              (f"{name}-{version}/PKG-INFO",
                               f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())):
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _make_bundle(loopback_index: LoopbackIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    loopback_index.add("whl/cpu", build_wheel(tmp_path / "w", "torch", f"{TORCH}+cpu", requires=("filelock",)))
    loopback_index.add("whl/cpu", build_wheel(tmp_path / "w", "filelock", "3.0.0"))
    out = tmp_path / "bundle"
    code = main(["bundle", "--machine", str(PROFILES / "ubuntu2404-cpu-only.json"), "--torch", TORCH,
                 "--variant", "cpu", "--no-torchvision", "--index-url", loopback_index.url("whl/cpu"),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return out


def _install(out: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["install", "--bundle", str(out), "--venv", str(venv), "--yes"])
    return code, capsys.readouterr().err


def _manifest(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / BUNDLE_MANIFEST).read_text())


def _save(out: Path, manifest: dict) -> None:  # type: ignore[type-arg]
    (out / BUNDLE_MANIFEST).write_text(json.dumps(manifest))


def test_an_unlisted_source_archive_is_refused_and_never_runs(
        isolated_pip: Path, loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _make_bundle(loopback_index, tmp_path, capsys)
    marker = tmp_path / "setup-py-ran"
    _sdist(out / "wheels", "filelock", "99.0", marker)
    before = installed(venv)
    code, err = _install(out, venv, capsys)
    assert code == ExitCode.BUNDLE_REFUSED == 8, err
    assert "does not list: filelock-99.0.tar.gz" in err
    assert not marker.exists() and installed(venv) == before

    # any stray file or folder is refused too: pip's --find-links reads the whole folder
    (out / "wheels" / "filelock-99.0.tar.gz").unlink()
    (out / "wheels" / "notes.txt").write_text("hello")
    code, err = _install(out, venv, capsys)
    assert code == 8 and "does not list: notes.txt" in err


def test_a_listed_source_archive_is_refused_wheels_only(
        isolated_pip: Path, loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the attacker also edits the manifest: the archive is listed with its right sha256 and size
    out = _make_bundle(loopback_index, tmp_path, capsys)
    marker = tmp_path / "setup-py-ran"
    sdist = _sdist(out / "wheels", "filelock", "99.0", marker)
    manifest = _manifest(out)
    manifest["files"].append({"path": f"wheels/{sdist.name}", "size": sdist.stat().st_size,
                              "sha256": hashlib.sha256(sdist.read_bytes()).hexdigest()})
    manifest["targets"][0]["files"].append(sdist.name)
    _save(out, manifest)
    before = installed(venv)
    code, err = _install(out, venv, capsys)
    assert code == 8, err
    assert "filelock-99.0.tar.gz, which is not a wheel" in err
    assert not marker.exists() and installed(venv) == before


def test_a_listed_link_is_refused(isolated_pip: Path, loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = _make_bundle(loopback_index, tmp_path, capsys)
    wheel = out / "wheels" / "filelock-3.0.0-py3-none-any.whl"
    elsewhere = tmp_path / "elsewhere.whl"
    wheel.rename(elsewhere)
    wheel.symlink_to(elsewhere)   # same bytes, but swappable after the check
    code, err = _install(out, venv, capsys)
    assert code == 8 and "filelock-3.0.0-py3-none-any.whl is a link" in err


@pytest.mark.parametrize("also_from_target", [False, True])
def test_an_entry_removed_with_its_file_is_a_damaged_bundle(
        also_from_target: bool, isolated_pip: Path, loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _make_bundle(loopback_index, tmp_path, capsys)
    name = "filelock-3.0.0-py3-none-any.whl"
    manifest = _manifest(out)
    manifest["files"] = [f for f in manifest["files"] if f["path"] != f"wheels/{name}"]
    if also_from_target:
        manifest["targets"][0]["files"].remove(name)
    _save(out, manifest)
    (out / "wheels" / name).unlink()
    before = installed(venv)
    code, err = _install(out, venv, capsys)
    assert code == ExitCode.BUNDLE_REFUSED, err   # not 7: pip is never asked
    assert "the bundle is incomplete" in err
    assert ("needs filelock" in err) if also_from_target else (name in err)
    assert installed(venv) == before


def test_offline_pip_takes_wheels_only(isolated_pip: Path, venv: Path, tmp_path: Path) -> None:
    # Depth: even a folder that slipped past the checks cannot make pip build (run) a source archive.
    folder = tmp_path / "wheels"
    folder.mkdir()
    marker = tmp_path / "setup-py-ran"
    _sdist(folder, "filelock", "99.0", marker)
    env = pip_environment(InstallRequest(torch=TORCH, variant="cpu", requirements=("filelock",), offline=True),
                          folder)
    result = subprocess.run([str(venv_py(venv)), "-m", "pip", "install", "filelock"], capture_output=True,
                            text=True, env={**os.environ, **env}, check=False)
    assert result.returncode != 0
    assert not marker.exists()
    assert "filelock" not in installed(venv)
