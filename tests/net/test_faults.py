"""Fault injection (issue 15): every fault ends in words with its documented exit code.

Each case plays one fault against the real code at its edge: a loopback server that refuses HEAD,
trickles, stalls, sends the wrong length or an endless page; a disk that fills up (the part file's
``write`` raises ENOSPC, the way a full filesystem answers); two fetches sharing one cache; bad
files and paths handed to the command line. A destination folder holding the user's own files is
part of every case. The tally at the end counts the cases and asserts: no traceback (no exception
that is not a :class:`WizardError`, no "something unexpected" at the command line), no file that
fails its checksum left where a finished one would be, and no user file lost or changed.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.net.server import IndexOptions, LoopbackServer, SyntheticWheel, make_wheel, publish
from wizard.cli import main
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader
from wizard.core.fetch.mirror_probe import probe_one
from wizard.core.fetch.net import NetConfig, make_session
from wizard.core.fetch.source import Source
from wizard.core.fetch.wheelhouse import fetch_wheelhouse
from wizard.core.install.pip_runner import classify_failure
from wizard.core.install.snapshots import snapshot_path, take_snapshot
from wizard.core.model.machine import OsInfo, PythonTarget
from wizard.core.paths import atomic_write_text

LINUX = (PythonTarget("3.11.7"), OsInfo(family="linux", version="Debian 12", arch="x86_64", glibc="2.36"))
PROFILES = Path(__file__).parent.parent / "profiles"
USER_FILES = {"notes.txt": b"my notes\n", "mine-1.0-py3-none-any.whl": b"a wheel of my own"}


@dataclass
class Outcome:
    """What one case ended with."""

    kind: str                       # "ok", "words" (a WizardError / a clean exit code), "traceback"
    text: str = ""
    code: int | None = None


@dataclass
class World:
    """One case's server, folders and the wheels it publishes."""

    server: LoopbackServer
    root: Path
    wheels: list[SyntheticWheel] = field(default_factory=list)

    @property
    def dest(self) -> Path:
        return self.root / "dest"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def fetch(self, requirements: list[str], session_config: NetConfig | None = None,
              downloader: Downloader | None = None, dest: Path | None = None) -> Outcome:
        session = make_session(session_config or NetConfig())
        try:
            fetch_wheelhouse(requirements, index_url=self.server.url("/simple"), dest=dest or self.dest,
                             python=LINUX[0], os_info=LINUX[1], session=session,
                             downloader=downloader or Downloader(session, self.cache, backoff=0.01))
        except WizardError as exc:
            return Outcome("words", exc.one_line())
        except BaseException as exc:   # a traceback: what the tally must never count
            return Outcome("traceback", f"{type(exc).__name__}: {exc}")
        return Outcome("ok")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    capsys.readouterr()   # only this command's output is judged
    try:
        code = main(argv)
    except SystemExit as exc:   # argparse
        code = int(exc.code or 0)
    except BaseException as exc:
        return Outcome("traceback", f"{type(exc).__name__}: {exc}")
    err = capsys.readouterr().err
    if "Traceback" in err or "something unexpected" in err:
        return Outcome("traceback", err, code)
    return Outcome("ok" if code == 0 else "words", err, code)


