"""The answer-file parser on good and bad files, and flags over the file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from wizard.commands.unattended import answers_from
from wizard.core.helpdesk.answers import Answers, dump_answers, parse_answers, read_answers
from wizard.core.helpdesk.exit_codes import ExitCode, ExitError

GOOD = """\
# lab machines
[target]
new_venv = "/opt/torch-env"
python = "/usr/bin/python3.12"

[torch]
version = "2.13.0"
exclude_variants = ["cu12*"]
torchaudio = true

[source]
mirror = "nju"
proxy = "http://alice:s3cret@proxy.example:3128"

[driver]
policy = "download-only"

[report]
path = "/var/tmp/report.zip"

[install]
consent = true
"""


def test_good_file_gives_every_answer() -> None:
    values = parse_answers(GOOD, "lab.toml")
    assert values == {
        "new_venv": "/opt/torch-env", "python": "/usr/bin/python3.12", "torch": "2.13.0",
        "exclude_variants": ("cu12*",), "torchaudio": True, "mirror": "nju",
        "proxy": "http://alice:s3cret@proxy.example:3128", "driver_policy": "download-only",
        "report": "/var/tmp/report.zip", "consent": True,
    }


@pytest.mark.parametrize(("text", "words"), [
    ('[torch]\nversoin = "2.13.0"\n', ["lab.toml line 2", "unknown key 'versoin'", "did you mean 'version'"]),
    ('[tourch]\nversion = "2.13.0"\n', ["lab.toml line 1", "unknown section 'tourch'", "[torch]"]),
    ('[target]\npython = "/usr/bin/python3"\n\n[driver]\npolicy = "sometimes"\n',
     ["lab.toml line 5", "driver.policy", "never, download-only, install"]),
    ('[torch]\ntorchvision = "yes"\n', ["line 2", "expected true or false"]),
    ('[torch]\nversion = "2.13.0+cu126"\n', ["line 2", "without a build label"]),
    ('[torch]\nvariant = "cu999"\n', ["line 2", "unknown variant 'cu999'"]),
    ('[torch]\nexclude_variants = ["cuda12"]\n', ["line 2", "'cuda12' matches no variant"]),
    ('[source]\nproxy = "proxy.example:3128"\n', ["line 2", "not a URL"]),
    ('[torch]\nversion = 2.13\n', ["line 2", "expected a string"]),
    ('[torch\nversion = "2"\n', ["not valid TOML", "line 1"]),
])
def test_bad_files_are_named_with_their_line(text: str, words: list[str]) -> None:
    with pytest.raises(ExitError) as info:
        parse_answers(text, "lab.toml")
    assert info.value.code == ExitCode.BAD_ANSWERS
    for word in words:
        assert word in info.value.message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ExitError) as info:
        parse_answers('[torch]\nversoin = "1"\n[driver]\npolicy = "x"\n', "a.toml")
    assert "a.toml line 2" in info.value.message and "a.toml line 4" in info.value.message


def test_excluding_answers_and_credentials_stay_out_of_messages() -> None:
    with pytest.raises(ExitError, match=r"source\.index_url and source\.mirror exclude each other"):
        parse_answers('[source]\nindex_url = "https://x.example/whl/cpu"\nmirror = "nju"\n', "a.toml")
    with pytest.raises(ExitError) as info:
        parse_answers('[source]\nproxy = "ftp://bob:hunter2@proxy:21"\n', "a.toml")
    assert "hunter2" not in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExitError, match="no answer file"):
        read_answers(tmp_path / "nope.toml")


def _args(**kw: object) -> argparse.Namespace:
    from wizard.commands.install import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    argv = ["install"]
    for key, value in kw.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return parser.parse_args(argv)


def test_flags_win_over_the_file_and_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(GOOD)
    answers = answers_from(_args(answers=path, driver_policy="never", torch="2.14.1", no_torchaudio=True))
    assert answers.driver_policy == "never" and answers.torch == "2.14.1" and answers.torchaudio is False
    assert answers.mirror == "nju" and answers.consent is True  # the rest from the file
    with pytest.raises(ExitError, match="--driver-policy: 'always' is not one of"):
        answers_from(_args(driver_policy="always"))


def test_dump_round_trips() -> None:
    answers = Answers(new_venv="/opt/env", torch="2.13.0", exclude_variants=("cu12*",), proxy="http://p:3128",
                      driver_policy="install", consent=True)
    values = parse_answers(dump_answers(answers), "saved.toml")
    assert Answers(**values) == answers
