"""``torch-gpu-setup verify``: prove that torch computes correctly (on the GPU) in an environment."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from wizard.commands.options import add_json
from wizard.core.errors import WizardError
from wizard.core.events import Event, VerifyStageStarted
from wizard.core.install.flow import last_install_python
from wizard.core.verify.facts import stage_facts
from wizard.core.verify.runner import VerifyResult, percent_of_peak, run_verify

VERDICT_WORDS = {
    "gpu-ok": "GPU OK: PyTorch computes correctly and trains on the GPU.",
    "cpu-only": "CPU only: PyTorch works, but no GPU was used.",
    "failed": "FAILED: see the stages marked FAIL.",
}


def register(sub: Any) -> None:
    """Add the ``verify`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "verify", help="run the verification demo in an environment",
        description="Run the verification demo with an interpreter: import, devices, arch, kernels, precision, "
                    "linear regression, training, throughput, multi-GPU. Exit 0 for gpu-ok and cpu-only, "
                    "1 for failed.")
    p.add_argument("--python", metavar="PATH",
                   help="the interpreter whose torch to verify (default: the environment of the last "
                        "successful install, else the detected target Python)")
    p.add_argument("--expect-gpu", action="store_true", help="a missing GPU is a failure, not a skip")
    p.add_argument("--quick", action="store_true", help="fewer training steps and timing rounds")
    add_json(p, "print the result as one JSON object")
    p.set_defaults(func=run)


def _stage_line(stage: Any, percent: dict[str, float | None] | None = None) -> str:
    mark = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}.get(stage.status, stage.status)
    facts = "; ".join(stage_facts(stage, percent))
    line = f"  {mark}  {stage.name:<18} {facts or stage.reason}"
    if stage.status == "fail" and stage.remedy:
        line += f"\n        -> {stage.remedy}"
    return line


def print_result(result: VerifyResult, out: TextIO) -> None:
    """The stages, the percentage of datasheet peak where known, and the verdict."""
    out.write("Verification:\n")
    percent = percent_of_peak(result)
    for stage in result.stages:
        out.write(_stage_line(stage, percent if stage.name == "throughput" else None) + "\n")
    out.write(VERDICT_WORDS.get(result.verdict, result.verdict) + "\n")


def default_python() -> str:
    """The interpreter to verify when none was named.

    Never ``sys.executable``: in a frozen (bundled) wizard that is the app itself. First the
    environment the last successful ``install`` used, then the target Python detection finds.
    """
    last = last_install_python()
    if last is not None:
        return str(last)
    from wizard.core.detect import detect_machine

    found = detect_machine().python
    if found is not None and found.path:
        return found.path
    raise WizardError("no environment to verify: nothing was installed yet and no Python was found",
                      hint="run torch-gpu-setup install first, or name the interpreter with --python PATH")


def run(args: argparse.Namespace) -> int:
    """Verify and print (or dump JSON); exit 1 when the verdict is failed."""
    if not args.python:
        args.python = default_python()
        if not args.json:
            print(f"Verifying {args.python}", file=sys.stderr)
    tty = sys.stderr.isatty() and not args.json

    def on_event(event: Event) -> None:
        if tty and isinstance(event, VerifyStageStarted):
            sys.stderr.write(f"\r  running {event.stage}...".ljust(40))
            sys.stderr.flush()

    result = run_verify(args.python, expect_gpu=args.expect_gpu, quick=args.quick, emit=on_event)
    if tty:
        sys.stderr.write("\r" + " " * 40 + "\r")
    if args.json:
        data = result.to_json()
        data["percent_of_peak"] = percent_of_peak(result)
        data["python"] = str(args.python)
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print_result(result, sys.stdout)
    return 1 if result.verdict == "failed" else 0
