"""Answer files: every choice of an install, written down once and replayed on many machines.

An answer file is TOML (read with ``tomllib``, or its backport ``tomli`` on Python 3.10)::

    [target]
    new_venv = "/opt/torch-env"       # or: venv = "..." (existing) or only python = "..."
    python = "/usr/bin/python3.12"    # the target interpreter (with new_venv: its base)

    [torch]
    version = "newest"                # "newest" (the newest build that runs) or e.g. "2.13.0"
    variant = "auto"                  # "auto" or e.g. "cu126", "cpu"
    exclude_variants = ["cu12*"]      # never these variants (shell-style patterns)
    torchvision = true
    torchaudio = false
    prefer_cpu = false

    [source]
    index_url = "https://download.pytorch.org/whl/cu126"   # or mirror = "nju", or bundle = DIR
    proxy = "http://user:secret@proxy.example:3128"

    [driver]
    policy = "never"                  # never | download-only | install

    [report]
    path = "/var/tmp/torch-gpu-setup-report.zip"
    redact_hostname = true

    [install]
    consent = true                    # may replace an existing torch (snapshot + rollback kept)
    verify = true

The whole file is checked before anything happens: an unknown key or a bad value is named with
its line. Every answer is also a command-line flag (:data:`FIELDS`), and a flag wins over the file.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from wizard.core.helpdesk.exit_codes import ExitCode, ExitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DRIVER_POLICIES = ("never", "download-only", "install")
NEWEST = "newest"
AUTO = "auto"


@dataclass(frozen=True)
class Answers:
    """Every answer of an unattended install; None means "let the wizard decide"."""

    python: str | None = None
    venv: str | None = None
    new_venv: str | None = None
    torch: str = NEWEST
    variant: str = AUTO
    exclude_variants: tuple[str, ...] = ()
    torchvision: bool = True
    torchaudio: bool = False
    prefer_cpu: bool = False
    index_url: str | None = None
    mirror: str | None = None
    proxy: str | None = None
    bundle: str | None = None
    driver_policy: str = "never"
    toolkit: bool = False
    pfid: str | None = None
    driver_dir: str | None = None
    lookup_url: str | None = None
    redist_url: str | None = None
    cudnn_url: str | None = None
    driver_for_profile: bool = False
    report: str | None = None
    redact_hostname: bool = True
    consent: bool = False
    verify: bool = True
    machine: str | None = None


def _known_variants() -> list[str]:
    from wizard.core.knowledge.base import load_knowledge
    from wizard.core.plan.planner import all_variants

    return all_variants(load_knowledge())


def _check_version(value: Any) -> str | None:
    if value == NEWEST:
        return None
    try:
        v = Version(str(value))
    except InvalidVersion:
        return f"'{value}' is not a torch version (use \"newest\" or e.g. \"2.13.0\")"
    return f"'{value}': give the release without a build label (the variant picks it)" if v.local else None


def _check_variant(value: Any) -> str | None:
    if value == AUTO:
        return None
    known = _known_variants()
    return None if value in known else f"unknown variant '{value}' (use \"auto\" or one of: {', '.join(known)})"


def _check_patterns(value: Any) -> str | None:
    known = _known_variants()
    for pattern in value:
        if not any(fnmatch.fnmatchcase(v, pattern) for v in known):
            return f"'{pattern}' matches no variant (known: {', '.join(known)})"
    return None


def _check_choice(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"'{value}' is not one of: {', '.join(choices)}"
    return check


def _check_mirror(value: Any) -> str | None:
    from wizard.core.fetch.net import MIRROR_PRESETS

    return _check_choice(tuple(sorted(MIRROR_PRESETS)))(value)


def _check_url(schemes: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        scheme = str(value).split("://", 1)[0].lower() if "://" in str(value) else ""
        if scheme not in schemes:
            return f"'{_safe(value)}' is not a URL starting with {' or '.join(s + '://' for s in schemes)}"
        return None
    return check


def _safe(value: Any) -> str:
    """A URL for messages, without credentials."""
    from wizard.core.fetch.net import redact_url

    return redact_url(str(value))


def _check_path(value: Any) -> str | None:
    return None if str(value).strip() else "an empty path"


@dataclass(frozen=True)
class Field:
    """One answer: where it sits in the file, its type, its flag and how it is checked."""

    section: str
    key: str
    attr: str
    kind: type
    flag: str
    help: str
    check: Callable[[Any], str | None] | None = None

    @property
    def dotted(self) -> str:
        """``torch.version``: the key's full name."""
        return f"{self.section}.{self.key}"


