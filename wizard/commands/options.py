"""Option groups the subcommands share, so that a flag means the same everywhere."""

from __future__ import annotations

import argparse

SOURCE_HELP = ("where the PyTorch wheels come from: an index URL, a find-links page, a local folder or a "
               "file:// URL (default: the plan's index)")


def add_build_choices(parser: argparse.ArgumentParser, *, source: bool = True) -> None:
    """``--torch``, ``--variant`` and (with ``source``) ``--index-url``: which build, and from where."""
    group = parser.add_argument_group("the build")
    group.add_argument("--torch", metavar="VERSION",
                       help="a torch release, e.g. 2.14.1 (default: the newest that runs)")
    group.add_argument("--variant", metavar="NAME", help="cpu, cu126, cu130, rocm7.2, xpu ... (default: the plan's)")
    if source:
        add_source(group)


def add_source(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--index-url``: the PyTorch source, any kind the core's resolver reads (wizard.core.fetch.source)."""
    parser.add_argument("--index-url", metavar="URL", help=SOURCE_HELP)


def add_machine(parser: argparse.ArgumentParser, help_text: str = "plan for a machine profile (JSON) instead of "
                                                                    "this machine") -> None:
    """``--machine PROFILE``: a described machine instead of this one."""
    parser.add_argument("--machine", metavar="PROFILE", help=help_text)


def add_json(parser: argparse.ArgumentParser, help_text: str = "machine-readable output (JSON)") -> None:
    """``--json``."""
    parser.add_argument("--json", action="store_true", help=help_text)
