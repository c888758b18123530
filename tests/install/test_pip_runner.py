"""pip command builders and output parsing, on recorded output of pip 23.2 .. 26 (fixtures/pip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.core.install import pip_runner

FIXTURES = Path(__file__).parent / "fixtures" / "pip"


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def test_install_command_is_the_target_interpreter_with_exact_pins() -> None:
    cmd = pip_runner.install_command("/envs/t/bin/python", ["torch==2.14.1+cu126"],
                                     index_url="https://download.pytorch.org/whl/cu126",
                                     find_links=[Path("/wh")], pip_version="26.0")
    assert cmd.argv[:4] == ("/envs/t/bin/python", "-m", "pip", "install")
    assert cmd.argv[-1] == "torch==2.14.1+cu126"
    assert "--progress-bar=raw" in cmd.argv and "--isolated" not in cmd.argv
    i = cmd.argv.index("--index-url")
    assert cmd.argv[i + 1] == "https://download.pytorch.org/whl/cu126"
    assert cmd.argv[cmd.argv.index("--find-links") + 1] == "/wh"
    assert dict(cmd.env) == {"PYTHONNOUSERSITE": "1", "PYTHONUTF8": "1"}  # no PIP_* overridden


def test_users_pip_variables_pass_through_the_command_environment() -> None:
    cmd = pip_runner.install_command("python", ["torch==2.13.0+cpu"])
    env = cmd.full_env({"PIP_PROXY": "http://proxy:3128", "PIP_CERT": "/ca.pem", "PYTHONNOUSERSITE": "0"})
    assert env["PIP_PROXY"] == "http://proxy:3128" and env["PIP_CERT"] == "/ca.pem"
    assert env["PYTHONNOUSERSITE"] == "1"


@pytest.mark.parametrize(("version", "raw"), [("23.2.1", False), ("24.0", False), ("24.1", True),
                                               ("26.2.1", True), (None, False), ("garbage", False)])
def test_raw_progress_only_where_pip_has_it(version: str | None, raw: bool) -> None:
    cmd = pip_runner.install_command("python", ["x==1"], pip_version=version)
    assert ("--progress-bar=raw" in cmd.argv) is raw


@pytest.mark.parametrize(("fixture", "fractions"), [
    ("pip24.2_raw_success.txt", [0.0, 0.066, 0.5, 1.0, 0.0, 1.0]),
    ("pip25.3_raw_success.txt", [0.0, 0.25, 1.0, None, None]),
    ("pip26_batched_success.txt", [0.125, 0.999, 1.0]),
    ("pip23.2_success.txt", []),
])
def test_progress_lines_of_each_pip_version(fixture: str, fractions: list[float | None]) -> None:
    seen = [p.fraction for p in map(pip_runner.parse_progress, _lines(fixture)) if p is not None]
    assert seen == pytest.approx(fractions, abs=1e-3)


@pytest.mark.parametrize(("fixture", "expected"), [
    ("pip23.2_success.txt", [("filelock", "3.9.0"), ("torch", "2.1.2+cu121"), ("typing-extensions", "4.8.0")]),
    ("pip24.2_raw_success.txt", [("nvidia-cudnn-cu12", "9.1.0.70"), ("torch", "2.4.1+cu124")]),
    ("pip26_batched_success.txt", [("torch", "2.14.1+cu130"), ("triton", "3.7.0")]),
])
def test_successfully_installed(fixture: str, expected: list[tuple[str, str]]) -> None:
    found = [r for r in map(pip_runner.parse_installed, _lines(fixture)) if r is not None]
    assert found == [expected]


def test_steps_for_a_status_label() -> None:
    steps = [s for s in map(pip_runner.parse_step, _lines("pip24.2_raw_success.txt")) if s is not None]
    assert steps[0] == pip_runner.PipStep("collecting", "torch==2.4.1+cu124")
    assert steps[1] == pip_runner.PipStep("downloading", "torch-2.4.1%2Bcu124-cp312-cp312-linux_x86_64.whl (797.1 MB)")
    assert [s.kind for s in steps][-2:] == ["installing", "installed"]


def test_read_line_gives_each_face_the_same_meaning() -> None:
    meanings = [pip_runner.read_line(line) for line in _lines("pip24.2_raw_success.txt")]
    assert meanings[0] == pip_runner.PipLine()  # "Looking in indexes": just a log line
    assert meanings[1].status == "pip: collecting torch==2.4.1+cu124"
    assert getattr(meanings[1].status, "template", None) == "pip: collecting {name}"  # translatable
    progress = [m.progress for m in meanings if m.progress is not None]
    assert progress and progress[-1].fraction == 1.0
    assert all(m.status is None and m.installed is None for m in meanings if m.progress is not None)
    installed = [m.installed for m in meanings if m.installed is not None]
    assert installed == [[("nvidia-cudnn-cu12", "9.1.0.70"), ("torch", "2.4.1+cu124")]]


@pytest.mark.parametrize(("fixture", "kind", "words"), [
    ("pip23.2_no_match.txt", "no_matching_distribution", "torch==2.14.1+cu126"),
    ("pip24.0_hash.txt", "hash_mismatch", "sha256"),
    ("pip23.2_cut.txt", "network", "92.4/184.9 MB"),
    ("pip24.2_tls.txt", "tls", "TLS certificate"),
    ("pip25.0_proxy.txt", "proxy", "proxy"),
    ("pip23.2_offline.txt", "network", "could not be reached"),
    ("pip24.2_disk_full.txt", "disk_full", "disk is full"),
    ("pip24.2_permission.txt", "permission_denied", "permission denied"),
    ("pip23.2_windows_locked.txt", "permission_denied", "permission denied"),
    ("pip24.0_externally_managed.txt", "externally_managed", "PEP 668"),
    ("pip25.1_conflict.txt", "dependency_conflict", "conflict"),
])
def test_failure_classification(fixture: str, kind: str, words: str) -> None:
    failure = pip_runner.classify_failure(_lines(fixture), 1)
    assert failure.kind == kind
    assert words in failure.message
    assert failure.hint and failure.details


def test_unknown_failure_keeps_pips_own_error_line() -> None:
    failure = pip_runner.classify_failure(["Collecting x", "ERROR: something new went wrong"], 1)
    assert failure.kind == "unknown" and failure.message == "pip stopped with this error: something new went wrong"
    assert getattr(failure.message, "template", None) == "pip stopped with this error: {error}"  # translatable frame


def test_install_command_needs_a_requirement() -> None:
    with pytest.raises(ValueError):
        pip_runner.install_command("python", [])


def test_a_wheel_pip_cannot_open_is_named_damaged() -> None:
    lines = ["Processing ./torch-2.13.0+cpu-py3-none-any.whl",
             "ERROR: Wheel 'torch' located at /tmp/w/torch-2.13.0+cpu-py3-none-any.whl is invalid."]
    failure = pip_runner.classify_failure(lines, 1)
    assert failure.kind == "invalid_wheel" and "damaged" in failure.message
