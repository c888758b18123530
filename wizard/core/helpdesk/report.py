"""The diagnostics report a helpdesk reads: JSON and HTML from one set of facts, redacted.

What is redacted before anything is written: the user name (also inside paths such as
``/home/alice`` and ``C:\\Users\\alice``), the home directory, the host name, and credentials
in URLs (``http://user:secret@proxy:3128``), ``Authorization``/``Proxy-Authorization`` values
and ``token=``/``password=``/``key=`` style parameters. The person can then send it anywhere.
"""

from __future__ import annotations

import getpass
import html
import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Plan
from wizard.core.verify.runner import VerifyResult

REPORT_SCHEMA = "diagnostics-report/1"

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s:]+(?::[^/@\s]*)?)@")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:\w+\s+)?\S+")
_SECRET_PARAM = re.compile(r"(?i)\b((?:api[_-]?)?(?:token|password|passwd|secret|key)\s*[=:]\s*)[^\s&'\"]+")


@dataclass(frozen=True)
class Report:
    """The report as JSON-ready data and as a standalone HTML page."""

    data: dict[str, Any]
    html: str

    def json_text(self) -> str:
        """The JSON document (UTF-8, indented)."""
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"


#: Settings whose value is a list of host names (requests/curl ``NO_PROXY``): a user name inside
#: one (``alice-laptop.corp``) is redacted too, where elsewhere only a whole word is.
_HOST_LISTS = ("no_proxy",)


def _redactor(users: Sequence[str], homes: Sequence[str], hostname: str) -> Any:
    homes = sorted({h for h in homes if h and len(h) > 1}, key=len, reverse=True)   # /home/a/x before /home/a
    users = [u for u in dict.fromkeys(users) if u]

    def redact(text: str) -> str:
        text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "<credentials>@", text)
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + "<redacted>", text)
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + "<redacted>", text)
        for home in homes:
            text = text.replace(home, "~")
            text = text.replace(home.replace("\\", "/"), "~")
        for user in users:
            # a user name inside a path, then anywhere as a whole word
            text = re.sub(rf"(?<![\w.-]){re.escape(user)}(?![\w-])", "<user>", text)
        if hostname and len(hostname) > 1:
            text = re.sub(rf"(?i)(?<![\w-]){re.escape(hostname)}(?![\w-])", "<host>", text)
        return text

    def redact_hosts(text: str) -> str:
        # In a host name a user name is one label or part of one: "-" and "." are boundaries here.
        for user in users:
            text = re.sub(rf"(?i)(?<![a-z0-9]){re.escape(user)}(?![a-z0-9])", "<user>", text)
        return redact(text)

    redact.hosts = redact_hosts   # type: ignore[attr-defined]
    return redact


def _walk(value: Any, redact: Any, key: str = "") -> Any:
    if isinstance(value, str):
        return redact.hosts(value) if key.lower() in _HOST_LISTS else redact(value)
    if isinstance(value, Mapping):
        return {str(k): _walk(v, redact, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, redact) for v in value]
    return value


