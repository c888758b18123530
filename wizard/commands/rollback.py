"""``torch-gpu-setup rollback``: return an environment to the snapshot taken before the last install."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.commands.stopping import finishing
from wizard.core.install.flow import run_rollback


def register(sub: Any) -> None:
    """Add the ``rollback`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "rollback", help="undo the last install in an environment",
        description="Restore the distributions recorded before torch-gpu-setup last changed this environment "
                    "(uninstall what was added, reinstall the recorded versions). A venv the wizard created "
                    "is deleted instead; files you added to it are first moved beside it, into <name>-kept-<time>. "
                    "Exit code 10: another torch-gpu-setup run is changing this environment.")
    p.add_argument("--python", metavar="PATH", required=True, help="the environment's interpreter")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Roll back and say what was done."""
    with finishing():  # a signal does not stop a rollback half way
        print(run_rollback(args.python))
    return 0
