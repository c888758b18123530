"""Windows display adapters through PowerShell CIM: the absolute path, UTF-8 forced, GBK read back.

Windows PowerShell 5.1 writes the console code page unless told otherwise (cp936 on Chinese
Windows); recorded answers in GBK and in UTF-8 with a byte-order mark (tests/core/fixtures/windows)
must give the same adapters. A fake ``powershell`` script stands in for the process end to end.
"""

from __future__ import annotations

import locale
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.fakes import RecordedRunner, write_script
from wizard.core.detect.host import CommandResult, Host, console_encoding, decode_output, run_command
from wizard.core.detect.windows import (
    POWERSHELL_TIMEOUT_S,
    list_video_controllers,
    parse_video_controllers,
    powershell_path,
)

FIXTURES = Path(__file__).parent / "fixtures" / "windows"
GBK = FIXTURES / "video-controllers-cp936.json"
UTF8_BOM = FIXTURES / "video-controllers-utf8-bom.json"
EXPECTED = [("Intel(R) UHD Graphics 770", "8086:4680", 1024),
            ("Microsoft 基本显示适配器", "10de:2786", None),
            ("誠邁虚拟显示器", None, None)]


def _adapters(text: str) -> list[tuple[str, str | None, int | None]]:
    return [(a.name, a.pci_id, a.memory_mib) for a in parse_video_controllers(text)]


def _windows(tmp_path: Path, run: object, environ: dict[str, str] | None = None) -> Host:
    return Host(system="Windows", release="11", version="10.0.22631", machine="AMD64",
                environ=environ if environ is not None else {"SystemRoot": r"C:\Windows"},
                run=run, home=tmp_path, data_dir=str(tmp_path), cache_dir=str(tmp_path),  # type: ignore[arg-type]
                temp_dir=str(tmp_path))


# --------------------------------------------------------------------------- the decoder


def test_gbk_read_as_utf8_is_invalid_json() -> None:
    """The defect: 誠's second GBK byte is a backslash, so a UTF-8 decode breaks the JSON."""
    raw = GBK.read_bytes()
    assert "誠".encode("gbk")[-1:] == b"\\" and "誠".encode("gbk") in raw
    with pytest.raises(ValueError):
        parse_video_controllers(raw.decode("utf-8", errors="replace"))


@pytest.mark.parametrize("fixture", [GBK, UTF8_BOM], ids=["cp936", "utf8-bom"])
def test_recorded_output_gives_names_and_pci_ids(fixture: Path) -> None:
    text = decode_output(fixture.read_bytes(), "cp936")
    assert not text.startswith("\ufeff")
    assert _adapters(text) == EXPECTED


def test_utf8_wins_over_the_code_page_and_garbage_never_raises() -> None:
    # UTF-8 that happens to be valid is taken as UTF-8, whatever the fallback
    assert decode_output("显示".encode(), "cp936") == "显示"
    # not UTF-8 and not the code page either: characters are lost, nothing raises
    assert decode_output(b"\xff\xfe\x81", "cp936").endswith("\ufffd")
    assert decode_output(b"\x81\x82", "no-such-codec") == "\ufffd\ufffd"
    assert decode_output(None, "cp936") == ""


def test_console_encoding_is_the_oem_code_page_on_windows() -> None:
    assert console_encoding("Windows", lambda: 936) == "cp936"
    assert console_encoding("Windows", lambda: 437) == "cp437"
    # no code page (the call failed) or one Python has no codec for: the locale's encoding
    assert console_encoding("Windows", lambda: 0) == locale.getpreferredencoding(False)
    assert console_encoding("Windows", lambda: 59999) == locale.getpreferredencoding(False)
    assert console_encoding("Linux", lambda: 936) == locale.getpreferredencoding(False)


# --------------------------------------------------------------------------- the command


def test_powershell_by_absolute_path_with_utf8_forced_and_time_to_start(tmp_path: Path) -> None:
    runner = RecordedRunner({"powershell.exe": (0, decode_output(GBK.read_bytes(), "cp936"))})
    seen: list[float] = []

    def run(argv: Sequence[str], timeout: float) -> CommandResult:
        seen.append(timeout)
        return runner(argv, timeout)

    notes: list[str] = []
    adapters = list_video_controllers(_windows(tmp_path, run, {"SystemRoot": r"D:\Win"}), notes)
    assert [(a.name, a.pci_id) for a in adapters] == [(n, p) for n, p, _ in EXPECTED] and notes == []
    argv = runner.calls[0]
    assert argv[0] == r"D:\Win\System32\WindowsPowerShell\v1.0\powershell.exe"
    script = argv[argv.index("-Command") + 1]
    # the encoding is set before anything is printed; one line, as one -Command argument
    assert "\n" not in script
    assert script.index("[Console]::OutputEncoding") < script.index("$OutputEncoding") < script.index("Get-CimInstance")
    assert seen == [POWERSHELL_TIMEOUT_S] and POWERSHELL_TIMEOUT_S >= 30
    # SystemRoot missing (a cleaned environment): the default Windows folder, never the bare name
    assert powershell_path(_windows(tmp_path, run, {})) == r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    assert powershell_path(_windows(tmp_path, run, {"SYSTEMROOT": r"E:\W"})).startswith("E:\\W\\System32\\")


def _fake_powershell(tmp_path: Path, utf8: Path, code_page: Path) -> Path:
    """PowerShell as the wizard sees it: UTF-8 when the script sets the output encoding, else the code page.

    ``FAKE_PS_REFUSE`` set: setting the encoding is refused (Constrained Language mode), so the
    console code page is written anyway.
    """
    return write_script(tmp_path / "ps" / "powershell", f"""
for arg in "$@"; do script="$arg"; done
case "$script" in
  *'[Console]::OutputEncoding'*) if [ -z "$FAKE_PS_REFUSE" ]; then cat '{utf8}'; exit 0; fi ;;
esac
cat '{code_page}'
""")


@pytest.mark.parametrize("refuse", [False, True], ids=["utf8-honoured", "code-page-anyway"])
def test_end_to_end_through_a_fake_powershell(tmp_path: Path, refuse: bool) -> None:
    fake = _fake_powershell(tmp_path, UTF8_BOM, GBK)
    env = {"FAKE_PS_REFUSE": "1"} if refuse else {}
    calls: list[str] = []

    def run(argv: Sequence[str], timeout: float) -> CommandResult:
        calls.append(argv[0])  # the Windows path; here the fake stands in for it
        return run_command([str(fake), *argv[1:]], timeout, env, fallback_encoding="cp936")

    notes: list[str] = []
    adapters = list_video_controllers(_windows(tmp_path, run), notes)
    assert [(a.name, a.pci_id, a.memory_mib) for a in adapters] == EXPECTED, notes
    assert calls == [r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"]

