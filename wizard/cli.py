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
    "wizard.commands.data",
    "wizard.commands.install",
    "wizard.commands.verify",
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


def _gui_possible() -> bool:
    """Whether Qt can open a window: not on Linux without a display, and only with PySide6."""
    import importlib.util
    import os

    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return False
    return importlib.util.find_spec("PySide6") is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    if getattr(args, "func", None) is None:
        # No subcommand: the GUI; without a display, the plan for this machine and a hint.
        args = parser.parse_args(["gui"] if _gui_possible() else ["plan"])
        if args.command == "plan":
            print("(no display for the wizard window: showing the plan; run 'torch-gpu-setup --help' for commands)",
                  file=sys.stderr)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("torch-gpu-setup: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the error boundary: words for a person, never a traceback
        from wizard.commands.errors import report

        return report(exc, verbose=args.verbose, exit_codes=args.command == "install")
