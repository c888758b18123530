"""The Windows packaging, read on any system: which bundled executable the smoke test drives, the
PyInstaller spec's two Windows executables, and the sections of the Inno Setup script.

The spec is executed with ``sys.platform`` set to ``win32`` and PyInstaller's build objects
replaced by recorders (PyInstaller itself is not needed). The Inno Setup script cannot be
compiled here: its sections are parsed and each promise the installer makes is looked up.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.packaging import test_bundle
from tests.packaging.conftest import bundle_executables

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "torch-gpu-setup.spec"
ISS = ROOT / "packaging" / "windows" / "torch-gpu-setup.iss"
STREAMS_HOOK = ROOT / "packaging" / "rthook_std_streams.py"


# --------------------------------------------------------------------------- the spec


def _run_spec(platform: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Execute the spec as PyInstaller would on ``platform``; the EXE() calls and Analysis() arguments."""
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda _name: []  # type: ignore[attr-defined]
    hooks.collect_data_files = lambda name: [(f"<{name} data>", name)]  # type: ignore[attr-defined]
    for name, module in (("PyInstaller", types.ModuleType("PyInstaller")),
                         ("PyInstaller.utils", types.ModuleType("PyInstaller.utils")),
                         ("PyInstaller.utils.hooks", hooks)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", platform)
    executables: list[dict[str, Any]] = []
    analysis: dict[str, Any] = {}

    class Analysis:
        def __init__(self, scripts: list[str], **kwargs: Any) -> None:
            analysis.update(kwargs, scripts=scripts)
            self.binaries: list[Any] = []
            self.datas: list[Any] = []
            self.pure: list[Any] = []
            self.scripts: list[Any] = []

    def exe(*_args: Any, **kwargs: Any) -> dict[str, Any]:
        executables.append(kwargs)
        return kwargs

    namespace: dict[str, Any] = {"SPECPATH": str(SPEC.parent), "Analysis": Analysis, "EXE": exe,
                                 "PYZ": lambda *a, **k: None, "COLLECT": lambda *a, **k: None,
                                 "__name__": "__main__", "__file__": str(SPEC)}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return executables, analysis


def test_spec_makes_a_windowed_and_a_console_executable_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    executables, analysis = _run_spec("win32", monkeypatch)
    assert [(e["name"], e["console"]) for e in executables] == [
        ("torch-gpu-setup", False), ("torch-gpu-setup-cli", True)]
    exes = bundle_executables(Path("dist/torch-gpu-setup"), "win32")
    # the smoke test's choice is the spec's: the console program for commands, the windowed one for the GUI
    assert exes.cli.name == "torch-gpu-setup-cli.exe" and exes.gui.name == "torch-gpu-setup.exe"
    by_name = {e["name"]: e for e in executables}
    assert by_name[exes.cli.stem]["console"] is True and by_name[exes.gui.stem]["console"] is False
    # the fast installer's launcher templates (installer/_scripts/*.exe) travel with the bundle
    assert ("<installer data>", "installer") in analysis["datas"]


def test_spec_makes_one_console_executable_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    executables, analysis = _run_spec("linux", monkeypatch)
    assert [(e["name"], e["console"]) for e in executables] == [("torch-gpu-setup", True)]
    exes = bundle_executables(Path("dist/torch-gpu-setup"), "linux")
    assert exes.cli == exes.gui == Path("dist/torch-gpu-setup/torch-gpu-setup")
    assert str(STREAMS_HOOK) in analysis["runtime_hooks"]


# --------------------------------------------------------------------------- the smoke test


def _fixtures_of(test: object) -> set[str]:
    return set(inspect.signature(test).parameters)  # type: ignore[arg-type]


def test_smoke_test_runs_commands_through_the_console_exe_and_only_the_gui_through_the_windowed_one() -> None:
    tests = {name: obj for name, obj in vars(test_bundle).items() if name.startswith("test_") and callable(obj)}
    gui = {name for name, t in tests.items() if "bundle_gui_exe" in _fixtures_of(t)}
    assert gui == {"test_gui_autopilot_saves_every_page"}
    assert "bundle_exe" not in _fixtures_of(tests["test_gui_autopilot_saves_every_page"])
    for name in ("test_version_is_the_source_version", "test_detect_finds_interpreters_outside_the_bundle",
                 "test_plan_matches_the_source_run", "test_install_from_the_bundle"):
        assert "bundle_exe" in _fixtures_of(tests[name]), name


def test_windowed_exe_without_stdout_and_stderr_still_writes(tmp_path: Path) -> None:
    """A windowed (GUI-subsystem) program starts with sys.stdout and sys.stderr None: the runtime hook
    gives it sinks, so a print or a report of an error never becomes a crash."""
    code = (
        "import sys, runpy\n"
        "sys.stdout = sys.stderr = None\n"
        f"runpy.run_path({str(STREAMS_HOOK)!r})\n"
        "sys.stdout.write('out'); sys.stderr.write('err'); sys.stdout.flush()\n"
        "sys.__stdout__.write('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok"  # what went to the sinks is dropped, nothing raised
    # a console program keeps its real streams
    keep = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(STREAMS_HOOK)!r}); "
                           "print('visible')"], capture_output=True, text=True, timeout=60, check=False)
    assert keep.stdout == "visible\n"


# --------------------------------------------------------------------------- the Inno Setup script


