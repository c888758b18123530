"""The support report a helpdesk asks for: one zip instead of "send me five commands' output".

It holds ``report.html`` (readable in any browser) and ``report.json`` (the same facts for
tools), built by :func:`wizard.core.helpdesk.report.build_report`, which redacts user names, home paths,
the host name (optional here), tokens and proxy credentials. This module only gathers the
facts: detection, the plan, the last install and verify logs, ``pip list`` of the target,
driver details (``nvidia-smi`` when present), the proxy settings and the wizard's version.
"""

from __future__ import annotations

import errno
import html
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from wizard import __version__
from wizard.core.detect.host import Host
from wizard.core.detect.nvidia_smi import find_nvidia_smi
from wizard.core.errors import WizardError
from wizard.core.helpdesk.report import Report, build_report, invoking_user
from wizard.core.install import environments as envs
from wizard.core.install import interpreters
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Plan
from wizard.core.paths import atomic_write
from wizard.core.process import Command, run_command
from wizard.core.verify.runner import VerifyResult

LAST_RUN = "last-install.json"
#: Proxy settings pip and requests read (pip docs "Configuration"; requests "Proxies").
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy",
             "no_proxy", "PIP_PROXY", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
NVIDIA_SMI_TIMEOUT_S = 20.0  # nvidia-smi answers in < 1 s; a hung driver must not hang the report


def logs_dir() -> Path:
    """Where the wizard keeps the log of its last install for the report."""
    return envs.data_dir() / "logs"


def save_last_run(lines: Sequence[str], result: Mapping[str, Any], verify: VerifyResult | None) -> Path:
    """Keep the last install's log and result, so a later ``report`` includes them."""
    path = logs_dir() / LAST_RUN
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"saved": datetime.now(timezone.utc).isoformat(timespec="seconds"), "log": list(lines),
            "result": dict(result), "verify": verify.to_json() if verify else None}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load_last_run() -> dict[str, Any] | None:
    """The saved last install, or None."""
    try:
        data = json.loads((logs_dir() / LAST_RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def pip_list(python: str | None) -> dict[str, str] | str:
    """``pip list`` of the target as {name: version}, or why it could not be read."""
    if not python:
        return "no target interpreter given"
    try:
        return interpreters.list_distributions(python)
    except WizardError as exc:
        return exc.one_line()


def nvidia_smi_text(host: Host | None = None) -> str | None:
    """``nvidia-smi`` output (driver, GPUs, processes), or None when there is no trusted one.

    Found as detection finds it (:func:`~wizard.core.detect.nvidia_smi.find_nvidia_smi`): an
    absolute PATH entry that is not the current folder, then the driver's fixed places. A
    ``nvidia-smi`` planted in ``.`` or reached through an empty PATH entry is never run.
    """
    exe = find_nvidia_smi(host or Host.current())
    if exe is None:
        return None
    result = run_command(Command(argv=(exe,)), timeout_s=NVIDIA_SMI_TIMEOUT_S)
    return "\n".join(result.tail)


def doctor_findings(python: str, machine: Machine | None) -> dict[str, Any] | str:
    """The doctor's diagnosis of ``python`` on ``machine`` (``doctor --json``), or why it could not run."""
    from wizard.core.doctor.runner import run_doctor

    try:
        return run_doctor(python, machine=machine).to_json()
    except WizardError as exc:
        return exc.one_line()


def collect_report(
    python: str | None,
    *,
    machine: Machine | None = None,
    plan: Plan | None = None,
    install_log: Sequence[str] | None = None,
    verify: VerifyResult | None = None,
    extra: Mapping[str, Any] | None = None,
    redact_hostname: bool = True,
    user: str | None = None,
    home: str | None = None,
    hostname: str | None = None,
    environ: Mapping[str, str] | None = None,
    doctor: bool = True,
) -> Report:
    """Gather the facts and build the redacted report.

    Without ``install_log``/``verify``, the last install's saved log and verification are used.
    ``doctor``: include the doctor's findings and fix for ``python`` (:func:`doctor_findings`).
    ``user``, ``home``, ``hostname`` and ``environ`` default to this session's (tests pass fakes).
    """
    env = os.environ if environ is None else environ
    sudo_user = invoking_user(env)   # under sudo the person is SUDO_USER (sudo(8))
    last = load_last_run() if install_log is None else None
    log = list(install_log) if install_log is not None else list((last or {}).get("log", []))
    facts: dict[str, Any] = {
        "wizard_version": __version__,
        "target_python": python,
        "pip_list": pip_list(python),
        "driver": {
            "nvidia_driver": machine.to_profile().get("nvidia_driver") if machine else None,
            "driver_status": machine.to_profile().get("driver_status") if machine else None,
            "nvidia_smi": nvidia_smi_text(),
        },
        "detect_notes": list(machine.notes) if machine else [],
        "proxy_settings": {k: env[k] for k in PROXY_ENV if env.get(k)},
    }
    if last is not None:
        facts["last_install"] = {"saved": last.get("saved"), "result": last.get("result"),
                                 "verify": last.get("verify")}
    if doctor and python:
        facts["doctor"] = doctor_findings(python, machine)
    facts.update(extra or {})
    report = build_report(machine, plan, log, verify, extra=facts, user=user, home=home,
                          hostname=hostname if redact_hostname else "", sudo_user=sudo_user)
    return Report(report.data, _with_extra_section(report))


def _with_extra_section(report: Report) -> str:
    """The page plus the gathered facts (already redacted) that the base page does not show."""
    extra = report.data.get("extra") or {}
    sections = "".join(
        f"<h2>{html.escape(str(key).replace('_', ' '))}</h2>\n<pre>"
        + html.escape(value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False))
        + "</pre>\n"
        for key, value in extra.items() if value not in (None, "", [], {}))
    return report.html.replace("</body></html>", sections + "</body></html>")


def write_report_zip(report: Report, out: Path) -> Path:
    """Write ``report.html`` and ``report.json`` into the zip ``out`` (atomically); returns its path."""
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise WizardError(f"{out}: the report is a .zip file", hint="give a name ending in .zip with --out")

    def fill(fh: BinaryIO) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("report.html", report.html)
            zf.writestr("report.json", report.json_text())

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # private (0600): it describes this machine, even redacted
        atomic_write(out, fill, mode=0o600)
    except OSError as exc:
        full = exc.errno == errno.ENOSPC
        raise WizardError(f"the report could not be written to {out}: {exc.strerror or exc}",
                          hint="free some disk space, or give --out a file on another disk" if full else
                          "give --out a file in a folder you can write to, e.g. ~/report.zip") from None
    return out
