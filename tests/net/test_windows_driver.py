"""The Windows driver install: PowerShell by its absolute path, a declined UAC prompt, notebook GPUs, the restart.

The world is faked at its edge: a ``powershell.exe`` script at the path Windows would run
(``%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe``, with SystemRoot pointing into
a temporary folder) that exits the way the elevation wrapper does when the prompt is declined
(1223, ERROR_CANCELLED), when the installer asks for a restart (3010), or fails.
"""

from __future__ import annotations

import io
import json
import ntpath
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fakes import write_script
from tests.net.server import LoopbackServer
from tests.net.test_installers import _lookup_body
from wizard.cli import main
from wizard.commands.errors import report
from wizard.core.drivers.installers import check_step_result, installers_for, run_step_commands
from wizard.core.drivers.steps import (
    ELEVATION_CANCELLED,
    ELEVATION_DECLINED_LINE,
    elevate,
    installer_data,
    windows_powershell,
)
from wizard.core.drivers.windows import pfid_for
from wizard.core.errors import ElevationDeclined, WizardError
from wizard.core.helpdesk.exit_codes import DESCRIPTIONS, ExitCode, code_for_error
from wizard.core.model.machine import Machine, load_profile
from wizard.core.plan.planner import make_plan
from wizard.core.process import Command, CommandResult

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
SAMPLES = Path("/work/shared/research/samples")
README = Path(__file__).resolve().parents[2] / "README.md"


def _fake_powershell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, line: str = "") -> Path:
    """powershell.exe where Windows keeps it, under a SystemRoot of our own; records its argv.

    It prints ``line`` and exits ``code`` (outside Windows an exit status keeps its low 8 bits:
    1223 arrives as 199, which is why the wrapper also prints a line).
    """
    root = tmp_path / "Windows"
    monkeypatch.setenv("SystemRoot", str(root))
    path = Path(ntpath.join(str(root), "System32", "WindowsPowerShell", "v1.0", "powershell.exe"))
    write_script(path, f'printf "%s\\n" "$@" > "{tmp_path}/argv"\necho "{line}"\nexit {code}\n')
    return path


# --------------------------------------------------------------------------- the command


def test_powershell_by_absolute_path_never_the_bare_name() -> None:
    cmd = elevate([r"C:\Users\O'Brien\driver.exe", "-s", "-noreboot"], platform="win32",
                  environ={"SystemRoot": r"D:\Windows"})
    assert cmd.argv[0] == r"D:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    # no SystemRoot in the environment (a cleaned one): the default folder, still absolute
    assert elevate(["x.exe"], platform="win32", environ={}).argv[0] == \
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    assert windows_powershell({"SYSTEMROOT": r"E:\W"}) == r"E:\W\System32\WindowsPowerShell\v1.0\powershell.exe"


def test_elevation_script_starts_elevated_and_keeps_the_declined_prompt_apart() -> None:
    cmd = elevate([r"C:\Users\O'Brien\driver dir\setup.exe", "-s", "-noreboot", "a b"], platform="win32",
                  environ={"SystemRoot": r"C:\Windows"})
    script = cmd.argv[-1]
    assert cmd.argv[1:-1] == ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command")
    assert "\n" not in script
    # the path as a PowerShell literal (a quote doubled); the arguments as one Windows command line
    assert r"$si.FileName = 'C:\Users\O''Brien\driver dir\setup.exe'" in script
    assert """$si.Arguments = '-s -noreboot "a b"'""" in script
    assert "$si.Verb = 'runas'" in script and "$si.UseShellExecute = $true" in script
    # a declined prompt throws (Win32Exception 1223) before any process exists: its own exit code,
    # never "exit $p.ExitCode" of a process that was not started (which PowerShell reads as 0)
    assert (f"$e.NativeErrorCode -eq {ELEVATION_CANCELLED}) {{ [Console]::Out.WriteLine('{ELEVATION_DECLINED_LINE}'); "
            f"exit {ELEVATION_CANCELLED} }}") in script
    assert script.index("catch") < script.index("$p.WaitForExit()") < script.rindex("exit $p.ExitCode")
    assert "if (-not $p) { exit 1 }" in script


