"""Start-up (issue 16): ``--version``/``--help`` import no command, a command imports only itself,
and interpreter probes are answered from a cache while the interpreter's files are unchanged."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.cli import COMMAND_HELP, COMMAND_MODULES, build_parser
from wizard.core.detect.host import CommandResult, Host, run_command
from wizard.core.detect.python_probe import PROBE_CACHE_FILE, Candidate, ProbeCache, probe_all, scan_pythons

ROOT = Path(__file__).resolve().parents[2]


def _imported_after(argv: list[str]) -> tuple[set[str], str]:
    """The modules a fresh interpreter has loaded after ``main(argv)``, and what it printed."""
    code = (
        "import sys, io, contextlib\n"
        "from wizard.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "sys.__stdout__.write(repr((sorted(sys.modules), out.getvalue())))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    modules, printed = eval(result.stdout)
    return set(modules), printed


def _registered_help() -> dict[str, str]:
    """Each command's help as its own module registers it."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return {str(action.dest): str(action.help) for action in sub._choices_actions}


def test_the_help_table_is_what_each_command_registers() -> None:
    assert list(COMMAND_HELP) == [m.rsplit(".", 1)[-1] for m in COMMAND_MODULES]
    assert _registered_help() == COMMAND_HELP


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["bogus"]])
def test_top_level_answers_are_those_of_the_full_parser(argv: list[str]) -> None:
    """--help, --version and a mistyped command read exactly as with every command loaded."""
    def answer(parser: argparse.ArgumentParser) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
            parser.parse_args(argv)
        return out.getvalue(), err.getvalue()

    lazy, full = answer(build_parser(argv)), answer(build_parser(None))
    assert lazy == full and any(lazy)


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_no_command(argv: list[str]) -> None:
    modules, printed = _imported_after(argv)
    assert "torch-gpu-setup" in printed
    assert not {m for m in modules if m.startswith("wizard.commands.")}
    assert not {m for m in modules if m.startswith(("wizard.core.", "requests", "packaging"))}


def test_a_command_imports_only_its_own_module() -> None:
    profile = ROOT / "tests/profiles/ubuntu2404-rtx5090-drv590.json"
    modules, printed = _imported_after(["plan", "--machine", str(profile), "--json"])
    assert json.loads(printed)["status"]
    commands = {m for m in modules if m.startswith("wizard.commands.")}
    assert "wizard.commands.plan" in commands
    assert not commands & {f"wizard.commands.{c}" for c in COMMAND_HELP if c != "plan"}
    assert "requests" not in modules and "PySide6" not in modules


# --------------------------------------------------------------------------- the probe cache


def _counting_host(tmp_path: Path, calls: list[str], active: Path | None = None) -> Host:
    environ = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}
    if active is not None:
        environ["VIRTUAL_ENV"] = str(active)

    def run(argv: Sequence[str], timeout: float) -> CommandResult:
        calls.append(argv[0])
        return run_command(argv, timeout, environ)

    (tmp_path / "home").mkdir(exist_ok=True)
    return Host(system="Linux", release="6.8.0", version="#1", machine="x86_64", environ=environ, run=run,
                home=tmp_path / "home", cwd=str(tmp_path), cache_dir=str(tmp_path / "cache"), probe_cache=True)


def test_probe_answers_come_from_the_cache_until_the_environment_changes(tmp_path: Path) -> None:
    """A real venv: probed once; reused; probed again after a package appears in site-packages."""
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    (tmp_path / "bin").mkdir()
    calls: list[str] = []
    host = _counting_host(tmp_path, calls, active=env)

    first = scan_pythons(host)
    assert first.target is not None and first.target.installed_torch is None
    assert len(calls) == 1 and (tmp_path / "cache" / PROBE_CACHE_FILE).is_file()
    again = scan_pythons(host)
    assert len(calls) == 1 and again.target == first.target     # no process started

    # a torch appears in the venv (what pip does: a dist-info folder in site-packages)
    site = next((env / "lib").glob("python3.*/site-packages"))
    info = site / "torch-2.13.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0\n")
    changed = scan_pythons(host)
    assert len(calls) == 2
    assert changed.target is not None and changed.target.installed_torch is not None
    assert changed.target.installed_torch.version == "2.13.0"


def test_a_simulated_host_never_uses_the_cache(tmp_path: Path) -> None:
    calls: list[str] = []
    host = _counting_host(tmp_path, calls)
    host.probe_cache = False
    probe_all(host, [Candidate(sys.executable, "path")])
    probe_all(host, [Candidate(sys.executable, "path")])
    assert len(calls) == 2 and not (tmp_path / "cache" / PROBE_CACHE_FILE).exists()


def test_a_damaged_or_foreign_cache_is_an_empty_one(tmp_path: Path) -> None:
    path = tmp_path / PROBE_CACHE_FILE
    path.write_text("{not json")
    assert ProbeCache(path).get(sys.executable) is None
    path.write_text(json.dumps({"context": ["another wizard"], "entries": {sys.executable: {"sig": [], "data": {}}}}))
    assert ProbeCache(path).get(sys.executable) is None