def _publish(world: World, *, json_pages: bool = False, payload: int = 50_000) -> SyntheticWheel:
    torch = make_wheel("torch", "2.13.0+cpu", "py3-none-any", requires=["filelock"], payload=payload)
    world.wheels = [torch, make_wheel("filelock", "3.16.1", payload=payload // 2)]
    # HTML pages carry no sizes: the size lookup (HEAD, else the first GET) is exercised.
    publish(world.server, "/simple", world.wheels, IndexOptions(json=json_pages))
    return torch


# --------------------------------------------------------------------------- the cases


def case_head_refused(status: int) -> Callable[[World, Any], Outcome]:
    def run(world: World, capsys: Any) -> Outcome:
        _publish(world)
        for w in world.wheels:
            world.server.fault(w.path("/simple"), status=status, method="HEAD", times=-1)
        outcome = world.fetch(["torch==2.13.0+cpu"])
        if outcome.kind == "ok":
            assert sorted(p.name for p in world.dest.glob("*.whl") if p.name not in USER_FILES) == \
                sorted(w.filename for w in world.wheels), "HEAD refused: every wheel still arrives"
            heads = [r for r in world.server.log if r.method == "HEAD"]
            assert heads and all(r.status == status for r in heads), "the fault was played"
        return outcome
    return run


def case_head_refused_cli(world: World, capsys: Any) -> Outcome:
    _publish(world)
    for w in world.wheels:
        world.server.fault(w.path("/simple"), status=501, method="HEAD", times=-1)
    outcome = _cli(["fetch", "torch==2.13.0+cpu", "--index-url", world.server.url("/simple"),
                    "--dest", str(world.dest), "--python", sys.executable], capsys)
    assert outcome.code == 0, outcome.text
    return outcome


def case_trickling_page(world: World, capsys: Any) -> Outcome:
    _publish(world)
    world.server.fault("/simple/torch/", rate=0.5, times=-1)     # half a byte a second
    start = time.monotonic()
    outcome = world.fetch(["torch==2.13.0+cpu"], NetConfig(page_deadline_s=1.5))
    assert time.monotonic() - start < 15, "the page is cut off by the total deadline"
    assert outcome.kind == "words" and "came too slowly" in outcome.text, outcome.text
    return outcome


def case_stalled_page(world: World, capsys: Any) -> Outcome:
    _publish(world)
    world.server.fault("/simple/torch/", stall=5.0, times=-1)
    outcome = world.fetch(["torch==2.13.0+cpu"], NetConfig(timeout=(2.0, 0.5)))
    assert outcome.kind == "words" and "did not answer in time" in outcome.text, outcome.text
    return outcome


def case_trickling_mirror(world: World, capsys: Any) -> Outcome:
    _publish(world)
    world.server.add("/simple/torch/", b"<html>" + b" " * 40_000 + b"</html>", "text/html")
    world.server.fault("/simple/torch/", rate=100, times=-1)
    start = time.monotonic()
    result = probe_one("slow", Source("index", world.server.url("/simple/")), make_session(), timeout=1.0)
    assert time.monotonic() - start < 10 and not result.ok and "came too slowly" in (result.error or ""), result
    return Outcome("words", result.error or "")


def case_endless_page(world: World, capsys: Any) -> Outcome:
    _publish(world)
    huge = b"<html><body>" + b"<p>padding</p>\n" * 20_000 + b"</body></html>"
    world.server.add("/simple/torch/", huge, "text/html")
    outcome = world.fetch(["torch==2.13.0+cpu"], NetConfig(page_max_bytes=100_000))
    assert outcome.kind == "words" and "is larger than 100.0 KB" in outcome.text, outcome.text
    return outcome


def case_trickling_wheel(world: World, capsys: Any) -> Outcome:
    torch = _publish(world, json_pages=True)
    world.server.fault(torch.path("/simple"), rate=200, times=-1)    # 200 B/s, far under the floor
    session = make_session()
    slow_floor = Downloader(session, world.cache, backoff=0.01, max_attempts=2, min_rate=5_000, rate_window_s=0.5)
    start = time.monotonic()
    outcome = world.fetch(["torch==2.13.0+cpu"], downloader=slow_floor)
    assert time.monotonic() - start < 20, "a trickling download is cut off"
    assert outcome.kind == "words" and "came too slowly" in outcome.text and "gave up after 2 tries" in outcome.text, \
        outcome.text
    assert not (world.dest / torch.filename).exists()
    return outcome


def case_wrong_length(world: World, capsys: Any) -> Outcome:
    torch = _publish(world, json_pages=True)
    world.server.add(torch.path("/simple"), torch.data + b"extra bytes")   # the index says otherwise
    outcome = world.fetch(["torch==2.13.0+cpu"])
    assert outcome.kind == "words" and "checksum mismatch" in outcome.text, outcome.text
    assert not (world.dest / torch.filename).exists()
    return outcome


def _full_disk(room: int) -> Callable[..., Any]:
    """``Path.open`` whose ``.part`` files accept ``room`` bytes, then fail as a full disk does."""
    real = pathlib.Path.open

    class Disk:
        left = room

    disk = Disk()

    def open_(path: pathlib.Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real(path, mode, *args, **kwargs)
        if not path.name.endswith(".part") or "r+" not in mode:
            return fh

        class Writer(io.RawIOBase):
            def write(self, data: Any) -> int:
                if disk.left <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                n = int(fh.write(bytes(data)[:disk.left]))
                disk.left -= n
                return n

            def seek(self, *a: Any) -> int:
                return fh.seek(*a)

            def truncate(self, *a: Any) -> int:
                return fh.truncate(*a)

            def close(self) -> None:
                fh.close()
                super().close()

        return Writer()

    return open_


def case_disk_full(world: World, capsys: Any) -> Outcome:
    torch = _publish(world, payload=400_000)
    patch = pytest.MonkeyPatch()
    patch.setattr(pathlib.Path, "open", _full_disk(room=100_000))
    try:
        outcome = world.fetch(["torch==2.13.0+cpu"], downloader=None)
    finally:
        patch.undo()
    assert outcome.kind == "words" and "is full" in outcome.text, outcome.text
    assert not (world.dest / torch.filename).exists()
    parts = list(world.cache.rglob("*.part"))
    assert parts, "the partial download is kept for the next run"
    # space freed: the same fetch resumes and completes
    again = world.fetch(["torch==2.13.0+cpu"])
    assert again.kind == "ok", again.text
    assert (world.dest / torch.filename).read_bytes() == torch.data
    return outcome


def case_concurrent_fetches(world: World, capsys: Any) -> Outcome:
    torch = _publish(world, payload=600_000)
    world.server.rate = 1_500_000.0          # slow enough that the two overlap
    outcomes: list[Outcome] = []

    def one(k: int) -> None:
        outcomes.append(world.fetch(["torch==2.13.0+cpu"], dest=world.root / f"dest{k}"))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    world.server.rate = None
    assert [o.kind for o in outcomes] == ["ok", "ok"], [o.text for o in outcomes]
    for k in range(2):
        assert (world.root / f"dest{k}" / torch.filename).read_bytes() == torch.data
    served = world.server.served(torch.path("/simple"))
    assert served < 1.5 * len(torch.data), f"one cache entry is downloaded once, not twice ({served} bytes)"
    return outcomes[0]


def case_report_to_proc(world: World, capsys: Any) -> Outcome:
    outcome = _cli(["report", "--out", "/proc/report.zip"], capsys)
    assert outcome.code == 2 and "could not be written to /proc/report.zip" in outcome.text, outcome.text
    return outcome


def case_report_under_a_file(world: World, capsys: Any) -> Outcome:
    blocker = world.dest / "notes.txt"
    outcome = _cli(["report", "--out", str(blocker / "report.zip")], capsys)
    assert outcome.code == 2 and "report.zip" in outcome.text, outcome.text
    return outcome


def _deep_json(path: Path) -> Path:
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def case_deep_profile(world: World, capsys: Any) -> Outcome:
    outcome = _cli(["plan", "--machine", str(_deep_json(world.root / "deep.json"))], capsys)
    assert outcome.code == 2 and "nested too deeply" in outcome.text, outcome.text
    return outcome


def case_nan_disk(world: World, capsys: Any) -> Outcome:
    data = json.loads((PROFILES / "ubuntu2404-cpu-only.json").read_text())
    text = json.dumps(data).replace('"disk_free_gib": 60', '"disk_free_gib": NaN')
    assert "NaN" in text
    (world.root / "nan.json").write_text(text)
    outcome = _cli(["plan", "--machine", str(world.root / "nan.json")], capsys)
    assert outcome.code == 2 and "NaN" in outcome.text, outcome.text
    return outcome


def case_many_gpus(count: int, words: str) -> Callable[[World, Any], Outcome]:
    def run(world: World, capsys: Any) -> Outcome:
        data = json.loads((PROFILES / "ubuntu2004-4xv100-drv535.json").read_text())
        data["gpus"] = data["gpus"][:1] * count
        (world.root / "many.json").write_text(json.dumps(data))
        start = time.monotonic()
        outcome = _cli(["plan", "--machine", str(world.root / "many.json")], capsys)
        assert time.monotonic() - start < 30, "plan does not hang on a huge profile"
        assert outcome.code == 2 and words in outcome.text, outcome.text
        return outcome
    return run


def case_deep_answers(world: World, capsys: Any) -> Outcome:
    (world.root / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    outcome = _cli(["install", "--answers", str(world.root / "deep.toml")], capsys)
    assert outcome.code == 2 and "nested too deeply" in outcome.text, outcome.text
    return outcome


def case_new_venv_is_a_file(world: World, capsys: Any) -> Outcome:
    blocker = world.dest / "notes.txt"
    outcome = _cli(["install", "--new-venv", str(blocker), "--torch", "2.13.0", "--variant", "cpu", "--yes"], capsys)
    assert outcome.code == 2 and "is a file" in outcome.text, outcome.text
    return outcome


def case_planted_temp_link(world: World, capsys: Any) -> Outcome:
    # Predictable temp names (".name.PID.tmp") let a planted link redirect a write: none is used.
    victim = world.dest / "notes.txt"
    target = world.root / "out.json"
    for name in (f".{target.name}.{os.getpid()}.tmp", f"{target.name}.tmp", f".{target.name}.tmp"):
        (world.root / name).symlink_to(victim)
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}" and not target.is_symlink()
    return Outcome("ok")


def case_planted_snapshot_link(world: World, capsys: Any) -> Outcome:
    # the snapshot used a fixed "<digest>.tmp" beside it: a link planted there overwrote its target
    victim = world.dest / "notes.txt"
    prefix = world.root / "env"
    prefix.mkdir()
    python = prefix / "bin" / "python"
    path = snapshot_path(python)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").symlink_to(victim)
    take_snapshot(python, prefix, created_venv=True)
    assert json.loads(path.read_text())["created_venv"] is True
    return Outcome("ok")


def case_cpu_disk_full_words(world: World, capsys: Any) -> Outcome:
    failure = classify_failure(["ERROR: Could not install packages due to an OSError: [Errno 28] No space left "
                                "on device"], 1)
    assert failure.kind == "disk_full" and "CUDA" not in failure.hint and "CUDA" not in failure.message
    return Outcome("words", failure.message)


CASES: dict[str, Callable[[World, Any], Outcome]] = {
    "HEAD 405": case_head_refused(405),
    "HEAD 501": case_head_refused(501),
    "HEAD 503": case_head_refused(503),
    "HEAD 501 through fetch": case_head_refused_cli,
    "index page trickling at 0.5 B/s": case_trickling_page,
    "index page stalled": case_stalled_page,
    "index page endless": case_endless_page,
    "mirror probe trickling": case_trickling_mirror,
    "wheel trickling at 200 B/s": case_trickling_wheel,
    "wheel of the wrong length": case_wrong_length,
    "disk full during a download": case_disk_full,
    "two fetches sharing one cache": case_concurrent_fetches,
    "report --out on /proc": case_report_to_proc,
    "report --out under a file": case_report_under_a_file,
    "profile nested 100,000 deep": case_deep_profile,
    "NaN as free disk": case_nan_disk,
    "profile with 100,000 GPUs (15 MB)": case_many_gpus(100_000, "is larger than 1024 KiB"),
    "profile with 2,000 GPUs": case_many_gpus(2_000, "2000 GPUs; a profile describes one machine"),
    "answer file nested 100,000 deep": case_deep_answers,
    "--new-venv pointing at a file": case_new_venv_is_a_file,
    "temp file name with a planted link": case_planted_temp_link,
    "snapshot temp name with a planted link": case_planted_snapshot_link,
    "disk full during a CPU install": case_cpu_disk_full_words,
}


def _bad_wheels(folder: Path, good: dict[str, bytes]) -> list[str]:
    """Wheels in ``folder`` (not the user's) whose bytes are not the published ones."""
    return [p.name for p in folder.rglob("*.whl")
            if p.name not in USER_FILES and p.is_file() and good.get(p.name) != p.read_bytes()]


def test_every_fault_ends_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_GPU_SETUP_DATA_DIR", str(tmp_path / "data"))
    tally: dict[str, int] = {"cases": 0, "tracebacks": 0, "bad files left": 0, "user files lost": 0}
    failures: list[str] = []
    for name, case in CASES.items():
        root = tmp_path / f"case{tally['cases']}"
        with LoopbackServer() as server:
            world = World(server, root)
            world.dest.mkdir(parents=True)
            for file, data in USER_FILES.items():
                (world.dest / file).write_bytes(data)
            monkeypatch.setenv("TORCH_GPU_SETUP_CACHE_DIR", str(world.cache))
            try:
                outcome = case(world, capsys)
            except AssertionError as exc:
                failures.append(f"{name}: {exc}")
                outcome = Outcome("words")
        tally["cases"] += 1
        if outcome.kind == "traceback":
            tally["tracebacks"] += 1
            failures.append(f"{name}: traceback: {outcome.text}")
        good = {w.filename: w.data for w in world.wheels}
        bad = _bad_wheels(root, good)
        tally["bad files left"] += len(bad)
        lost = [f for f, data in USER_FILES.items()
                if not (world.dest / f).is_file() or (world.dest / f).read_bytes() != data]
        tally["user files lost"] += len(lost)
        failures += [f"{name}: {b} fails its checksum and was left" for b in bad]
        failures += [f"{name}: the user's {f} was lost or changed" for f in lost]
    print("fault tally:", tally, *failures, sep="\n")
    assert failures == []
    assert tally == {"cases": len(CASES), "tracebacks": 0, "bad files left": 0, "user files lost": 0}
    assert len(CASES) >= 23

