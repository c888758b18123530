"""``torch-gpu-setup fetch`` end to end against a loopback index, including a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.net.server import LoopbackServer, make_wheel, publish
from wizard.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_fetch_exactly_one_wheel(server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch = make_wheel("torch", "2.13.0+cpu", "py3-none-any", requires=["filelock"])
    other = make_wheel("torch", "2.13.0+cpu", "cp38-cp38-win32")
    publish(server, "/whl/cpu", [torch, other, make_wheel("filelock", "3.16.1")])
    dest = tmp_path / "dest"
    code = main(["fetch", "torch==2.13.0", "--index-url", server.url("/whl/cpu"), "--dest", str(dest),
                 "--no-deps", "--python", sys.executable])
    assert code == 0
    assert sorted(p.name for p in dest.glob("*.whl")) == [torch.filename]
    out = capsys.readouterr()
    assert out.out.strip().endswith(".whl") and out.err == ""      # no progress noise when not a tty


def test_fetch_missing_wheel_exits_2_with_words(server: LoopbackServer, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    publish(server, "/whl/cpu", [make_wheel("torch", "2.13.0+cpu", "cp38-cp38-win_amd64")])
    code = main(["fetch", "torch==2.13.0", "--index-url", server.url("/whl/cpu"), "--dest", str(tmp_path / "d"),
                 "--no-deps", "--python", sys.executable])
    assert code == 2
    err = capsys.readouterr().err
    assert f"torch 2.13.0 has no wheel for Python {sys.version_info[0]}.{sys.version_info[1]} on " in err
    assert "no version of torch on this index has a wheel for it" in err


def test_fetch_corrupted_download_never_lands_in_dest(server: LoopbackServer, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    w = make_wheel("demo", "1.0", "py3-none-any", payload=200_000)
    publish(server, "/simple", [w])
    server.fault(w.path("/simple"), wrong_bytes=True, times=-1)
    dest = tmp_path / "d"
    code = main(["fetch", "demo==1.0", "--index-url", server.url("/simple"), "--dest", str(dest),
                 "--python", sys.executable])
    assert code == 2 and "checksum mismatch" in capsys.readouterr().err
    assert list(dest.glob("*.whl")) == []


def test_fetch_needs_an_index_url_with_requirements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "torch==2.13.0", "--dest", str(tmp_path)]) == 2
    assert "--index-url is needed" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_process_resumes_from_its_part_file(tmp_path: Path) -> None:
    size = 6_000_000
    w = make_wheel("torch", "2.13.0+cpu", "py3-none-any", payload=size)
    with LoopbackServer() as server:
        publish(server, "/whl/cpu", [w])
        server.rate = 6_000_000.0                        # about one second for the whole file
        dest, cache = tmp_path / "dest", tmp_path / "cache"
        env = {**os.environ, "TORCH_GPU_SETUP_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "wizard", "fetch", "torch==2.13.0", "--index-url", server.url("/whl/cpu"),
                "--dest", str(dest), "--no-deps", "--python", sys.executable]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        part_size = 0
        while time.monotonic() < deadline:
            parts = list(cache.rglob("*.whl.part"))
            part_size = parts[0].stat().st_size if parts else 0
            if part_size > len(w.data) // 3:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 0 < part_size < len(w.data), "the process was not caught mid-download"
        assert list(cache.rglob("*.whl.part.json")), "the sidecar survives the kill"
        assert not list(dest.glob("*.whl"))
        first = server.served(w.path("/whl/cpu"))
        server.rate = None
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert (dest / w.filename).read_bytes() == w.data
        total = server.served(w.path("/whl/cpu"))
        assert total < 1.2 * len(w.data), (first, total)
        resumed = [r for r in server.requests_for(w.path("/whl/cpu")) if r.method == "GET"][-1]
        assert resumed.headers["Range"] != "bytes=0-" and not resumed.headers["Range"].startswith("bytes=0-")
