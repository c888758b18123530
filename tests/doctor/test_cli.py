"""``torch-gpu-setup doctor``: the words, the JSON contract and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.doctor.conftest import PROFILES, StandIn, install_stand_in, python_of
from tests.doctor.test_findings import ARCH_CU124
from wizard.cli import main
from wizard.core.model.machine import load_profile
from wizard.core.plan.planner import make_plan

RTX5090 = str(PROFILES / "ubuntu2404-rtx5090-drv590.json")
CPU = str(PROFILES / "ubuntu2404-cpu-only.json")


def test_text_one_line_per_finding_and_the_fix(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_stand_in(env, StandIn("2.6.0+cu124", cuda="12.4", arch=ARCH_CU124))
    code = main(["doctor", "--python", str(env), "--machine", RTX5090])   # an environment folder works too
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"Doctor: {python_of(env)} (torch 2.6.0+cu124) on ubuntu2404-rtx5090-drv590"
    assert "note: The GPU was not tried" in lines[1]
    finding = next(line for line in lines if "arch_not_compiled" in line)
    assert finding.startswith("  ERROR arch_not_compiled: torch 2.6.0+cu124 has no code for NVIDIA GeForce RTX 5090")
    assert "-> Install torch 2.14.1+cu130, which has code for sm_120." in finding
    assert "Fix: install torch 2.14.1+cu130 into this environment." in lines
    assert "  pip install torch==2.14.1+cu130 torchvision==0.29.1+cu130 --index-url " \
           "https://download.pytorch.org/whl/cu130" in lines


def test_verbose_prints_the_evidence(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_stand_in(env, StandIn("2.6.0+cu124", cuda="12.4", arch=ARCH_CU124))
    main(["--verbose", "doctor", "--python", str(python_of(env)), "--machine", RTX5090])
    assert "        torch.cuda.get_arch_list() = sm_50, sm_60" in capsys.readouterr().out


def test_json_fix_has_the_shape_of_the_plans_recommended(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_stand_in(env, StandIn("2.6.0+cu124", cuda="12.4", arch=ARCH_CU124))
    code = main(["doctor", "--python", str(python_of(env)), "--machine", RTX5090, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["healthy"] is False and data["described"] is True
    assert [f["code"] for f in data["findings"]] == ["arch_not_compiled"]
    assert set(data["findings"][0]) == {"code", "severity", "message", "evidence", "fix"}
    plan = make_plan(load_profile(RTX5090)).to_json()["recommended"]
    assert set(data["fix"]) == set(plan) and data["fix"]["requirements"] == plan["requirements"]
    assert data["fix"]["variant"] == "cu130"


def test_healthy_exits_0(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu", companions={"torchvision": ("0.29.1+cpu", ("torch==2.14.1",))}))
    code = main(["doctor", "--python", str(python_of(env)), "--machine", CPU])
    out = capsys.readouterr().out
    assert code == 0 and "Healthy: torch 2.14.1+cpu fits this machine." in out and "No reinstall is needed." in out
    code = main(["doctor", "--python", str(python_of(env)), "--machine", CPU, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["healthy"] and data["findings"] == [] and data["fix"] is None


@pytest.mark.parametrize(("argv", "words"), [
    (["--python", "/no/such/python"], "no Python interpreter at /no/such/python"),
    (["--machine", "/no/such/profile.json"], "no such file"),
    (["--fix", "--machine", CPU], "cannot be used with --machine"),
])
def test_bad_input_exits_2(env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    argv = argv if "--python" in argv else [*argv, "--python", str(python_of(env))]
    code = main(["doctor", *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err and "hint:" in err


def test_a_folder_that_is_no_environment_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--python", str(tmp_path), "--machine", CPU])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder but not a virtual or conda environment" in err


def test_fix_that_needs_a_driver_first_says_so(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.core.doctor.runner import fix_request, run_doctor

    install_stand_in(env, StandIn("2.14.1+cu130", cuda="13.0"))
    d = run_doctor(str(python_of(env)), machine=load_profile(PROFILES / "extra" / "ubuntu2404-rtx5090-drv570.json"),
                   described=True)
    with pytest.raises(Exception) as caught:
        fix_request(d)
    assert "The fix needs a driver update, a restart first" in str(caught.value)


def test_fix_on_a_healthy_environment_installs_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # this machine, detected (no --machine): a CPU build with its own torchvision is healthy on it
    # unless it has a GPU, so the machine is asked first
    from wizard.core.detect import detect_machine

    if any(g.vendor in ("nvidia", "amd") for g in detect_machine().gpus):
        pytest.skip("this machine has a GPU: a CPU build is not healthy here")
    install_stand_in(env, StandIn("2.14.1+cpu", companions={"torchvision": ("0.29.1+cpu", ("torch==2.14.1",))}))
    before = sorted(p.name for p in (env / "lib").rglob("*"))
    code = main(["doctor", "--python", str(python_of(env)), "--fix"])
    out = capsys.readouterr().out
    assert code == 0 and "No reinstall is needed." in out and "Installed" not in out
    assert sorted(p.name for p in (env / "lib").rglob("*")) == before


def test_fix_for_a_shadowing_file_changes_nothing_and_says_what_to_do(
        env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu"))
    (tmp_path / "torch.py").write_text("x = 1\n")
    code = main(["doctor", "--python", str(python_of(env)), "--workdir", str(tmp_path), "--fix"])
    out = capsys.readouterr().out
    assert code == 1 and f"Rename or remove {tmp_path / 'torch.py'}" in out and "Installed" not in out
    assert (tmp_path / "torch.py").exists()
