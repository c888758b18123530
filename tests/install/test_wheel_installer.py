"""The fast path (issue 16): wheels unpacked in parallel into real venvs, pip's view of the result,
and the install flow using it for a new environment (lean venv, a current pip put in once)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, Recorder, build_wheel, installed, venv_py
from wizard.core import messages as M
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import Status
from wizard.core.install import environments as envs
from wizard.core.install import snapshots
from wizard.core.install.flow import INSTALLER_ENV, InstallRequest, run_install
from wizard.core.install.wheel_installer import (
    INSTALLER_NAME,
    FastPathUnavailable,
    ParallelInstaller,
    compile_wanted,
    read_scheme,
    requested_names,
    wheels_in,
)

pytestmark = pytest.mark.usefixtures("isolated_pip")


def _wheel(dest: Path, name: str, version: str, files: dict[str, bytes], *, entry_points: str = "",
           damage: str | None = None, requires: tuple[str, ...] = ()) -> Path:
    """A wheel with ``files`` (root or ``.data``), entry points, and a RECORD (one hash wrong on ``damage``)."""
    info = f"{name}-{version}.dist-info"
    content = dict(files)
    content[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode()
    content[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if entry_points:
        content[f"{info}/entry_points.txt"] = entry_points.encode()
    rows = []
    for arcname, data in content.items():
        digest = hashlib.sha256(data + (b"x" if arcname == damage else b"")).digest()
        rows.append(f"{arcname},sha256={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()},{len(data)}")
    rows.append(f"{info}/RECORD,,")
    content[f"{info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in content.items():
            zf.writestr(arcname, data)
    return path


def _site(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3.*/site-packages"))


def _tool_wheel(tmp_path: Path) -> Path:
    big = os.urandom(3 * 1024 * 1024)          # several blocks: the streamed hash must cover all of them
    return _wheel(tmp_path / "wheels", "tool", "1.2", {
        "tool/__init__.py": b"def main():\n    print('tool main')\n",
        "tool/blob.bin": big,
        "tool-1.2.data/scripts/tool-script": b"#!python\nimport tool\ntool.main()\n",
        "tool-1.2.data/data/share/tool/readme.txt": b"shared data\n",
    }, entry_points="[console_scripts]\ntool-cli = tool:main\n")


@pytest.mark.parametrize("early", [False, True], ids=["compiled-at-the-end", "compiled-per-wheel"])
def test_wheels_install_as_pip_would_and_pip_uninstalls_them(venv: Path, tmp_path: Path, early: bool) -> None:
    python = venv_py(venv)
    installer = ParallelInstaller(read_scheme(python), workers=4, compile_bytecode=early)
    installer.add(_tool_wheel(tmp_path), requested=True)
    installer.add(build_wheel(tmp_path / "wheels", "helper", "2.0", payload_kib=64))
    assert sorted(installer.finish()) == [("helper", "2.0"), ("tool", "1.2")]

    assert installed(venv)["tool"] == "1.2" and installed(venv)["helper"] == "2.0"
    site = _site(venv)
    info = site / "tool-1.2.dist-info"
    assert (info / "INSTALLER").read_text() == f"{INSTALLER_NAME}\n"
    assert (info / "REQUESTED").exists() and not (site / "helper-2.0.dist-info" / "REQUESTED").exists()
    # the console script runs; the .data script got this environment's interpreter
    assert subprocess.run([str(venv / "bin" / "tool-cli")], capture_output=True, text=True,
                          check=True).stdout == "tool main\n"
    script = venv / "bin" / "tool-script"
    assert script.read_text().startswith(f"#!{python}\n") and os.access(script, os.X_OK)
    assert subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout == "tool main\n"
    assert (venv / "share" / "tool" / "readme.txt").read_text() == "shared data\n"
    # bytecode compiled by the target interpreter and listed in RECORD
    pyc = next((site / "tool" / "__pycache__").glob("__init__.cpython-*.pyc"))
    record = (info / "RECORD").read_text()
    assert f"tool/__pycache__/{pyc.name},," in record and "../../../bin/tool-cli,sha256=" in record

    # pip removes every file of it: RECORD is complete
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "tool", "helper"], check=True, capture_output=True)
    assert "tool" not in installed(venv)
    leftovers = [p for p in (site / "tool", info, venv / "bin" / "tool-cli", script,
                             venv / "share" / "tool" / "readme.txt") if p.exists()]
    assert leftovers == []


def test_a_file_that_does_not_match_record_is_a_damaged_wheel(venv: Path, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "wheels", "broken", "1.0", {"broken/__init__.py": b"x = 1\n"},
                   damage="broken/__init__.py")
    cancel = threading.Event()      # the flow's own cancel token, as run_install passes it
    installer = ParallelInstaller(read_scheme(venv_py(venv)), cancel=cancel)
    good = _wheel(tmp_path / "wheels", "fine", "1.0", {f"fine/m{i}.py": b"x = 1\n" for i in range(40)})
    installer.add(good)             # other workers busy when the broken one fails
    installer.add(wheel)
    with pytest.raises(WizardError) as err:
        installer.finish()
    assert err.value.message == M.PIP_INVALID_WHEEL and "broken/__init__.py" in str(err.value.details)
    assert not isinstance(err.value, Cancelled)
    assert not cancel.is_set()      # a damaged wheel is never reported as the person's cancel


def test_a_wheel_escaping_the_environment_is_refused_before_writing(venv: Path, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "wheels", "evil", "1.0", {"../../../../evil.py": b"x = 1\n"})
    installer = ParallelInstaller(read_scheme(venv_py(venv)))
    with pytest.raises(WizardError):
        installer.add(wheel)
    installer.finish()
    assert not list(tmp_path.rglob("evil.py"))


@pytest.mark.parametrize(("value", "compiles"), [("", True), ("0", False), ("false", False), ("no", False),
                                                ("1", True), ("yes", True)])
def test_pip_no_compile_reads_as_pip_reads_it(value: str, compiles: bool) -> None:
    """pip turns PIP_NO_COMPILE into its ``compile`` option as it is: "0"/"false" turn compiling off."""
    assert compile_wanted({"PIP_NO_COMPILE": value} if value else {}) is compiles


def test_pip_no_compile_leaves_the_bytecode_to_the_first_import(venv: Path, tmp_path: Path) -> None:
    installer = ParallelInstaller(read_scheme(venv_py(venv)))
    installer.add(_tool_wheel(tmp_path))
    installer.finish(compile_bytecode=False)
    assert not (_site(venv) / "tool" / "__pycache__").exists()


def test_only_wheels_go_the_fast_way(tmp_path: Path) -> None:
    (tmp_path / "a-1.0-py3-none-any.whl").write_bytes(b"")
    assert wheels_in(tmp_path) == [tmp_path / "a-1.0-py3-none-any.whl"]
    (tmp_path / "b-1.0.tar.gz").write_bytes(b"")
    with pytest.raises(FastPathUnavailable, match=r"b-1\.0\.tar\.gz"):
        wheels_in(tmp_path)
    assert requested_names(["/x/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl", "numpy<2", "Foo_Bar==1"]) == \
        {"torch", "numpy", "foo-bar"}


# --------------------------------------------------------------------------- the flow


def _pip_wheel() -> Path | None:
    """A real current pip wheel (the e2e tests' download, else the one this Python bundles)."""
    root = Path(__file__).resolve().parents[2] / ".pytest_cache" / "d" / "torch-2.13.0-cpu-wheels"
    found = sorted(root.glob("pip-*.whl"))
    return found[-1] if found else None


def test_new_environment_is_lean_and_filled_by_the_fast_path(loopback_index: LoopbackIndex, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--without-pip, one cached current pip put in, torch unpacked while pip resolves its dependency."""
    pip_wheel = _pip_wheel()
    if pip_wheel is None:
        pytest.skip("no pip >= 24.1 wheel on this machine (run tests/install/test_cli_e2e.py once)")
    cache = Path(os.environ["TORCH_GPU_SETUP_CACHE_DIR"]) / envs.PIP_WHEELS_DIR
    cache.mkdir(parents=True)
    shutil.copy(pip_wheel, cache)
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",), payload_kib=512))
    loopback_index.add("whl/cpu", build_wheel(wheels, "helper", "1.0"))
    target = tmp_path / "new-env"
    events = Recorder()
    outcome = run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                                         index_url=loopback_index.url("whl/cpu"), python=sys.executable,
                                         new_venv=str(target), verify=False), events)
    statuses = [getattr(s.text, 'template', None) for s in events.of(Status)]
    assert M.FLOW_UNPACK in statuses and M.FLOW_FAST_FALLBACK not in statuses
    assert {("helper", "1.0"), ("torch", "1.0+cpu")} <= set(outcome.installed)   # and the companions
    packages = installed(target)
    assert all(packages[name] == version for name, version in outcome.installed)
    assert packages["pip"] == pip_wheel.name.split("-")[1]          # the cached pip, put in once
    assert not any("/pip/" in r for r in loopback_index.requests)    # no upgrade from the index
    assert (target / envs.CREATED_MARKER).is_file()
    # the torch file itself was fetched once, by the wizard's downloader (pip found it in place)
    assert sum("/files/torch-" in r for r in loopback_index.requests) == 1
    # a working pip for the person, and the pins written through it
    assert "constraint" in (target / "pip.conf").read_text()


def test_pip_installs_when_asked_to(loopback_index: LoopbackIndex, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSTALLER_ENV, "pip")
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu"))
    target = tmp_path / "new-env"
    events = Recorder()
    run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                               index_url=loopback_index.url("whl/cpu"), python=sys.executable,
                               new_venv=str(target), verify=False), events)
    assert M.FLOW_UNPACK not in [getattr(s.text, 'template', None) for s in events.of(Status)]
    assert installed(target)["torch"] == "1.0+cpu"
    assert (_site(target) / "torch-1.0+cpu.dist-info" / "INSTALLER").read_text().strip() == "pip"


def _statuses(events: Recorder) -> list[str | None]:
    return [getattr(s.text, "template", None) for s in events.of(Status)]


def _files(prefix: Path) -> set[str]:
    return {str(p.relative_to(prefix)) for p in prefix.rglob("*") if "__pycache__" not in p.parts}


def test_an_existing_environment_gains_packages_the_fast_way_and_rolls_back(
        loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",), payload_kib=256))
    loopback_index.add("whl/cpu", build_wheel(wheels, "helper", "1.0"))
    before, files_before = installed(venv), _files(venv)
    events = Recorder()
    run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                               index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False), events)
    assert M.FLOW_UNPACK in _statuses(events)
    after = installed(venv)
    assert after["torch"] == "1.0+cpu" and after["helper"] == "1.0" and after["pip"] == before["pip"]
    # the snapshot's rollback (pip uninstall, through the RECORD written here) puts it back
    snapshots.rollback(venv_py(venv))
    assert installed(venv) == before
    left = {f for f in _files(venv) - files_before if not f.endswith(("constraints.txt", "pip.conf"))}
    assert left == set()


def test_a_failure_in_an_existing_environment_removes_every_file_written(
        loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    """torch unpacks while pip looks for its dependency, which the index lacks: nothing stays."""
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("missing-dep>=1",),
                                              payload_kib=2048))
    before, files_before = installed(venv), _files(venv)
    with pytest.raises(WizardError):
        run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False), Recorder())
    assert installed(venv) == before
    assert _files(venv) - files_before == set()


def test_replacing_a_build_is_left_to_pip(loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    for version in ("1.0+cpu", "2.0+cpu"):
        loopback_index.add("whl/cpu", build_wheel(wheels, "torch", version))
    run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                               index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False))
    events = Recorder()
    run_install(InstallRequest(torch="2.0", variant="cpu", requirements=("torch==2.0+cpu",),
                               index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False,
                               consent=True), events)
    assert M.FLOW_UNPACK not in _statuses(events)
    assert installed(venv)["torch"] == "2.0+cpu"


def test_a_folder_that_refuses_files_is_said_as_pip_says_it(loopback_index: LoopbackIndex, venv: Path,
                                                            tmp_path: Path) -> None:
    """Permission denied while unpacking: pip's words and hint, the environment as it was."""
    from tests.install.test_pipeline import _unwritable

    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",)))
    loopback_index.add("whl/cpu", build_wheel(wheels, "helper", "1.0"))
    before, files_before = installed(venv), _files(venv)
    with _unwritable(_site(venv) / "torch"), pytest.raises(WizardError) as err:
        run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False))
    assert err.value.message == M.PIP_PERMISSION
    assert installed(venv) == before
    assert _files(venv) - files_before == {str((_site(venv) / "torch").relative_to(venv))}   # the test's own folder


