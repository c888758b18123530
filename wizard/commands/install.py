"""``torch-gpu-setup install``: plan, install into an environment, pin the build, verify.

Progress goes to stderr: on a terminal one status line redrawn in place plus a download bar;
when stderr is not a terminal only the main steps. The summary (where it went, how to activate
it, the verdict) goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from wizard.commands.verify import print_result
from wizard.core.errors import WizardError
from wizard.core.helpdesk import unattended
from wizard.core.install.flow import InstallCallbacks, InstallRequest, run_install
from wizard.core.install.pip_runner import PipProgress


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
    p.add_argument("--torch", metavar="VERSION", help="torch release, e.g. 2.14.1")
    p.add_argument("--variant", metavar="NAME", help="cpu, cu126, cu130, rocm7.2, xpu ...")
    p.add_argument("--index-url", metavar="URL", help="the PyTorch index (default: the plan's)")
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
    from wizard.core.plan.planner import Choices, make_plan

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


class TerminalProgress:
    """Status and pip progress on stderr: redrawn in place on a terminal, main steps otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_draw = 0.0
        self._width = 0

    def status(self, text: str) -> None:
        """A new step: on a terminal replaces the current line, otherwise one line per step."""
        if self.tty:
            self._draw(text[:100])
            self.stream.write("\n")
            self._width = 0
        elif not text.startswith(("collecting", "downloading")):
            self.stream.write(f"- {text}\n")
        self.stream.flush()

    def line(self, text: str) -> None:
        """pip's own lines are not shown (they are in the error details when something fails)."""

    def progress(self, p: PipProgress) -> None:
        """A download bar, at most ten redraws a second."""
        if not self.tty or (time.monotonic() - self._last_draw < 0.1 and p.fraction != 1.0):
            return
        self._last_draw = time.monotonic()
        mib = p.done / 2**20
        if p.fraction is None:
            self._draw(f"  {mib:8.1f} MiB")
            return
        bar = "#" * int(p.fraction * 30)
        self._draw(f"  [{bar:<30}] {100 * p.fraction:5.1f}%  {mib:.1f} of {p.total / 2**20:.1f} MiB")  # type: ignore[operator]

    def verify_event(self, event: dict[str, Any]) -> None:
        """Stage results as they come."""
        if event.get("event") == "stage":
            self.status(f"verify {event.get('name')}: {event.get('status')}")
        elif event.get("event") == "progress" and self.tty:
            self._draw(f"  training step {event.get('step')}: loss {event.get('loss')}")

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def callbacks(self) -> InstallCallbacks:
        """These methods as the install flow's callbacks."""
        return InstallCallbacks(status=self.status, line=self.line, progress=self.progress,
                                verify_event=self.verify_event)


def run(args: argparse.Namespace) -> int:
    """Install, then print where, how it is pinned, how to activate it and the verdict."""
    if unattended.wants_unattended(args):
        return unattended.run_cli(args)  # documented exit codes (wizard.core.exit_codes)
    request = build_request(args)
    ui = TerminalProgress(sys.stderr)
    outcome = run_install(request, ui.callbacks())
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
    if outcome.verify is None:
        return 0
    print_result(outcome.verify, out)
    return 0 if outcome.verify.verdict != "failed" else 1
