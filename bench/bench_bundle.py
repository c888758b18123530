"""Benchmark: the built app (``dist/torch-gpu-setup``): size on disk and start time against the source run.

Goals (issue 6): the bundle under 200 MB on disk; its start under 1.5x the source run's
(``python -m wizard`` from the development venv). Three starts are timed, alternating bundle and
source in the same run so a busy machine slows both: ``--version`` (interpreter and CLI),
``plan --machine PROFILE --json`` (the core and the knowledge base) and ``gui --autopilot`` on
the offscreen platform (Qt). ``--drop-caches`` (root, Linux) empties the page cache before each
start for a truly cold start; without it the first start is cold and the median is warm.
Not a test: it prints numbers.

    .venv/bin/python bench/bench_bundle.py [--runs N] [--drop-caches]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "torch-gpu-setup"
EXE = BUNDLE / ("torch-gpu-setup.exe" if os.name == "nt" else "torch-gpu-setup")
PROFILE = ROOT / "tests" / "profiles" / "ubuntu2404-rtx5090-drv590.json"
SIZE_GOAL_MB = 200
RATIO_GOAL = 1.5


def disk_usage(folder: Path) -> int:
    """Bytes the folder takes on disk (allocated blocks where the OS reports them, else file sizes)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            st = path.lstat()
            blocks = getattr(st, "st_blocks", None)
            total += blocks * 512 if blocks is not None else st.st_size  # st_blocks is in 512-byte units (POSIX)
    return total


def drop_caches() -> bool:
    """Empty the Linux page cache (root only); False when not possible."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def timed(argv: list[str], env: dict[str, str], cold: bool) -> float:
    """Seconds for one run of ``argv`` (which must succeed)."""
    if cold:
        drop_caches()
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env=env, cwd=ROOT, check=False, timeout=300)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed: {result.stderr.decode(errors='replace')[-400:]}")
    return elapsed


def main() -> int:
    """Print the size, the start times and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drop-caches", action="store_true", help="cold page cache before each start (root)")
    args = parser.parse_args()
    if not EXE.is_file():
        print(f"{EXE} is not built: run python packaging/build.py", file=sys.stderr)
        return 1
    cold = args.drop_caches and drop_caches()
    if args.drop_caches and not cold:
        print("(cannot drop the page cache here: not root or not Linux; timing warm starts)")

    size = disk_usage(BUNDLE)
    print(f"bundle size on disk: {size / 1e6:7.1f} MB  (goal under {SIZE_GOAL_MB} MB -> "
          f"{'met' if size / 1e6 < SIZE_GOAL_MB else 'NOT met'})")

    settings = tempfile.mkdtemp(prefix="tgs-bench-")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": settings, "XDG_STATE_HOME": settings,
           "XDG_CACHE_HOME": settings}
    commands = {
        "--version": ["--version"],
        "plan --json": ["plan", "--machine", str(PROFILE), "--json"],
        "gui --autopilot": ["gui", "--machine", str(PROFILE), "--autopilot"],
    }
    source = [sys.executable, "-m", "wizard"]
    worst = 0.0
    for label, cmd in commands.items():
        frozen_times, source_times = [], []
        first: tuple[float, float] | None = None
        for _ in range(args.runs):
            f = timed([str(EXE), *cmd], env, cold)
            s = timed([*source, *cmd], env, cold)
            first = first or (f, s)
            frozen_times.append(f)
            source_times.append(s)
        f_med, s_med = statistics.median(frozen_times), statistics.median(source_times)
        worst = max(worst, f_med / s_med)
        assert first is not None
        print(f"{label:16s} bundle {f_med * 1000:7.1f} ms   source {s_med * 1000:7.1f} ms   "
              f"ratio {f_med / s_med:5.2f}x   (first start: bundle {first[0] * 1000:.0f} ms, "
              f"source {first[1] * 1000:.0f} ms)")
    print(f"goal: start under {RATIO_GOAL}x the source run -> {'met' if worst < RATIO_GOAL else 'NOT met'} "
          f"(worst ratio {worst:.2f}x, median of {args.runs}{', cold cache' if cold else ''})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