FIELDS: tuple[Field, ...] = (
    Field("target", "python", "python", str, "--python", "target interpreter (with new_venv: its base)",
          _check_path),
    Field("target", "venv", "venv", str, "--venv", "an existing venv or conda environment", _check_path),
    Field("target", "new_venv", "new_venv", str, "--new-venv", "create a new venv here", _check_path),
    Field("target", "machine", "machine", str, "--machine",
          "plan as for this machine profile instead of detecting (rehearse answers)", _check_path),
    Field("torch", "version", "torch", str, "--torch", '"newest" (newest that runs) or a release',
          _check_version),
    Field("torch", "variant", "variant", str, "--variant", '"auto" or a variant such as cu126, cpu', _check_variant),
    Field("torch", "exclude_variants", "exclude_variants", list, "--exclude-variant",
          "never use these variants (pattern, e.g. 'cu12*'); repeatable", _check_patterns),
    Field("torch", "torchvision", "torchvision", bool, "--torchvision", "also install torchvision"),
    Field("torch", "torchaudio", "torchaudio", bool, "--torchaudio", "also install torchaudio"),
    Field("torch", "prefer_cpu", "prefer_cpu", bool, "--prefer-cpu", "install the CPU build"),
    Field("source", "index_url", "index_url", str, "--index-url", "the PyTorch index URL",
          _check_url(("http", "https", "file"))),
    Field("source", "mirror", "mirror", str, "--mirror", "a mirror preset instead of index_url", _check_mirror),
    Field("source", "proxy", "proxy", str, "--proxy", "proxy URL (credentials are never logged)",
          _check_url(("http", "https", "socks5", "socks5h"))),
    Field("source", "bundle", "bundle", str, "--bundle", "install from this offline bundle, with no network",
          _check_path),
    Field("driver", "policy", "driver_policy", str, "--driver-policy",
          "what may happen about the GPU driver: never | download-only | install", _check_choice(DRIVER_POLICIES)),
    Field("driver", "toolkit", "toolkit", bool, "--toolkit",
          "with download-only/install: also download the CUDA toolkit and cuDNN archives (extensions only)"),
    Field("driver", "pfid", "pfid", str, "--pfid", "NVIDIA product family id for the Windows driver lookup"),
    Field("driver", "download_dir", "driver_dir", str, "--driver-dir",
          "where driver/toolkit installers are downloaded (default: next to the report)", _check_path),
    Field("driver", "lookup_url", "lookup_url", str, "--nvidia-lookup-url",
          "NVIDIA driver lookup service (a mirror of it)", _check_url(("http", "https"))),
    Field("driver", "redist_url", "redist_url", str, "--cuda-redist-url",
          "CUDA redistributables prefix (a mirror of it)", _check_url(("http", "https", "file"))),
    Field("driver", "cudnn_url", "cudnn_url", str, "--cudnn-redist-url",
          "cuDNN redistributables prefix (a mirror of it)", _check_url(("http", "https", "file"))),
    Field("driver", "for_profile", "driver_for_profile", bool, "--driver-for-profile",
          "with machine = PROFILE and policy install: run the driver commands here too (this computer is "
          "one of the machines the profile describes)"),
    Field("report", "path", "report", str, "--report", "write a support report (.zip) here at the end",
          _check_path),
    Field("report", "redact_hostname", "redact_hostname", bool, "--redact-hostname",
          "replace the host name in the report"),
    Field("install", "consent", "consent", bool, "--yes", "consent to replacing an existing torch"),
    Field("install", "verify", "verify", bool, "--verify", "run the verification demo"),
)
_BY_DOTTED = {f.dotted: f for f in FIELDS}
_SECTIONS = sorted({f.section for f in FIELDS})
#: The largest answer file read (issue 15: bounded input). A full answer file is under 2 KB
#: (``dump_answers`` of every field); 1 MiB is far above any real one.
ANSWERS_MAX_CHARS = 1024 * 1024


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "true or false", list: "a list of strings"}[kind]


def _key_lines(text: str) -> dict[str, int]:
    """The line of each ``key = value`` (as ``section.key``) and ``[section]`` in TOML text.

    tomllib gives values without positions; this simple scan finds them for the messages.
    """
    lines: dict[str, int] = {}
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\s*([^\[\]]+?)\s*\]", line)
        if header:
            section = header.group(1).replace('"', "").replace(" ", "")
            lines.setdefault(section, number)
            continue
        key = re.match(r'^([A-Za-z0-9_.\-"\' ]+?)\s*=', line)
        if key:
            name = key.group(1).replace('"', "").replace("'", "").replace(" ", "")
            lines.setdefault(f"{section}.{name}" if section else name, number)
    return lines


def _where(source: str, lines: Mapping[str, int], key: str) -> str:
    number = lines.get(key)
    return f"{source} line {number}" if number else source


