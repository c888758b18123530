"""Finding and probing Python interpreters: real ones on this machine, real venvs, and fake
interpreters that hang, crash or print garbage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from tests.fakes import RecordedRunner, probe_answer, write_fake_python, write_script
from wizard.core.detect.host import Host, run_command
from wizard.core.detect.python_probe import (
    PROBE_SCRIPT,
    Candidate,
    choose_target,
    detect_python,
    discover_candidates,
    probe_interpreter,
    scan_pythons,
)
from wizard.core.detect.windows import parse_py_launcher
from wizard.core.errors import WizardError
from wizard.core.model.machine import InstalledTorch, PythonTarget


def _host(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: object) -> Host:
    environ = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home"), **(env or {})}
    (tmp_path / "bin").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    defaults: dict[str, object] = {"home": tmp_path / "home", "cwd": str(tmp_path / "cwd")}
    defaults.update(kwargs)
    return Host(system="Linux", release="6.8.0", version="#1", machine="x86_64", environ=environ,
                run=lambda argv, timeout: run_command(argv, timeout, environ), **defaults)  # type: ignore[arg-type]


def _real_env(tmp_path: Path) -> dict[str, str]:
    """Environment for real interpreters: the user site lives in tmp_path, not the real home."""
    return {"PYTHONUSERBASE": str(tmp_path / "userbase"), "PATH": os.environ.get("PATH", "")}


# --------------------------------------------------------------------------- the probe script itself


def test_probe_script_describes_the_running_interpreter() -> None:
    out = subprocess.run([sys.executable, "-I", str(PROBE_SCRIPT)], capture_output=True, text=True,
                         check=True).stdout
    data = json.loads(out)
    assert data["version"] == ".".join(map(str, sys.version_info[:3]))
    assert data["bits"] == (64 if sys.maxsize > 2**32 else 32)
    assert data["in_venv"] is (sys.prefix != sys.base_prefix)
    assert data["executable"] == sys.executable


def test_venv_with_torch_metadata_and_a_user_site_torch(tmp_path: Path) -> None:
    """A real venv: torch found from its metadata only (no torch code exists to import)."""
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site_dir = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    dist = site_dir / "torch-2.5.1+cu121.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.5.1+cu121\n\nbody\n")
    host = _host(tmp_path, _real_env(tmp_path))
    target = detect_python(str(python), host)
    assert target.in_venv and target.source == "venv" and not target.externally_managed
    assert target.installed_torch == InstalledTorch("2.5.1+cu121")
    assert target.installed_torch.local_label == "cu121"
    assert target.pip_version is None  # created without pip
    assert target.user_site_torch is None  # a venv without system site packages ignores the user site


def test_user_site_torch_shadows_the_base_interpreter(tmp_path: Path) -> None:
    base = Path(sys.base_prefix) / "bin" / "python3"
    if not base.exists():
        pytest.skip("no base interpreter next to this venv")
    userbase = tmp_path / "userbase"
    user_site = subprocess.run([str(base), "-c", "import site; print(site.getusersitepackages())"],
                               env={**_real_env(tmp_path)}, capture_output=True, text=True, check=True).stdout.strip()
    dist = Path(user_site) / "torch-2.4.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.4.0\n")
    assert str(userbase) in user_site
    target = detect_python(str(base), _host(tmp_path, _real_env(tmp_path)))
    assert target.user_site_torch == "2.4.0"
    nouser = detect_python(str(base), _host(tmp_path, {**_real_env(tmp_path), "PYTHONNOUSERSITE": "1"}))
    assert nouser.user_site_torch is None


@pytest.mark.skipif(not Path("/usr/lib/python3.11/EXTERNALLY-MANAGED").exists(),
                    reason="no PEP 668 system Python here")
def test_debian_system_python_is_externally_managed(tmp_path: Path) -> None:
    target = detect_python("/usr/bin/python3.11", _host(tmp_path, _real_env(tmp_path)))
    assert target.externally_managed and target.source == "system"


# --------------------------------------------------------------------------- broken interpreters


def test_hanging_interpreter_is_unusable_not_fatal(tmp_path: Path) -> None:
    exe = write_fake_python(tmp_path / "bin" / "python3", "{}", sleep=30)
    start = time.monotonic()
    result = probe_interpreter(_host(tmp_path), Candidate(str(exe), "path"), timeout=0.5)
    assert time.monotonic() - start < 3
    assert result.target is None and "did not answer within 0.5 seconds" in result.reason


def test_crashing_interpreter_is_unusable_with_its_last_words(tmp_path: Path) -> None:
    exe = write_script(tmp_path / "bin" / "python3", "echo 'Fatal Python error: init_fs_encoding' >&2\nexit 134\n")
    result = probe_interpreter(_host(tmp_path), Candidate(str(exe), "path"))
    assert result.target is None
    assert "status 134" in result.reason and "init_fs_encoding" in result.reason


@pytest.mark.parametrize("garbage", ["", "not json at all", "[1, 2]", '{"error": "ImportError: sysconfig"}',
                                     '{"version": "banana", "bits": 64}', '{"version": "3.12.1", "bits": 48}'])
def test_garbage_answers_are_unusable(tmp_path: Path, garbage: str) -> None:
    exe = write_fake_python(tmp_path / "bin" / "python3", garbage)
    result = probe_interpreter(_host(tmp_path), Candidate(str(exe), "path"))
    assert result.target is None and result.reason


def test_detect_python_raises_wizard_error_for_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="no such file"):
        detect_python(str(tmp_path / "nope"), _host(tmp_path))
    exe = write_fake_python(tmp_path / "bin" / "python3", "garbage")
    with pytest.raises(WizardError, match="could not be understood"):
        detect_python(str(exe), _host(tmp_path))


# --------------------------------------------------------------------------- discovery and choice


def _fake(tmp_path: Path, rel: str, target: PythonTarget) -> Path:
    exe = tmp_path / rel
    write_fake_python(exe, probe_answer(target, str(exe), str(exe.parent.parent)))
    return exe


def test_discovery_finds_path_venv_conda_and_pyenv_once_each(tmp_path: Path) -> None:
    t = PythonTarget(version="3.12.3", source="system")
    path_py = _fake(tmp_path, "bin/python3.12", t)
    (tmp_path / "bin" / "python3").symlink_to("python3.12")  # same interpreter twice on PATH
    shims = tmp_path / "pyenv" / "shims"
    write_fake_python(shims / "python3", "{}")  # a shim: skipped
    pyenv_py = _fake(tmp_path, "pyenv/versions/3.11.9/bin/python3", PythonTarget(version="3.11.9"))
    venv_py = _fake(tmp_path, "proj/.venv/bin/python", PythonTarget(version="3.12.3", source="venv"))
    conda_py = _fake(tmp_path, "conda/envs/ml/bin/python3", PythonTarget(version="3.10.14", source="conda"))
    home = tmp_path / "home" / ".conda"
    home.mkdir(parents=True)
    (home / "environments.txt").write_text(f"{tmp_path / 'conda/envs/ml'}\n/gone/env\n")
    host = _host(tmp_path, {"PATH": f"{shims}{os.pathsep}{tmp_path / 'bin'}",
                            "VIRTUAL_ENV": str(tmp_path / "proj/.venv"), "PYENV_ROOT": str(tmp_path / "pyenv")})
    found = discover_candidates(host)
    assert [(c.path, c.found_by) for c in found] == [
        (str(venv_py), "venv"), (str(conda_py), "conda"), (str(path_py.with_name("python3")), "path"),
        (str(pyenv_py), "pyenv")]


def test_scan_prefers_the_active_venv_and_lists_the_rest(tmp_path: Path) -> None:
    _fake(tmp_path, "bin/python3.13", PythonTarget(version="3.13.1", source="system"))
    venv_py = _fake(tmp_path, "proj/.venv/bin/python3", PythonTarget(version="3.11.9", source="venv"))
    write_fake_python(tmp_path / "bin" / "python3.9", "garbage")
    scan = scan_pythons(_host(tmp_path, {"VIRTUAL_ENV": str(tmp_path / "proj/.venv")}))
    assert scan.target is not None and scan.target.path == str(venv_py)
    assert [t.version for t in scan.others] == ["3.13.1"]
    assert any("python3.9" in n and "not usable" in n for n in scan.notes)


def test_choice_rules() -> None:
    def t(version: str, **kw: object) -> PythonTarget:
        return PythonTarget(version=version, path=f"/p/{version}/{sorted(kw.items())}", **kw)  # type: ignore[arg-type]

    managed = t("3.13.1", externally_managed=True)
    plain = t("3.12.7")
    assert choose_target([managed, plain], set()) is plain  # PEP 668 one is not the default
    assert choose_target([managed], set()) is managed  # still picked: the planner offers a venv
    assert choose_target([t("3.14.0", bits=32), plain], set()) is plain
    assert choose_target([t("3.14.0", implementation="pypy"), plain], set()) is plain
    ft = t("3.13.1", free_threaded=True)
    gil = t("3.13.1")
    assert choose_target([ft, gil], set()) is gil
    old_active = t("3.10.4")
    assert choose_target([plain, old_active], {old_active.path or ""}) is old_active
    assert choose_target([], set()) is None


def test_the_wizards_own_venv_is_not_a_target(tmp_path: Path) -> None:
    own = _fake(tmp_path, "wizard-env/bin/python3", PythonTarget(version="3.12.3", source="venv"))
    other = _fake(tmp_path, "bin/python3.11", PythonTarget(version="3.11.2", source="system"))
    host = _host(tmp_path, {"VIRTUAL_ENV": str(tmp_path / "wizard-env")}, own_executable=str(own), own_is_env=True)
    scan = scan_pythons(host)
    assert scan.target is not None and scan.target.path == str(other)
    assert all(t.path != str(own) for t in scan.others)


def test_py_launcher_output_both_formats() -> None:
    new = (" -V:3.13 *        C:\\Users\\ann\\AppData\\Local\\Programs\\Python\\Python313\\python.exe\n"
           " -V:3.12          C:\\Program Files\\Python312\\python.exe\n"
           " -V:ContinuumAnalytics/Anaconda39-64 C:\\Users\\ann\\anaconda3\\python.exe\n")
    old = " -3.11-64 *      C:\\Python311\\python.exe\n -2.7-32        C:\\Python27\\python.exe\n"
    assert parse_py_launcher(new) == [
        "C:\\Users\\ann\\AppData\\Local\\Programs\\Python\\Python313\\python.exe",
        "C:\\Program Files\\Python312\\python.exe", "C:\\Users\\ann\\anaconda3\\python.exe"]
    assert parse_py_launcher(old) == ["C:\\Python311\\python.exe", "C:\\Python27\\python.exe"]
    assert parse_py_launcher("Can't find a default Python.\n") == []


def test_windows_store_and_python_org_sources_from_recorded_answers(tmp_path: Path) -> None:
    store = r"C:\Users\ann\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5\python.exe"
    org = r"C:\Users\ann\AppData\Local\Programs\Python\Python311\python.exe"
    t = PythonTarget(version="3.12.7")
    runner = RecordedRunner({
        r"C:\Windows\py.exe": (0, f" -V:3.12 *  {store}\n -V:3.11     {org}\n"),
        store: (0, json.dumps(probe_answer(t, store, store.rsplit("\\", 1)[0]))),
        org: (0, json.dumps(probe_answer(PythonTarget(version="3.11.9"), org, org.rsplit("\\", 1)[0]))),
    })
    files = {r"C:\Windows\py.exe", store, org}
    host = Host(system="Windows", release="10", version="10.0.26100", machine="AMD64",
                environ={"PATH": r"C:\Windows", "SystemRoot": r"C:\Windows"}, run=runner, home=tmp_path,
                is_file=files.__contains__)
    scan = scan_pythons(host)
    by_path = {t.path: t for t in [scan.target, *scan.others] if t}
    assert by_path[store].source == "microsoft-store" and by_path[store].microsoft_store
    assert by_path[org].source == "python.org"


def test_real_pythons_on_this_machine_are_found_fast(tmp_path: Path) -> None:
    """pyenv's interpreters (3.10-3.13 here) are found and probed in parallel."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if not (pyenv_root / "versions").is_dir():
        pytest.skip("no pyenv here")
    host = Host.current()
    start = time.monotonic()
    scan = scan_pythons(host)
    elapsed = time.monotonic() - start
    versions = {t.version.rsplit(".", 1)[0] for t in [scan.target, *scan.others] if t}
    installed = {p.name.rsplit(".", 1)[0] for p in (pyenv_root / "versions").iterdir() if p.name[0] == "3"}
    assert installed <= versions
    assert elapsed < 10
