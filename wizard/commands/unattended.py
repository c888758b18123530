"""``install --unattended/--answers/--bundle``: the command-line face of the unattended flow.

The flow itself (:func:`wizard.core.helpdesk.unattended.run_unattended`) takes :class:`Answers`;
here they are read from the answer file and the flags (a flag wins), the steps go to stderr, the
summary and the ``TGS-RESULT`` line to stdout, and the exit code is the documented one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wizard.commands.stopping import cancelling
from wizard.core.helpdesk.answers import FIELDS, Answers, merge_answers
from wizard.core.helpdesk.exit_codes import ExitCode, ExitError
from wizard.core.helpdesk.unattended import RESULT_PREFIX, RunLog, run_unattended

#: Flags ``install`` already has (same meaning); the other answers get their flags here.
INSTALL_OWN_FLAGS = {"--python", "--venv", "--new-venv", "--torch", "--variant", "--index-url", "--yes", "--verify"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--unattended``, ``--answers`` and every answer's flag to ``install``'s parser."""
    parser.add_argument("--unattended", action="store_true",
                        help="run the whole install with no questions; the exit code says how it ended")
    parser.add_argument("--answers", metavar="FILE", help="TOML answer file (see 'For helpdesks' in the README)")
    add_answer_flags(parser, INSTALL_OWN_FLAGS)


def add_answer_flags(parser: argparse.ArgumentParser, skip: set[str]) -> None:
    """Add the flag of every answer not already in ``parser`` (``skip``: flags it has)."""
    group = parser.add_argument_group("answers (each also settable in the --answers file; a flag wins)")
    for spec in FIELDS:
        if spec.flag in skip:
            continue
        if spec.kind is bool:
            group.add_argument(spec.flag, dest=spec.attr, action=argparse.BooleanOptionalAction, default=None,
                               help=spec.help)
        elif spec.kind is list:
            group.add_argument(spec.flag, dest=spec.attr, action="append", default=None, metavar="PATTERN",
                               help=spec.help)
        else:
            group.add_argument(spec.flag, dest=spec.attr, default=None, metavar=spec.key.upper(), help=spec.help)


def answers_from(args: argparse.Namespace) -> Answers:
    """The answers of ``--answers FILE`` overridden by the flags given on the command line.

    ``install``'s own flags keep their meaning: ``--yes`` is consent, ``--no-verify`` turns
    verification off. Flag values are checked like file values.
    """
    given: dict[str, Any] = {spec.attr: getattr(args, spec.attr, None) for spec in FIELDS}
    given["consent"] = True if getattr(args, "yes", False) else None
    given["verify"] = False if getattr(args, "no_verify", False) else given.get("verify")
    return merge_answers(getattr(args, "answers", None), given)


def wants_unattended(args: argparse.Namespace) -> bool:
    """Whether ``install`` runs this flow: asked for, or an answer file, a bundle or any answer
    flag that only this flow understands (``--proxy``, ``--driver-policy`` ...) given."""
    own = [f.attr for f in FIELDS if f.flag not in INSTALL_OWN_FLAGS]
    return bool(getattr(args, "unattended", False) or getattr(args, "answers", None)
                or any(getattr(args, attr, None) is not None for attr in own))


def run_cli(args: argparse.Namespace) -> int:
    """Run, print the summary and the result line; the exit code is the documented one."""
    try:
        answers = answers_from(args)
    except ExitError as exc:
        print(f"torch-gpu-setup: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return int(exc.code)
    log = RunLog(echo=lambda text: print(f"- {text}", file=sys.stderr, flush=True))
    try:
        with cancelling() as cancel:  # SIGINT/SIGTERM: cancel, put the environment back, exit 130
            result = run_unattended(answers, log, cancel=cancel)
    except KeyboardInterrupt:
        print("torch-gpu-setup: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if result.code not in (ExitCode.SUCCESS, ExitCode.SUCCESS_CPU_ONLY):
        print(f"torch-gpu-setup: {result.message}", file=sys.stderr)
    else:
        print(result.message)
    if result.outcome is not None:
        print(f"Activate: {result.outcome.activate}")
    if result.report is not None:
        print(f"Report: {result.report}")
    print(RESULT_PREFIX + json.dumps(result.to_json(), ensure_ascii=False))
    return int(result.code)
