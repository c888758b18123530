"""``torch-gpu-setup fetch``: download verified wheels into a local wheelhouse.

With requirements, fetches exactly those (plus dependencies unless ``--no-deps``) for the target
interpreter given by ``--python``. Without, fetches what ``plan`` recommends for this machine.
Exit 0 only when every file is in DEST and verified.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from wizard.commands.options import add_source
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, describe_progress
from wizard.core.fetch.index import WheelFile
from wizard.core.fetch.net import MIRROR_PRESETS, NetConfig, make_session, redact_url
from wizard.core.fetch.source import source_for
from wizard.core.fetch.wheelhouse import fetch_wheelhouse, probe_target
from wizard.core.model.machine import OsInfo, PythonTarget


def register(subparsers: Any) -> None:
    """Add the ``fetch`` subcommand."""
    p = subparsers.add_parser(
        "fetch", help="download verified wheels into a local folder (resumable)",
        description="Download wheels into DEST, resuming interrupted downloads and checking every sha256.",
    )
    p.add_argument("requirements", nargs="*", metavar="REQUIREMENT",
                   help="e.g. torch==2.14.1+cu126; none: what 'plan' recommends for this machine")
    add_source(p)
    p.add_argument("--mirror", choices=sorted(MIRROR_PRESETS), help="a mirror preset instead of --index-url")
    p.add_argument("--dest", default="wheelhouse", help="folder for the wheels (default: ./wheelhouse)")
    p.add_argument("--python", help="the TARGET interpreter (path or name on PATH); default: python3 on PATH")
    p.add_argument("--no-deps", action="store_true", help="fetch only the named wheels")
    p.add_argument("--proxy", help="proxy URL (wins over HTTP(S)_PROXY); credentials never appear in logs")
    p.set_defaults(func=run)


def _plan_requirements(python: str | None) -> tuple[list[str], str, PythonTarget, OsInfo]:
    """What the planner recommends for this machine (imported lazily: it is optional here)."""
    try:
        from wizard.core.detect import detect_machine
        from wizard.core.plan import planner
    except ImportError as exc:
        raise WizardError(
            "fetching the recommended build needs the planner and detection, which are not available",
            hint="name the wheels instead, e.g. fetch torch==2.14.1+cu126 --index-url URL --python PATH",
            details=str(exc),
        ) from None
    machine = detect_machine(python=python)
    plan = planner.make_plan(machine)
    build = plan.recommended
    if build is None or machine.python is None:
        raise WizardError(f"the plan has nothing to fetch (status: {plan.status})",
                          hint="run 'torch-gpu-setup plan' to see why")
    return list(build.requirements), str(build.index_url), machine.python, machine.os


class _TerminalProgress:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.width = 0

    def __call__(self, done: int, total: int, rate: float, eta: float | None) -> None:
        line = describe_progress(done, total, rate, eta)
        with self.lock:
            sys.stderr.write("\r" + line.ljust(self.width))
            sys.stderr.flush()
            self.width = len(line)

    def finish(self) -> None:
        if self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Fetch; returns 0 only when every wheel is in DEST and verified."""
    requirements: list[str] = list(args.requirements)
    index_url: str | None = args.index_url
    if args.mirror and not index_url and requirements:
        raise WizardError("--mirror needs a variant", hint="use --index-url with the variant's URL, e.g. "
                          + MIRROR_PRESETS[args.mirror].variant_url("cu126"))
    if requirements:
        if not index_url:
            raise WizardError("--index-url is needed with explicit requirements",
                              hint="e.g. --index-url https://download.pytorch.org/whl/cu126")
        python, os_info = probe_target(args.python or ("python" if sys.platform == "win32" else "python3"))
    else:
        requirements, plan_index, python, os_info = _plan_requirements(args.python)
        variant = plan_index.rstrip("/").rsplit("/", 1)[-1]
        source = source_for(variant, index_url=index_url, mirror=args.mirror, default=plan_index)
        index_url = source.location if source is not None else plan_index
    assert index_url is not None
    session = make_session(NetConfig(proxy=args.proxy))
    tty = sys.stderr.isatty()
    bar = _TerminalProgress() if tty else None

    def on_plan(wheels: list[WheelFile], total: int) -> None:
        if tty:
            print(f"Fetching {len(wheels)} wheel(s), {total / 1e6:.1f} MB, from {redact_url(index_url)}",
                  file=sys.stderr)

    try:
        result = fetch_wheelhouse(requirements, index_url=index_url, dest=Path(args.dest), python=python,
                                  os_info=os_info, no_deps=args.no_deps, session=session,
                                  downloader=Downloader(session), progress=bar, on_plan=on_plan)
    finally:
        if bar is not None:
            bar.finish()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in result.paths:
        print(path)
    return 0