def invoking_user(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(name, home) of the person who ran ``sudo`` (``SUDO_USER``, sudo(8) "ENVIRONMENT"), or ("", "").

    Under sudo the process is root's, yet the paths and names in the logs are often the invoking
    user's: both are redacted too.
    """
    env = os.environ if environ is None else environ
    name = env.get("SUDO_USER", "").strip()
    if not name or name == "root":
        return "", ""
    home = ""
    try:
        import pwd  # POSIX only; sudo is too

        home = pwd.getpwnam(name).pw_dir
    except (ImportError, KeyError):
        home = ""
    return name, home


def _html_page(data: dict[str, Any]) -> str:
    def section(title: str, body: str) -> str:
        return f"<h2>{html.escape(title)}</h2>\n{body}\n"

    def pre(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        return f"<pre>{html.escape(text)}</pre>"

    plan = data.get("plan") or {}
    rec = plan.get("recommended") or {}
    verify = data.get("verify") or {}
    rows = "".join(
        f"<tr><td>{html.escape(str(s.get('name')))}</td><td class='{html.escape(str(s.get('status')))}'>"
        f"{html.escape(str(s.get('status')))}</td><td>{html.escape(str(s.get('reason') or ''))}</td></tr>"
        for s in verify.get("stages", []))
    summary = (
        f"<p><b>Plan:</b> {html.escape(str(plan.get('status', 'none')))} &mdash; "
        f"{html.escape(' '.join(rec.get('requirements', [])) or 'no build')}</p>"
        f"<p><b>Verification:</b> {html.escape(str(verify.get('verdict', 'not run')))}</p>")
    body = (
        section("Summary", summary)
        + section("Verification stages", f"<table><tr><th>Stage</th><th>Status</th><th>Reason</th></tr>{rows}</table>")
        + section("Machine", pre(data.get("machine")))
        + section("Plan", pre(plan))
        + section("Install log", pre("\n".join(data.get("install_log", []))))
        + section("Verification (raw)", pre(verify))
    )
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em;"
             "overflow-x:auto}td,th{border:1px solid #ccc;padding:.2em .5em}.pass{color:#070}.fail{color:#a00}")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>torch-gpu-setup report</title>"
            f"<style>{style}</style></head><body><h1>torch-gpu-setup diagnostics</h1>"
            f"<p>Created {html.escape(str(data.get('created')))} by torch-gpu-setup "
            f"{html.escape(str(data.get('wizard_version')))}. User names, home folders, the host name and "
            f"credentials are replaced by placeholders.</p>\n{body}</body></html>\n")


def build_report(
    machine: Machine | None,
    plan: Plan | None,
    install_log: Sequence[str] = (),
    verify: VerifyResult | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    user: str | None = None,
    home: str | None = None,
    hostname: str | None = None,
    sudo_user: tuple[str, str] | None = None,
) -> Report:
    """Build the redacted diagnostics report (JSON data and HTML page).

    ``user``, ``home`` and ``hostname`` default to this session's; tests pass their own.
    ``sudo_user`` is (name, home) of the person who ran sudo, redacted as well (default:
    :func:`invoking_user`). ``extra`` holds more facts (chosen environment, errors) and is
    redacted the same way.
    """
    if user is None:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no login name (containers without /etc/passwd entry)
            user = ""
    home = str(Path.home()) if home is None else home
    hostname = socket.gethostname() if hostname is None else hostname
    invoker, invoker_home = invoking_user() if sudo_user is None else sudo_user
    homes = [h.rstrip("/\\") for h in (home, invoker_home) if h not in ("/", "")]
    redact = _redactor([user, invoker], homes, hostname)
    raw: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wizard_version": __version__,
        "platform": os.name,
        "machine": machine.to_profile() if machine else None,
        "plan": plan.to_json() if plan else None,
        "install_log": list(install_log),
        "verify": verify.to_json() if verify else None,
        "extra": dict(extra or {}),
    }
    data = _walk(raw, redact)
    return Report(data, _html_page(data))


def helpdesk_summary(data: Mapping[str, Any], result: str) -> str:
    """The report as a few plain lines for a helpdesk chat or e-mail (from the redacted data).

    OS, GPUs, driver, Python, environment, build and source, plan, verdict and the failing
    stage; ``result`` is the outcome in the person's words (the GUI's verdict).
    """
    machine = data.get("machine") or {}
    plan = data.get("plan") or {}
    extra = data.get("extra") or {}
    verify = data.get("verify") or {}
    os_info = machine.get("os") or {}
    lines = [f"torch-gpu-setup {data.get('wizard_version')}", f"Result: {result}"]
    glibc = f", glibc {os_info['glibc']}" if os_info.get("glibc") else ""
    lines.append(f"OS: {os_info.get('version') or os_info.get('family', '?')} ({os_info.get('arch', '?')}){glibc}"
                 + (" in WSL" if os_info.get("wsl") else ""))
    for gpu in machine.get("gpus") or [{"name": "none found"}]:
        facts = ", ".join(f for f in (f"compute capability {gpu['compute_capability']}"
                                      if gpu.get("compute_capability") else "",
                                      f"{gpu['memory_mib']} MiB" if gpu.get("memory_mib") else "",
                                      str(gpu.get("pci_id") or "")) if f)
        lines.append(f"GPU: {gpu.get('name')}" + (f" ({facts})" if facts else ""))
    driver = machine.get("nvidia_driver") or {}
    status = (machine.get("driver_status") or {}).get("state")
    lines.append(f"Driver: {driver.get('version', 'none')}" + (f" (CUDA {driver['cuda_version']})"
                                                              if driver.get("cuda_version") else "")
                 + (f"; state: {status}" if status else ""))
    python = machine.get("python") or {}
    lines.append(f"Python: {python.get('version', 'none')}" + (f" at {python['path']}" if python.get("path") else ""))
    env = extra.get("environment") or {}
    if env:
        lines.append(f"Environment: {env.get('mode')} {env.get('path')}")
    build = plan.get("recommended") or {}
    if build:
        chosen = extra.get("requirements") or build.get("requirements", [])   # the build the person took
        source = extra.get("index_url") or build.get("index_url")
        lines.append(f"Build: {' '.join(chosen)} from {source}")
        actions = [a.get("kind") for a in build.get("actions", [])]
        lines.append(f"Plan: {plan.get('status')}" + (f" (first: {', '.join(actions)})" if actions else ""))
    lines.append(f"Verify: {verify.get('verdict', 'not run')}")
    for stage in verify.get("stages", []):
        if stage.get("status") == "fail":
            lines.append(f"  failing stage {stage.get('name')}: {stage.get('reason')}")
    lines += [f"Error: {str(e).splitlines()[0]}" for e in extra.get("errors", []) if str(e).strip()]
    return "\n".join(lines)
