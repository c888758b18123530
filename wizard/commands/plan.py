"""``torch-gpu-setup plan``: which PyTorch build fits this machine (or a profile), and why."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wizard.commands.options import add_build_choices, add_json, add_machine
from wizard.core.model.machine import Machine, load_profile
from wizard.core.model.plan import Choices, Plan
from wizard.core.plan.planner import make_plan


def register(sub: Any) -> None:
    """Add the ``plan`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "plan", help="choose the PyTorch build for this machine and say why",
        description="Choose the newest PyTorch build that runs on this machine's GPUs with its driver, "
                    "OS and Python. --machine plans offline for a machine profile instead.")
    add_machine(p)
    p.add_argument("--python", metavar="PATH", help="the interpreter that will receive PyTorch")
    add_build_choices(p, source=False)
    p.add_argument("--no-torchvision", action="store_true", help="do not plan torchvision")
    p.add_argument("--torchaudio", action="store_true", help="plan torchaudio too")
    p.add_argument("--cpu", action="store_true", help="prefer the CPU build")
    add_json(p, "print the plan contract as JSON")
    p.set_defaults(func=run)


def machine_for(args: argparse.Namespace) -> Machine:
    """The machine a command works on: a profile when --machine is given, else this one."""
    if getattr(args, "machine", None):
        return load_profile(args.machine)
    from wizard.core.detect import detect_machine

    python = getattr(args, "python", None)
    return detect_machine(python=python) if python else detect_machine()


def run(args: argparse.Namespace) -> int:
    """Plan and print; exit 0 for any plan status."""
    machine = machine_for(args)
    choices = Choices(torch=args.torch, variant=args.variant, torchvision=not args.no_torchvision,
                      torchaudio=args.torchaudio, prefer_cpu=args.cpu)
    plan = make_plan(machine, choices)
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_plan(plan, machine))
    return 0


STATUS_WORDS = {
    "ready": "Ready: this build runs on the machine as it is.",
    "action_required": "Action required first (see below).",
    "unsupported": "No PyTorch build fits this machine.",
}


def render_plan(plan: Plan, machine: Machine) -> str:
    """A short human-readable table with the reasons."""
    lines = [f"Machine: {machine.description or machine.id}", f"Status:  {STATUS_WORDS[plan.status]}"]
    rec = plan.recommended
    if rec is not None:
        lines += ["", f"Recommended: {rec.label()}  ({rec.device})", f"  index:   {rec.index_url}",
                  f"  install: pip install {' '.join(rec.requirements)} --index-url {rec.index_url}"]
        for a in rec.actions:
            lines.append(f"  ! {a.kind}" + (f" (>= {a.min_version})" if a.min_version else "") + f": {a.detail}")
    if plan.gpus:
        lines += ["", "GPUs:"]
        width = max(len(g.name) for g in plan.gpus)
        for g in plan.gpus:
            lines.append(f"  {'yes' if g.supported else 'no ':3}  {g.name:<{width}}  {g.reason}")
    if plan.alternatives:
        lines += ["", "Alternatives:"]
        for b in plan.alternatives:
            lines.append(f"  - {b.label()}: {b.why_not}")
    if plan.warnings:
        lines += ["", "Warnings:"] + [f"  * {w}" for w in plan.warnings]
    lines += ["", "Why:"] + [f"  {i}. {e}" for i, e in enumerate(plan.explanation, 1)]
    return "\n".join(lines) + "\n"
