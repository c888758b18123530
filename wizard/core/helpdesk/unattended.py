"""The whole install with no questions: answers in, an exit code and a report out.

Order: answers (checked up front) -> offline bundle (every hash checked, fit to the target
interpreter) -> detect (or a profile) -> plan with the version/variant policy -> the driver
policy -> install (pip; offline from the bundle, or from the index/mirror through the proxy)
-> verify -> report. Each way it can end has its own exit code (:mod:`wizard.core.helpdesk.exit_codes`);
the report is written whatever the ending, so a fleet gets one from every machine.
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine, Status, StepStarted, Undone
from wizard.core.fetch.net import redact_url
from wizard.core.fetch.source import Source, source_for
from wizard.core.helpdesk.answers import AUTO, NEWEST, Answers
from wizard.core.helpdesk.bundle import Bundle, BundleTarget, choose_target, open_bundle, plan_for
from wizard.core.helpdesk.driver_policy import DriverOutcome, DriverPolicyError, DriverSources, apply_driver_policy
from wizard.core.helpdesk.exit_codes import DESCRIPTIONS, ExitCode, ExitError, code_for_error, code_for_verdict
from wizard.core.install import environments as envs
from wizard.core.install.flow import InstallOutcome, InstallRequest, run_install
from wizard.core.knowledge.base import load_knowledge, variant_device
from wizard.core.model.machine import Machine
from wizard.core.model.plan import Build, Choices, Plan
from wizard.core.plan.planner import platform_key

#: Plan actions that mean "the GPU driver must change" (SCHEMA.md action kinds).
DRIVER_ACTIONS = ("driver_install", "driver_update")
#: Actions that follow a driver change and need nothing more from the wizard.
FOLLOW_UP_ACTIONS = ("reboot",)
#: The last line of an unattended run on stdout: machine-readable for fleet tools (Ansible).
RESULT_PREFIX = "TGS-RESULT "


@dataclass
class RunLog:
    """What happened, for the person (stderr), the report and the fleet (result line)."""

    lines: list[str] = field(default_factory=list)
    echo: Callable[[str], None] = lambda text: None  # the face shows the steps (the CLI: on stderr)

    def status(self, text: str) -> None:
        """A main step: shown and logged."""
        self.lines.append(text)
        self.echo(text)

    def line(self, text: str) -> None:
        """pip's own output: logged only."""
        self.lines.append("  " + text)

    def __call__(self, event: Event) -> None:
        """The install flow's events: steps and sentences shown, child output logged."""
        if isinstance(event, (StepStarted, Status, Undone)):
            if isinstance(event, Status) and event.text.startswith("pip: "):
                self.line(event.text)  # pip's own steps: the log has them, the terminal is spared
            else:
                self.status(event.text)
        elif isinstance(event, LogLine):
            self.line(event.text)


@dataclass
class RunResult:
    """How an unattended run ended."""

    code: ExitCode
    message: str
    machine: Machine | None = None
    plan: Plan | None = None
    build: Build | None = None
    outcome: InstallOutcome | None = None
    pending: list[str] = field(default_factory=list)
    report: Path | None = None
    driver: DriverOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        """The result line's content: what a fleet summary shows."""
        gpus = [g.name for g in self.machine.gpus] if self.machine else []
        verify = self.outcome.verify if self.outcome else None
        return {
            "exit_code": int(self.code),
            "verdict": DESCRIPTIONS[self.code] if verify or not self.outcome else "installed, not verified",
            "message": self.message,
            "gpu": ", ".join(gpus) or "none",
            "build": self.build.label() if self.build else None,
            "verify": verify.verdict if verify else None,
            "environment": str(self.outcome.target.prefix) if self.outcome else None,
            "pending_actions": self.pending,
            "restart_required": bool(self.driver and self.driver.restart_required),
            "driver": self.driver.to_json() if self.driver else None,
            "report": str(self.report) if self.report else None,
        }


