"""Command line: ``torch-gpu-setup detect | plan | fetch | install | verify ...``.

Each subcommand lives in ``wizard/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``(args) -> int``. Start-up is lazy: a
command line naming a command imports that command's module alone, and ``--version``/``--help``
without a command import none (:data:`COMMAND_HELP` carries the one-line helps of the list;
tests/core/test_cli_startup.py pins it to what each module registers). Every failure passes
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

#: The one-line help of each command, in the order of :data:`COMMAND_MODULES`, for the top-level
#: ``--help`` and the "invalid choice" error without importing any command (each module's import
#: pulls in its part of the core: 0.3 s for all of them, issue 16). Must equal what each module's
#: ``register`` passes as ``help`` (tests/core/test_cli_startup.py compares them).
COMMAND_HELP: dict[str, str] = {
    "detect": "show what this machine has: OS, GPUs, NVIDIA driver, Pythons, disk",
    "plan": "choose the PyTorch build for this machine and say why",
    "fetch": "download verified wheels into a local folder (resumable)",
    "mirrors": "time every known PyTorch mirror from here, fastest first",
    "data": "refresh or show the knowledge base (releases, variants)",
    "install": "install the planned PyTorch build into an environment and verify it",
    "verify": "run the verification demo in an environment",
    "doctor": "diagnose an existing PyTorch environment and propose the fix",
    "rollback": "undo the last install in an environment",
    "bundle": "write an offline bundle: every wheel for the planned build, with a manifest",
    "report": "write a support report (.zip with HTML and JSON), personal data redacted",
    "installers": "list (and fetch) the NVIDIA driver / toolkit this machine needs",
    "gui": "open the setup wizard (the default without a command)",
}

EXIT_BAD_INPUT = 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand.

    When ``argv`` names a subcommand, only that command's module is imported: each pulls in
    its own part of the core (requests, Qt ...), and a command should not pay for the others.
    When it names none (``--help``, ``--version``, a mistyped command), the commands are listed
    from :data:`COMMAND_HELP` without importing any; ``argv=None`` registers every command.
    """
    parser = argparse.ArgumentParser(
        prog="torch-gpu-setup",
        description="Find, install and verify the right PyTorch build for this machine's GPU.",
    )
    parser.add_argument("--version", action="version", version=f"torch-gpu-setup {__version__}")
    parser.add_argument("--verbose", action="store_true", help="on a failure, also print its details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    first = next((a for a in (argv or ()) if not a.startswith("-")), None)
    chosen = [m for m in COMMAND_MODULES if m.rsplit(".", 1)[-1] == first]
    if not chosen and argv is not None:
        for name in COMMAND_MODULES:   # listed, not loaded: main() loads the one it runs
            short = name.rsplit(".", 1)[-1]
            sub.add_parser(short, help=COMMAND_HELP[short])
        return parser
    for name in chosen or COMMAND_MODULES:
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
        default = ["plan"] if problem else ["gui"]
        args = build_parser(default).parse_args(default)
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
