"""``torch-gpu-setup data refresh | status``: refresh the knowledge base from the live index."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.core.fetch.net import OFFICIAL_INDEX, NetConfig, make_session, redact_url
from wizard.core.fetch.refresh import DEFAULT_VARIANTS, refresh, status


def register(subparsers: Any) -> None:
    """Add the ``data`` subcommand with ``refresh`` and ``status``."""
    p = subparsers.add_parser("data", help="refresh or show the knowledge base (releases, variants)",
                              description="Read the live index for new releases and variants, or show data ages.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    r = sub.add_parser("refresh", help="read the live index and write the observed-index overlay")
    r.add_argument("--index-url", default=OFFICIAL_INDEX,
                   help=f"index base holding <variant>/<project>/ pages (default {OFFICIAL_INDEX})")
    r.add_argument("--variants", help="comma-separated variants to read (default: all known)")
    r.add_argument("--out", help="write here instead of the user data folder")
    r.add_argument("--proxy", help="proxy URL (wins over HTTP(S)_PROXY)")
    r.set_defaults(func=run)
    s = sub.add_parser("status", help="show the age of the bundled data and of the overlay")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--overlay", help="read this overlay file instead of the default")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``data refresh`` or ``data status``."""
    if args.data_command == "refresh":
        variants = tuple(v.strip() for v in args.variants.split(",") if v.strip()) if args.variants \
            else DEFAULT_VARIANTS
        result = refresh(args.index_url, variants, Path(args.out) if args.out else None,
                         make_session(NetConfig(proxy=args.proxy)))
        versions = {p: len(v) for p, v in result.document["projects"].items()}
        print(f"Read {redact_url(args.index_url)}: " + ", ".join(f"{p} {n} versions" for p, n in versions.items()))
        print(f"Wrote {result.path}")
        for line in result.missing:
            print(f"  skipped {line}", file=sys.stderr)
        return 0
    rows = status(Path(args.overlay) if args.overlay else None)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        age = f"{row['age_days']:.0f} days old" if row.get("age_days") is not None else "age unknown"
        extra = f" - {row['problem']}" if row.get("problem") else ""
        print(f"{row['what']}: {row.get('date') or '-'} ({age}){extra}")
    return 0
