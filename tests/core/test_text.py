"""Translatable sentences: English for the CLI and JSON, templates + params for the GUI."""

from __future__ import annotations

import copy
import json
import pickle
import string
from pathlib import Path

import pytest

from wizard.core import messages as M
from wizard.core.drivers.installers import installers_for
from wizard.core.install import pip_runner
from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Plan
from wizard.core.plan.planner import make_plan
from wizard.core.text import T, Text, catalog, join

PROFILES = sorted((Path(__file__).resolve().parents[1] / "profiles").rglob("*.json"))


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_templates_give_the_english_the_planner_always_gave() -> None:
    # The wording of tests/profiles/extra/ubuntu2404-rtx5090-drv570.json's plan before templates.
    detail = T(M.ACTION_DRIVER_UPDATE, version="570.133.07", driver_cuda="12.8", build="2.14.1+cu130",
               min_driver="580.65.06", cuda="13.0", where=T(M.DRIVER_WHERE_LINUX))
    assert detail == ("Driver 570.133.07 supports CUDA up to 12.8; torch 2.14.1+cu130 needs driver 580.65.06 or "
                      "newer (CUDA 13.0). Install it with your distribution's package manager "
                      "(e.g. 'sudo ubuntu-drivers install').")
    why_not = T(M.WHY_NOT_WORKS_NOW, build="torch 2.14.1+cu130",
                actions=join(", ", [T(M.ACTION_KINDS["driver_update"]), T(M.ACTION_KINDS["reboot"])]))
    assert why_not == ("works as the machine is now, but torch 2.14.1+cu130 is newer; "
                       "it needs: a driver update, a restart")
    verdict = T(M.VERDICT_RUNS, architecture="Blackwell", code="sm_120", build="torch 2.14.1+cu130",
                how=T(M.HOW_NATIVE))
    assert verdict == "Blackwell (sm_120): runs torch 2.14.1+cu130 natively."
    assert verdict.template == M.VERDICT_RUNS and verdict.params["how"].template == M.HOW_NATIVE


def test_a_text_is_still_a_plain_string_everywhere() -> None:
    text = T(M.EXPLAIN_DISK, free="3", need="9")
    assert json.loads(json.dumps({"t": text})) == {"t": "Disk: 3 GiB free, about 9 GiB needed."}
    for clone in (pickle.loads(pickle.dumps(text)), copy.deepcopy(text)):
        assert clone == text and isinstance(clone, Text) and clone.template == M.EXPLAIN_DISK
    assert text.upper().startswith("DISK") and "GiB" in text


def test_catalog_lists_every_template_once_with_valid_fields() -> None:
    templates = catalog()
    assert len(templates) == len(set(templates)) > 100
    assert M.VERDICT_RUNS in templates and M.PIP_DISK_FULL in templates and M.ACTION_KINDS["reboot"] in templates
    for template in templates:
        template.format(**{name: "x" for name in fields(template)})  # no stray braces


def _all_templates_used(value: object, known: set[str], where: str) -> None:
    """Every sentence in ``value`` (and its params) was made from a catalog template."""
    assert isinstance(value, Text), f"{where}: {value!r} is not translatable"
    if value.parts is not None:
        for part in value.parts:
            if isinstance(part, Text):
                _all_templates_used(part, known, where)
        return
    assert value.template in known, f"{where}: {value.template!r} is not in the catalog"
    for param in value.params.values():
        if isinstance(param, Text):
            _all_templates_used(param, known, where)


def _sentences(plan: Plan) -> list[tuple[str, str]]:
    out = [("explanation", s) for s in plan.explanation] + [("warning", s) for s in plan.warnings]
    out += [("gpu verdict", g.reason) for g in plan.gpus]
    for build in ([plan.recommended] if plan.recommended else []) + plan.alternatives:
        out += [("action", a.detail) for a in build.actions]
        out += [("why_not", build.why_not)] if build.why_not is not None else []
    return out


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_every_sentence_of_plans_and_installers_is_translatable(profile: Path) -> None:
    try:
        machine = load_profile(str(profile))
    except Exception:
        pytest.skip("not a loadable machine profile")
    known = set(catalog())
    plan = make_plan(machine)
    # A driver status is a sentence from detection (or a profile), not from the planner.
    status_words = {f"{s.message} {s.hint}".strip() for s in [machine.driver_status] if s is not None}
    for where, sentence in _sentences(plan):
        if sentence not in status_words:
            _all_templates_used(sentence, known, f"{profile.stem} {where}")
    iplan = installers_for(machine, plan, which=lambda _name: None, toolkit=True)
    for step in iplan.steps:
        _all_templates_used(step.title, known, f"{profile.stem} step title")
    for note in iplan.notes:
        _all_templates_used(note, known, f"{profile.stem} installer note")


def test_pip_failures_are_translatable() -> None:
    known = set(catalog())
    for lines in (["No space left on device"], ["ERROR: No matching distribution found for torch==9.9"], []):
        failure = pip_runner.classify_failure(lines, 1)
        _all_templates_used(failure.message, known, "pip message")
        _all_templates_used(failure.hint, known, "pip hint")
    assert "torch==9.9" in pip_runner.classify_failure(["No matching distribution found for torch==9.9"], 1).message
