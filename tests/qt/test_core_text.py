"""Sentences made by the Qt-free core appear in the interface language."""

from __future__ import annotations

import shutil
import string
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.qt.conftest import MACHINES, texts
from tests.qt.test_pages import advance, open_wizard
from wizard.core import messages as M
from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Choices
from wizard.core.plan.planner import make_plan
from wizard.core.text import T, catalog, join
from wizard.qt.build_translations import core_translations, merge_core_catalog
from wizard.qt.i18n import Translations, ts_path
from wizard.qt.state import PageId


@pytest.fixture(autouse=True)
def back_to_english() -> Iterator[None]:
    """The Chinese translator is the application's: later tests expect English."""
    yield
    Translations().switch("en")


NEUTRAL = {M.SENTENCE, M.TWO_SENTENCES, M.COUNTED_NAME}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def has_chinese(text: str) -> bool:
    """Han characters, or CJK punctuation ("、", "；": the list separators)."""
    return any("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
               for ch in text)


def test_every_core_template_has_a_finished_chinese_translation_with_the_same_fields() -> None:
    translations = core_translations(ts_path("zh_CN"))
    for template in catalog():
        translation = translations.get(template)
        assert translation is not None, f"not in the .ts: {template!r}"
        assert translation.get("type") is None and translation.text, f"unfinished: {template!r}"
        assert fields(translation.text) == fields(template), template
        # Only the glue templates are the same in every language ("{first} {second}", "{count} x {name}").
        assert has_chinese(translation.text) or template in NEUTRAL, f"not Chinese: {template!r}"


def test_update_keeps_translations_adds_new_templates_and_drops_old_ones(tmp_path: Path) -> None:
    ts = tmp_path / "zh_CN.ts"
    shutil.copy(ts_path("zh_CN"), ts)
    before = core_translations(ts)
    text = ts.read_text(encoding="utf-8")
    # One template dropped from the file (as if new in the core), one that the core no longer has.
    dropped = M.WHY_NOT_CPU
    text = text.replace(f"<source>{dropped}</source>", "<source>an old sentence</source>")
    ts.write_text(text, encoding="utf-8")
    assert merge_core_catalog(ts) == 1
    after = core_translations(ts)
    assert set(after) == set(catalog())
    assert after[dropped].get("type") == "unfinished"
    assert all(after[t].text == before[t].text for t in catalog() if t != dropped)
    assert ET.parse(ts).getroot().tag == "TS"  # still a valid .ts
    assert ts.read_text(encoding="utf-8").count("<name>core</name>") == 1


def test_core_text_translates_templates_and_their_params(qtbot: QtBot, tmp_path: Path) -> None:
    from wizard.qt.i18n import core_text

    open_wizard(qtbot, tmp_path, MACHINES["no-gpu"], lang="zh_CN")
    text = T(M.VERDICT_RUNS, architecture="Blackwell", code="sm_120", build="torch 2.14.1+cu130",
             how=T(M.HOW_NATIVE))
    shown = core_text(text)
    assert has_chinese(shown) and "Blackwell" in shown and "torch 2.14.1+cu130" in shown
    assert "natively" not in shown and "runs" not in shown
    assert core_text("a name") == "a name"
    # lists read as Chinese lists: "更新驱动、重启", clauses with "；"
    words = join(", ", [T(M.ACTION_KINDS["driver_update"]), T(M.ACTION_KINDS["reboot"])])
    assert str(words) == "a driver update, a restart" and core_text(words) == "更新驱动、重启"
    assert core_text(join("; ", ["a", "b"])) == "a；b"


def test_build_and_drivers_pages_show_the_core_sentences_in_chinese(qtbot: QtBot, tmp_path: Path) -> None:
    from wizard.qt.i18n import core_text

    profile = MACHINES["driver-too-old"]
    plan = make_plan(load_profile(str(profile)), Choices())
    assert plan.recommended is not None and plan.recommended.actions
    wizard = open_wizard(qtbot, tmp_path, profile, lang="zh_CN")
    english = [a.detail for a in plan.recommended.actions] + [b.why_not for b in plan.alternatives if b.why_not]
    english += list(plan.explanation) + list(plan.warnings)
    system_checked = build_checked = drivers_checked = False
    while wizard.currentId() != PageId.SUMMARY:
        advance(qtbot, wizard)
        page_id = PageId(wizard.currentId())
        page = wizard.currentPage()
        qtbot.waitUntil(lambda: wizard.state.plan is not None and (
            page.isComplete() or page_id == PageId.SUMMARY), timeout=10000)  # noqa: B023
        shown = texts(page)
        if page_id == PageId.SYSTEM:
            for verdict in plan.gpus:
                assert verdict.reason not in shown and core_text(verdict.reason) in shown
            system_checked = True
        elif page_id == PageId.BUILD:
            for sentence in english:
                assert sentence not in shown, sentence
            for build in plan.alternatives:
                assert build.why_not and has_chinese(core_text(build.why_not)) and core_text(build.why_not) in shown
            for action in plan.recommended.actions:
                assert has_chinese(core_text(action.detail)) and core_text(action.detail) in shown
            build_checked = True
        elif page_id == PageId.ACTIONS:
            for action in plan.recommended.actions:
                assert action.detail not in shown and core_text(action.detail) in shown
            drivers_checked = True
    # the summary names what is pending, in Chinese, and keeps Install off
    summary = wizard.currentPage()
    assert not summary.isComplete() and "安装暂不可用" in texts(summary)
    assert system_checked and build_checked and drivers_checked