def test_a_broken_big_wheel_is_named_and_forgotten(loopback_index: LoopbackIndex, venv: Path, tmp_path: Path) -> None:
    """The downloader's file is not a zip: pip's "damaged" words, nothing changed, the cache's copy gone."""
    wheels = tmp_path / "wheels"
    good = build_wheel(wheels, "torch", "1.0+cpu")
    good.write_bytes(b"PK\x03\x04 this is not a zip archive" * 64)
    loopback_index.add("whl/cpu", good)
    before, files_before = installed(venv), _files(venv)
    with pytest.raises(WizardError) as err:
        run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), venv=str(venv), verify=False))
    assert err.value.message == M.PIP_INVALID_WHEEL
    assert installed(venv) == before and _files(venv) == files_before
    assert not (Path(os.environ["TORCH_GPU_SETUP_CACHE_DIR"]) / "wheelhouses" / "torch-1.0-cpu").exists()


def test_undoing_a_new_environment_keeps_nothing_of_its_own_as_the_persons(
        loopback_index: LoopbackIndex, tmp_path: Path) -> None:
    """torch's data and headers unpack (no RECORD yet), then its dependency is missing: the new
    environment goes, and nothing of torch's is "kept" beside it as if the person had put it there."""
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", _wheel(wheels, "torch", "1.0+cpu", {
        "torch/__init__.py": b"x = 1\n", "torch-1.0+cpu.data/data/share/torch/README": b"docs\n",
        "torch-1.0+cpu.data/headers/torch.h": b"int x;\n"}, requires=("missing-dep>=1",)))
    target = tmp_path / "envs" / "new-env"
    with pytest.raises(WizardError) as err:
        run_install(InstallRequest(torch="1.0", variant="cpu", requirements=("torch==1.0+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), python=sys.executable,
                                   new_venv=str(target), verify=False), Recorder())
    assert "was removed" in err.value.hint and "moved to" not in err.value.hint
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_cut_pip_wheel_in_the_cache_is_forgotten_and_pip_still_arrives(tmp_path: Path) -> None:
    """A pip wheel cut short in the cache (a killed download): ensurepip puts pip in instead, and
    the broken copy is deleted so the next run fetches a whole one."""
    cache = tmp_path / "cache"
    folder = cache / envs.PIP_WHEELS_DIR
    whole = _wheel(tmp_path / "w", "pip", "99.0", {"pip/__init__.py": b"__version__ = '99.0'\n" * 500})
    folder.mkdir(parents=True)
    (folder / whole.name).write_bytes(whole.read_bytes()[:200])      # cut short
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    target = envs.Target("new_venv", env, venv_py(env), base_python=sys.executable)
    info, _warning = envs.provide_pip(target, cache=cache)
    assert info.pip_version and not (folder / whole.name).exists()
    assert subprocess.run([str(venv_py(env)), "-m", "pip", "--version"], capture_output=True).returncode == 0


def test_a_data_script_runs_from_an_environment_whose_path_has_a_space(template_venv: Path, tmp_path: Path) -> None:
    env = tmp_path / "my envs" / "venv"
    shutil.copytree(template_venv, env, symlinks=True)
    wheel = _wheel(tmp_path / "wheels", "tool", "1.0", {
        "tool/__init__.py": b"",
        "tool-1.0.data/scripts/say-hello": b"#!python\nimport sys\nprint('hello from', sys.prefix)\n"})
    installer = ParallelInstaller(read_scheme(venv_py(env)))
    installer.add(wheel)
    installer.finish(compile_bytecode=False)
    script = env / "bin" / "say-hello"
    ran = subprocess.run([str(script)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == f"hello from {env}", ran.stderr


def test_a_record_with_another_hash_is_left_to_pip_not_called_damaged(venv: Path, tmp_path: Path) -> None:
    from wizard.core.install.wheel_installer import FastPathUnavailable

    wheel = _wheel(tmp_path / "wheels", "strong", "1.0", {"strong/__init__.py": b"x = 1\n"})
    with zipfile.ZipFile(wheel) as zf:
        content = {n: zf.read(n) for n in zf.namelist()}
    record = content["strong-1.0.dist-info/RECORD"].decode()
    digest = base64.urlsafe_b64encode(hashlib.sha512(b"x = 1\n").digest()).rstrip(b"=").decode()
    content["strong-1.0.dist-info/RECORD"] = "\n".join(
        f"strong/__init__.py,sha512={digest},6" if line.startswith("strong/__init__.py,") else line
        for line in record.splitlines()).encode()
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    installer = ParallelInstaller(read_scheme(venv_py(venv)))
    with pytest.raises(FastPathUnavailable):
        installer.add(wheel)
    installer.finish()
