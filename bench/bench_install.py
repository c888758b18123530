"""Benchmark: ``torch-gpu-setup install --new-venv`` against plain pip and uv, end to end (issue 16).

Every tool installs the torch 2.13.0 CPU wheel, its dependencies and numpy (every wizard install
adds numpy) from the same loopback PEP 503 index into a fresh venv, with cold caches (a new
wizard cache, ``PIP_NO_CACHE_DIR``, a new ``UV_CACHE_DIR`` per run), runs interleaved round by
round, with and without bytecode compilation, on an unlimited link and on a 20 MB/s one (one
token bucket shared by every connection of the server). The wizard runs ``--no-verify`` (plain
pip and uv have no verification); its time includes what it does on top (the venv's pip fetched
and put in, the snapshot, the pins).

Columns: ``wizard`` (the fast path), ``wizard-pip`` (``TORCH_GPU_SETUP_INSTALLER=pip``: pip
installs), ``pip`` (``python -m venv`` + ``pip install``), ``uv`` (``uv venv`` + ``uv pip install``;
with compilation ``--compile-bytecode``; only where ``uv`` is on PATH). For each, the median wall
time and the "tail": the time from the last byte the index sent to the environment ready, as a
share of the whole install. Ratios are of medians.

Then start-up (``--version``, ``--help``, ``plan --machine --json`` against a bare interpreter,
``detect --json`` twice: the second answered from the probe cache) and the GUI's first paint
(bench/bench_gui.py's measure: the real path against an empty window).

Usage: python bench/bench_install.py [--wheels DIR] [--python python3.11] [--rounds 3]
       [--links unlimited,20] [--compile yes,no] [--tools wizard,wizard-pip,pip,uv] [--no-startup]
Without --wheels the wheels are fetched with ``pip download`` (this machine's pip configuration).
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "2.13.0"
MB = 1_000_000


class Index:
    """A static PEP 503 index on 127.0.0.1 whose server can be held to a link speed."""

    def __init__(self, wheels: Path, rate: float | None) -> None:
        self.files = {w.name: w for w in wheels.glob("*.whl")}
        self.rate = rate
        self.lock = threading.Lock()
        self.next_free = 0.0
        self.last_byte = 0.0
        self.pages: dict[str, bytes] = {}
        for wheel in self.files.values():
            project = wheel.name.split("-")[0].lower().replace("_", "-").replace(".", "-")
            section = "simple" if project == "pip" else "whl/cpu"
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            link = f'<a href="/files/{urllib.parse.quote(wheel.name)}#sha256={digest}">{wheel.name}</a>\n'
            key = f"/{section}/{project}/"
            self.pages[key] = self.pages.get(key, b"") + link.encode()
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def take(self, n: int) -> None:
        """Wait until the link has room for n bytes (one bucket for all connections)."""
        if not self.rate:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_free)
            self.next_free = start + n / self.rate
            wait = self.next_free - now
        if wait > 0:
            time.sleep(wait)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _file(self, head: bool) -> None:
                path = urllib.parse.unquote(self.path.split("?")[0])
                if path in index.pages or path.rstrip("/") + "/" in index.pages:
                    body = b"<html><body>\n" + index.pages[path.rstrip("/") + "/"] + b"</body></html>\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                    return
                wheel = index.files.get(path.rsplit("/", 1)[-1]) if path.startswith("/files/") else None
                if wheel is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                size = wheel.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if head:
                    return
                with open(wheel, "rb") as f:
                    try:
                        while block := f.read(256 * 1024):
                            index.take(len(block))
                            self.wfile.write(block)
                            index.last_byte = time.monotonic()
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def do_GET(self) -> None:
                self._file(head=False)

            def do_HEAD(self) -> None:
                self._file(head=True)

        return Handler

    def url(self, section: str) -> str:
        return f"http://127.0.0.1:{self.port}/{section}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of a command; raises when it fails."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def run_tool(tool: str, python: str, index: Index, tmp: Path, compile_: bool, base_env: dict[str, str],
             uv: str | None) -> tuple[float, float]:
    """One cold install with ``tool``: (seconds, seconds from the last byte to ready)."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{tool}-", dir=tmp))
    env = dict(base_env)
    env.update(TORCH_GPU_SETUP_DATA_DIR=str(run_dir / "data"), TORCH_GPU_SETUP_CACHE_DIR=str(run_dir / "cache"),
               UV_CACHE_DIR=str(run_dir / "uv-cache"))
    if not compile_:
        # pip's own setting, in pip's spelling: "0" turns compiling off (pip/_internal/cli/parser.py
        # reads PIP_NO_COMPILE as the value of `compile`); the wizard's fast path reads it the same way
        env["PIP_NO_COMPILE"] = "0"
    target = run_dir / "env"
    url = index.url("whl/cpu")
    start = time.perf_counter()
    began = time.monotonic()
    if tool in ("wizard", "wizard-pip"):
        if tool == "wizard-pip":
            env["TORCH_GPU_SETUP_INSTALLER"] = "pip"
        timed([sys.executable, "-m", "wizard", "install", "--new-venv", str(target), "--python", python,
               "--torch", TORCH, "--variant", "cpu", "--index-url", url, "--yes", "--no-verify"], env)
    elif tool == "pip":
        timed([python, "-m", "venv", str(target)], env)
        timed([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--index-url", url,
               *([] if compile_ else ["--no-compile"]), f"torch=={TORCH}+cpu", "numpy"], env)
    else:
        assert uv is not None
        timed([uv, "venv", "-q", "--python", python, str(target)], env)
        timed([uv, "pip", "install", "-q", "--python", str(target / "bin" / "python"), "--index-url", url,
               *(["--compile-bytecode"] if compile_ else []), f"torch=={TORCH}+cpu", "numpy"], env)
    total = time.perf_counter() - start
    tail = time.monotonic() - max(index.last_byte, began)
    shutil.rmtree(run_dir, ignore_errors=True)
    return total, tail


