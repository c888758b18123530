"""The command line's error boundary: a failure on the person's paths is words and an exit code, never a traceback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.commands.errors import log_on_failure, report
from wizard.core.errors import Cancelled, InputError


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TORCH_GPU_SETUP_DATA_DIR": str(home / "data"),
           "TORCH_GPU_SETUP_CACHE_DIR": str(home / "cache"), "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_report_to_a_path_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")   # fails for root too, unlike permissions
    result = run_cli("report", "--out", str(blocker / "support" / "report.zip"), home=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"torch-gpu-setup: error: the report could not be written to " \
                       f"{blocker / 'support' / 'report.zip'}: Not a directory"
    assert lines[1] == "  hint: give --out a file in a folder you can write to, e.g. ~/report.zip"
    assert blocker.read_text() == "a file where a folder should be"   # nothing of the person's is lost


def test_new_venv_whose_parent_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    target = blocker / "envs" / "torch"
    result = run_cli("install", "--new-venv", str(target), "--python", sys.executable, "--torch", "2.13.0",
                     "--variant", "cpu", "--index-url", "http://127.0.0.1:9/whl/cpu/", "--no-verify", home=tmp_path)
    assert result.returncode == 2, result.stderr     # bad input, nothing was changed
    assert "Traceback" not in result.stderr
    assert f"{blocker} is a file, so the environment {target} cannot be made there" in result.stderr
    assert "  hint: choose a folder that does not exist yet" in result.stderr
    assert blocker.is_file()


def test_a_bug_is_one_sentence_and_its_traceback_goes_to_the_log(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_GPU_SETUP_DATA_DIR", str(tmp_path / "data"))
    out = io.StringIO()
    try:
        with log_on_failure(["- Checking the environment", "  $ python -m pip install torch"], "install"):
            {}["missing"]  # a real bug: a KeyError raised here
    except KeyError as exc:
        code = report(exc, stream=out, exit_codes=True)
    text = out.getvalue()
    assert code == 7 and "Traceback" not in text
    assert text.startswith("torch-gpu-setup: error: something unexpected went wrong inside the wizard\n")
    log = Path(text.rsplit("  log: ", 1)[1].strip())
    assert log.parent == tmp_path / "data" / "logs"
    assert "$ python -m pip install torch" in log.read_text() and "KeyError: 'missing'" in log.read_text()
    verbose = io.StringIO()
    report(KeyError("again"), verbose=True, stream=verbose)
    assert "KeyError: 'again'" in verbose.getvalue()


@pytest.mark.parametrize(("error", "install_code"), [
    (InputError("bad path"), 2), (Cancelled("stopped", hint="nothing was changed"), 130)])
def test_install_failures_use_the_documented_codes(error: Exception, install_code: int) -> None:
    assert report(error, stream=io.StringIO(), exit_codes=True) == install_code