def parse_answers(text: str, source: str = "<answers>") -> dict[str, Any]:
    """Check an answer file's text and return its answers by attribute name.

    Raises :class:`ExitError` (exit code 2) naming every problem with its line.
    """
    if len(text) > ANSWERS_MAX_CHARS:
        raise ExitError(ExitCode.BAD_ANSWERS, f"{source}: {len(text)} characters; an answer file holds a few "
                        f"settings (at most {ANSWERS_MAX_CHARS})", hint="give the right file with --answers")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExitError(ExitCode.BAD_ANSWERS, f"{source}: not valid TOML: {exc}",
                        hint="fix the line named; strings need quotes, e.g. version = \"2.13.0\"") from None
    except RecursionError:
        raise ExitError(ExitCode.BAD_ANSWERS, f"{source}: nested too deeply to be an answer file",
                        hint="an answer file holds flat [sections] of settings") from None
    lines = _key_lines(text)
    problems: list[str] = []
    values: dict[str, Any] = {}
    for section, table in doc.items():
        if section not in _SECTIONS or not isinstance(table, dict):
            close = difflib.get_close_matches(section, _SECTIONS, n=1)
            problems.append(f"{_where(source, lines, section)}: unknown section '{section}'"
                            + (f" (did you mean [{close[0]}]?)" if close else
                               f" (known: {', '.join('[' + s + ']' for s in _SECTIONS)})"))
            continue
        for key, value in table.items():
            dotted = f"{section}.{key}"
            where = _where(source, lines, dotted)
            spec = _BY_DOTTED.get(dotted)
            if spec is None:
                keys = [f.key for f in FIELDS if f.section == section]
                close = difflib.get_close_matches(str(key), keys, n=1)
                problems.append(f"{where}: unknown key '{key}' in [{section}]"
                                + (f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(keys)})"))
                continue
            problem = check_value(spec, value)
            if problem:
                problems.append(f"{where}: {dotted}: {problem}")
            else:
                values[spec.attr] = tuple(value) if spec.kind is list else value
    if problems:
        raise ExitError(ExitCode.BAD_ANSWERS, "; ".join(problems),
                        hint="nothing was changed; fix the answer file (see 'For helpdesks' in the README)",
                        details="\n".join(problems))
    _check_combinations(values, source)
    return values


def check_value(spec: Field, value: Any) -> str | None:
    """The problem with one value for ``spec`` (type, then meaning), or None when it is good."""
    if spec.kind is bool and not isinstance(value, bool):
        return f"expected {_type_name(bool)}, got {json.dumps(value, default=str)}"
    if spec.kind is str and not isinstance(value, str):
        return f"expected {_type_name(str)}, got {json.dumps(value, default=str)}"
    if spec.kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return f"expected {_type_name(list)}, got {json.dumps(value, default=str)}"
    return spec.check(value) if spec.check is not None else None


def _check_combinations(values: Mapping[str, Any], source: str) -> None:
    """Answers that exclude each other."""
    for a, b in (("venv", "new_venv"), ("index_url", "mirror"), ("bundle", "index_url"), ("bundle", "mirror")):
        if values.get(a) and values.get(b):
            fa = next(f for f in FIELDS if f.attr == a)
            fb = next(f for f in FIELDS if f.attr == b)
            raise ExitError(ExitCode.BAD_ANSWERS, f"{source}: {fa.dotted} and {fb.dotted} exclude each other",
                            hint=f"keep one of {fa.flag} / {fb.flag}")


def read_answers(path: str | Path) -> dict[str, Any]:
    """Read and check an answer file (see :func:`parse_answers`)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:   # no more than the cap is ever read (a device, a huge file)
            raw = fh.read(ANSWERS_MAX_CHARS + 1)
        # a file over the cap is refused by parse_answers: cut mid-character, it need not decode cleanly
        text = raw.decode("utf-8", "replace" if len(raw) > ANSWERS_MAX_CHARS else "strict")
    except FileNotFoundError:
        raise ExitError(ExitCode.BAD_ANSWERS, f"no answer file at {p}", hint="give the path with --answers") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExitError(ExitCode.BAD_ANSWERS, f"cannot read the answer file {p}: {exc}",
                        hint="it must be a UTF-8 text file") from None
    return parse_answers(text, str(p))


def merge_answers(path: str | Path | None, given: Mapping[str, Any]) -> Answers:
    """The answers of the file at ``path`` (if any) overridden by ``given`` (attr -> value; None: not given).

    Given values are checked like file values; one error names every bad one.
    """
    values: dict[str, Any] = dict(read_answers(path)) if path else {}
    problems: list[str] = []
    for spec in FIELDS:
        value = given.get(spec.attr)
        if value is None:
            continue
        value = list(value) if spec.kind is list else value
        problem = check_value(spec, value)
        if problem:
            problems.append(f"{spec.flag}: {problem}")
        values[spec.attr] = tuple(value) if spec.kind is list else value
    if problems:
        raise ExitError(ExitCode.BAD_ANSWERS, "; ".join(problems), hint="nothing was changed")
    _check_combinations(values, "the answers")
    known = {f.name for f in fields(Answers)}
    return Answers(**{k: v for k, v in values.items() if k in known})


def dump_answers(answers: Answers) -> str:
    """The answers as an answer file (what the GUI saves for "use these settings elsewhere")."""
    out = ["# torch-gpu-setup answer file: torch-gpu-setup install --unattended --answers THIS_FILE"]
    for section in ("target", "torch", "source", "driver", "report", "install"):
        rows = []
        for spec in (f for f in FIELDS if f.section == section):
            value = getattr(answers, spec.attr)
            if value is None:
                continue
            rows.append(f"{spec.key} = {_toml_value(value)}")
        if rows:
            out += ["", f"[{section}]", *rows]
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # JSON strings are valid TOML basic strings (same escapes).
    return json.dumps(str(value), ensure_ascii=False)
