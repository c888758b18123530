"""Each documented exit code from a real scenario (profiles where a real machine is not needed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.install.conftest import LoopbackIndex, build_wheel, installed, venv_py
from wizard.cli import main
from wizard.core.helpdesk.exit_codes import ExitCode

PROFILES = Path(__file__).parent.parent / "profiles"


def _result(out: str) -> dict[str, object]:
    line = next(ln for ln in out.splitlines() if ln.startswith("TGS-RESULT "))
    data: dict[str, object] = json.loads(line[len("TGS-RESULT "):])
    return data


def test_bad_answers_exit_2_and_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(f'[target]\nnew_venv = "{tmp_path / "env"}"\n[driver]\npolicy = "always"\n')
    code = main(["install", "--unattended", "--answers", str(answers)])
    assert code == ExitCode.BAD_ANSWERS == 2
    assert "a.toml line 4" in capsys.readouterr().err and not (tmp_path / "env").exists()


def test_driver_needed_but_not_allowed_exits_4_with_a_report(isolated_pip: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.zip"
    code = main(["install", "--unattended", "--machine", str(PROFILES / "ubuntu2404-rtx3060-nodriver.json"),
                 "--new-venv", str(tmp_path / "env"), "--driver-policy", "never", "--report", str(report)])
    out = capsys.readouterr()
    assert code == ExitCode.ACTION_REQUIRED == 4
    assert "driver" in out.err and "policy is 'never'" in out.err and not (tmp_path / "env").exists()
    result = _result(out.out)
    assert result["exit_code"] == 4 and "RTX 3060" in str(result["gpu"])
    with zipfile.ZipFile(report) as zf:
        data = json.loads(zf.read("report.json"))
    assert data["plan"]["status"] == "action_required" and data["extra"]["result"]["exit_code"] == 4


def test_unsupported_machine_exits_5(isolated_pip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = json.loads((PROFILES / "ubuntu2404-cpu-only.json").read_text())
    profile["os"]["arch"] = "x86"  # 32-bit Linux: PyTorch publishes no wheels for it
    path = tmp_path / "i686.json"
    path.write_text(json.dumps(profile))
    code = main(["install", "--unattended", "--machine", str(path), "--new-venv", str(tmp_path / "env")])
    assert code == ExitCode.UNSUPPORTED == 5
    assert "no PyTorch build fits" in capsys.readouterr().err


def _cpu_torch_args(venv: Path, index_url: str) -> list[str]:
    return ["install", "--unattended", "--venv", str(venv), "--torch", "2.13.0", "--variant", "cpu",
            "--no-torchvision", "--index-url", index_url]


def test_unreachable_index_exits_6(isolated_pip: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = installed(venv)
    code = main(_cpu_torch_args(venv, "http://127.0.0.1:9/whl/cpu/"))
    assert code == ExitCode.NETWORK_FAILURE == 6, capsys.readouterr().err
    assert installed(venv) == before


def test_damaged_download_exits_7(isolated_pip: Path, venv: Path, loopback_index: LoopbackIndex,
                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = build_wheel(tmp_path / "w", "torch", "2.13.0+cpu")
    loopback_index.add("whl/cpu", wheel)
    loopback_index.corrupt.add(wheel.name)
    before = installed(venv)
    code = main(_cpu_torch_args(venv, loopback_index.url("whl/cpu")))
    assert code == ExitCode.INSTALL_FAILED == 7, capsys.readouterr().err
    assert installed(venv) == before


def test_torch_that_does_not_work_exits_1(isolated_pip: Path, venv: Path, loopback_index: LoopbackIndex,
                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a package named torch that installs fine but is not PyTorch: the verification must fail
    loopback_index.add("whl/cpu", build_wheel(tmp_path / "w", "torch", "2.13.0+cpu"))
    code = main(_cpu_torch_args(venv, loopback_index.url("whl/cpu")))
    out = capsys.readouterr().out
    assert code == ExitCode.VERIFY_FAILED == 1
    assert installed(venv)["torch"] == "2.13.0+cpu" and _result(out)["verify"] == "failed"
    assert venv_py(venv).exists()
