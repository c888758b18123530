"""Command line: ``torch-gpu-setup detect | plan | fetch | install | verify ...``.

Each subcommand lives in ``wizard/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``(args) -> int``. Any
:class:`~wizard.core.errors.WizardError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wizard import __version__
from wizard.core.errors import WizardError

# Order is the order shown in --help. Add a module here to add a subcommand.
COMMAND_MODULES: tuple[str, ...] = (
    "wizard.commands.detect",
    "wizard.commands.plan",
    "wizard.commands.fetch",
    "wizard.commands.install",
    "wizard.commands.verify",
    "wizard.commands.rollback",
)

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="torch-gpu-setup",
        description="Find, install and verify the right PyTorch build for this machine's GPU.",
    )
    parser.add_argument("--version", action="version", version=f"torch-gpu-setup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        # No subcommand: the GUI once it exists; until then, detect and plan this machine.
        args = parser.parse_args(["plan"])
    try:
        return int(args.func(args))
    except WizardError as exc:
        print(f"torch-gpu-setup: error: {exc.one_line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("torch-gpu-setup: interrupted", file=sys.stderr)
        return 130
