"""Command line: ``torch-gpu-setup detect | plan | fetch | install | verify ...``.

Each subcommand lives in ``wizard/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``(args) -> int``. Every failure passes
the error boundary (:mod:`wizard.commands.errors`): message, context and hint on stderr, the
details in a log file, and exit code 2 (``install``: its documented codes).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wizard import __version__

# Order is the order shown in --help. Add a module here to add a subcommand.
COMMAND_MODULES: tuple[str, ...] = (
    "wizard.commands.detect",
    "wizard.commands.plan",
    "wizard.commands.fetch",
    "wizard.commands.mirrors",
    "wizard.commands.data",
    "wizard.commands.install",
    "wizard.commands.verify",
    "wizard.commands.doctor",
    "wizard.commands.rollback",
    "wizard.commands.bundle",
    "wizard.commands.report",
    "wizard.commands.installers",
    "wizard.commands.gui",
)

EXIT_BAD_INPUT = 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand.

    When ``argv`` names a subcommand, only that command's module is imported: each pulls in
    its own part of the core (requests, Qt ...), and a command should not pay for the others.
    """
    parser = argparse.ArgumentParser(
        prog="torch-gpu-setup",
        description="Find, install and verify the right PyTorch build for this machine's GPU.",
    )
    parser.add_argument("--version", action="version", version=f"torch-gpu-setup {__version__}")
    parser.add_argument("--verbose", action="store_true", help="on a failure, also print its details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    first = next((a for a in (argv or ()) if not a.startswith("-")), None)
    chosen = [m for m in COMMAND_MODULES if m.rsplit(".", 1)[-1] == first] or list(COMMAND_MODULES)
    for name in chosen:
        importlib.import_module(name).register(sub)
    return parser


def _gui_problem() -> tuple[str, str] | None:
    """Why the window cannot open here (no display, a missing X11 library, no PySide6) and what to do."""
    import importlib.util

    from wizard.commands.display import display_problem

    problem = display_problem()
    if problem is not None:
        return problem.message, problem.hint
    if importlib.util.find_spec("PySide6") is None:
        return "PySide6 is not installed", "pip install PySide6-Essentials"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    if getattr(args, "func", None) is None:
        # No subcommand: the GUI; where its window cannot open, the plan for this machine and why.
        problem = _gui_problem()
        args = parser.parse_args(["plan"] if problem else ["gui"])
        if problem:
            print(f"(the wizard's window cannot open: {problem[0]}; showing the plan instead)\n  hint: {problem[1]}",
                  file=sys.stderr)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("torch-gpu-setup: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the error boundary: words for a person, never a traceback
        from wizard.commands.errors import report

        return report(exc, verbose=args.verbose, exit_codes=args.command == "install")
