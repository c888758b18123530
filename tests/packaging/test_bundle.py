"""Smoke test of the built app (``dist/torch-gpu-setup``): every face of the wizard, run from the bundle.

Run by ``python packaging/build.py`` after building, and by the suite whenever a bundle newer
than the source is present. The commands go through the console program (``torch-gpu-setup-cli.exe``
on Windows), the GUI through the one a double-click starts (tests/packaging/conftest.py). Each step
compares with the source run where the answer is the same by design (``--version``, ``plan
--json``), so no result is written down here.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, installed
from tests.packaging.conftest import BUNDLE, ROOT
from wizard import __version__

pytestmark = pytest.mark.bundle

PROFILE = ROOT / "tests" / "profiles" / "ubuntu2404-rtx5090-drv590.json"
TORCH_VERSION = "2.13.0"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_bundle(exe: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the bundled executable from a neutral folder (not the repository: nothing is found there)."""
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=exe.parent.parent, check=False)


def private_env(tmp_path: Path) -> dict[str, str]:
    """This environment with the GUI's settings, logs and caches inside ``tmp_path``."""
    env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_version_is_the_source_version(bundle_exe: Path) -> None:
    result = run_bundle(bundle_exe, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["torch-gpu-setup", __version__]


def test_detect_finds_interpreters_outside_the_bundle(bundle_exe: Path) -> None:
    result = run_bundle(bundle_exe, "detect", "--json")
    assert result.returncode == 0, result.stderr
    profile = json.loads(result.stdout)
    assert profile["schema"] == "machine-profile/1"
    bundle = str(BUNDLE.resolve())
    targets = [profile["python"]["path"] if profile.get("python") else None,
               *(i.get("path") for i in profile.get("interpreters", []))]
    # the frozen app is never its own target: every interpreter found lives outside the bundle
    assert all(not str(Path(t).resolve()).startswith(bundle) for t in targets if t)


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for the interpreter")
def test_probed_interpreter_gets_the_users_library_path(bundle_exe: Path, tmp_path: Path) -> None:
    """A child of the bundle (here the probed Python) must not load the bundle's private libraries."""
    record = tmp_path / "ld_library_path.txt"
    fake = tmp_path / "python3"
    fake.write_text(f'#!/bin/sh\nprintf "%s" "${{LD_LIBRARY_PATH-<unset>}}" > "{record}"\n'
                    f'exec "{sys.executable}" "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "LD_LIBRARY_PATH": "/opt/users-own-libs"}
    result = run_bundle(bundle_exe, "detect", "--python", str(fake), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert record.read_text() == "/opt/users-own-libs"


def test_plan_matches_the_source_run(bundle_exe: Path) -> None:
    frozen = run_bundle(bundle_exe, "plan", "--machine", str(PROFILE), "--json")
    source = subprocess.run([sys.executable, "-m", "wizard", "plan", "--machine", str(PROFILE), "--json"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert frozen.returncode == source.returncode == 0, frozen.stderr + source.stderr
    assert json.loads(frozen.stdout) == json.loads(source.stdout)


def test_gui_autopilot_saves_every_page(bundle_gui_exe: Path, tmp_path: Path) -> None:
    # the windowed program on Windows (what a double-click starts); it prints nothing: stdout is None
    shots = tmp_path / "shots"
    result = run_bundle(bundle_gui_exe, "gui", "--machine", str(PROFILE), "--autopilot", "--screenshots", str(shots),
                        env=private_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    pngs = sorted(shots.rglob("*.png"))
    assert pngs, f"no screenshots in {shots}: {result.stderr[-500:]}"
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_SIGNATURE, png


@pytest.mark.slow
def test_install_from_the_bundle(bundle_exe: Path, torch_wheels: tuple[Path, str], loopback_index: LoopbackIndex,
                                 isolated_pip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real torch CPU wheel from a loopback index into a new venv, verified, all from the bundle."""
    cache, python = torch_wheels
    for wheel in cache.glob("*.whl"):
        loopback_index.add("simple" if wheel.name.startswith("pip-") else "whl/cpu", wheel)
    config = tmp_path / "user-pip.conf"
    config.write_text(f"[global]\nindex-url = {loopback_index.url('simple')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_INDEX_URL")
    env_dir = tmp_path / "torch-env"

    result = run_bundle(bundle_exe, "install", "--new-venv", str(env_dir), "--python", python,
                        "--index-url", loopback_index.url("whl/cpu"), "--torch", TORCH_VERSION, "--variant", "cpu",
                        "--yes", env=dict(os.environ), timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert installed(env_dir)["torch"] == f"{TORCH_VERSION}+cpu"
    assert "CPU only" in result.stdout  # the verification demo ran (the bundled verify script)


def test_only_the_qt_modules_in_use_are_bundled(bundle_exe: Path) -> None:
    internal = BUNDLE / "_internal" / "PySide6"
    bindings = {p.name.split(".")[0] for p in internal.glob("Qt*.*") if p.suffix in (".so", ".pyd")}
    assert bindings == {"QtCore", "QtGui", "QtWidgets"}
    names = {p.name for p in BUNDLE.rglob("*")}
    for unwanted in ("Qt6Qml", "Qt6Quick", "Qt6WebEngine", "Qt63D", "Qt6Multimedia", "cryptography"):
        assert not any(unwanted in n for n in names), unwanted


def test_data_files_are_bundled_as_in_the_source(bundle_exe: Path) -> None:
    internal = BUNDLE / "_internal" / "wizard"
    for source in [*sorted((ROOT / "wizard" / "data").glob("*.json")),
                   ROOT / "wizard" / "core" / "probe_script.py", ROOT / "wizard" / "core" / "verify_script.py"]:
        copy = internal / source.relative_to(ROOT / "wizard")
        assert copy.read_bytes() == source.read_bytes(), copy


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux archives")
def test_linux_archives_hold_the_app_and_menu_entry(bundle_exe: Path) -> None:
    machine = platform.machine()
    tarball = ROOT / "dist" / f"torch-gpu-setup-{__version__}-linux-{machine}.tar.gz"
    if not tarball.is_file():
        pytest.skip(f"{tarball.name} not built")
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["torch-gpu-setup/torch-gpu-setup"].mode & 0o111
    assert {"torch-gpu-setup/torch-gpu-setup.desktop", "torch-gpu-setup/torch-gpu-setup.png",
            "torch-gpu-setup/install-menu-entry.sh"} <= set(members)

    debs = sorted((ROOT / "dist").glob(f"torch-gpu-setup_{__version__}_*.deb"))
    if not debs or shutil.which("dpkg-deb") is None:
        pytest.skip("no .deb built or no dpkg-deb")
    listing = subprocess.run(["dpkg-deb", "--contents", str(debs[0])], capture_output=True, text=True,
                             check=True).stdout
    for path in ("./opt/torch-gpu-setup/torch-gpu-setup", "./usr/share/applications/torch-gpu-setup.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/torch-gpu-setup.png",
                 "./usr/share/icons/hicolor/scalable/apps/torch-gpu-setup.svg", "./usr/bin/torch-gpu-setup"):
        assert path in listing, path
    fields = subprocess.run(["dpkg-deb", "--field", str(debs[0]), "Package", "Version"], capture_output=True,
                            text=True, check=True).stdout
    assert fields.split() == ["Package:", "torch-gpu-setup", "Version:", __version__]
