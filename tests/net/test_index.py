"""The index client against a real loopback index: HTML, JSON, find-links, tag matching, words."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from tests.net.server import IndexOptions, LoopbackServer, make_wheel, publish
from wizard.core.errors import WizardError
from wizard.core.fetch.index import IndexClient, check_requirements, find_wheel, parse_html
from wizard.core.fetch.tags import target_tags
from wizard.core.model.machine import OsInfo, PythonTarget

WIN38 = target_tags(PythonTarget("3.8.10"), OsInfo("windows", "10.0.19045", "x86_64"))
LINUX311 = target_tags(PythonTarget("3.11.7"), OsInfo("linux", "", "x86_64", glibc="2.36"))


def _torch_family() -> list:
    return [
        make_wheel("torch", "2.4.1+cu121", "cp38-cp38-win_amd64"),
        make_wheel("torch", "2.4.1+cu121", "cp311-cp311-win_amd64"),
        make_wheel("torch", "2.15.0+cu132", "cp311-cp311-win_amd64"),
        make_wheel("torch", "2.15.0+cu132", "cp311-cp311-manylinux_2_28_x86_64"),
        make_wheel("torch", "2.15.0+cu132", "cp311-cp311-linux_x86_64", seed=1),
        make_wheel("torch", "2.15.0+cu132", "cp312-cp312-manylinux_2_28_x86_64"),
        make_wheel("torchvision", "0.30.0+cu132", "cp311-cp311-manylinux_2_28_x86_64", payload=5000),
    ]


def test_html_page_with_hashes_metadata_and_requires_python() -> None:
    text = (
        '<a href="/whl/cu128/torch-2.7.1%2Bcu128-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=ABCDEF" '
        'data-dist-info-metadata="sha256=111" data-core-metadata="sha256=222" '
        'data-requires-python="&gt;=3.9">torch-2.7.1+cu128-cp312-cp312-manylinux_2_28_x86_64.whl</a><br/>'
        '<a href="networkx-3.3-py3-none-any.whl">networkx</a>'
        '<a href="torch-2.7.1.tar.gz#sha256=00">sdist</a>'
    )
    wheels = parse_html(text, "https://download.pytorch.org/whl/cu128/torch/")
    assert [w.filename for w in wheels] == [
        "torch-2.7.1+cu128-cp312-cp312-manylinux_2_28_x86_64.whl", "networkx-3.3-py3-none-any.whl"]
    torch = wheels[0]
    assert torch.url == "https://download.pytorch.org/whl/cu128/torch-2.7.1%2Bcu128-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert torch.sha256 == "abcdef"
    assert torch.metadata == {"sha256": "222"}          # PEP 714's name wins
    assert torch.metadata_url == torch.url + ".metadata"
    assert torch.requires_python == ">=3.9"
    assert str(torch.version) == "2.7.1+cu128" and torch.local_label == "cu128"
    assert wheels[1].url == "https://download.pytorch.org/whl/cu128/torch/networkx-3.3-py3-none-any.whl"
    assert wheels[1].sha256 is None and wheels[1].metadata is None


@pytest.mark.parametrize("answer_json", [True, False])
def test_find_wheel_picks_the_best_tag_from_html_or_json(answer_json: bool) -> None:
    with LoopbackServer(answer_json=answer_json) as server:
        wheels = _torch_family()
        publish(server, "/whl/cu132", wheels)
        client = IndexClient(server.url("/whl/cu132"))
        got = client.find_wheel("torch", "2.15.0+cu132", LINUX311)
        assert got.filename == "torch-2.15.0+cu132-cp311-cp311-manylinux_2_28_x86_64.whl"  # not linux_x86_64
        assert got.sha256 == wheels[3].sha256
        assert client.format_seen[server.url("/whl/cu132/torch/")] == ("json" if answer_json else "html")
        assert (got.size == len(wheels[3].data)) if answer_json else got.size is None


def test_missing_wheel_for_the_target_python_names_the_newest_that_exists(server: LoopbackServer) -> None:
    publish(server, "/whl/cu132", _torch_family())
    with pytest.raises(WizardError) as err:
        find_wheel("torch", "2.15.0+cu132", WIN38, server.url("/whl/cu132"))
    assert err.value.message == (
        "torch 2.15.0+cu132 has no wheel for Python 3.8 on win_amd64; the newest for Python 3.8 is 2.4.1+cu121")


def test_requires_python_excludes_a_wheel(server: LoopbackServer) -> None:
    wheels = [make_wheel("demo", "2.0", "py3-none-any"), make_wheel("demo", "1.0", "py3-none-any")]
    publish(server, "/simple", wheels, IndexOptions(requires_python={wheels[0].filename: ">=3.12"}))
    client = IndexClient(server.url("/simple"))
    assert str(client.find_best("demo", "", LINUX311).version) == "1.0"


def test_find_links_flat_page(server: LoopbackServer) -> None:
    publish(server, "/pytorch-wheels/cu132", _torch_family(), flat_page="/flat/cu132.html")
    client = IndexClient(server.url("/flat/cu132.html"), kind="find-links")
    got = client.find_wheel("torchvision", "0.30.0+cu132", LINUX311)
    assert got.project == "torchvision"
    assert all(f.project == "torch" for f in client.project_files("torch"))


def test_check_requirements_totals_sizes_with_head_when_the_page_has_none(server: LoopbackServer) -> None:
    wheels = _torch_family()
    publish(server, "/whl/cu132", wheels, IndexOptions(json=False))
    files = check_requirements(["torch==2.15.0+cu132", "torchvision==0.30.0+cu132"], LINUX311,
                               server.url("/whl/cu132"))
    assert [f.size for f in files] == [len(wheels[3].data), len(wheels[6].data)]
    assert [r.method for r in server.log].count("HEAD") == 2
    assert not [r for r in server.log if r.method == "GET" and r.path.endswith(".whl")]  # nothing downloaded


def test_check_requirements_fails_fast_before_any_download(server: LoopbackServer) -> None:
    publish(server, "/whl/cu132", _torch_family())
    with pytest.raises(WizardError, match="torchaudio is not on the index"):
        check_requirements(["torch==2.15.0+cu132", "torchaudio==2.12.0+cu132"], LINUX311,
                           server.url("/whl/cu132"))
    assert not [r for r in server.log if r.path.endswith(".whl")]


def test_page_without_hashes_gives_none(server: LoopbackServer) -> None:
    publish(server, "/whl/nightly/cpu", [make_wheel("torch", "2.16.0.dev20260101+cpu", "py3-none-any")],
            IndexOptions(hashes=False, json=False))
    got = IndexClient(server.url("/whl/nightly/cpu")).find_best("torch", "", [Tag("py3", "none", "any")])
    assert got.sha256 is None


def test_unknown_version_says_what_the_newest_is(server: LoopbackServer) -> None:
    publish(server, "/whl/cu132", _torch_family())
    with pytest.raises(WizardError, match=r"torch 9\.9\.9 is not on the index .*the newest there is 2\.15\.0\+cu132"):
        find_wheel("torch", "9.9.9", LINUX311, server.url("/whl/cu132"))


def test_bad_requirement_text_is_a_wizard_error(server: LoopbackServer) -> None:
    publish(server, "/whl/cu132", _torch_family())
    with pytest.raises(WizardError, match="not a valid requirement"):
        check_requirements(["torch=>>2"], LINUX311, server.url("/whl/cu132"))
