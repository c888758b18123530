"""``torch-gpu-setup report --out FILE.zip``: the support report, redacted, in one zip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wizard.core.errors import WizardError


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report", help="write a support report (.zip with HTML and JSON), personal data redacted",
        description="Gather detection, the plan, the last install and verify logs, pip list of the target, "
                    "driver details and the wizard's version into FILE.zip. User names, home paths, tokens "
                    "and proxy credentials are replaced by placeholders (the host name too, unless "
                    "--keep-hostname).")
    p.add_argument("--python", metavar="PATH", help="the target interpreter (default: python3 on PATH)")
    p.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the zip")
    p.add_argument("--verify", action="store_true", help="also run the quick verification in the target now")
    p.add_argument("--keep-hostname", action="store_true", help="do not redact the host name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; prints its path."""
    from wizard.core.detect import detect_machine
    from wizard.core.helpdesk.support_report import collect_report, write_report_zip
    from wizard.core.plan.planner import make_plan
    from wizard.core.verify.runner import run_verify

    machine = detect_machine(python=args.python) if args.python else detect_machine()
    try:
        plan = make_plan(machine)
    except WizardError as exc:  # the report must come out even when planning fails
        plan = None
        print(f"note: no plan: {exc.one_line()}", file=sys.stderr)
    python = args.python or (machine.python.path if machine.python else None)
    verify = run_verify(python, quick=True) if args.verify and python else None
    report = collect_report(python, machine=machine, plan=plan, verify=verify,
                            redact_hostname=not args.keep_hostname)
    print(write_report_zip(report, Path(args.out)))
    return 0