# --------------------------------------------------------------------------- what the exit means


def test_declined_prompt_is_its_own_error_never_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_powershell(tmp_path, monkeypatch, ELEVATION_CANCELLED, ELEVATION_DECLINED_LINE)
    cmd = elevate([r"C:\dl\581.57-desktop.exe", "-s"], platform="win32")
    with pytest.raises(ElevationDeclined) as caught:
        run_step_commands((cmd,))
    error = caught.value
    assert error.message.startswith("Windows asked for administrator permission and it was declined")
    assert "Yes" in error.hint
    assert (tmp_path / "argv").read_text().splitlines()[0] == "-NoProfile"  # the fake really ran
    assert code_for_error(error) is ExitCode.ELEVATION_DECLINED
    out = io.StringIO()
    # every command (installers --run too) ends with the documented code, not the generic 2
    assert report(error, stream=out) == int(ExitCode.ELEVATION_DECLINED) == 9
    assert "declined" in out.getvalue() and "Traceback" not in out.getvalue()


def test_installers_run_ends_with_9_when_the_prompt_is_declined(
        server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``installers --fetch DIR --run --yes`` end to end: NVIDIA's lookup and download on loopback,
    PowerShell declining at its Windows path; the command line says so and exits 9."""
    exe_path = "/Windows/581.57/581.57-desktop-win10-win11-64bit-international-dch-whql.exe"
    server.add(exe_path, b"MZ" + bytes(2000))
    server.add("/AjaxDriverService.php", _lookup_body(server.url(exe_path)), "application/json")
    _fake_powershell(tmp_path, monkeypatch, ELEVATION_CANCELLED, ELEVATION_DECLINED_LINE)
    profile = tmp_path / "win11-4070-nodriver.json"
    profile.write_text(json.dumps(_win_no_driver().to_profile()), encoding="utf-8")
    code = main(["installers", "--machine", str(profile), "--fetch", str(tmp_path / "dl"), "--run", "--yes",
                 "--lookup-url", server.url("/AjaxDriverService.php")])
    err = capsys.readouterr().err
    assert code == 9, err
    assert "Windows asked for administrator permission and it was declined" in err and "Done." not in err
    assert "581.57-desktop" in (tmp_path / "argv").read_text()  # the downloaded installer was what it asked for


def _ended(command: Command, code: int, *tail: str) -> CommandResult:
    """How the process ended, as Windows reports it (exit codes above 255 only exist there)."""
    return CommandResult(command, code, tail)


def test_exit_codes_of_the_wrapper_as_windows_reports_them() -> None:
    cmd = elevate([r"C:\dl\setup.exe", "-s"], platform="win32", environ={})
    with pytest.raises(ElevationDeclined):
        check_step_result(cmd, _ended(cmd, ELEVATION_CANCELLED))
    for restart in (3010, 1641):  # ERROR_SUCCESS_REBOOT_REQUIRED / _INITIATED: installed
        check_step_result(cmd, _ended(cmd, restart))
    check_step_result(cmd, _ended(cmd, 0))
    with pytest.raises(WizardError, match="exit code 2") as caught:
        check_step_result(cmd, _ended(cmd, 2, "The system cannot find the file specified."))
    assert not isinstance(caught.value, ElevationDeclined)
    # the same numbers from a program that is not the wrapper mean nothing special
    plain = Command(argv=(r"C:\dl\setup.exe", "-s"))
    for code in (ELEVATION_CANCELLED, 3010):
        with pytest.raises(WizardError) as caught:
            check_step_result(plain, _ended(plain, code))
        assert not isinstance(caught.value, ElevationDeclined)


def test_other_failures_stay_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_powershell(tmp_path, monkeypatch, 1)
    cmd = elevate([r"C:\dl\setup.exe", "-s"], platform="win32")
    with pytest.raises(WizardError, match="exit code 1") as caught:
        run_step_commands((cmd,))
    assert not isinstance(caught.value, ElevationDeclined)


def test_the_declined_line_from_another_program_is_not_a_declined_prompt(tmp_path: Path) -> None:
    prog = write_script(tmp_path / "bin" / "tool", f'echo "{ELEVATION_DECLINED_LINE}"\nexit 3\n')
    with pytest.raises(WizardError) as caught:
        run_step_commands((Command(argv=(str(prog),)),))
    assert not isinstance(caught.value, ElevationDeclined)


def test_the_new_exit_code_is_documented() -> None:
    assert int(ExitCode.ELEVATION_DECLINED) == 9 and "declined" in DESCRIPTIONS[ExitCode.ELEVATION_DECLINED]
    assert "| 9 |" in README.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- notebook GPUs


@pytest.mark.parametrize(("name", "pfid"), [
    ("NVIDIA GeForce RTX 3080 Laptop GPU", "938"),   # not the desktop RTX 3080 (929)
    ("NVIDIA GeForce RTX 4060 Laptop GPU", "1007"),
    ("NVIDIA GeForce RTX 5090 Laptop GPU", "1073"),
    ("NVIDIA RTX A2000 Laptop GPU", "957"),
    ("NVIDIA RTX 2000 Ada Generation Laptop GPU", "1016"),
    ("NVIDIA GeForce RTX 2080 with Max-Q Design", "890"),  # Max-Q: a notebook design
    ("NVIDIA GeForce GTX 1650 Ti", "921"),               # only a notebook part
    ("NVIDIA GeForce MX450", "931"),
    ("NVIDIA GeForce RTX 2080", "879"),                  # the desktop one when nothing says laptop
    ("NVIDIA GeForce RTX 4070", "1015"),
])
def test_bundled_tables_find_notebook_and_desktop_gpus(name: str, pfid: str) -> None:
    assert pfid_for(name) == pfid


@pytest.mark.parametrize(("pci_id", "pfid"), [
    ("10de:1f11", "888"),  # TU106M [GeForce RTX 2060 Mobile]: the notebook driver
    ("10de:1f08", "887"),  # TU106 [GeForce RTX 2060 Rev. A]: the desktop one
    (None, "887"),         # no PCI id: the name alone, desktop first
])
def test_a_pre_ampere_laptop_gpu_is_known_by_its_pci_id(pci_id: str | None, pfid: str) -> None:
    """Before Ampere, Windows names a laptop GPU like the desktop one ("NVIDIA GeForce RTX 2060"):
    the PCI id (a mobile chip in pci.ids) tells the notebook driver apart."""
    machine = _win_no_driver()
    gpu = replace(machine.gpus[0], name="NVIDIA GeForce RTX 2060", pci_id=pci_id)
    machine = replace(machine, gpus=[gpu])
    step = installers_for(machine, make_plan(machine)).steps[0]
    assert step.kind == "driver_windows" and f"pfid={pfid}&" in (step.lookup_url or "")


def test_bundled_tables_hold_nvidia_data_as_published() -> None:
    tables = installer_data()["windows"]["pfid"]
    assert len(tables["notebook"]) > 250 and len(tables["desktop"]) > 500
    sample = SAMPLES / "nvidia-data_gpu-data_pfid.json"
    if sample.is_file():  # the research copy (ZenitH-AT/nvidia-data a94a519b) where it is at hand
        assert tables == json.loads(sample.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the restart


def _win_no_driver() -> Machine:
    m = load_profile(PROFILES / "win11-rtx4070-drv566.json")
    return replace(m, nvidia_driver=None)


def test_windows_driver_is_followed_by_a_restart_step() -> None:
    machine = _win_no_driver()
    steps = installers_for(machine, make_plan(machine)).steps
    assert [s.kind for s in steps] == ["driver_windows", "reboot"]
    reboot = steps[1]
    assert "Restart" in reboot.title and "driver" in reboot.why and not reboot.commands
    # WSL: the driver is the Windows one; nothing to restart from inside
    wsl = load_profile(PROFILES / "wsl2-rtx3060-drv560.json")
    wsl = replace(wsl, nvidia_driver=None)
    assert "reboot" not in [s.kind for s in installers_for(wsl, make_plan(wsl)).steps]
