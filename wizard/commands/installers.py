"""``torch-gpu-setup installers``: what this machine needs from NVIDIA (driver, restart, toolkit).

Offline by default: the plan's actions become exact commands, URLs and words. ``--fetch DIR``
downloads what can be downloaded (the Windows driver after a lookup, the CUDA/cuDNN
redistributable archives with their sha256); ``--run`` runs the Linux driver commands (or the
fetched Windows installer) after showing them and asking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.commands.options import add_json, add_machine
from wizard.commands.plan import machine_for
from wizard.core.drivers.installers import (
    InstallerPlan,
    fetch_installers,
    installers_for,
    run_step_commands,
)
from wizard.core.drivers.steps import FetchedInstaller
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader
from wizard.core.fetch.net import NetConfig, make_session
from wizard.core.plan.planner import make_plan
from wizard.core.process import Command


def register(sub: Any) -> None:
    """Add the ``installers`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "installers", help="list (and fetch) the NVIDIA driver / toolkit this machine needs",
        description="From the plan's actions: the NVIDIA driver install for this OS (exact commands, run as "
                    "administrator only after you confirm), the restart, and optionally the CUDA toolkit and "
                    "cuDNN for compiling extensions.")
    add_machine(p, "a machine profile (JSON) instead of this machine")
    p.add_argument("--python", metavar="PATH", help="the interpreter that will receive PyTorch")
    add_json(p, "print the list as JSON")
    p.add_argument("--toolkit", action="store_true", help="include the CUDA toolkit and cuDNN (extensions only)")
    p.add_argument("--fetch", metavar="DIR", help="download what can be downloaded into DIR")
    p.add_argument("--run", action="store_true", help="run the driver install commands after confirmation")
    p.add_argument("--yes", action="store_true", help="with --run: do not ask")
    p.add_argument("--pfid", help="NVIDIA product family id for the Windows driver lookup")
    p.add_argument("--kernel", metavar="RELEASE", help="kernel release for linux-headers (Debian)")
    p.add_argument("--lookup-url", help=argparse.SUPPRESS)   # tests and mirrors: the lookup service base
    p.add_argument("--redist-url", help=argparse.SUPPRESS)   # tests and mirrors: the CUDA redist prefix
    p.add_argument("--cudnn-url", help=argparse.SUPPRESS)
    p.add_argument("--proxy", help="proxy URL for downloads")
    p.set_defaults(func=run)


def render(iplan: InstallerPlan) -> str:
    """The list for a terminal: one block per step, commands first."""
    lines: list[str] = []
    if not iplan.steps:
        lines.append("Nothing to install from NVIDIA.")
    for n, step in enumerate(iplan.steps, 1):
        lines.append(f"{n}. {step.title}" + (f"  [{step.version}]" if step.version else ""))
        lines.append(f"   why: {step.why}")
        for command in step.commands:
            lines.append(f"   $ {command.display()}")
        if step.lookup_url:
            lines.append(f"   lookup: {step.lookup_url}")
        if step.install_args and step.kind == "driver_windows":
            lines.append(f"   silent install: <installer>.exe {' '.join(step.install_args)} (elevated)")
        if step.manifest_url:
            lines.append(f"   manifest: {step.manifest_url}")
        for url in step.urls:
            lines.append(f"   url: {url}")
        for note in step.notes:
            lines.append(f"   - {note}")
        if step.sources:
            lines.append(f"   (facts: {', '.join(step.sources)})")
    for note in iplan.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def _confirm(prompt: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise WizardError("--run needs your confirmation, but there is no terminal to ask on",
                          hint="add --yes after reading the commands (installers without --run shows them)")
    return input(f"{prompt} [y/N] ").strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """List; with --fetch download; with --run install after confirmation."""
    machine = machine_for(args)
    plan = make_plan(machine)
    iplan = installers_for(machine, plan, toolkit=args.toolkit, kernel_release=args.kernel, pfid=args.pfid,
                           lookup_base=args.lookup_url, redist_prefix=args.redist_url, cudnn_prefix=args.cudnn_url)
    fetched: list[FetchedInstaller] = []
    if args.fetch:
        session = make_session(NetConfig(proxy=args.proxy))
        fetched = fetch_installers(iplan, Path(args.fetch), session, Downloader(session))
    if args.json:
        data = iplan.to_json()
        if args.fetch:
            data["fetched"] = [f.to_json() for f in fetched]
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(iplan))
        for f in fetched:
            sys.stdout.write(f"fetched: {f.step.title}" + (f" {f.version}" if f.version else "") + "\n")
            for path in f.paths:
                sys.stdout.write(f"  {path}\n")
            if f.command is not None:
                sys.stdout.write(f"  install: {f.command.display()}\n")
    if args.run:
        return _run_installs(iplan, fetched, args.yes)
    return 0


def _confirm_and_run(heading: str, commands: tuple[Command, ...], prompt: str, yes: bool) -> bool:
    """Show ``commands`` under ``heading``, ask (unless ``yes``), run them; False: not run."""
    print(heading, file=sys.stderr)
    for c in commands:
        print(f"  $ {c.display()}", file=sys.stderr)
    if not _confirm(prompt, yes):
        print("Not run.", file=sys.stderr)
        return False
    run_step_commands(commands, on_line=lambda line: print(line, file=sys.stderr))
    return True


def _run_installs(iplan: InstallerPlan, fetched: list[FetchedInstaller], yes: bool) -> int:
    if any(s.kind == "driver_wsl" for s in iplan.steps):
        raise WizardError("inside WSL the driver is installed on the Windows side, never here",
                          hint="see the steps above")
    python = tuple(c for s in iplan.steps if s.kind == "python_windows" for c in s.commands)
    if python:
        # winget --scope user: no administrator rights, and the only step when Python is missing
        if not _confirm_and_run("This command installs Python for you (no administrator rights):", python,
                                "Run it now?", yes):
            return 1
        print("Python is installed: run torch-gpu-setup again (a new terminal sees it on PATH).", file=sys.stderr)
    commands = tuple(c for s in iplan.steps if s.kind == "driver_linux" for c in s.commands)
    commands += tuple(f.command for f in fetched if f.command is not None)
    driver = bool(commands)
    if not driver and any(s.kind == "driver_windows" for s in iplan.steps):
        raise WizardError("the Windows driver must be downloaded first", hint="add --fetch DIR to --run")
    # the optional long-paths change (Windows): elevated like the driver, after it
    commands += tuple(c for s in iplan.steps if s.kind == "enable_long_paths" for c in s.commands)
    if not commands:
        if not python:
            print("Nothing to run.", file=sys.stderr)
        return 0
    if not _confirm_and_run("These commands will run with administrator rights:", commands, "Run them now?", yes):
        return 1
    print("Done. Restart the computer so the new driver loads." if driver else "Done.", file=sys.stderr)
    return 0
