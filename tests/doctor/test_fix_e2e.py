"""``doctor --fix`` end to end on this machine's CPU with the real torch 2.13.0 CPU wheel.

A venv holds the real torch and a torchvision built for another torch (a stand-in wheel: its
metadata is what matters); the doctor finds the mismatch, ``--fix`` reinstalls the matching pair
through the install flow from a loopback index (snapshot first), verify passes, the doctor then
finds nothing, and ``rollback`` puts the environment back as it was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.install.conftest import (  # noqa: F401  (fixtures)
    LoopbackIndex,
    build_wheel,
    installed,
    isolated_pip,
    loopback_index,
    template_venv,
    venv,
    venv_py,
)
from tests.install.test_cli_e2e import TORCH_VERSION, torch_wheels  # noqa: F401  (fixture)
from wizard.cli import main


@pytest.mark.slow
def test_doctor_fix_repairs_a_mismatched_torchvision(torch_wheels: tuple[Path, str],  # noqa: F811
                                                      loopback_index: LoopbackIndex,  # noqa: F811
                                                      isolated_pip: Path, venv: Path,  # noqa: F811
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache, _ = torch_wheels
    py = venv_py(venv)
    subprocess.run([str(py), "-m", "pip", "install", "--no-index", "--find-links", str(cache), "-q",
                    f"torch=={TORCH_VERSION}"], check=True, capture_output=True)
    stand_ins = tmp_path / "stand-ins"
    wrong = build_wheel(stand_ins, "torchvision", "0.29.1+cpu", requires=("torch==2.14.1",))
    right = build_wheel(stand_ins, "torchvision", "0.28.0+cpu", requires=(f"torch=={TORCH_VERSION}",))
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wrong)], check=True,
                   capture_output=True)
    # the real numpy beside torch: the install adds numpy (flow.companion_requirements), and the loopback's
    # stand-in numpy would break a real torch's import
    for wheel in [*cache.glob(f"torch-{TORCH_VERSION}*.whl"), *cache.glob("numpy-*.whl"), wrong, right]:
        loopback_index.add("whl/cpu", wheel)
    before = installed(venv)
    assert before["torch"] == f"{TORCH_VERSION}+cpu" and before["torchvision"] == "0.29.1+cpu"

    code = main(["doctor", "--python", str(py), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and [f["code"] for f in data["findings"]] == ["mismatched_companions"]
    assert "torchvision 0.29.1+cpu was built for torch 2.14.1+cpu" in data["findings"][0]["message"]
    # only the companion is wrong: the fix keeps this torch build and pairs it with its torchvision
    assert data["fix"]["requirements"] == [f"torch=={TORCH_VERSION}+cpu", "torchvision==0.28.0+cpu"]

    code = main(["doctor", "--python", str(py), "--fix", "--index-url", loopback_index.url("whl/cpu")])
    out = capsys.readouterr().out
    assert code == 0, out
    after = installed(venv)
    assert after["torchvision"] == "0.28.0+cpu" and after["torch"] == f"{TORCH_VERSION}+cpu"
    assert "CPU only: PyTorch works" in out                      # verify ran after the fix
    assert out.split("After the fix:", 1)[1].count("Healthy: torch 2.13.0+cpu fits this machine.") == 1
    pins = (venv / "torch-gpu-setup-constraints.txt").read_text()
    assert "torchvision==0.28.0+cpu" in pins

    # the way back: the snapshot taken before the fix
    code = main(["rollback", "--python", str(py)])
    assert code == 0, capsys.readouterr()
    assert installed(venv)["torchvision"] == "0.29.1+cpu"
