"""Benchmark: ``detect`` on this machine, interpreter probes included, against one subprocess call.

Goal (issue 2): under 1 s wall time on a machine without NVML. The ratio is to one
``nvidia-smi``-style subprocess call (a tiny ``sh -c 'echo'`` and a ``python -c pass``), measured
side by side in the same run so a slow or busy machine slows both. Not a test: it prints numbers.

    .venv/bin/python bench/bench_detect.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from wizard.core.detect import Host, detect_machine


def _time(fn: object, runs: int) -> list[float]:
    assert callable(fn)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    """Print the median wall times and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    machine = detect_machine(Host.current())  # warm-up: imports, disk caches
    interpreters = len(machine.interpreters) + (1 if machine.python else 0)
    detect = _time(lambda: detect_machine(Host.current()), args.runs)
    shell = _time(lambda: subprocess.run(["sh", "-c", "echo"], capture_output=True, check=False), args.runs * 4)
    python = _time(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=False),
                   args.runs * 4)

    d, s, p = statistics.median(detect), statistics.median(shell), statistics.median(python)
    print(f"detect (median of {args.runs}, {interpreters} interpreters probed, "
          f"driver: {machine.driver_status.state.value if machine.driver_status else '?'}): {d * 1000:7.1f} ms")
    print(f"one `sh -c echo` call:      {s * 1000:7.1f} ms   detect = {d / s:6.1f}x")
    print(f"one `python -c pass` call:  {p * 1000:7.1f} ms   detect = {d / p:6.1f}x")
    print(f"goal: detect under 1000 ms -> {'met' if d < 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
