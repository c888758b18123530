"""``torch-gpu-setup bundle``: everything an offline install needs, in one folder.

Targets are real interpreters (``--python``, detected there) and machine profiles
(``--machine``, for machines you cannot reach); without either, this machine's python3.
Exit codes: 0 written, 2 bad input, 5 no build fits a target, 6 network failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wizard.commands.options import add_build_choices, add_source
from wizard.core.errors import WizardError
from wizard.core.fetch.net import NetConfig, NetworkError, make_session
from wizard.core.helpdesk.exit_codes import ExitCode, ExitError
from wizard.core.model.machine import Machine


def register(subparsers: Any) -> None:
    """Add the ``bundle`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bundle", help="write an offline bundle: every wheel for the planned build, with a manifest",
        description="Plan the build for each target, download torch, its companions and every dependency for "
                    "that target, and write bundle.json (sha256 of every file, the plan per target). "
                    "Install it elsewhere with: torch-gpu-setup install --bundle DIR")
    p.add_argument("--python", action="append", default=[], metavar="PATH",
                   help="a target interpreter (repeatable)")
    p.add_argument("--machine", action="append", default=[], metavar="PROFILE",
                   help="a target machine profile, JSON (repeatable; see tests/profiles/SCHEMA.md)")
    add_build_choices(p, source=False)
    p.add_argument("--no-torchvision", dest="torchvision", action="store_false", help="leave torchvision out")
    p.add_argument("--torchaudio", action="store_true", help="add torchaudio")
    add_source(p)
    p.add_argument("--proxy", metavar="URL", help="proxy URL; credentials never appear in logs")
    p.add_argument("--with-installers", action="store_true",
                   help="also store what each target needs from NVIDIA: the Windows driver (Linux drivers come "
                        "from the distribution's packages)")
    p.add_argument("--toolkit", action="store_true",
                   help="with --with-installers: also the CUDA toolkit and cuDNN archives (extensions only)")
    p.add_argument("--pfid", help="NVIDIA product family id for the Windows driver lookup")
    p.add_argument("--lookup-url", help=argparse.SUPPRESS)   # tests and mirrors: the lookup service base
    p.add_argument("--redist-url", help=argparse.SUPPRESS)   # tests and mirrors: the CUDA redist prefix
    p.add_argument("--cudnn-url", help=argparse.SUPPRESS)
    p.add_argument("--out", required=True, metavar="DIR", help="the bundle folder (created)")
    p.set_defaults(func=run)


def _targets(args: argparse.Namespace) -> list[Machine]:
    from wizard.core.detect import detect_machine
    from wizard.core.model.machine import load_profile

    machines = [load_profile(path) for path in args.machine]
    for python in args.python:
        machine = detect_machine(python=python)
        machines.append(machine)
    if not machines:
        machines.append(detect_machine())
    return machines


def run(args: argparse.Namespace) -> int:
    """Make the bundle; prints the manifest path. Returns a documented exit code."""
    from wizard.core.helpdesk.bundle import InstallerOptions, make_bundle
    from wizard.core.model.plan import Choices

    try:
        machines = _targets(args)
        choices = Choices(torch=args.torch, variant=args.variant, torchvision=args.torchvision,
                          torchaudio=args.torchaudio)
        if args.toolkit and not args.with_installers:
            raise WizardError("--toolkit needs --with-installers", hint="add --with-installers")
        installers = InstallerOptions(toolkit=args.toolkit, pfid=args.pfid, lookup_base=args.lookup_url,
                                      redist_prefix=args.redist_url, cudnn_prefix=args.cudnn_url) \
            if args.with_installers else None
        manifest = make_bundle(machines, choices, Path(args.out), index_url=args.index_url,
                               session=make_session(NetConfig(proxy=args.proxy)),
                               on_status=lambda text: print(f"- {text}", file=sys.stderr, flush=True),
                               installers=installers)
    except ExitError as exc:
        print(f"torch-gpu-setup: error: {exc.one_line()}", file=sys.stderr)
        return int(exc.code)
    except NetworkError as exc:
        print(f"torch-gpu-setup: error: {exc.one_line()}", file=sys.stderr)
        return int(ExitCode.NETWORK_FAILURE)
    except WizardError as exc:
        print(f"torch-gpu-setup: error: {exc.one_line()}", file=sys.stderr)
        return int(ExitCode.BAD_ANSWERS)
    print(manifest)
    return 0
