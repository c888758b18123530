"""Benchmark: ``plan`` for each machine profile (goal: under 50 ms per plan).

Run: ``.venv/bin/python bench/bench_plan.py``. Prints the in-process time per plan (knowledge
base already loaded, as in the GUI), the first plan including loading the knowledge base, and the
whole ``plan --machine`` command against a bare ``python -c pass`` started side by side (ratio).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wizard.core.knowledge.base import bundled_knowledge  # noqa: E402
from wizard.core.model.machine import load_profile  # noqa: E402
from wizard.core.plan.planner import make_plan  # noqa: E402

PROFILES = sorted((ROOT / "tests" / "profiles").glob("*.json")) + sorted(
    (ROOT / "tests" / "profiles" / "extra").glob("*.json"))


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    start = time.perf_counter()
    kb = bundled_knowledge()
    make_plan(load_profile(PROFILES[0]), kb=kb)
    first = time.perf_counter() - start
    per_plan = []
    for path in PROFILES:
        machine = load_profile(path)
        runs = []
        for _ in range(20):
            t = time.perf_counter()
            make_plan(machine, kb=kb)
            runs.append(time.perf_counter() - t)
        per_plan.append(statistics.median(runs))
    cli, bare = [], []
    for _ in range(5):
        cli.append(_timed([sys.executable, "-m", "wizard", "plan", "--machine", str(PROFILES[0]), "--json"]))
        bare.append(_timed([sys.executable, "-c", "pass"]))
    print(f"profiles: {len(PROFILES)}")
    print(f"first plan incl. loading the knowledge base: {first * 1000:.1f} ms")
    print(f"plan per profile (median of 20): median {statistics.median(per_plan) * 1000:.2f} ms, "
          f"worst {max(per_plan) * 1000:.2f} ms (goal < 50 ms)")
    c, b = statistics.median(cli), statistics.median(bare)
    print(f"'plan --machine --json' command: {c * 1000:.0f} ms vs bare interpreter start {b * 1000:.0f} ms "
          f"-> ratio {c / b:.1f}x")


if __name__ == "__main__":
    main()
