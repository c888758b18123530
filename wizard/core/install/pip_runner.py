"""pip command lines and pip output, as pure functions.

Builders return :class:`~wizard.core.process.Command` objects for the TARGET interpreter
(``<python> -m pip ...``, never the wizard's own ``sys.executable``). Everything the wizard does
not have to decide is left to the user's pip configuration: no ``--isolated``, and ``PIP_*``
variables pass through, so proxies, certificates, mirrors and extra indexes keep working. The
wizard adds only what it must:

* ``--index-url`` for the PyTorch index (that is where the ``+cu126`` builds live; this is what
  pytorch.org's own install command does) and ``--find-links DIR`` for the local wheelhouse;
* ``PYTHONNOUSERSITE=1`` so a torch in the user site cannot satisfy (or shadow) the install;
* ``PYTHONUTF8=1`` so output decodes the same on Windows code pages;
* ``--no-input`` so a proxy password prompt fails instead of hanging with no terminal;
* ``--progress-bar=raw`` when the target's pip has it (machine-readable progress lines).

Output parsing turns lines into progress fractions and the "Successfully installed" list, and
:func:`classify_failure` turns a failed run into a message plus a hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.events import PipProgress as PipProgress  # pip's progress is an event of the flow
from wizard.core.process import Command
from wizard.core.text import T

# ``--progress-bar=raw`` first shipped in pip 24.1 (pip's 24.1 changelog; pip 24.0 and older
# reject it: "invalid choice: 'raw'"). Checked here against the code itself: pip 23.2.1's
# cli/cmdoptions.py offers choices ["on", "off"], pip 26.2.1's ["auto", "on", "off", "raw"].
PIP_MIN_RAW_PROGRESS = Version("24.1")

#: The environment every pip command gets on top of the caller's.
PIP_ENV: dict[str, str] = {"PYTHONNOUSERSITE": "1", "PYTHONUTF8": "1"}


def pip_supports_raw_progress(pip_version: str | None) -> bool:
    """True when a pip of this version accepts ``--progress-bar=raw``."""
    if not pip_version:
        return False
    try:
        return Version(pip_version) >= PIP_MIN_RAW_PROGRESS
    except InvalidVersion:
        return False


def _pip(python: str | Path, *args: str, cwd: str | None = None) -> Command:
    return Command(argv=(str(python), "-m", "pip", *args), env=dict(PIP_ENV), cwd=cwd)


def install_command(
    python: str | Path,
    requirements: Sequence[str],
    *,
    index_url: str | None = None,
    find_links: Iterable[str | Path] = (),
    pip_version: str | None = None,
    constraints: Iterable[str | Path] = (),
    extra_args: Sequence[str] = (),
) -> Command:
    """``<python> -m pip install`` for exact requirements such as ``torch==2.14.1+cu126``.

    ``index_url`` replaces the *index* only; the user's extra indexes, find-links, proxy,
    certificate and constraint settings still apply. ``find_links`` are local wheelhouse
    directories searched first for the big wheels.
    """
    if not requirements:
        raise ValueError("install_command needs at least one requirement")
    args: list[str] = ["install", "--no-input"]
    if pip_supports_raw_progress(pip_version):
        args.append("--progress-bar=raw")
    if index_url:
        args += ["--index-url", index_url]
    for directory in find_links:
        args += ["--find-links", str(directory)]
    for path in constraints:
        args += ["--constraint", str(path)]
    args += list(extra_args)
    args += list(requirements)
    return _pip(python, *args)


def uninstall_command(python: str | Path, names: Sequence[str]) -> Command:
    """``<python> -m pip uninstall -y NAMES``."""
    return _pip(python, "uninstall", "--no-input", "-y", *names)


def reinstall_command(
    python: str | Path, pins: Sequence[str], extra_index_urls: Iterable[str] = ()
) -> Command:
    """Reinstall recorded versions exactly, without touching their dependencies (rollback)."""
    args = ["install", "--no-input", "--no-deps", "--force-reinstall"]
    for url in extra_index_urls:
        args += ["--extra-index-url", url]
    return _pip(python, *args, *pins)


def pip_config_list_command(python: str | Path) -> Command:
    """``pip config list``: the user's effective pip settings (to chain their constraints)."""
    return _pip(python, "config", "list")


# ---------------------------------------------------------------- output parsing

