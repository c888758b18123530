"""Target tags come from detected facts, never from the wizard's own interpreter."""

from __future__ import annotations

import sys

import pytest
from packaging.tags import Tag, sys_tags

from wizard.core.errors import WizardError
from wizard.core.fetch.tags import describe_target, target_tags
from wizard.core.fetch.wheelhouse import probe_target
from wizard.core.model.machine import OsInfo, PythonTarget, load_profile

PROFILES = "tests/profiles"


def _strs(tags: list[Tag]) -> list[str]:
    return [str(t) for t in tags]


def test_matches_packaging_for_the_running_interpreter_probed_as_a_target() -> None:
    # The one case where the answer is known independently: probing this interpreter as a target
    # must give the same set of tags packaging computes from the inside.
    python, os_info = probe_target(sys.executable)
    assert set(target_tags(python, os_info)) == set(sys_tags())


def test_windows_python38_from_a_profile() -> None:
    machine = load_profile(f"{PROFILES}/win10-py38-rtx3080.json")
    assert machine.python is not None
    tags = _strs(target_tags(machine.python, machine.os))
    assert tags[0] == "cp38-cp38-win_amd64"
    assert "py3-none-any" in tags
    assert not any("linux" in t or "cp311" in t for t in tags)
    assert describe_target(machine.python, machine.os) == "Python 3.8 on win_amd64"


def test_free_threaded_uses_the_t_abi_and_no_abi3() -> None:
    tags = _strs(target_tags(PythonTarget("3.13.1", free_threaded=True),
                             OsInfo("linux", "", "x86_64", glibc="2.39")))
    assert tags[0] == "cp313-cp313t-manylinux_2_39_x86_64"
    assert "cp313-cp313-manylinux_2_28_x86_64" not in tags
    assert not any("-abi3-" in t for t in tags)   # plain abi3 does not load in a free-threaded build


def test_glibc_bounds_and_legacy_aliases() -> None:
    tags = _strs(target_tags(PythonTarget("3.12.3"), OsInfo("linux", "", "x86_64", glibc="2.28")))
    assert "cp312-cp312-manylinux_2_28_x86_64" in tags
    assert "cp312-cp312-manylinux_2_29_x86_64" not in tags       # newer glibc than the target has
    for legacy in ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"):
        assert f"cp312-cp312-{legacy}" in tags
    assert tags.index("cp312-cp312-manylinux_2_28_x86_64") < tags.index("cp312-cp312-manylinux2014_x86_64")


def test_aarch64_starts_at_manylinux2014_and_has_no_manylinux1() -> None:
    tags = _strs(target_tags(PythonTarget("3.12.3"), OsInfo("linux", "", "aarch64", glibc="2.31")))
    assert "cp312-cp312-manylinux_2_17_aarch64" in tags
    assert "cp312-cp312-manylinux2014_aarch64" in tags
    assert not any("manylinux1" in t or "manylinux_2_16" in t or "x86_64" in t for t in tags)


def test_no_glibc_known_means_only_linux_arch() -> None:
    tags = _strs(target_tags(PythonTarget("3.11.0"), OsInfo("linux", "", "x86_64", glibc=None)))
    assert not any("manylinux" in t for t in tags)
    assert "cp311-cp311-linux_x86_64" in tags


def test_macos_arm64_from_a_profile() -> None:
    machine = load_profile(f"{PROFILES}/macos15-m3.json")
    assert machine.python is not None
    tags = _strs(target_tags(machine.python, machine.os))
    py = "cp{}{}".format(*machine.python.minor)
    assert f"{py}-{py}-macosx_11_0_arm64" in tags
    assert not any(t.endswith("macosx_11_0_x86_64") for t in tags)


def test_32_bit_windows_python() -> None:
    tags = _strs(target_tags(PythonTarget("3.10.11", bits=32), OsInfo("windows", "10.0.19045", "x86_64")))
    assert tags[0] == "cp310-cp310-win32"
    assert not any("win_amd64" in t for t in tags)


def test_bad_version_is_a_wizard_error() -> None:
    with pytest.raises(WizardError, match="not in the form"):
        target_tags(PythonTarget("three"), OsInfo("linux", "", "x86_64", glibc="2.36"))
