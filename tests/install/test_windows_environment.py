"""Windows, on Linux with the platform injected: where the environment goes, no Python, the
frozen app's children, file locks. The machines are profiles in tests/profiles (and extra/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.install.conftest import build_wheel
from wizard.core import paths
from wizard.core.drivers.installers import installers_for
from wizard.core.errors import WizardError
from wizard.core.install import environments as envs
from wizard.core.model.machine import load_profile
from wizard.core.plan.environment import WINDOWS_ENV_ROOM, default_environment, path_problem
from wizard.core.plan.planner import make_plan
from wizard.core.process import Command, child_environment

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
WINDOWS_PROFILES = sorted(p for p in PROFILES.rglob("*.json")
                          if json.loads(p.read_text(encoding="utf-8"))["os"]["family"] == "windows")


@pytest.mark.parametrize("length", range(1, 41))
def test_the_default_folder_fits_for_every_user_name_length(length: int) -> None:
    home = "C:\\Users\\" + "abcdefghij"[:1] * length
    choice = default_environment(family="windows", torch="2.14.1", variant="cu126", user_home=home,
                                 long_paths_enabled=False)
    assert len(choice.path) <= WINDOWS_ENV_ROOM and choice.path.isascii()
    assert path_problem(choice.path, "windows", False) is None
    usual = f"{home}\\AppData\\Local\\torch-gpu-setup\\envs\\torch-2.14.1-cu126"
    if len(usual) <= WINDOWS_ENV_ROOM:
        assert choice.path == usual and not choice.actions
    else:   # moved, said why, and enabling long paths offered
        assert "260 characters" in choice.why and choice.actions[0].kind == "enable_long_paths"
        assert "LongPathsEnabled" in choice.actions[0].detail
    # with long paths on, the usual place is kept whatever its length
    on = default_environment(family="windows", torch="2.14.1", variant="cu126", user_home=home,
                             long_paths_enabled=True)
    assert on.path == usual


@pytest.mark.parametrize("home", ["C:\\Users\\张三", "C:\\Users\\José", "C:\\Users\\Ærøskøbing-Østergaard"])
def test_a_non_ascii_user_name_gets_a_plain_folder(home: str) -> None:
    choice = default_environment(family="windows", torch="2.14.1", variant="cu126", user_home=home)
    assert choice.path == "C:\\torch-envs\\torch-2.14.1-cu126" and "plain letters" in choice.why


def test_store_python_keeps_out_of_the_redirected_appdata() -> None:
    choice = default_environment(family="windows", torch="2.14.1", variant="cu126", user_home="C:\\Users\\maria",
                                 microsoft_store=True)
    assert choice.path == "C:\\Users\\maria\\torch-gpu-setup\\envs\\torch-2.14.1-cu126"
    assert "AppData" not in choice.path and "Store" in choice.why


@pytest.mark.parametrize("profile", WINDOWS_PROFILES, ids=lambda p: p.stem)
def test_the_plan_names_a_working_environment_for_every_windows_profile(profile: Path) -> None:
    machine = load_profile(profile)
    data = make_plan(machine).to_json()
    where = data["environment"]
    assert where is not None and where["why"]
    assert where["path"].startswith("C:\\") and "/" not in where["path"]
    assert path_problem(where["path"], "windows", machine.os.long_paths_enabled) is None
    if machine.os.long_paths_enabled is not True:
        assert len(where["path"]) <= WINDOWS_ENV_ROOM


def test_a_long_chosen_folder_is_refused_with_the_room_and_the_command() -> None:
    long = "C:\\Users\\christopher.johnson\\AppData\\Local\\torch-gpu-setup\\envs\\torch-2.14.1-cu126"
    with pytest.raises(WizardError) as err:
        envs.check_path_length(long, "win32", long_paths_enabled=False)
    assert "69 characters" in err.value.hint and "LongPathsEnabled" in err.value.hint
    envs.check_path_length(long, "win32", long_paths_enabled=True)
    envs.check_path_length(long, "linux", long_paths_enabled=None)


def test_no_python_plans_an_action_with_winget_and_the_silent_installer() -> None:
    machine = load_profile(PROFILES / "extra" / "win11-no-python-rtx3070.json")
    assert machine.python is None
    plan = make_plan(machine)
    assert plan.status == "action_required" and plan.recommended is not None
    assert [a.kind for a in plan.recommended.blocking_actions()] == ["python_install"]
    step = installers_for(machine, plan, which=lambda _name: None).steps[0]
    assert step.kind == "python_windows"
    assert step.commands[0].argv == ("winget", "install", "--exact", "--id", "Python.Python.3.12", "--scope", "user",
                                     "--silent", "--accept-package-agreements", "--accept-source-agreements")
    assert any("/quiet InstallAllUsers=0 PrependPath=1" in n for n in step.notes)
    assert any("py install 3.12" in n for n in step.notes)


def test_the_frozen_app_never_takes_a_store_alias_or_itself() -> None:
    app = "C:\\Program Files\\torch-gpu-setup\\torch-gpu-setup.exe"
    alias = "C:\\Users\\a\\AppData\\Local\\Microsoft\\WindowsApps\\python3.exe"
    real = "C:\\Users\\a\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"
    found = {"python3": alias, "python": app, "py": real}
    assert envs.default_base_python(frozen=True, executable=app, which=found.get) == real
    with pytest.raises(WizardError) as err:
        envs.default_base_python(frozen=True, executable=app, which={"python3": alias, "python": app}.get)
    assert "winget install" in err.value.hint
    assert envs.default_base_python(frozen=False, executable="/usr/bin/python3", which=found.get) == "/usr/bin/python3"


def test_children_of_the_frozen_app_do_not_inherit_the_bundle() -> None:
    bundle = "C:\\Program Files\\torch-gpu-setup\\_internal"
    base = {"PATH": f"{bundle};{bundle}\\PySide6;C:\\Windows\\system32;C:\\Users\\a\\bin",
            "QT_PLUGIN_PATH": f"{bundle}\\PySide6\\plugins", "QT_QPA_PLATFORM_PLUGIN_PATH": "D:\\mine",
            "PIP_INDEX_URL": "https://mirror.example/simple"}
    env = child_environment(base, frozen=True, bundle_dir=bundle, platform="win32")
    assert env["PATH"] == "C:\\Windows\\system32;C:\\Users\\a\\bin"
    assert "QT_PLUGIN_PATH" not in env and env["QT_QPA_PLATFORM_PLUGIN_PATH"] == "D:\\mine"
    assert env["PIP_INDEX_URL"] == base["PIP_INDEX_URL"]     # the user's pip settings pass through
    # case-insensitive on Windows; from source nothing changes
    lower = child_environment({"PATH": f"{bundle.upper()}\\PYSIDE6;C:\\x"}, frozen=True, bundle_dir=bundle,
                              platform="win32")
    assert lower["PATH"] == "C:\\x"
    assert child_environment(base, frozen=False) == base
    # the one runner's commands get it too
    assert Command(("python",)).full_env(base) == child_environment(base)


class _Locked:
    """An operation that meets a Windows sharing violation ``times`` times."""

    def __init__(self, times: int) -> None:
        self.left = times
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            exc = PermissionError(13, "The process cannot access the file because it is being used")
            exc.winerror = 32  # type: ignore[attr-defined]
            raise exc
        return "done"


def test_a_short_windows_lock_is_waited_out_and_a_long_one_is_named() -> None:
    waits: list[float] = []
    op = _Locked(3)
    assert paths.retry_on_lock(op, "x", platform="win32", sleep=waits.append) == "done"
    assert op.calls == 4 and waits == [0.1, 0.25, 0.5]
    with pytest.raises(WizardError) as err:
        paths.retry_on_lock(_Locked(99), "C:\\envs\\x", platform="win32", sleep=waits.append)
    assert "in use by another program" in err.value.message and "antivirus" in err.value.hint
    # elsewhere, or another error: at once
    with pytest.raises(PermissionError):
        paths.retry_on_lock(_Locked(1), "x", platform="linux", sleep=waits.append)


def test_remove_tree_deletes_after_the_lock_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    folder = tmp_path / "venv"
    build_wheel(folder, "x", "1.0")
    real = shutil.rmtree
    fails = [1]

    def rmtree(path: object, *a: object, **k: object) -> None:   # the OS at its edge: a lock, once
        if fails:
            fails.pop()
            exc = PermissionError(13, "in use")
            exc.winerror = 5  # type: ignore[attr-defined]
            raise exc
        real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    paths.remove_tree(folder, platform="win32", sleep=lambda _s: None)
    assert not folder.exists() and not fails


def test_detection_reads_long_paths_and_the_home_on_windows(tmp_path: Path) -> None:
    from tests.fakes import RecordedRunner, fake_nvml
    from wizard.core.detect import detect_machine
    from wizard.core.detect.host import Host

    home = tmp_path / "张三"
    host = Host(system="Windows", release="11", version="10.0.26100", machine="AMD64",
                environ={"PATH": r"C:\Windows"}, run=RecordedRunner({}), home=home, nvml=fake_nvml(None),
                is_file=lambda p: False, data_dir=str(tmp_path), cache_dir=str(tmp_path), temp_dir=str(tmp_path),
                long_paths_enabled=lambda: False)
    machine = detect_machine(host)
    assert machine.os.long_paths_enabled is False and machine.os.user_home == str(home)
    profile = machine.to_profile()
    assert profile["os"]["long_paths_enabled"] is False and profile["os"]["user_home"] == str(home)


def test_installers_run_installs_python_with_winget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes import write_script
    from wizard.cli import main

    record = tmp_path / "winget-args"
    write_script(tmp_path / "bin" / "winget", f'echo "$@" > "{record}"\necho "Successfully installed"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    code = main(["installers", "--machine", str(PROFILES / "extra" / "win11-no-python-rtx3070.json"),
                 "--run", "--yes"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert record.read_text().split() == ["install", "--exact", "--id", "Python.Python.3.12", "--scope", "user",
                                          "--silent", "--accept-package-agreements", "--accept-source-agreements"]
    assert "Python is installed" in err and "administrator" in err


def test_the_long_paths_step_is_listed_elevated_with_reg_from_system32() -> None:
    machine = load_profile(PROFILES / "extra" / "win11-longname-longpaths-off-rtx4070.json")
    plan = make_plan(machine)
    steps = installers_for(machine, plan, which=lambda _name: None).steps
    step = next(s for s in steps if s.kind == "enable_long_paths")
    script = step.commands[0].argv[-1]
    assert step.commands[0].argv[0].endswith("\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    assert "\\System32\\reg.exe" in script and "LongPathsEnabled /t REG_DWORD /d 1 /f" in script
    assert "runas" in script
    # a machine whose usual folder fits gets no such step
    bob = load_profile(PROFILES / "extra" / "win11-no-python-rtx3070.json")
    assert not any(s.kind == "enable_long_paths" for s in installers_for(bob, make_plan(bob)).steps)
