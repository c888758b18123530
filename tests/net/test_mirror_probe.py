"""Which source answers fastest: a real timed probe of loopback servers (fast, slow, missing, closed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.net.server import LoopbackServer, closed_port, make_wheel, publish
from wizard.core.fetch.mirror_probe import mirror_candidates, probe_sources
from wizard.core.fetch.source import Source


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(answer_json=False) as s:   # HTML pages: where the stall fault applies
        yield s


def test_the_fastest_source_comes_first_and_the_dead_ones_last(server: LoopbackServer) -> None:
    wheel = make_wheel("torch", "2.13.0+cpu")
    publish(server, "/fast/cpu", [wheel])
    publish(server, "/slow/cpu", [wheel])
    publish(server, "/files", [wheel], flat_page="/flat/cpu/")
    server.fault("/slow/cpu/torch/", stall=0.6, times=-1)
    candidates = [
        ("slow", Source("index", server.url("/slow/cpu/"))),
        ("closed", Source("index", f"http://127.0.0.1:{closed_port()}/whl/cpu/")),
        ("missing", Source("index", server.url("/nothing/cpu/"))),
        ("fast", Source("index", server.url("/fast/cpu/"))),
        ("flat", Source("find-links", server.url("/flat/cpu/"))),
    ]
    results = probe_sources(candidates, timeout=5.0)
    names = [r.name for r in results]
    assert set(names[:2]) == {"fast", "flat"} and names[2] == "slow"     # the flat page is read as it is
    assert results[2].seconds is not None and results[2].seconds >= 0.6
    dead = {r.name: r for r in results[3:]}
    assert set(dead) == {"closed", "missing"} and all(not r.ok for r in dead.values())
    assert dead["missing"].error == "HTTP 404" and "127.0.0.1" in dead["closed"].error


def test_every_known_mirror_is_a_candidate_for_a_variant() -> None:
    candidates = dict(mirror_candidates("cu126"))
    assert candidates["official"] == Source("index", "https://download.pytorch.org/whl/cu126/")
    assert candidates["aliyun"].kind == "find-links" and candidates["aliyun"].location.endswith("/cu126/")


def test_the_mirrors_command_prints_them_fastest_first(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.cli import main
    from wizard.core.knowledge import mirrors

    publish(server, "/nju/cu126", [make_wheel("torch", "2.14.1+cu126")])
    for name in list(mirrors.MIRROR_PRESETS):      # the known mirrors, here on loopback
        monkeypatch.delitem(mirrors.MIRROR_PRESETS, name)
    monkeypatch.setitem(mirrors.MIRROR_PRESETS, "official", mirrors.MirrorPreset(
        "official", f"http://127.0.0.1:{closed_port()}/whl", "index", "", ""))
    monkeypatch.setitem(mirrors.MIRROR_PRESETS, "nju", mirrors.MirrorPreset("nju", server.url("/nju"), "index", "", ""))
    assert main(["mirrors", "--variant", "cu126"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nju ") and lines[0].endswith(server.url("/nju/cu126/"))
    assert lines[1].startswith("official ") and "no answer (connection refused" in lines[1]
