"""Offline bundles: made from a loopback index, refused when tampered or made for another Python,
installed with every network path closed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, build_wheel, installed, venv_py
from wizard.cli import main
from wizard.core.helpdesk.bundle import BUNDLE_MANIFEST, sha256_file
from wizard.core.helpdesk.exit_codes import ExitCode

PROFILES = Path(__file__).parent.parent / "profiles"
TORCH = "2.13.0"


def test_tampered_bundle_is_refused_before_anything_is_installed(
        isolated_pip: Path, loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # a small bundle for a CPU-only profile, from pure-Python stand-in wheels
    loopback_index.add("whl/cpu", build_wheel(tmp_path / "w", "torch", f"{TORCH}+cpu", requires=("filelock",)))
    loopback_index.add("whl/cpu", build_wheel(tmp_path / "w", "filelock", "3.0.0"))
    out = tmp_path / "bundle"
    code = main(["bundle", "--machine", str(PROFILES / "ubuntu2404-cpu-only.json"), "--torch", TORCH,
                 "--variant", "cpu", "--no-torchvision", "--index-url", loopback_index.url("whl/cpu"),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / BUNDLE_MANIFEST).read_text())
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    # numpy too: every install adds it, offline as online (the index's stand-in numpy)
    assert set(files) == {f"wheels/torch-{TORCH}+cpu-py3-none-any.whl", "wheels/filelock-3.0.0-py3-none-any.whl",
                          "wheels/numpy-2.2.6-py3-none-any.whl"}
    assert all(sha256_file(out / p) == h for p, h in files.items())
    target = manifest["targets"][0]
    assert target["label"] == "ubuntu2404-cpu-only" and target["plan"]["recommended"]["variant"] == "cpu"

    dep = out / "wheels/filelock-3.0.0-py3-none-any.whl"
    data = bytearray(dep.read_bytes())
    data[100] ^= 0xFF
    dep.write_bytes(bytes(data))
    before = installed(venv)
    code = main(["install", "--bundle", str(out), "--venv", str(venv), "--yes"])
    err = capsys.readouterr().err
    assert code == ExitCode.BUNDLE_REFUSED == 8
    assert "filelock-3.0.0-py3-none-any.whl does not match the sha256" in err and "nothing was installed" in err
    assert installed(venv) == before

    # an unlisted wheel slipped into the folder is refused too
    shutil.copy(tmp_path / "w" / "filelock-3.0.0-py3-none-any.whl", dep)
    build_wheel(out / "wheels", "evil", "1.0")
    code = main(["install", "--bundle", str(out), "--venv", str(venv), "--yes"])
    assert code == 8 and "does not list: evil-1.0-py3-none-any.whl" in capsys.readouterr().err
    assert installed(venv) == before


def _other_python() -> str | None:
    """A working interpreter of another minor than 3.11 (on PATH, or a pyenv sibling), or None."""
    candidates = [shutil.which(n) for n in ("python3.12", "python3.10", "python3.13")]
    candidates += [str(p) for p in sorted(Path(sys.base_prefix).parent.glob("3.1[023]*/bin/python3"))]
    for path in filter(None, candidates):
        ok = subprocess.run([path, "-c", "import sys; assert sys.version_info[:2] != (3, 11)"],
                            capture_output=True, check=False).returncode == 0
        if ok:
            return path
    return None


@pytest.mark.slow
def test_bundle_installs_offline_and_verifies(torch_wheels: tuple[Path, str], loopback_index: LoopbackIndex,
                                               isolated_pip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cache, python = torch_wheels
    for wheel in cache.glob("*.whl"):
        if not wheel.name.startswith("pip-"):
            loopback_index.add("whl/cpu", wheel)
    out = tmp_path / "bundle"
    code = main(["bundle", "--python", python, "--torch", TORCH, "--variant", "cpu", "--no-torchvision",
                 "--index-url", loopback_index.url("whl/cpu"), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()

    # another Python: refused, in words naming the machine the bundle was made for
    other = _other_python()
    if other is not None:
        code = main(["install", "--bundle", str(out), "--new-venv", str(tmp_path / "env312"), "--python", other])
        err = capsys.readouterr().err
        assert code == ExitCode.BUNDLE_REFUSED
        assert "does not fit Python 3." in err and "it was made for Python 3.11" in err
        assert not (tmp_path / "env312").exists()

    # every network path closed: no index (isolated_pip), an unreachable proxy, and the index seen
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    served = len(loopback_index.requests)
    env_dir = tmp_path / "env"
    report = tmp_path / "report.zip"
    code = main(["install", "--bundle", str(out), "--new-venv", str(env_dir), "--python", python,
                 "--unattended", "--report", str(report)])
    captured = capsys.readouterr()
    assert code == ExitCode.SUCCESS_CPU_ONLY, captured.err
    assert len(loopback_index.requests) == served  # nothing was fetched
    assert installed(env_dir)["torch"] == f"{TORCH}+cpu"
    assert "installed and verified, CPU only" in captured.out
    with zipfile.ZipFile(report) as zf:
        data = json.loads(zf.read("report.json"))
        assert {"report.html", "report.json"} <= set(zf.namelist())
    assert data["verify"]["verdict"] == "cpu-only" and data["extra"]["pip_list"]["torch"] == f"{TORCH}+cpu"
    assert venv_py(env_dir).exists()
