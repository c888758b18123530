"""Benchmark: ``torch-gpu-setup install --new-venv`` against plain ``pip install`` (and uv if present).

Both install the torch 2.13.0 CPU wheel and its dependencies from the same loopback PEP 503
index into a fresh venv, with pip's cache off, side by side in one run. The wizard's column
includes what it does on top (pip upgrade for machine-readable progress, snapshot, pin); the
verification demo is left out (--no-verify) because plain pip has nothing like it.

Usage: python bench/bench_install.py [--wheels DIR] [--python python3.11] [--rounds 1]
Without --wheels the wheels are fetched with `pip download` (this machine's pip configuration).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TORCH = "2.13.0"


def write_index(wheels: Path, root: Path) -> None:
    """A static PEP 503 tree: /whl/cpu/<project>/ for torch and deps, /simple/pip/ for pip."""
    files = root / "files"
    files.mkdir(parents=True)
    for wheel in wheels.glob("*.whl"):
        os.link(wheel, files / wheel.name) if wheel.stat().st_dev == files.stat().st_dev else shutil.copy(wheel, files)
        project = wheel.name.split("-")[0].lower().replace("_", "-").replace(".", "-")
        section = "simple" if project == "pip" else "whl/cpu"
        page = root / section / project
        page.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with open(page / "index.html", "a", encoding="utf-8") as out:
            out.write(f'<a href="/files/{wheel.name.replace("+", "%2B")}#sha256={digest}">{wheel.name}</a>\n')


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    """Serve ``root`` on 127.0.0.1 from a thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of a command; raises when it fails."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the torch wheel, its deps and a pip wheel")
    parser.add_argument("--python", default="python3.11", help="base interpreter (cp311 wheel)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    python = shutil.which(args.python)
    if python is None:
        print(f"skip: {args.python} not found")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp_name:
        tmp = Path(tmp_name)
        wheels = args.wheels
        if wheels is None:
            wheels = tmp / "wheels"
            subprocess.run([python, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(wheels),
                            f"torch=={TORCH}", "pip>=24.1"], check=True)
        write_index(wheels, tmp / "index")
        server, port = serve(tmp / "index")
        url = f"http://127.0.0.1:{port}/whl/cpu/"
        config = tmp / "pip.conf"
        config.write_text(f"[global]\nindex-url = http://127.0.0.1:{port}/simple/\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env.update(PIP_CONFIG_FILE=str(config), PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   XDG_CONFIG_DIRS=str(tmp / "none"), XDG_CONFIG_HOME=str(tmp / "none"),
                   TORCH_GPU_SETUP_DATA_DIR=str(tmp / "data"))
        uv = shutil.which("uv")
        rows: list[tuple[float, float, float | None]] = []
        for round_ in range(args.rounds):
            wiz_dir, pip_dir, uv_dir = (tmp / f"{n}{round_}" for n in ("wizard", "pip", "uv"))
            wizard = timed([sys.executable, "-m", "wizard", "install", "--new-venv", str(wiz_dir), "--python", python,
                            "--torch", TORCH, "--variant", "cpu", "--index-url", url, "--yes", "--no-verify"], env)
            plain = timed([python, "-m", "venv", str(pip_dir)], env)
            plain += timed([str(pip_dir / "bin" / "python"), "-m", "pip", "install", "--index-url", url,
                            f"torch=={TORCH}+cpu"], env)
            uv_time = None
            if uv:
                uv_time = timed([uv, "venv", "-q", "--python", python, str(uv_dir)], env)
                uv_time += timed([uv, "pip", "install", "-q", "--python", str(uv_dir / "bin" / "python"),
                                  "--index-url", url, f"torch=={TORCH}+cpu"], env)
            rows.append((wizard, plain, uv_time))
            for d in (wiz_dir, pip_dir, uv_dir):
                shutil.rmtree(d, ignore_errors=True)
        server.shutdown()
    print(f"install --new-venv of torch {TORCH}+cpu from a loopback index ({args.rounds} round(s), no cache)")
    print(f"{'round':>5} {'wizard s':>9} {'pip s':>7} {'uv s':>7} {'wizard/pip':>11}")
    for i, (wizard, plain, uv_time) in enumerate(rows):
        uv_cell = f"{uv_time:7.1f}" if uv_time is not None else "    n/a"
        print(f"{i:>5} {wizard:9.1f} {plain:7.1f} {uv_cell} {wizard / plain:11.2f}")
    if not uv:
        print("uv: not installed here, so no third column (pip stays the only backend)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