def choose_build(machine: Machine, answers: Answers) -> tuple[Plan, Build, list[str]]:
    """Plan with the version and variant policy; returns (plan, build, notes).

    "Never these variants" (``exclude_variants``): when the plan's build is excluded, each other
    variant of the same device that this platform publishes is planned, newest first (knowledge
    base order), and the first that fits is taken; with none left, the CPU build.
    """
    choices = Choices(torch=None if answers.torch == NEWEST else answers.torch,
                      variant=None if answers.variant == AUTO else answers.variant,
                      torchvision=answers.torchvision, torchaudio=answers.torchaudio,
                      prefer_cpu=answers.prefer_cpu)
    plan, build = plan_for(machine, choices)
    excluded = answers.exclude_variants
    if not any(fnmatch.fnmatchcase(build.variant, p) for p in excluded):
        return plan, build, []
    notes = [f"{build.label()} is excluded by exclude_variants {list(excluded)}"]
    kb = load_knowledge()
    key = platform_key(machine.os.family, machine.os.arch)
    seen: list[str] = []
    for rel in kb.releases:
        for variant in rel.variants.get(key, {}):
            if variant not in seen and variant_device(variant) == build.device:
                seen.append(variant)
    allowed = [v for v in seen if not any(fnmatch.fnmatchcase(v, p) for p in excluded)]
    if "cpu" not in allowed and not any(fnmatch.fnmatchcase("cpu", p) for p in excluded):
        allowed.append("cpu")
    for variant in allowed:
        try:
            other, other_build = plan_for(machine, Choices(
                torch=choices.torch, variant=variant, torchvision=choices.torchvision,
                torchaudio=choices.torchaudio))
        except WizardError:
            continue
        notes.append(f"chose {other_build.label()} instead")
        return other, other_build, notes
    raise ExitError(ExitCode.UNSUPPORTED, f"no build is left once {list(excluded)} are excluded",
                    hint="allow more variants in exclude_variants")


def _source(answers: Answers, build: Build) -> Source | None:
    """Where the wheels come from: the answer's URL or folder, a mirror preset, else the plan's index."""
    return source_for(build.variant, index_url=answers.index_url, mirror=answers.mirror, default=build.index_url)


def _probe_python(answers: Answers) -> str:
    """The interpreter whose tags an install must fit (a new venv's base, or the target itself)."""
    target = envs.resolve_target(python=answers.python, venv=answers.venv, new_venv=answers.new_venv,
                                 default_name="torch")
    return str(target.base_python if target.kind == "new_venv" and target.base_python else target.python)


def _bundle_build(bundle: Bundle, answers: Answers, log: RunLog) -> tuple[BundleTarget, str]:
    from wizard.core.fetch.wheelhouse import probe_target

    python = _probe_python(answers)
    py, os_info = probe_target(python)
    target = choose_target(bundle, py, os_info)
    log.status(f"bundle: every file matches its sha256; using the build made for {target.describe()}")
    return target, python


def _machine(answers: Answers, python: str | None) -> Machine:
    if answers.machine:
        from wizard.core.model.machine import load_profile

        return load_profile(answers.machine)
    from wizard.core.detect import detect_machine

    return detect_machine(python=python) if python else detect_machine()


def _pending(build: Build) -> tuple[list[str], list[str]]:
    """(driver actions, other blocking actions) of a build, as sentences."""
    driver = [f"{a.kind}: {a.detail}" for a in build.actions if a.kind in DRIVER_ACTIONS]
    other = [f"{a.kind}: {a.detail}" for a in build.actions
             if a.kind not in DRIVER_ACTIONS and a.kind not in FOLLOW_UP_ACTIONS]
    return driver, other


def run_unattended(answers: Answers, log: RunLog | None = None, *, platform: str | None = None,
                   cancel: threading.Event | None = None) -> RunResult:
    """Run the whole flow for ``answers``; never raises a :class:`WizardError` (it becomes the result).

    ``platform`` (``sys.platform`` by default) is the host the driver policy acts on (tests).
    ``cancel`` stops the install and puts the environment back (the CLI sets it on SIGINT/SIGTERM).
    """
    log = log or RunLog()
    result = RunResult(ExitCode.INSTALL_FAILED, "")
    try:
        _run(answers, log, result, platform, cancel)
    except WizardError as exc:
        if isinstance(exc, DriverPolicyError):
            result.driver = exc.outcome
        result.code = code_for_error(exc)
        result.message = exc.one_line()
        log.status(f"error: {exc.one_line()}")
        if exc.details:
            log.lines.append(exc.details)
    from wizard.core.helpdesk.support_report import save_last_run

    with contextlib.suppress(OSError):
        save_last_run(log.lines, result.to_json(), result.outcome.verify if result.outcome else None)
    if answers.report:
        result.report = _write_report(answers, log, result)
    return result


def _download_dir(answers: Answers) -> Path:
    """Where driver/toolkit installers go: the answer, else next to the report, else the data folder."""
    if answers.driver_dir:
        return Path(answers.driver_dir)
    if answers.report:
        return Path(answers.report).resolve().parent / "nvidia-installers"
    from wizard.core.paths import data_dir

    return data_dir() / "nvidia-installers"