# Forms seen in pip's raw progress (pip/_internal/cli/progress_bars.py):
#   24.1 .. 25.0:  "Progress 1048576 of 191794682"
#   25.1+:         "  Progress 1048576 of 191794682 bytes"   ("?" when the size is unknown)
#   batched 25.x:  "  Progress 45.2% 86736896 of 191794682 bytes"
_PROGRESS_RE = re.compile(r"^\s*Progress\s+(?:[\d.?]+%\s+)?(\d+)\s+of\s+(\d+|\?)(?:\s+bytes)?\s*$")
_SUCCESS_RE = re.compile(r"^\s*Successfully installed\s+(.+?)\s*$")
_COLLECTING_RE = re.compile(r"^\s*Collecting\s+(\S+)")
_DOWNLOADING_RE = re.compile(r"^\s*Downloading\s+(\S+)(?:\s+\(([^)]*)\))?")
_INSTALLING_RE = re.compile(r"^\s*Installing collected packages:\s*(.+?)\s*$")


def parse_progress(line: str) -> PipProgress | None:
    """A raw progress line as bytes done / total, or None for any other line."""
    match = _PROGRESS_RE.match(line)
    if match is None:
        return None
    total = None if match.group(2) == "?" else int(match.group(2))
    return PipProgress(done=int(match.group(1)), total=total)


def _split_name_version(item: str) -> tuple[str, str]:
    # "typing-extensions-4.12.2" / "torch-2.14.1+cu126": the version is the last dash part that
    # starts with a digit (names may contain dashes, versions never do).
    name, _, version = item.rpartition("-")
    return (name, version) if name and version[:1].isdigit() else (item, "")


def parse_installed(line: str) -> list[tuple[str, str]] | None:
    """``Successfully installed a-1.0 b-2.0`` as ``[("a", "1.0"), ("b", "2.0")]``; else None."""
    match = _SUCCESS_RE.match(line)
    if match is None:
        return None
    return [_split_name_version(item) for item in match.group(1).split()]


@dataclass(frozen=True)
class PipStep:
    """What a pip output line says pip is doing now, for a status label."""

    kind: str  # "collecting" | "downloading" | "installing" | "installed"
    text: str


def parse_step(line: str) -> PipStep | None:
    """The step a line announces (Collecting / Downloading / Installing), or None."""
    for kind, regex in (
        ("collecting", _COLLECTING_RE),
        ("downloading", _DOWNLOADING_RE),
        ("installing", _INSTALLING_RE),
    ):
        match = regex.match(line)
        if match is not None:
            text = match.group(1)
            if kind == "downloading":
                text = text.rsplit("/", 1)[-1]
                if match.group(2):
                    text += f" ({match.group(2)})"
            return PipStep(kind, text)
    if _SUCCESS_RE.match(line):
        return PipStep("installed", line.strip())
    return None


@dataclass(frozen=True)
class PipLine:
    """One line of pip's output read once for every face (CLI and GUI alike).

    ``progress`` for a raw progress line (then nothing else is set), ``status`` for a step
    worth showing ("downloading torch-….whl"), ``installed`` for the "Successfully installed" list.
    """

    progress: PipProgress | None = None
    status: str | None = None  # a Text (translatable)
    installed: list[tuple[str, str]] | None = None


def read_line(line: str) -> PipLine:
    """What one output line of ``pip install`` means."""
    progress = parse_progress(line)
    if progress is not None:
        return PipLine(progress=progress)
    step = parse_step(line)
    status = T(M.PIP_STEPS[step.kind], name=step.text) if step is not None and step.kind in M.PIP_STEPS else None
    return PipLine(status=status, installed=parse_installed(line))


# ---------------------------------------------------------------- failure classification


@dataclass(frozen=True)
class PipFailure:
    """A failed pip run in words: ``kind`` for code, ``message`` and ``hint`` for a person."""

    kind: str
    message: str
    hint: str
    details: str


