"""The command line: fast error paths, and ONE slow end-to-end run with the real torch CPU wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.install.conftest import LoopbackIndex, installed, venv_py
from wizard.cli import main
from wizard.core.install.flow import FIRST_PROGRAM

TORCH_VERSION = "2.13.0"


def test_install_into_a_folder_that_is_not_a_venv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["install", "--venv", str(tmp_path), "--torch", "2.13.0", "--variant", "cpu",
                 "--index-url", "http://127.0.0.1:9/whl/cpu/", "--no-verify"])
    err = capsys.readouterr().err
    assert code == 2 and "is not a virtual environment" in err and "--new-venv" in err


def test_rollback_without_snapshot(isolated_pip: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rollback", "--python", str(venv_py(venv))])
    assert code == 2 and "no snapshot recorded" in capsys.readouterr().err


def test_verify_json_without_torch_fails_cleanly(venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--python", str(venv_py(venv)), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["verdict"] == "failed"
    statuses = {s["name"]: s["status"] for s in data["stages"]}
    assert statuses["import"] == "fail" and statuses["training"] == "skip"
    assert "ModuleNotFoundError" in data["stages"][0]["reason"]


@pytest.fixture(scope="session")
def torch_wheels(request: pytest.FixtureRequest) -> tuple[Path, str]:
    """The torch 2.13.0 CPU wheel, its dependencies and pip, downloaded once into pytest's cache.

    Uses this machine's own pip configuration (session scope: before any test isolates pip).
    """
    python = shutil.which("python3.11")
    if python is None:
        pytest.skip("python3.11 is not on PATH: the torch 2.13.0 CPU wheel used here is cp311")
    cache = Path(str(request.config.cache.mkdir("torch-2.13.0-cpu-wheels")))
    if not all(list(cache.glob(p)) for p in (f"torch-{TORCH_VERSION}*.whl", "pip-*.whl", "numpy-*.whl")):
        result = subprocess.run(
            [python, "-m", "pip", "download", "--only-binary=:all:", "-d", str(cache),
             f"torch=={TORCH_VERSION}", "pip>=24.1", "numpy"],   # numpy: every install adds it
            capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not list(cache.glob(f"torch-{TORCH_VERSION}*.whl")):
            pytest.skip(f"no torch {TORCH_VERSION} CPU wheel could be had: {result.stderr.strip()[-300:]}")
    return cache, python


@pytest.mark.slow
def test_install_verify_rollback_end_to_end(torch_wheels: tuple[Path, str], loopback_index: LoopbackIndex,
                                            isolated_pip: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cache, python = torch_wheels
    for wheel in cache.glob("*.whl"):
        loopback_index.add("simple" if wheel.name.startswith("pip-") else "whl/cpu", wheel)
    # the user's pip configuration names the general index (where the new venv's pip comes from)
    config = tmp_path / "user-pip.conf"
    config.write_text(f"[global]\nindex-url = {loopback_index.url('simple')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.delenv("PIP_INDEX_URL")
    env_dir = tmp_path / "torch-env"
    index_url = loopback_index.url("whl/cpu")

    code = main(["install", "--new-venv", str(env_dir), "--python", python, "--torch", TORCH_VERSION,
                 "--variant", "cpu", "--index-url", index_url, "--yes"])
    out = capsys.readouterr().out
    assert code == 3, out   # the documented code for "installed and verified, CPU only", as unattended
    assert f"Activate: source {env_dir}/bin/activate" in out and "CPU only" in out
    packages = installed(env_dir)
    assert packages["torch"] == f"{TORCH_VERSION}+cpu"
    assert int(packages["pip"].split(".")[0]) >= 24  # upgraded for --progress-bar=raw
    pins = (env_dir / "torch-gpu-setup-constraints.txt").read_text()
    assert f"torch=={TORCH_VERSION}+cpu" in pins and "constraint" in (env_dir / "pip.conf").read_text()
    # the first program the install prints (and the Finish page shows) runs there: numpy came too
    assert "First program:" in out and "numpy" in packages
    first = subprocess.run([str(venv_py(env_dir)), "-c", FIRST_PROGRAM], capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0 and first.stdout.startswith(f"{TORCH_VERSION}+cpu cpu (1000, 1000) True"), \
        first.stderr[-2000:]

    # the big wheel came through the wizard's downloader into the cache's wheelhouse; pip used that copy
    wheel_gets = [unquote(r) for r in loopback_index.requests
                  if unquote(r).startswith(f"/files/torch-{TORCH_VERSION}")]
    assert len(wheel_gets) == 1
    house = tmp_path / "wizard-cache" / "wheelhouses" / f"torch-{TORCH_VERSION}-cpu"
    assert [p.name for p in house.glob("torch-*.whl")] == [wheel_gets[0].rsplit("/", 1)[1]]

    # verify with no --python: the environment the install created
    code = main(["verify", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert Path(result["python"]) == venv_py(env_dir).absolute()
    assert code == 0 and result["verdict"] == "cpu-only"
    status = {s["name"]: s for s in result["stages"]}
    assert status["import"]["status"] == "pass" and status["import"]["torch"] == f"{TORCH_VERSION}+cpu"
    assert status["linear_regression"]["status"] == "pass"
    assert abs(status["linear_regression"]["w"] - 3.0) < 0.05
    assert status["training"]["status"] == "pass"
    assert status["training"]["final_loss"] < status["training"]["first_loss"]
    for gpu_stage in ("devices", "arch", "kernels", "precision", "throughput", "memory", "multi_gpu"):
        assert status[gpu_stage]["status"] == "skip" and "GPU" in status[gpu_stage]["reason"]

    # a failed install into the existing env leaves it as it was
    code = main(["install", "--venv", str(env_dir), "--torch", "9.9.9", "--variant", "cpu",
                 "--index-url", index_url, "--yes", "--no-verify"])
    assert code == 2 and f"torch 9.9.9+cpu is not on the index {index_url}" in capsys.readouterr().err
    assert installed(env_dir) == packages

    # rollback undoes the install: the venv was made by the wizard, so it goes
    code = main(["rollback", "--python", str(venv_py(env_dir))])
    assert code == 0 and "deleted" in capsys.readouterr().out
    assert not env_dir.exists()

