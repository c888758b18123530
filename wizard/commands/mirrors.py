"""``torch-gpu-setup mirrors``: which PyTorch source answers fastest from here (the GUI's "find the fastest mirror")."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wizard.commands.options import add_json


def register(sub: Any) -> None:
    """Add the ``mirrors`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "mirrors", help="time every known PyTorch mirror from here, fastest first",
        description="Ask the official index and every known mirror for the torch page of a variant, in parallel, "
                    "and print how long each took to answer. Use the fastest with install --index-url URL.")
    p.add_argument("--variant", metavar="NAME", default="cu126", help="the variant to ask for (default: cu126)")
    p.add_argument("--proxy", metavar="URL", help="the proxy to go through")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Probe and print; exit 0 when at least one source answered, else 6 (network failure)."""
    from wizard.core.fetch.mirror_probe import mirror_candidates, probe_sources
    from wizard.core.fetch.net import NetConfig, make_session

    results = probe_sources(mirror_candidates(args.variant), session=make_session(NetConfig(proxy=args.proxy)))
    if args.json:
        json.dump([{"name": r.name, "url": r.source.location, "kind": r.source.kind, "seconds": r.seconds,
                    "error": r.error} for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in results:
            answer = f"{r.seconds:6.2f} s" if r.ok else f"no answer ({r.error})"
            sys.stdout.write(f"{r.name:<10} {answer:<40} {r.source.location}\n")
    return 0 if any(r.ok for r in results) else 6