def startup(rounds: int) -> list[str]:
    """Start-up of the CLI against a bare interpreter, medians of ``rounds`` interleaved runs."""
    profile = str(ROOT / "tests/profiles/ubuntu2404-rtx5090-drv590.json")
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "--version": [sys.executable, "-m", "wizard", "--version"],
        "--help": [sys.executable, "-m", "wizard", "--help"],
        "plan --json": [sys.executable, "-m", "wizard", "plan", "--machine", profile, "--json"],
        "detect --json": [sys.executable, "-m", "wizard", "detect", "--json"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
        env["TORCH_GPU_SETUP_CACHE_DIR"] = cache
        start = time.perf_counter()
        subprocess.run(commands["detect --json"], env=env, capture_output=True, check=True)
        first_detect = time.perf_counter() - start   # probes every interpreter; fills the probe cache
        for _ in range(rounds):
            for name, argv in commands.items():
                start = time.perf_counter()
                subprocess.run(argv, env=env, capture_output=True, check=True, cwd=ROOT)
                times[name].append(time.perf_counter() - start)
    bare = statistics.median(times["bare"])
    lines = [f"start-up (median of {rounds}; bare interpreter {bare * 1000:.0f} ms):"]
    goals = {"--version": 3.0, "plan --json": 5.0}
    for name in commands:
        if name == "bare":
            continue
        med = statistics.median(times[name])
        goal = f" (goal <= {goals[name]:.0f}x)" if name in goals else ""
        lines.append(f"  {name:<14} {med * 1000:6.0f} ms  {med / bare:5.1f}x bare{goal}")
    lines.append(f"  detect --json, first run (probes every interpreter): {first_detect * 1000:.0f} ms; later runs "
                 "answer from the probe cache")
    return lines


def gui_first_paint(rounds: int) -> str:
    """The real GUI path's first paint against an empty window (bench/bench_gui.py's measure)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_gui
    except ImportError as exc:
        return f"GUI first paint: not measured ({exc})"
    profile = str(ROOT / "tests/profiles/ubuntu2404-rtx5090-drv590.json")
    empty, wizard = [], []
    for _ in range(rounds):
        empty.append(bench_gui.first_paint("empty", profile))
        wizard.append(bench_gui.first_paint("wizard", profile))
    e, w = statistics.median(empty), statistics.median(wizard)
    return (f"GUI first paint (median of {rounds}): empty window {e * 1000:.0f} ms, wizard {w * 1000:.0f} ms, "
            f"{w / e:.2f}x (goal <= 1.3x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the torch wheel, its deps, numpy and a pip wheel")
    parser.add_argument("--python", default="python3.11", help="base interpreter (cp311 wheel)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--links", default="unlimited,20", help="link speeds: 'unlimited' or MB/s, comma-separated")
    parser.add_argument("--compile", default="yes,no", help="bytecode compilation: yes, no or both")
    parser.add_argument("--tools", default="wizard,wizard-pip,pip,uv")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up and GUI measures")
    args = parser.parse_args()
    python = shutil.which(args.python)
    if python is None:
        print(f"skip: {args.python} not found")
        return 0
    python = os.path.realpath(python)   # a real interpreter, never a venv's link
    uv = shutil.which("uv")
    tools = [t for t in args.tools.split(",") if t != "uv" or uv]
    if not args.no_startup:
        for line in startup(max(5, args.rounds)):
            print(line, flush=True)
        print(gui_first_paint(3), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp_name:
        tmp = Path(tmp_name)
        wheels = args.wheels
        if wheels is None:
            wheels = tmp / "wheels"
            subprocess.run([python, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(wheels),
                            f"torch=={TORCH}", "pip>=24.1", "numpy"], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
        config = tmp / "pip.conf"
        env.update(PIP_CONFIG_FILE=str(config), PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   XDG_CONFIG_DIRS=str(tmp / "none"), XDG_CONFIG_HOME=str(tmp / "none"), UV_NO_CONFIG="1",
                   PYTHONPATH=str(ROOT))
        size = sum(p.stat().st_size for p in wheels.glob("*.whl") if not p.name.startswith("pip-"))
        print(f"\ninstall --new-venv of torch {TORCH}+cpu + deps + numpy ({size / MB:.0f} MB of wheels) from a "
              f"loopback index; cold caches, fresh venvs, {args.rounds} interleaved round(s), no verify", flush=True)
        for link in args.links.split(","):
            rate = None if link == "unlimited" else float(link) * MB
            index = Index(wheels, rate)
            config.write_text(f"[global]\nindex-url = {index.url('simple')}\n")
            for compile_ in [c == "yes" for c in args.compile.split(",")]:
                results: dict[str, list[tuple[float, float]]] = {t: [] for t in tools}
                for _ in range(args.rounds):
                    for tool in tools:
                        results[tool].append(run_tool(tool, python, index, tmp, compile_, env, uv))
                speed = link if link == "unlimited" else f"{link} MB/s"
                print(f"\nlink {speed}, bytecode {'compiled' if compile_ else 'not compiled'}:")
                med = {t: statistics.median(r[0] for r in results[t]) for t in tools}
                for tool in tools:
                    tail = statistics.median(r[1] / r[0] for r in results[tool])
                    ratios = "  ".join(f"{med[tool] / med[o]:.2f}x {o}" for o in tools if o != tool)
                    runs = " ".join(f"{r[0]:.1f}" for r in results[tool])
                    print(f"  {tool:<11} {med[tool]:6.1f} s  last byte -> ready {tail * 100:3.0f}%   "
                          f"[{runs}]   {ratios}", flush=True)
            index.close()
    if not uv:
        print("uv: not on PATH here, so no uv column")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
