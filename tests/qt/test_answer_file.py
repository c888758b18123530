"""The GUI saves the person's choices as an answer file that the unattended install reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from tests.qt.conftest import MACHINES
from tests.qt.test_pages import advance, open_wizard
from wizard.core.helpdesk.answers import AUTO, NEWEST, Answers, parse_answers
from wizard.qt.pages import summary
from wizard.qt.state import PageId


def test_summary_saves_the_choices_as_an_answer_file(qtbot: QtBot, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    profile = sorted(MACHINES.values())[0]
    wizard = open_wizard(qtbot, tmp_path, profile)
    while wizard.currentId() != PageId.SUMMARY:
        advance(qtbot, wizard)
    page = wizard.currentPage()
    assert isinstance(page, summary.SummaryPage)
    state = page.state
    target = tmp_path / "lab answers.toml"
    # the file dialog is the edge: it answers with a path, as a person would
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    page.answers_button.click()
    assert target.name in page.note.text()

    values = parse_answers(target.read_text(encoding="utf-8"), str(target))
    read = Answers(**values)
    args = state.target_args()
    assert (read.python, read.venv, read.new_venv) == (args["python"], args["venv"], args["new_venv"])
    assert read.torchvision == state.choices.torchvision and read.torchaudio == state.choices.torchaudio
    assert (read.torch, read.variant) == (NEWEST, AUTO)  # kept as recommended: each machine gets what fits
    assert read.proxy is None and read == summary.answers_from_state(state)

    # an alternative the person picked is pinned
    build = state.plan.alternatives[0] if state.plan and state.plan.alternatives else None
    if build is not None:
        state.choice_index = 1
        page.save_answers(target)
        pinned = Answers(**parse_answers(target.read_text(encoding="utf-8")))
        assert (pinned.torch, pinned.variant) == (build.torch, build.variant)