def _run(answers: Answers, log: RunLog, result: RunResult, platform: str | None = None,
         cancel: threading.Event | None = None) -> None:
    bundle: Bundle | None = None
    bundle_target: BundleTarget | None = None
    python: str | None = answers.python
    if answers.bundle:
        log.status(f"checking the offline bundle {answers.bundle}")
        bundle = open_bundle(Path(answers.bundle))
        bundle_target, python = _bundle_build(bundle, answers, log)
    result.machine = machine = _machine(answers, python)
    log.status(f"machine: {', '.join(g.name for g in machine.gpus) or 'no GPU'}; "
               f"driver {machine.nvidia_driver.version if machine.nvidia_driver else 'none'}")
    if bundle_target is not None:
        wants = {r.split("==")[0] for r in bundle_target.requirements}
        plan, build = plan_for(machine, Choices(torch=bundle_target.torch, variant=bundle_target.variant,
                                                torchvision="torchvision" in wants, torchaudio="torchaudio" in wants))
        build.requirements = list(bundle_target.requirements)  # exactly what the bundle holds
        notes: list[str] = []
    else:
        plan, build, notes = choose_build(machine, answers)
    result.plan, result.build = plan, build
    for note in notes:
        log.status(note)
    log.status(f"plan: {plan.status}; {build.label()} ({build.device})")
    driver, other = _pending(build)
    if other:
        raise ExitError(ExitCode.ACTION_REQUIRED, "a person must act first: " + "; ".join(other),
                        hint="see the report's plan for how")
    if driver:
        result.pending = driver
        if answers.driver_policy == "never":
            raise ExitError(ExitCode.ACTION_REQUIRED, "the GPU driver must change first: " + "; ".join(driver),
                            hint="driver policy is 'never': update the driver (or allow it), then run again")
        # download-only / install: the driver installers are fetched (or taken from the bundle)
        # and, with install, run. The torch build goes in either way, so that after the driver
        # update and a restart only `verify` is left; verifying now could only say "CPU only".
        log.status(f"driver policy '{answers.driver_policy}': {'; '.join(driver)}")
        sources = DriverSources(
            download_dir=_download_dir(answers),
            bundled=tuple(bundle.installers_for(bundle_target)) if bundle is not None and bundle_target else None,
            toolkit=answers.toolkit, pfid=answers.pfid, lookup_url=answers.lookup_url,
            redist_url=answers.redist_url, cudnn_url=answers.cudnn_url)
        result.driver = apply_driver_policy(
            machine, plan, answers.driver_policy, sources, log.status, platform=platform,
            profile=answers.machine if answers.machine and not answers.driver_for_profile else None)

    source = None if bundle is not None else _source(answers, build)
    if answers.proxy:
        log.status(f"proxy: {redact_url(answers.proxy)}")
    request = InstallRequest(
        torch=build.torch, variant=build.variant, requirements=tuple(build.requirements),
        index_url=source.location if source is not None else None,
        source_kind=source.kind if source is not None and source.kind != "folder" else "auto",
        python=answers.python if answers.venv is None else None, venv=answers.venv, new_venv=answers.new_venv,
        wheelhouse=bundle.wheels if bundle is not None else None, offline=bundle is not None,
        consent=answers.consent, verify=answers.verify and not driver, expect_gpu=build.device != "cpu",
        proxy=answers.proxy,
    )
    outcome = run_install(request, log, cancel)
    result.outcome = outcome
    where = f"{build.label()} in {outcome.target.prefix}"
    if driver:
        result.code = ExitCode.ACTION_REQUIRED
        then = f"then run: torch-gpu-setup verify --python {outcome.python}"
        if result.driver is not None and result.driver.restart_required:
            result.message = f"installed {where}; the driver was installed: restart required, {then}"
        else:
            result.message = (f"installed {where}; the driver must be updated first (commands in the report), "
                              f"restart, {then}")
        return
    if outcome.verify is None:
        result.code, result.message = ExitCode.SUCCESS, f"installed {where} (not verified)"
        return
    result.code = code_for_verdict(outcome.verify.verdict)
    result.message = f"{DESCRIPTIONS[result.code]}: {where}"


def _write_report(answers: Answers, log: RunLog, result: RunResult) -> Path | None:
    from wizard.core.helpdesk.support_report import collect_report, write_report_zip

    try:
        python = str(result.outcome.python) if result.outcome else None
        report = collect_report(python, machine=result.machine, plan=result.plan, install_log=log.lines,
                                verify=result.outcome.verify if result.outcome else None,
                                extra={"result": result.to_json()}, redact_hostname=answers.redact_hostname)
        return write_report_zip(report, Path(answers.report or "report.zip"))
    except (OSError, WizardError) as exc:
        log.status(f"warning: the report could not be written: {exc}")
        return None
