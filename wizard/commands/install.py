"""``torch-gpu-setup install``: plan, install into an environment, pin the build, verify.

Progress goes to stderr: on a terminal one status line redrawn in place plus a download bar;
when stderr is not a terminal only the main steps. The summary (where it went, how to activate
it, the verdict) goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wizard.commands import unattended
from wizard.commands.errors import log_on_failure
from wizard.commands.options import add_build_choices
from wizard.commands.progress import TerminalProgress
from wizard.commands.stopping import cancelling
from wizard.commands.verify import print_result
from wizard.core.errors import WizardError
from wizard.core.helpdesk.exit_codes import code_for_verdict
from wizard.core.install.flow import FIRST_PROGRAM, InstallRequest, run_install


def register(sub: Any) -> None:
    """Add the ``install`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "install", help="install the planned PyTorch build into an environment and verify it",
        description="Install PyTorch into a new venv (default: in your data folder, named after the build), "
                    "an existing venv, a conda environment or an interpreter; then pin the build and run the "
                    "verification demo. A failed or cancelled install leaves the environment as it was.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--venv", metavar="DIR", help="an existing venv or conda environment")
    where.add_argument("--new-venv", metavar="DIR", help="create a new venv here (--python: its base interpreter)")
    p.add_argument("--python", metavar="PATH",
                   help="the interpreter to install into, or with --new-venv the one to create the venv with")
    add_build_choices(p)
    p.add_argument("--wheelhouse", metavar="DIR", help="a folder of already downloaded wheels (torch-gpu-setup fetch)")
    p.add_argument("--yes", action="store_true", help="consent to replacing an existing torch/torchvision/torchaudio")
    p.add_argument("--no-verify", action="store_true", help="skip the verification demo")
    unattended.add_arguments(p)  # --unattended, --answers, --bundle and every answer's flag
    p.set_defaults(func=run)


def requirements_without_planner(torch: str, variant: str) -> tuple[str, ...]:
    """Exact pins when the user named everything: torch with its local label (none for mps)."""
    return (f"torch=={torch}" if variant in ("mps", "default") else f"torch=={torch}+{variant}",)


def build_request(args: argparse.Namespace) -> InstallRequest:
    """Turn the command line into an :class:`InstallRequest`, asking the planner when needed."""
    wheelhouse = Path(args.wheelhouse) if args.wheelhouse else None
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise WizardError(f"no wheelhouse folder at {wheelhouse}", hint="give the folder torch-gpu-setup fetch wrote")
    common: dict[str, Any] = {
        # with --new-venv (or no target at all) --python is the new venv's base interpreter
        "python": args.python, "venv": args.venv, "new_venv": args.new_venv,
        "wheelhouse": wheelhouse, "consent": args.yes, "verify": not args.no_verify,
    }
    if args.torch and args.variant and args.index_url:
        return InstallRequest(torch=args.torch, variant=args.variant,
                              requirements=requirements_without_planner(args.torch, args.variant),
                              index_url=args.index_url, expect_gpu=args.variant != "cpu", **common)
    from wizard.core.detect import detect_machine
    from wizard.core.model.plan import Choices
    from wizard.core.plan.planner import make_plan

    base = args.python if args.python else None
    machine = detect_machine(python=base) if base else detect_machine()
    plan = make_plan(machine, Choices(torch=args.torch, variant=args.variant))
    build = plan.recommended
    if build is None or plan.status == "unsupported":
        raise WizardError("no PyTorch build fits this machine", hint="run torch-gpu-setup plan to see why")
    for action in build.actions:
        print(f"note: before this build runs: {action.kind}: {action.detail}", file=sys.stderr)
    return InstallRequest(torch=build.torch, variant=build.variant, requirements=tuple(build.requirements),
                          index_url=args.index_url or build.index_url,
                          expect_gpu=build.device not in ("cpu",), **common)


def run(args: argparse.Namespace) -> int:
    """Install, then print where, how it is pinned, how to activate it and the verdict."""
    if unattended.wants_unattended(args):
        return unattended.run_cli(args)  # documented exit codes (wizard.core.helpdesk.exit_codes)
    request = build_request(args)
    ui = TerminalProgress(sys.stderr)
    # SIGINT/SIGTERM from here on: the same cancel-and-undo as the GUI's Cancel button (exit 130)
    with log_on_failure(ui.lines, "install"), cancelling() as cancel:
        outcome = run_install(request, ui, cancel)
    ui.clear()
    out = sys.stdout
    out.write(f"Installed into {outcome.target.prefix} ({outcome.target.kind.replace('_', ' ')})\n")
    if outcome.installed:
        out.write("  " + " ".join(f"{n}-{v}" for n, v in outcome.installed) + "\n")
    for warning in outcome.warnings:
        out.write(f"warning: {warning}\n")
    if outcome.constraints_file is not None:
        out.write(f"Pinned: {outcome.constraints_file}\n"
                  "  (a later `pip install` in this environment cannot replace this torch build; "
                  + ("pip reads the file through the environment's pip config"
                     if outcome.pip_conf_written else f"set PIP_CONSTRAINT={outcome.constraints_file}")
                  + ")\n")
    out.write(f"Activate: {outcome.activate}\n")
    out.write(f"Undo:     torch-gpu-setup rollback --python {outcome.python}\n")
    out.write("First program:\n" + "".join(f"  {line}\n" for line in FIRST_PROGRAM.splitlines()))
    if outcome.verify is None:
        return 0
    print_result(outcome.verify, out)
    return int(code_for_verdict(outcome.verify.verdict))  # the documented codes, as unattended
