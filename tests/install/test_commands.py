"""The runner: line splitting with incremental UTF-8, \\r progress, cancel, timeout; real children."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from wizard.core.errors import WizardError
from wizard.core.process import Command, LineSplitter, run_command


def test_multibyte_character_split_across_reads_stays_whole() -> None:
    splitter = LineSplitter()
    data = "Grüße ✓\n".encode()
    lines = []
    for i in range(len(data)):  # one byte at a time
        lines += splitter.feed(data[i:i + 1])
    assert lines == ["Grüße ✓"]


def test_cr_is_a_line_end_and_crlf_is_one_line_end_even_across_reads() -> None:
    splitter = LineSplitter()
    lines = splitter.feed(b"10%\r20%\r") + splitter.feed(b"\ndone\r\nlast")
    assert lines + splitter.flush() == ["10%", "20%", "done", "last"]


def test_invalid_utf8_does_not_stop_the_stream() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"caf\xe9\nok\n") == ["caf\ufffd", "ok"]


def _py(code: str) -> Command:
    return Command(argv=(sys.executable, "-c", code))


def test_streams_lines_as_they_come_including_cr_progress() -> None:
    code = ("import sys, time\n"
            "for i in range(3):\n"
            "    sys.stdout.write(f'Progress {i} of 2\\r'); sys.stdout.flush(); time.sleep(0.05)\n"
            "print(); print('é', file=sys.stderr)\n")
    seen: list[tuple[float, str]] = []
    result = run_command(_py(code), on_line=lambda line: seen.append((time.monotonic(), line)))
    assert result.ok
    # "\r" then "\n" is one line end, so print() after the last progress adds no empty line
    assert [line for _, line in seen] == ["Progress 0 of 2", "Progress 1 of 2", "Progress 2 of 2", "é"]
    assert seen[2][0] - seen[0][0] > 0.05  # delivered live, not at the end


def test_env_overrides_and_unset_reach_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGS_KEEP", "kept")
    monkeypatch.setenv("TGS_DROP", "dropped")
    cmd = Command(argv=(sys.executable, "-c", "import os; print(os.environ.get('TGS_KEEP'), "
                                              "os.environ.get('TGS_DROP'), os.environ.get('TGS_SET'))"),
                  env={"TGS_SET": "set"}, unset=("TGS_DROP",))
    assert run_command(cmd).tail == ("kept None set",)


def test_cancel_terminates_then_kills_a_child_that_ignores_sigterm() -> None:
    code = ("import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    cancel = threading.Event()
    start = time.monotonic()
    result = run_command(_py(code), on_line=lambda line: cancel.set(), cancel=cancel, grace_s=0.5)
    assert result.cancelled and not result.ok
    assert result.returncode is not None and result.returncode < 0
    assert time.monotonic() - start < 10


def test_timeout_stops_the_child() -> None:
    result = run_command(_py("import time; time.sleep(60)"), timeout_s=0.5, grace_s=0.5)
    assert result.timed_out and not result.ok and result.duration_s < 10


def test_a_program_that_cannot_start_is_a_wizard_error(tmp_path: object) -> None:
    with pytest.raises(WizardError) as err:
        run_command(Command(argv=("/nonexistent/python3",)))
    assert "could not start /nonexistent/python3" in err.value.message


def test_display_quotes_for_a_shell() -> None:
    cmd = Command(argv=("python", "-m", "pip", "install", "torch==2.1+cpu", "a b"), env={"PYTHONUTF8": "1"})
    assert cmd.display() == "PYTHONUTF8=1 python -m pip install torch==2.1+cpu 'a b'"


def test_every_child_starts_in_its_own_group_and_on_windows_without_a_console() -> None:
    from wizard.core.process import CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, popen_options

    windows = popen_options("win32")
    assert windows == {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW}
    assert CREATE_NO_WINDOW == 0x08000000 and CREATE_NEW_PROCESS_GROUP == 0x200   # Microsoft Learn's values
    assert popen_options("linux") == {"start_new_session": True}


@pytest.mark.parametrize(("text", "kind"), [
    ("https://download.pytorch.org/whl/cu126", "index"),
    ("file:///srv/no-such-wheels", None),       # a file:// URL is a folder: it must exist
    ("C:\\wheels", None),                        # a Windows drive path is a folder, not a URL scheme "c"
    ("ftp://mirror.example/whl", None),
])
def test_sources_a_person_may_type(text: str, kind: str | None) -> None:
    from wizard.core.errors import WizardError
    from wizard.core.fetch.source import parse_source

    if kind is not None:
        assert parse_source(text).kind == kind
        return
    with pytest.raises(WizardError) as err:
        parse_source(text)
    expected = "is not an http(s) URL" if text.startswith("ftp") else "does not exist"
    assert expected in err.value.message
