"""``plan`` on the command line: the JSON contract, the human table, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROFILES = Path(__file__).resolve().parents[1] / "profiles"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_plan_json_for_a_profile() -> None:
    result = run_cli("plan", "--machine", str(PROFILES / "ubuntu2204-gtx1080-drv570.json"), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["recommended"]["requirements"] == ["torch==2.14.1+cu126", "torchvision==0.29.1+cu126"]
    assert plan["recommended"]["index_url"] == "https://download.pytorch.org/whl/cu126"


def test_plan_human_output_is_a_short_table_with_reasons() -> None:
    result = run_cli("plan", "--machine", str(PROFILES / "fedora41-1080ti-5090-drv580.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Recommended: torch 2.14.1+cu130" in out
    assert "no   NVIDIA GeForce GTX 1080 Ti" in out and "yes  NVIDIA GeForce RTX 5090" in out
    assert "Why:" in out and "Alternatives:" in out


def test_plan_choices_on_the_command_line() -> None:
    result = run_cli("plan", "--machine", str(PROFILES / "ubuntu2404-cpu-only.json"), "--json",
                     "--no-torchvision", "--torch", "2.13")
    plan = json.loads(result.stdout)
    assert plan["recommended"]["requirements"] == ["torch==2.13.0+cpu"]


def _bad(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return run_cli("plan", "--machine", str(path), "--json")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"os": ', "(file)"),                                   # truncated JSON
        ("[1, 2, 3]", "(top level)"),                             # not an object
        ("\x00\x01garbage", "(file)"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": null}', "gpus"),
        ('{"os": {"family": "beos", "arch": "x86_64"}, "python": null, "gpus": []}', "os.family"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": {"version": 3.12}, "gpus": []}',
         "python.version"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": null, "gpus": [{"vendor": "nvidia"}]}',
         "gpus[0].name"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": null, "gpus": [],'
         ' "nvidia_driver": {"version": "five-eighty"}}', "nvidia_driver.version"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": null, "gpus": [],'
         ' "disk_free_gib": "lots"}', "disk_free_gib"),
        ('{"os": {"family": "linux", "arch": "x86_64"}, "python": null, "gpus": [{"vendor": "nvidia",'
         ' "name": "X", "compute_capability": "twelve"}]}', "gpus[0].compute_capability"),
    ],
)
def test_bad_profile_gets_one_error_naming_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    result = _bad(tmp_path, text)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr    # the message, then the hint on a line of its own
    assert lines[0].startswith("torch-gpu-setup: error: ")
    assert "bad.json" in lines[0] and f"'{field}'" in lines[0]
    assert lines[1] == "  hint: see SCHEMA.md (machine-profile/1) for the expected shape"
    assert "Traceback" not in result.stderr


def test_missing_profile_file(tmp_path: Path) -> None:
    result = run_cli("plan", "--machine", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "nope.json" in result.stderr and "no such file" in result.stderr


def test_unknown_torch_version_is_a_clear_error() -> None:
    result = run_cli("plan", "--machine", str(PROFILES / "ubuntu2404-cpu-only.json"), "--torch", "9.9")
    assert result.returncode == 2
    assert "torch 9.9 is not a release the wizard knows" in result.stderr
    assert "Traceback" not in result.stderr
