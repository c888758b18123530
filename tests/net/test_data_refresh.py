"""``data refresh`` / ``data status`` against a loopback index."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.net.server import LoopbackServer, closed_port, make_wheel, publish
from wizard.cli import main
from wizard.core.fetch.refresh import status


def _serve(server: LoopbackServer) -> None:
    publish(server, "/whl/cu126", [
        make_wheel("torch", "2.15.0+cu126", "cp311-cp311-manylinux_2_28_x86_64"),
        make_wheel("torch", "2.15.0+cu126", "cp311-cp311-win_amd64"),
        make_wheel("torchvision", "0.30.0+cu126", "cp311-cp311-manylinux_2_28_x86_64"),
    ])
    publish(server, "/whl/cpu", [
        make_wheel("torch", "2.15.0+cpu", "cp312-cp312-manylinux_2_28_x86_64"),
        make_wheel("torch", "2.15.0", "cp312-none-macosx_11_0_arm64"),
    ])


def test_refresh_writes_the_observed_index_shape(server: LoopbackServer, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _serve(server)
    out = tmp_path / "knowledge" / "observed_index.json"
    code = main(["data", "refresh", "--index-url", server.url("/whl"), "--variants", "cpu,cu126,cu999",
                 "--out", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "observed-index/1" and doc["index_base"] == server.url("/whl")
    datetime.fromisoformat(doc["fetched_at"])
    assert doc["projects"] == {
        "torch": {"2.15.0": {"cpu": ["cp312-cp312-manylinux_2_28_x86_64"],
                             "cu126": ["cp311-cp311-manylinux_2_28_x86_64", "cp311-cp311-win_amd64"],
                             "pypi": ["cp312-none-macosx_11_0_arm64"]}},
        "torchvision": {"0.30.0": {"cu126": ["cp311-cp311-manylinux_2_28_x86_64"]}},
        "torchaudio": {},
    }
    assert "cu999/torch" in capsys.readouterr().err


def test_the_lead_knowledge_base_accepts_the_overlay(server: LoopbackServer, tmp_path: Path) -> None:
    knowledge = pytest.importorskip("wizard.core.knowledge.base")
    _serve(server)
    out = tmp_path / "observed_index.json"
    assert main(["data", "refresh", "--index-url", server.url("/whl"), "--variants", "cpu,cu126",
                 "--out", str(out)]) == 0
    knowledge.load_knowledge(out)


def test_unreachable_index_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.json"
    assert main(["data", "refresh", "--index-url", f"http://127.0.0.1:{closed_port()}/whl", "--out", str(out)]) == 2
    assert "connection refused" in capsys.readouterr().err and not out.exists()


def test_status_shows_ages(tmp_path: Path) -> None:
    overlay = tmp_path / "o.json"
    overlay.write_text(json.dumps({"schema": "observed-index/1", "fetched_at": "2026-12-01T00:00:00+00:00",
                                   "index_base": "x", "projects": {}}))
    rows = status(overlay, now=datetime(2026, 12, 11, tzinfo=timezone.utc))
    assert rows[-1]["age_days"] == pytest.approx(10.0)
    bundled = [r for r in rows if r["what"] == "bundled releases.json"]
    assert bundled and bundled[0]["date"]
    missing = status(tmp_path / "none.json")[-1]
    assert missing["age_days"] is None and "data refresh" in missing["problem"]