def _sections(text: str) -> dict[str, list[str]]:
    """The script's lines per [Section] (comments, preprocessor lines and blank lines left out)."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        match = re.fullmatch(r"\[(\w+)\]", line)
        if match:
            current = match.group(1)
            sections.setdefault(current, [])
        elif (line and not line.startswith((";", "#"))) or (current == "Code" and line):
            sections.setdefault(current, []).append(line)
    return sections


def _defines(text: str) -> dict[str, str]:
    return dict(re.findall(r'^#define (\w+) "([^"]*)"', text, flags=re.MULTILINE))


def _entry(line: str) -> dict[str, str]:
    """``Type: x; Name: "y"`` as {"Type": "x", "Name": "y"}."""
    fields = {}
    for part in line.split(";"):
        key, _, value = part.partition(":")
        fields[key.strip()] = value.strip().strip('"')
    return fields


@pytest.fixture(scope="module")
def iss() -> str:
    return ISS.read_text(encoding="utf-8")


def test_states_and_enforces_the_inno_setup_version(iss: str) -> None:
    head = iss.split("[Setup]")[0]
    assert "Written for Inno Setup 6.3 or later" in head
    guard = re.search(r"^#if VER < EncodeVer\(6,3,0\)\n\s*#error (.+)\n#endif$", head, flags=re.MULTILINE)
    assert guard is not None and "6.3" in guard.group(1)
    assert "ArchitecturesAllowed=x64compatible" in _sections(iss)["Setup"]  # what needs 6.3


def test_upgrade_removes_the_old_internal_folder(iss: str) -> None:
    entries = [_entry(line) for line in _sections(iss)["InstallDelete"]]
    assert {"Type": "filesandordirs", "Name": r"{app}\_internal"} in entries
    # nothing outside the app folder is removed before installing (the person's files stay)
    assert all(e["Name"].startswith("{app}\\") for e in entries)


def test_uninstall_asks_before_deleting_the_cache_and_deletes_only_on_yes(iss: str) -> None:
    code = "\n".join(_sections(iss)["Code"])
    proc = code[code.index("procedure CurUninstallStepChanged"):]
    proc = proc[:proc.index("\nend;\n") + 6] if "\nend;\n" in proc else proc
    assert "usPostUninstall" in proc and "ExpandConstant('{#CacheDir}')" in proc
    # the question first, the default answer No (also for a silent uninstall), DelTree only under IDYES
    ask = re.search(r"SuppressibleMsgBox\(FmtMessage\(CustomMessage\('RemoveCache'\), \[Cache\]\), mbConfirmation,"
                    r"\s*MB_YESNO or MB_DEFBUTTON2, IDNO\) = IDYES then", proc)
    assert ask is not None and proc.count("DelTree(") == 1 and proc.index("DelTree(") > ask.end()
    assert "RemoveCache" in "\n".join(_sections(iss)["CustomMessages"])


def test_the_cache_folder_is_the_one_the_wizard_uses_on_windows(iss: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """platformdirs on Windows, with the Known Folder answer injected: the same folder as the script's."""
    from platformdirs import windows

    local = r"C:\Users\ann\AppData\Local"
    monkeypatch.setattr(windows, "get_win_folder", lambda _csidl: local)
    cache = windows.Windows(appname="torch-gpu-setup", appauthor=False).user_cache_dir
    parts = re.split(r"[\\/]", cache)
    assert parts[:5] == ["C:", "Users", "ann", "AppData", "Local"]
    script = _defines(iss)["CacheDir"]
    assert script == "{localappdata}\\" + "\\".join(parts[5:]) == r"{localappdata}\torch-gpu-setup\Cache"
    # and the wizard asks platformdirs exactly that way (appname, no author)
    paths = (ROOT / "wizard" / "core" / "paths.py").read_text(encoding="utf-8")
    assert "platformdirs.user_cache_dir(APP_NAME, appauthor=False)" in paths and 'APP_NAME = "torch-gpu-setup"' in paths


def test_checks_the_visual_cpp_runtime_before_installing(iss: str) -> None:
    defines = _defines(iss)
    assert defines["VCRuntimeKey"] == r"SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64"
    assert defines["VCRedistUrl"] == "https://aka.ms/vs/17/release/vc_redist.x64.exe"
    code = "\n".join(_sections(iss)["Code"])
    check = code[code.index("function VCRuntimeInstalled"):code.index("function InitializeSetup")]
    assert "RegQueryDWordValue(HKLM64, '{#VCRuntimeKey}', 'Installed', Installed) and (Installed = 1)" in check
    setup = code[code.index("function InitializeSetup"):]
    assert "if not VCRuntimeInstalled then" in setup and "CustomMessage('VCRedistMissing')" in setup
    message = next(line for line in _sections(iss)["CustomMessages"] if line.startswith("english.VCRedistMissing="))
    assert "{#VCRedistUrl}" in message and "2015-2022" in message and "(x64)" in message


def test_installs_the_bundle_and_starts_the_windowed_exe(iss: str) -> None:
    defines = _defines(iss)
    assert defines["AppExe"] == bundle_executables(Path("x"), "win32").gui.name
    files = [_entry(line) for line in _sections(iss)["Files"]]
    assert files == [{"Source": "{#BundleDir}\\*", "DestDir": "{app}",
                      "Flags": "ignoreversion recursesubdirs createallsubdirs"}]