# Checked in this order: the first kind whose pattern appears wins. Root causes come before
# their consequences (a network error makes pip also say "No matching distribution").
_FAILURE_RULES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "externally_managed",
        ("externally-managed-environment", "externally managed"),
        M.PIP_EXTERNALLY_MANAGED,
        M.PIP_EXTERNALLY_MANAGED_HINT,
    ),
    (
        "hash_mismatch",
        ("DO NOT MATCH THE HASHES", "hash mismatch", "Expected sha256"),
        M.PIP_HASH_MISMATCH,
        M.PIP_HASH_MISMATCH_HINT,
    ),
    (
        # pip's words for a wheel that is not a zip (pip/_internal/utils/unpacking.py, "Wheel ... is invalid")
        "invalid_wheel",
        ("is invalid.", "BadZipFile", "File is not a zip file", "has an invalid wheel"),
        M.PIP_INVALID_WHEEL,
        M.PIP_INVALID_WHEEL_HINT,
    ),
    (
        "disk_full",
        ("No space left on device", "[Errno 28]", "There is not enough space on the disk"),
        M.PIP_DISK_FULL,
        M.PIP_DISK_FULL_HINT,
    ),
    (
        "tls",
        ("CERTIFICATE_VERIFY_FAILED", "SSLError", "SSL: ", "certificate verify failed"),
        M.PIP_TLS,
        M.PIP_TLS_HINT,
    ),
    (
        "proxy",
        ("ProxyError", "407 Proxy Authentication", "Tunnel connection failed", "Cannot connect to proxy"),
        M.PIP_PROXY,
        M.PIP_PROXY_HINT,
    ),
    (
        "network",
        (
            "NewConnectionError",
            "Failed to establish a new connection",
            "Max retries exceeded",
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "Read timed out",
            "Connection broken",
            "not enough bytes",
            "IncompleteDownload",
            "IncompleteRead",
            "ConnectionResetError",
            "Connection reset",
            "RemoteDisconnected",
            "Temporary failure in name resolution",
            "Name or service not known",
            "getaddrinfo failed",
            "Could not fetch URL",
            "ChunkedEncodingError",
            "ProtocolError",
            "HTTP error 5",
            "503 Service",
        ),
        M.PIP_NETWORK,
        M.PIP_NETWORK_HINT,
    ),
    (
        "permission_denied",
        ("[Errno 13]", "Permission denied", "[WinError 5]", "Access is denied", "Read-only file system",
         "[Errno 30]", "[Errno 1] Operation not permitted"),
        M.PIP_PERMISSION,
        M.PIP_PERMISSION_HINT,
    ),
    (
        "dependency_conflict",
        ("ResolutionImpossible", "conflicting dependencies", "Cannot install", "conflict is caused by"),
        M.PIP_CONFLICT,
        M.PIP_CONFLICT_HINT,
    ),
    (
        "no_matching_distribution",
        ("No matching distribution found", "Could not find a version that satisfies"),
        M.PIP_NO_MATCH,
        M.PIP_NO_MATCH_HINT,
    ),
)


def _requirement_in(lines: Sequence[str]) -> str | None:
    for line in lines:
        match = re.search(r"(?:satisfies the requirement|distribution found for)\s+(\S+)", line)
        if match:
            return match.group(1)
    return None


_RICH_BYTES_RE = re.compile(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)\s*(?:bytes|kB|MB|GB)\b")


def _broken_download(lines: Sequence[str]) -> str | None:
    """'131.6/263.3 kB' when the last download progress shown stopped short of its total.

    pip before 25 does not notice a connection closed early: it hashes the short file and
    reports a hash mismatch. The progress line printed just before tells the two apart.
    """
    last: tuple[float, float, str] | None = None
    for line in lines:
        raw = parse_progress(line)
        if raw is not None and raw.total:
            last = (raw.done, raw.total, T(M.PIP_RECEIVED_BYTES, done=raw.done, total=raw.total))
            continue
        match = _RICH_BYTES_RE.search(line)
        if match:
            last = (float(match.group(1)), float(match.group(2)), match.group(0))
    if last is not None and last[0] < last[1]:
        return last[2]
    return None


def classify_failure(lines: Sequence[str], returncode: int | None) -> PipFailure:
    """Turn the output of a failed pip run into a message + hint (``kind`` names the cause)."""
    details = "\n".join(lines[-60:])
    text = "\n".join(lines)
    lowered = text.lower()
    received = _broken_download(lines)
    if received is not None and "do not match the hashes" in lowered:
        return PipFailure(
            "network", T(M.PIP_BROKEN_DOWNLOAD, received=received), T(M.PIP_RETRY_HINT), details,
        )
    for kind, needles, template, hint in _FAILURE_RULES:
        if any(needle.lower() in lowered for needle in needles):
            message: str = T(template)
            if kind == "no_matching_distribution":
                requirement = _requirement_in(lines)
                if requirement:
                    message = T(M.PIP_NO_MATCH_FOR, requirement=requirement)
            return PipFailure(kind, message, T(hint), details)
    errors = [line.strip() for line in lines if line.strip().startswith("ERROR:")]
    # pip's own last error line, framed: it is pip's text, shown as it is (the details have the rest)
    message = T(M.PIP_SAID, error=errors[-1][len("ERROR:"):].strip()) if errors else T(M.PIP_FAILED, code=returncode)
    return PipFailure("unknown", message, T(M.PIP_UNKNOWN_HINT), details)
