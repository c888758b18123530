"""The install pipeline with real pip in real venvs against a loopback index.

Small wheels named ``torch`` stand in for the real one: the pipeline only sees names, versions
with local labels and files. Every failure must leave the environment as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, Recorder, build_wheel, installed, venv_py
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import LogLine, StepStarted
from wizard.core.install import snapshots
from wizard.core.install.flow import InstallRequest, run_install

pytestmark = pytest.mark.usefixtures("isolated_pip")


def _publish(index: LoopbackIndex, tmp_path: Path, payload_kib: int = 4) -> None:
    wheels = tmp_path / "wheels"
    index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("helper>=1",), payload_kib=payload_kib))
    index.add("whl/cpu", build_wheel(wheels, "torch", "2.0+cpu", requires=("helper>=1",), payload_kib=payload_kib))
    index.add("whl/cpu", build_wheel(wheels, "helper", "1.0"))


def _request(index: LoopbackIndex, venv: Path, torch: str = "1.0", fetch: bool = False,
             **kw: object) -> InstallRequest:
    """pip fetches everything itself unless ``fetch``: these tests are about pip and its failures."""
    return InstallRequest(torch=torch, variant="cpu", requirements=(f"torch=={torch}+cpu",),
                          index_url=index.url("whl/cpu"), venv=str(venv), verify=False, fetch=fetch,
                          **kw)  # type: ignore[arg-type]


def test_install_pins_the_build_and_rollback_restores(loopback_index: LoopbackIndex, venv: Path,
                                                      tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    before = installed(venv)
    outcome = run_install(_request(loopback_index, venv))
    after = installed(venv)
    assert after["torch"] == "1.0+cpu" and after["helper"] == "1.0"
    assert ("torch", "1.0+cpu") in outcome.installed
    assert outcome.constraints_file is not None
    assert "torch==1.0+cpu" in outcome.constraints_file.read_text().splitlines()
    assert outcome.pip_conf_written and outcome.activate == f"source {venv.absolute()}/bin/activate"
    # the pin holds: a plain pip install of another torch build in this venv is refused
    swap = subprocess.run(
        [str(venv_py(venv)), "-m", "pip", "install", "--index-url", loopback_index.url("whl/cpu"), "torch==2.0+cpu"],
        capture_output=True, text=True)
    assert swap.returncode != 0 and "torch==1.0+cpu" in swap.stdout + swap.stderr
    assert installed(venv)["torch"] == "1.0+cpu"

    message = snapshots.rollback(venv_py(venv))
    assert "removed 3" in message   # torch, helper and numpy (every install adds numpy)
    assert installed(venv) == before
    assert not (venv / "torch-gpu-setup-constraints.txt").exists() and not (venv / "pip.conf").exists()


@pytest.mark.parametrize("fault", ["no_matching_distribution", "server_cut", "hash_mismatch"])
def test_failed_install_leaves_env_as_it_was(loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
                                             fault: str) -> None:
    _publish(loopback_index, tmp_path, payload_kib=256)
    torch = "9.9" if fault == "no_matching_distribution" else "1.0"
    if fault == "server_cut":
        loopback_index.cut.add("torch-1.0+cpu-py3-none-any.whl")
    if fault == "hash_mismatch":
        loopback_index.corrupt.add("torch-1.0+cpu-py3-none-any.whl")
    before = installed(venv)
    with pytest.raises(WizardError) as err:
        run_install(_request(loopback_index, venv, torch=torch))
    expected = {"no_matching_distribution": "no wheel for torch==9.9+cpu",
                "server_cut": "download broke off", "hash_mismatch": "sha256"}[fault]
    assert expected in err.value.message
    assert installed(venv) == before
    assert not (venv / "torch-gpu-setup-constraints.txt").exists()


@contextlib.contextmanager
def _unwritable(directory: Path) -> Iterator[None]:
    """Make a directory refuse new files, also for root (immutable flag) where chmod is not enough."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("running as root and chattr +i is not available: cannot make a directory read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_read_only_target_is_classified_and_rolled_back(loopback_index: LoopbackIndex, venv: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip's own failure and the snapshot's rollback (the fast path's: tests/install/test_wheel_installer.py)
    monkeypatch.setenv("TORCH_GPU_SETUP_INSTALLER", "pip")
    _publish(loopback_index, tmp_path)
    before = installed(venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    with _unwritable(site / "torch"), pytest.raises(WizardError) as err:
        # helper installs first (torch depends on it), then torch cannot be written: the rollback must
        # remove helper again
        run_install(_request(loopback_index, venv))
    assert "permission denied" in err.value.message
    # helper (and numpy, when pip put it in before torch) went in first and came out again
    assert "restored" in err.value.hint and re.search(r"removed [12]\b", err.value.hint)
    assert installed(venv) == before


def test_cancel_mid_download_leaves_env_as_it_was(loopback_index: LoopbackIndex, venv: Path,
                                                  tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path, payload_kib=4096)
    loopback_index.slow.add("torch-1.0+cpu-py3-none-any.whl")
    cancel = threading.Event()

    def line(event: object) -> None:
        if isinstance(event, LogLine) and "torch-1.0" in event.text and "Downloading" in event.text:
            threading.Timer(0.5, cancel.set).start()

    before = installed(venv)
    with pytest.raises(Cancelled) as err:
        run_install(_request(loopback_index, venv), line, cancel=cancel)
    assert cancel.is_set() and err.value.message == "The installation was cancelled."
    assert installed(venv) == before


def test_existing_torch_is_replaced_only_with_consent(loopback_index: LoopbackIndex, venv: Path,
                                                      tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    run_install(_request(loopback_index, venv))
    with pytest.raises(WizardError) as err:
        run_install(_request(loopback_index, venv, torch="2.0"))
    assert "torch 1.0+cpu -> 2.0+cpu" in err.value.message and "--yes" in err.value.hint
    assert installed(venv)["torch"] == "1.0+cpu"

    # consented: the wizard's own pin of 1.0 does not block the change it was asked for
    run_install(_request(loopback_index, venv, torch="2.0", consent=True))
    assert installed(venv)["torch"] == "2.0+cpu"
    assert "torch==2.0+cpu" in (venv / "torch-gpu-setup-constraints.txt").read_text()
    snapshots.rollback(venv_py(venv))  # back to the snapshot taken before the consented replacement
    assert installed(venv)["torch"] == "1.0+cpu"
    assert "torch==1.0+cpu" in (venv / "torch-gpu-setup-constraints.txt").read_text().splitlines()


def test_users_pip_config_is_respected(loopback_index: LoopbackIndex, venv: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    loopback_index.add("whl/cpu", build_wheel(wheels, "torch", "1.0+cpu", requires=("mirror-only-dep",)))
    loopback_index.add("mirror", build_wheel(wheels, "mirror-only-dep", "3.1"))
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nextra-index-url = {loopback_index.url('mirror')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    run_install(_request(loopback_index, venv))
    assert installed(venv)["mirror-only-dep"] == "3.1"
    assert "/mirror/mirror-only-dep/" in loopback_index.requests


def test_failed_install_into_new_venv_deletes_it(loopback_index: LoopbackIndex, tmp_path: Path) -> None:
    _publish(loopback_index, tmp_path)
    target = tmp_path / "new-env"
    events = Recorder()
    with pytest.raises(WizardError) as err:
        run_install(InstallRequest(torch="9.9", variant="cpu", requirements=("torch==9.9+cpu",),
                                   index_url=loopback_index.url("whl/cpu"), python=sys.executable,
                                   new_venv=str(target), verify=False, fetch=False), events)
    assert any(e.step == "venv" for e in events.of(StepStarted)), (err.value.message, events)
    assert "The new environment" in err.value.hint and "was removed" in err.value.hint
    assert not target.exists()


def test_every_install_adds_numpy_unless_named_or_absent_offline(tmp_path: Path) -> None:
    from wizard.core.install.flow import companion_requirements

    assert companion_requirements("2.14.1", ["torch==2.14.1+cu126"]) == ["numpy"]
    # torch before 2.3.1 was built against NumPy 1's C API
    assert companion_requirements("2.2.2", ["torch==2.2.2+cu121"]) == ["numpy<2"]
    assert companion_requirements("2.14.1", ["torch==2.14.1", "numpy==1.26.4"]) == []
    # a bundle without a numpy wheel (made before numpy was added) still installs offline
    assert companion_requirements("2.14.1", ["torch==2.14.1"], offline_wheels=tmp_path) == []
    (tmp_path / "numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.whl").write_bytes(b"")
    assert companion_requirements("2.14.1", ["torch==2.14.1"], offline_wheels=tmp_path) == ["numpy"]
    # an existing environment's numpy is kept (pandas there may need it), never downgraded
    assert companion_requirements("2.2.2", ["torch==2.2.2+cu121"], installed={"numpy": "2.1.0"}) == []
