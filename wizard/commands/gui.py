"""``torch-gpu-setup gui``: the Qt wizard (also what ``torch-gpu-setup`` alone opens)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard.commands.display import display_problem
from wizard.commands.options import add_build_choices, add_machine
from wizard.core.errors import WizardError


def register(sub: Any) -> None:
    """Add the ``gui`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "gui", help="open the setup wizard (the default without a command)",
        description="Open the graphical setup wizard. --machine simulates a machine profile (nothing is "
                    "installed); --autopilot walks every page with the defaults.")
    add_machine(p, "simulate this machine profile (JSON)")
    p.add_argument("--autopilot", action="store_true", help="walk every page with the defaults, then exit")
    p.add_argument("--screenshots", metavar="DIR", help="with --autopilot: save one PNG per page here")
    p.add_argument("--lang", choices=("en", "zh_CN"), help="language (default: the system's)")
    p.add_argument("--new-venv", metavar="DIR", help="create the new environment here")
    p.add_argument("--python", metavar="PATH", help="the Python used to create the environment")
    add_build_choices(p)
    p.add_argument("--no-torchvision", action="store_true", help="do not install torchvision")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the GUI with the command line's choices (asking first whether its window can open)."""
    problem = display_problem()
    if problem is not None:
        raise WizardError(f"the wizard's window cannot open: {problem.message}", hint=problem.hint)
    from wizard.qt.app import run_gui
    from wizard.qt.state import GuiOptions

    options = GuiOptions(
        machine=args.machine, autopilot=args.autopilot,
        screenshots=Path(args.screenshots) if args.screenshots else None, lang=args.lang,
        new_venv=args.new_venv, python=args.python, torch=args.torch, variant=args.variant,
        index_url=args.index_url, no_torchvision=args.no_torchvision)
    return run_gui(options)
