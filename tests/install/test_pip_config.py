"""The pins the wizard writes into an environment survive spaces, non-ASCII and the locale's code page.

pip reads its config files in the locale's encoding (cp936 on Chinese Windows) and splits
``constraint`` on whitespace. Here a real pip in a real venv runs with its locale encoding made
cp936 (as on Chinese Windows; the one edge faked: ``locale.getpreferredencoding``), in a folder
whose path holds a space, or a space and 张三: the pin must still hold.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.install.conftest import build_wheel, venv_py
from wizard.core.install.flow import pip_path_value, write_pins

#: pip run as on Chinese Windows: its locale encoding (what it reads config files in) is cp936.
PIP_AS_CP936 = ("import locale, runpy; locale.getpreferredencoding = lambda do_setlocale=True: 'cp936'; "
                "runpy.run_module('pip', run_name='__main__', alter_sys=True)")


def _pip_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=str(config), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
    return env


@pytest.mark.parametrize("folder", ["my envs", "张三 的环境"])
def test_pins_hold_in_a_path_with_spaces_and_chinese_under_cp936(
        template_venv: Path, tmp_path: Path, folder: str) -> None:
    prefix = tmp_path / folder / "venv"
    prefix.parent.mkdir()
    shutil.copytree(template_venv, prefix, symlinks=True)
    # the venv's own scripts name the template's path; the interpreter is all this test runs
    python = venv_py(prefix)
    constraints, wrote_conf, _ = write_pins(prefix, python, {"torch": "1.0"}, "linux")
    assert wrote_conf and constraints is not None
    conf = prefix / "pip.conf"
    conf.read_bytes().decode("ascii")           # readable in every code page
    assert "file://" in conf.read_text()       # the path needed a URL
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "torch", "1.0")
    build_wheel(wheels, "torch", "2.0")
    empty = tmp_path / "user-pip.conf"
    empty.write_text("")
    env = _pip_env(empty)
    replaced = subprocess.run([str(python), "-c", PIP_AS_CP936, "install", "--find-links", str(wheels), "torch==2.0"],
                              capture_output=True, text=True, env=env, timeout=120)
    # the pin holds: pip read the config (no "could not load" error) and refused the other torch
    assert replaced.returncode != 0
    assert "could not be loaded" not in replaced.stderr and "Traceback" not in replaced.stderr
    assert "torch==1.0" in replaced.stderr or "conflict" in replaced.stderr.lower(), replaced.stderr[-1500:]
    kept = subprocess.run([str(python), "-c", PIP_AS_CP936, "install", "--find-links", str(wheels), "torch"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert kept.returncode == 0, kept.stderr[-1500:]
    assert "torch-1.0" in kept.stdout


def test_windows_pip_ini_values_are_ascii_urls_for_chinese_user_names() -> None:
    value = pip_path_value(r"C:\Users\张三\torch-envs\cu126\torch-gpu-setup-constraints.txt", "win32")
    assert value == "file:///C:/Users/%E5%BC%A0%E4%B8%89/torch-envs/cu126/torch-gpu-setup-constraints.txt"
    # what pip on Chinese Windows does with the file: read it as cp936, split list values
    parser = configparser.RawConfigParser()
    parser.read_string(f"[global]\nconstraint = {value}\n".encode("ascii").decode("cp936"))
    assert parser.get("global", "constraint").split() == [value]
    # a plain ASCII path stays readable
    assert pip_path_value(r"C:\torch-envs\cu126\c.txt", "win32") == r"C:\torch-envs\cu126\c.txt"
