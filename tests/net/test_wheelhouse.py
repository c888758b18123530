"""Wheelhouse: dependencies from PEP 658 metadata or the wheel itself, markers for the TARGET."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.net.server import IndexOptions, LoopbackServer, make_wheel, publish
from wizard.core.errors import WizardError
from wizard.core.fetch.wheelhouse import fetch_wheelhouse, marker_environment
from wizard.core.model.machine import OsInfo, PythonTarget

WIN = (PythonTarget("3.12.4"), OsInfo("windows", "10.0.26100", "x86_64"))


def _family() -> list:
    return [
        make_wheel("torch", "2.14.1+cu126", "cp311-cp311-manylinux_2_28_x86_64",
                   requires=["filelock", "typing-extensions>=4.10.0",
                             "nvidia-cudnn-cu12==9.5.1.17; platform_system == 'Linux' and platform_machine == 'x86_64'",
                             "pywin32; sys_platform == 'win32'", "opt-einsum>=3.3; extra == 'opt-einsum'"]),
        make_wheel("torch", "2.14.1+cu126", "cp312-cp312-win_amd64",
                   requires=["filelock", "typing-extensions>=4.10.0", "pywin32; sys_platform == 'win32'",
                             "nvidia-cudnn-cu12==9.5.1.17; platform_system == 'Linux'"]),
        make_wheel("filelock", "3.16.1", "py3-none-any"),
        make_wheel("filelock", "3.20.0", "py3-none-any", requires_python=">=3.12"),
        make_wheel("typing_extensions", "4.12.2", "py3-none-any"),
        make_wheel("typing_extensions", "4.9.0", "py3-none-any"),
        make_wheel("nvidia-cudnn-cu12", "9.5.1.17", "py3-none-manylinux_2_27_x86_64"),
        make_wheel("pywin32", "308", "cp312-cp312-win_amd64"),
    ]


@pytest.mark.parametrize("metadata", [True, False])
def test_linux_target_gets_linux_dependencies_only(server: LoopbackServer, tmp_path: Path,
                                                   linux311: tuple[PythonTarget, OsInfo], metadata: bool) -> None:
    wheels = _family()
    rp = {w.filename: ">=3.12" for w in wheels if w.filename.startswith("filelock-3.20")}
    publish(server, "/whl/cu126", wheels, IndexOptions(metadata=metadata, requires_python=rp))
    result = fetch_wheelhouse(["torch==2.14.1+cu126"], index_url=server.url("/whl/cu126"), dest=tmp_path / "wh",
                              python=linux311[0], os_info=linux311[1])
    names = sorted(p.name for p in result.paths)
    assert names == ["filelock-3.16.1-py3-none-any.whl",            # 3.20 needs Python 3.12
                     "nvidia_cudnn_cu12-9.5.1.17-py3-none-manylinux_2_27_x86_64.whl",
                     "torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl",
                     "typing_extensions-4.12.2-py3-none-any.whl"]
    assert sorted(p.name for p in (tmp_path / "wh").glob("*.whl")) == names
    manifest = json.loads((tmp_path / "wh" / "wheelhouse.json").read_text())
    assert {f["filename"] for f in manifest["files"]} == set(names)
    fetched_metadata = [r for r in server.log if r.path.endswith(".metadata")]
    assert bool(fetched_metadata) == metadata


def test_windows_target_from_linux_wizard(server: LoopbackServer, tmp_path: Path) -> None:
    publish(server, "/whl/cu126", _family())
    result = fetch_wheelhouse(["torch==2.14.1+cu126"], index_url=server.url("/whl/cu126"), dest=tmp_path / "wh",
                              python=WIN[0], os_info=WIN[1])
    names = sorted(p.name for p in result.paths)
    assert "pywin32-308-cp312-cp312-win_amd64.whl" in names
    assert "filelock-3.20.0-py3-none-any.whl" in names
    assert not any("nvidia" in n for n in names)


def test_no_deps_fetches_exactly_the_named_wheel(server: LoopbackServer, tmp_path: Path,
                                                 linux311: tuple[PythonTarget, OsInfo]) -> None:
    publish(server, "/whl/cu126", _family())
    result = fetch_wheelhouse(["torch==2.14.1+cu126"], index_url=server.url("/whl/cu126"), dest=tmp_path / "wh",
                              python=linux311[0], os_info=linux311[1], no_deps=True)
    assert [p.name for p in result.paths] == ["torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"]


def test_no_hash_index_says_so(server: LoopbackServer, tmp_path: Path, linux311: tuple[PythonTarget, OsInfo]) -> None:
    publish(server, "/whl/nightly/cu126", _family(), IndexOptions(hashes=False, json=False))
    result = fetch_wheelhouse(["filelock"], index_url=server.url("/whl/nightly/cu126"), dest=tmp_path / "wh",
                              python=linux311[0], os_info=linux311[1])
    # The page has no data-requires-python either: the wheel's own METADATA rules 3.20 out.
    assert result.notes == ["skipped filelock-3.20.0-py3-none-any.whl: it requires Python >=3.12",
                            "the index gave no sha256 for filelock-3.16.1-py3-none-any.whl; only its size "
                            "could be checked, as pip would"]
    assert [p.name for p in (tmp_path / "wh").glob("*.whl")] == ["filelock-3.16.1-py3-none-any.whl"]


def test_conflict_is_reported_in_words(server: LoopbackServer, tmp_path: Path,
                                       linux311: tuple[PythonTarget, OsInfo]) -> None:
    publish(server, "/whl/cu126", _family())
    with pytest.raises(WizardError, match="conflicting requirements"):
        fetch_wheelhouse(["typing-extensions==4.9.0", "torch==2.14.1+cu126"], index_url=server.url("/whl/cu126"),
                         dest=tmp_path / "wh", python=linux311[0], os_info=linux311[1])


def test_marker_environment_for_windows_target() -> None:
    env = marker_environment(*WIN)
    assert env["sys_platform"] == "win32" and env["platform_machine"] == "AMD64"
    assert env["python_version"] == "3.12" and env["os_name"] == "nt"
