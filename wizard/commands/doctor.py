"""``torch-gpu-setup doctor``: what is wrong with an existing PyTorch environment, and the one fix.

Exit codes: 0 healthy (information only), 1 problems found (or a fix that did not cure them),
2 bad input (a path that is not a Python, an unreadable profile, ``--fix`` with ``--machine``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from wizard.commands.errors import log_on_failure, report
from wizard.commands.options import add_json, add_machine, add_source
from wizard.commands.progress import TerminalProgress
from wizard.commands.stopping import cancelling
from wizard.commands.verify import default_python, print_result
from wizard.core.doctor.model import Diagnosis
from wizard.core.doctor.runner import fix_request, run_doctor
from wizard.core.errors import Cancelled, EnvironmentBusy, InputError, WizardError

EXIT_HEALTHY, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    """Add the ``doctor`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="diagnose an existing PyTorch environment and propose the fix",
        description="Look at the torch installed in an environment (import, build, CUDA, GPU code, driver, "
                    "torchvision/torchaudio, shadowing files), compare it with this machine and say what is wrong "
                    "and the one fix. --fix installs the fix into the same environment (snapshot and rollback as "
                    "install) and verifies it. Exit 0 healthy, 1 problems found, 2 bad input.")
    p.add_argument("--python", metavar="PATH",
                   help="the interpreter or environment folder to check (default: the environment of the last "
                        "install, else the detected target Python)")
    add_machine(p, "diagnose against a machine profile (JSON) instead of this machine; the GPU is then not tried")
    p.add_argument("--workdir", metavar="DIR",
                   help="the folder your programs run in (default: the current one): a torch.py there shadows torch")
    p.add_argument("--fix", action="store_true",
                   help="install the proposed fix into the same environment, then verify")
    add_source(p)
    add_json(p, "print the diagnosis as one JSON object")
    p.set_defaults(func=run)


SEVERITY_WORDS = {"error": "ERROR", "warning": "WARN ", "info": "info "}


def print_diagnosis(d: Diagnosis, out: TextIO, evidence: bool = False) -> None:
    """One line per finding, then the fix: what a technician reads aloud."""
    torch = f"torch {d.torch_version}" if d.torch_version else "no torch"
    out.write(f"Doctor: {d.python} ({torch}) on {d.machine_id}\n")
    for note in d.notes:
        out.write(f"  note: {note}\n")
    for f in d.findings:
        out.write(f"  {SEVERITY_WORDS.get(f.severity, f.severity)} {f.code}: {f.message}")
        out.write(f" -> {f.fix}\n" if f.fix else "\n")
        if evidence:
            for line in f.evidence:
                out.write(f"        {line}\n")
    if d.healthy:
        out.write(f"Healthy: torch {d.torch_version} fits this machine.\n" if d.torch_version else "Healthy.\n")
    out.write(f"{d.fix_text}\n")
    if d.fix is not None:
        for action in d.fix.blocking_actions():
            out.write(f"  ! {action.kind}: {action.detail}\n")
        out.write(f"  pip install {' '.join(d.fix.requirements)} --index-url {d.fix.index_url}\n")
        if not d.fix.blocking_actions():
            out.write(f"  (torch-gpu-setup doctor --fix --python {d.python} applies it, with a snapshot to "
                      "roll back)\n")


def _last_install() -> str | None:
    from wizard.core.install.flow import last_install_python

    last = last_install_python()
    return str(last) if last is not None else None


def run(args: argparse.Namespace) -> int:
    """Diagnose, print (or dump JSON), and with ``--fix`` apply the fix; exit 0, 1 or 2."""
    if args.fix and args.machine:
        raise InputError("--fix changes an environment on this machine; it cannot be used with --machine",
                         hint="run torch-gpu-setup doctor --fix on the machine itself")
    machine = None
    if args.machine:
        from wizard.core.model.machine import load_profile

        machine = load_profile(args.machine)
    described = machine is not None
    python = args.python or _last_install()
    if python is None:
        # the detected target Python; the machine detected for it is the one diagnosed against
        from wizard.core.detect import detect_machine

        machine = machine or detect_machine()
        python = machine.python.path if machine.python is not None else None
        if python is None:
            python = default_python()   # says in words that there is nothing to check
    diagnosis = run_doctor(python, machine=machine, described=described, workdir=args.workdir)
    if args.json and not args.fix:
        json.dump(diagnosis.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_HEALTHY if diagnosis.healthy else EXIT_PROBLEMS
    if not args.json:
        print_diagnosis(diagnosis, sys.stdout, evidence=args.verbose)
    if not args.fix or diagnosis.fix is None:
        if args.json:
            json.dump(diagnosis.to_json(), sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
        return EXIT_HEALTHY if diagnosis.healthy else EXIT_PROBLEMS
    return apply_fix(args, diagnosis)


def apply_fix(args: argparse.Namespace, before: Diagnosis) -> int:
    """Install the fix through the install flow, verify, and diagnose again."""
    from wizard.core.install.flow import run_install

    try:
        request = fix_request(before, index_url=args.index_url)
    except WizardError as exc:  # a driver, a Python or a restart first: the person acts
        report(exc, verbose=args.verbose)
        return EXIT_PROBLEMS
    ui = TerminalProgress(sys.stderr)
    try:
        # SIGINT/SIGTERM: the same cancel-and-undo as install's (and the GUI's Cancel button)
        with log_on_failure(ui.lines, "doctor-fix"), cancelling() as cancel:
            outcome = run_install(request, ui, cancel)
    except (Cancelled, InputError, EnvironmentBusy):
        raise   # the documented codes of their own (130, 2, 10), as for install
    except WizardError as exc:  # pip failed: the environment was put back (the hint says so)
        ui.clear()
        report(exc, verbose=args.verbose)
        return EXIT_PROBLEMS
    ui.clear()
    after = run_doctor(str(outcome.python), described=False, workdir=args.workdir)
    if args.json:
        data = after.to_json()
        data["before"] = before.to_json()
        data["verify"] = outcome.verify.to_json() if outcome.verify is not None else None
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        out = sys.stdout
        out.write(f"\nInstalled {' '.join(request.requirements)} into {outcome.target.prefix}\n")
        out.write(f"Undo:     torch-gpu-setup rollback --python {outcome.python}\n")
        if outcome.verify is not None:
            print_result(outcome.verify, out)
        out.write("\nAfter the fix:\n")
        print_diagnosis(after, out, evidence=args.verbose)
    failed = outcome.verify is not None and outcome.verify.verdict == "failed"
    return EXIT_HEALTHY if after.healthy and not failed else EXIT_PROBLEMS
