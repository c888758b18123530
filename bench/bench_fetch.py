"""Benchmark: the wizard's ``fetch`` against ``pip download`` on a flaky, bandwidth-limited link.

Side by side in one run, on a loopback index server with a shared bandwidth limit, one synthetic
wheel (~60 MB, incompressible), two scenarios:

(a) the connection drops once at half way;
(b) the process is killed at half way and started again.

pip does not resume, so after a failure it is simply run again (what a person would do). Reported:
wall time (all attempts), bytes the server sent for the wheel, and the ratios wizard/pip and
bytes/file size. Run: ``.venv/bin/python bench/bench_fetch.py [--size-mb 60] [--rate-mb 40]``.
pip's own configuration is neutralised here only (PIP_CONFIG_FILE=/dev/null, no PIP_FIND_LINKS),
so it reads the loopback index and nothing else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The pip to compare with: BENCH_PIP_PYTHON names an interpreter with the newest pip, else ours.
PIP_PYTHON = os.environ.get("BENCH_PIP_PYTHON", sys.executable)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.net.server import LoopbackServer, SyntheticWheel, make_wheel, publish  # noqa: E402


@dataclass
class Run:
    tool: str
    scenario: str
    wall_s: float
    bytes_sent: int
    attempts: int
    ok: bool


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and "PROXY" not in k.upper()}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "TORCH_GPU_SETUP_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)})
    return env


def _argv(tool: str, index: str, dest: Path, project: str) -> list[str]:
    if tool == "wizard":
        return [sys.executable, "-m", "wizard", "fetch", f"{project}==1.0", "--index-url", index,
                "--dest", str(dest), "--no-deps", "--python", sys.executable]
    return [PIP_PYTHON, "-m", "pip", "download", f"{project}==1.0", "--no-deps", "--index-url", index,
            "--no-cache-dir", "-d", str(dest), "--progress-bar", "off", "-q"]


def _run(tool: str, scenario: str, server: LoopbackServer, wheel: SyntheticWheel, work: Path) -> Run:
    path = wheel.path("/simple")
    dest, cache = work / f"{tool}-{scenario}-dest", work / f"{tool}-{scenario}-cache"
    argv, env = _argv(tool, server.url("/simple/"), dest, wheel.project), _env(cache)
    before = server.served(path)
    if scenario == "a":
        server.fault(path, cut_after=len(wheel.data) // 2, times=1)
    start = time.monotonic()
    attempts, ok = 0, False
    kill_pending = scenario == "b"
    while attempts < 3 and not ok:
        attempts += 1
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill_pending:
            while proc.poll() is None and server.served(path) - before < len(wheel.data) // 2:
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kill_pending = False
            continue
        proc.communicate(timeout=300)
        ok = proc.returncode == 0 and (dest / wheel.filename).exists() \
            and (dest / wheel.filename).read_bytes() == wheel.data
    wall = time.monotonic() - start
    return Run(tool, scenario, wall, server.served(path) - before, attempts, ok)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=60.0)
    ap.add_argument("--rate-mb", type=float, default=40.0, help="link bandwidth, MB/s")
    args = ap.parse_args()
    wheel = make_wheel("benchwheel", "1.0", "py3-none-any", payload=int(args.size_mb * 1e6))
    size = len(wheel.data)
    work = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    runs: list[Run] = []
    try:
        with LoopbackServer(link_rate=args.rate_mb * 1e6) as server:
            publish(server, "/simple", [wheel])
            for scenario in ("a", "b"):
                for tool in ("wizard", "pip"):
                    runs.append(_run(tool, scenario, server, wheel, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"file {size / 1e6:.1f} MB, link {args.rate_mb:.0f} MB/s on 127.0.0.1")
    print(f"{'scenario':<28}{'tool':<8}{'ok':<5}{'tries':<7}{'wall s':>8}{'MB sent':>10}{'bytes/file':>12}")
    names = {"a": "(a) one dropped connection", "b": "(b) killed at half, rerun"}
    for r in runs:
        print(f"{names[r.scenario]:<28}{r.tool:<8}{'yes' if r.ok else 'NO':<5}{r.attempts:<7}"
              f"{r.wall_s:>8.2f}{r.bytes_sent / 1e6:>10.1f}{r.bytes_sent / size:>12.2f}")
    for scenario in ("a", "b"):
        w = next(r for r in runs if r.tool == "wizard" and r.scenario == scenario)
        p = next(r for r in runs if r.tool == "pip" and r.scenario == scenario)
        print(f"{names[scenario]}: wall wizard/pip = {w.wall_s / p.wall_s:.2f}, "
              f"bytes wizard/pip = {w.bytes_sent / max(1, p.bytes_sent):.2f}, "
              f"wizard bytes/file = {w.bytes_sent / size:.2f}")
    return 0 if all(r.ok for r in runs if r.tool == "wizard") else 1


if __name__ == "__main__":
    raise SystemExit(main())
