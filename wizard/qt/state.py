"""What the wizard knows and what the person chose, shared by every page.

Pages read and write one :class:`WizardState`; they never keep their own copy of the machine,
the plan or the choices. Last choices are remembered with ``QSettings``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

from wizard.core.errors import WizardError

if TYPE_CHECKING:
    # Imported where used, not here: the first window must paint before the planner, the
    # environments and the workers are loaded (bench/bench_gui.py, goal < 1.5x an empty window).
    from wizard.core.doctor.model import Diagnosis
    from wizard.core.fetch.source import Source
    from wizard.core.install.flow import InstallRequest
    from wizard.core.model.machine import Machine, PythonTarget
    from wizard.core.model.plan import Build, Choices, Plan
    from wizard.core.verify.runner import VerifyResult
    from wizard.qt.errors import ErrorText
    from wizard.qt.workers import Task, TaskContext


class PageId(IntEnum):
    """The pages, in the order they appear."""

    WELCOME = 0
    SYSTEM = 1
    ENVIRONMENT = 2
    BUILD = 3
    ACTIONS = 4
    SUMMARY = 5
    INSTALL = 6
    VERIFY = 7
    FINISH = 8
    DOCTOR = 9  # "Check an existing environment" (from Welcome; its fix goes on to Summary)


@dataclass
class GuiOptions:
    """The ``gui`` command line: the same install options as the CLI, plus demo switches."""

    machine: str | None = None
    autopilot: bool = False
    screenshots: Path | None = None
    lang: str | None = None
    new_venv: str | None = None
    python: str | None = None
    torch: str | None = None
    variant: str | None = None
    index_url: str | None = None
    no_torchvision: bool = False


def size_estimate(build: Build | None) -> tuple[float, float]:
    """(download GiB, disk GiB needed) for a build (the core's one estimate); zero without a build."""
    if build is None:
        return 0.0, 0.0
    from wizard.core.knowledge.base import load_knowledge

    return load_knowledge().size_estimate(build.device)


@dataclass
class EnvironmentChoice:
    """Where torch goes: ``new`` venv at ``path``, an ``existing`` venv/conda env, or an ``interpreter``."""

    mode: str = "new"
    path: str = ""
    base_python: str | None = None
    consent: bool = False
    existing: dict[str, str] = field(default_factory=dict)  # distributions read from it
    replacements: list[str] = field(default_factory=list)


class WizardState(QObject):
    """Shared state; ``changed`` fires after the machine, the plan or a choice changed."""

    changed = Signal()
    language_changed = Signal(str)
    busy_changed = Signal()
    problem = Signal(object)  # ErrorText of a failed background step

    def __init__(self, options: GuiOptions, settings: QSettings | None = None) -> None:
        super().__init__()
        self.options = options
        self.settings = settings or QSettings()
        self.simulated = bool(options.machine)
        self.machine: Machine | None = None
        self.plan: Plan | None = None
        self.network: dict[str, Any] | None = None  # {"ok": bool, "message": ..., "hint": ...}
        self.choice_index = 0  # 0: the recommended build, i: alternatives[i - 1]
        self.env = EnvironmentChoice(path=options.new_venv or "", base_python=options.python)
        if options.new_venv:
            self.env.mode = "new"
        self._mirror: str | None = "custom" if options.index_url else None  # None: the remembered one
        self.custom_index = options.index_url or str(self.settings.value("custom_index", ""))
        self.proxy = ""  # never stored: it may hold a password
        self._choices: Choices | None = None  # made on first use (it needs the planner module)
        self.action_route = "first"  # on the Actions page: "first" (do what the build needs) or "without"
        self.install_log: list[str] = []
        self.installed_python: Path | None = None
        self.installed_prefix: Path | None = None
        self.activate = ""
        self.verify: VerifyResult | None = None
        self.errors: list[str] = []
        self.failed = False
        self.busy: set[str] = set()
        # Downloader keyword arguments (retries, backoff); tests shorten them, the GUI keeps the defaults.
        self.downloader_options: dict[str, Any] = {}
        self.detect_error: ErrorText | None = None
        self._tasks: dict[str, Task] = {}
        self.doctor_mode = False  # Welcome's "Check an existing environment"

    def _bool(self, key: str, default: bool) -> bool:
        value = self.settings.value(key, default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    @property
    def mirror(self) -> str:
        """The chosen mirror preset name, or ``custom``; at first the remembered one, if still known."""
        if self._mirror is None:
            from wizard.core.knowledge.mirrors import MIRROR_PRESETS

            saved = str(self.settings.value("mirror", "official"))
            self._mirror = saved if saved in MIRROR_PRESETS or saved == "custom" else "official"
        return self._mirror

    @mirror.setter
    def mirror(self, value: str) -> None:
        self._mirror = value

    @property
    def choices(self) -> Choices:
        """The person's build choices: the command line's, then the remembered ones."""
        if self._choices is None:
            from wizard.core.model.plan import Choices

            options = self.options
            self._choices = Choices(
                torch=options.torch, variant=options.variant,
                torchvision=not options.no_torchvision and self._bool("torchvision", True),
                torchaudio=self._bool("torchaudio", False))
        return self._choices

    @choices.setter
    def choices(self, value: Choices) -> None:
        self._choices = value

    # ------------------------------------------------------------------ derived

    def build(self) -> Build | None:
        """The build that will be installed (recommended, an alternative, or the driver-free one)."""
        if self.plan is None:
            return None
        builds = ([self.plan.recommended] if self.plan.recommended else []) + list(self.plan.alternatives)
        if not builds:
            return None
        chosen = builds[min(self.choice_index, len(builds) - 1)]
        if chosen.actions and self.action_route == "without":
            return self.build_without_actions() or chosen
        return chosen

    def build_without_actions(self) -> Build | None:
        """The newest planned build that runs as the machine is now (no driver update)."""
        if self.plan is None:
            return None
        builds = ([self.plan.recommended] if self.plan.recommended else []) + list(self.plan.alternatives)
        return next((b for b in builds if not b.actions and b.device != "cpu"), None) or next(
            (b for b in builds if not b.actions), None)

    def chosen_build(self) -> Build | None:
        """The build picked on the Build page, before the Actions page's route is applied."""
        if self.plan is None:
            return None
        builds = ([self.plan.recommended] if self.plan.recommended else []) + list(self.plan.alternatives)
        return builds[min(self.choice_index, len(builds) - 1)] if builds else None

    def needs_actions(self) -> bool:
        """True when the chosen build asks for something first (driver, Python, disk space, a restart)."""
        chosen = self.chosen_build()
        return bool(chosen and chosen.blocking_actions())

    def install_blocked(self) -> bool:
        """Install stays off while what the chosen build needs is not done, unless the person took
        the build that works as the machine is now."""
        return self.needs_actions() and (self.action_route == "first" or self.build_without_actions() is None)

    def source(self, build: Build | None = None) -> Source | None:
        """Where the wheels come from, by the core's one resolver (URL, find-links page, folder, preset)."""
        from wizard.core.fetch.source import source_for

        build = build or self.build()
        custom = self.custom_index.strip() if self.mirror == "custom" else ""
        mirror = None if self.mirror in ("custom", "official") else self.mirror
        if build is None:
            return None
        try:
            return source_for(build.variant, index_url=custom or None, mirror=mirror, default=build.index_url)
        except WizardError:
            return None  # a URL being typed; the Build page says what is wrong with it

    def index_url(self, build: Build | None = None) -> str:
        """The source's URL or folder as a person reads it (summary, report)."""
        source = self.source(build)
        return source.location if source is not None else self.custom_index.strip()

    def install_request(self) -> InstallRequest:
        """The choices as the core's install request: the same one the CLI flags and answer files fill."""
        from wizard.core.install.flow import InstallRequest

        build = self.build()
        assert build is not None
        source = self.source(build)
        where = self.target_args()
        return InstallRequest(
            torch=build.torch, variant=build.variant, requirements=tuple(build.requirements),
            index_url=source.location if source is not None else (self.custom_index.strip() or None),
            source_kind=source.kind if source is not None and source.kind != "folder" else "auto",
            consent=self.env.consent, verify=False,  # the Verify page runs the demo, live
            expect_gpu=build.device != "cpu", proxy=self.proxy or None,
            downloader_options=tuple(sorted(self.downloader_options.items())),
            python=where["python"], venv=where["venv"], new_venv=where["new_venv"],
        )

    def default_env_path(self) -> str:
        """The default new venv: the plan's ``environment`` for the chosen build on this machine.

        The plan decides it (Windows path limit, Store Python, a simulated machine's own system),
        so the window shows the folder the CLI would use.
        """
        from wizard.core.install import environments as envs
        from wizard.core.plan.planner import environment_for

        build = self.build()
        if build is not None and self.machine is not None:
            machine = self.machine
            if self.env.base_python and machine.python and machine.python.microsoft_store \
                    and machine.python.path != self.env.base_python:
                machine = dataclasses.replace(machine, python=None)   # another base than the Store one
            return environment_for(machine, build).path
        return str(envs.envs_dir() / "torch")

    def env_path_problem(self) -> str | None:
        """Why the chosen new-environment folder would not work on this machine (None: it would)."""
        from wizard.core.plan.environment import path_problem

        machine = self.machine
        if machine is None or self.env.mode == "interpreter":
            return None
        return path_problem(self.env_path(), machine.os.family, machine.os.long_paths_enabled)

    def env_path(self) -> str:
        """The chosen path, or the default for a new venv."""
        return self.env.path or (self.default_env_path() if self.env.mode == "new" else "")

    def target_args(self) -> dict[str, str | None]:
        """``python`` / ``venv`` / ``new_venv`` as ``environments.resolve_target`` takes them."""
        if self.env.mode == "new":
            return {"python": self.env.base_python, "venv": None, "new_venv": self.env_path()}
        if self.env.mode == "existing":
            return {"python": None, "venv": self.env.path, "new_venv": None}
        return {"python": self.env.path, "venv": None, "new_venv": None}

    def use_doctor_fix(self, diagnosis: Diagnosis) -> None:
        """The doctor's fix as the plan the Summary, Install and Verify pages carry out: into the same
        interpreter, with the consent to replace its torch given by choosing the fix."""
        from wizard.core.model.plan import Plan

        fix = diagnosis.fix
        assert fix is not None
        status = "action_required" if fix.blocking_actions() else "ready"
        self.plan = Plan(status, fix, [], [], [], [diagnosis.fix_text], machine_id=diagnosis.machine_id)
        self.choice_index = 0
        self.action_route = "first"
        self.env = EnvironmentChoice(mode="interpreter", path=diagnosis.python, consent=True)
        self.changed.emit()

    # ------------------------------------------------------------------ remembering

    def remember(self) -> None:
        """Store the last choices (never the proxy, which may carry a password).

        A source given on the command line (``--index-url``) is for that run only: it is not
        remembered unless the person changed it in the window.
        """
        if not (self.options.index_url and self.mirror == "custom" and self.custom_index == self.options.index_url):
            self.settings.setValue("mirror", self.mirror)
            self.settings.setValue("custom_index", self.custom_index)
        self.settings.setValue("torchvision", self.choices.torchvision)
        self.settings.setValue("torchaudio", self.choices.torchaudio)
        self.settings.setValue("env_mode", self.env.mode)
        self.settings.sync()

    def log(self, line: str) -> None:
        """Add a line to the install log (shown live and put in the report)."""
        self.install_log.append(line)

    # ------------------------------------------------------------------ background work

    def run_in_background(self, name: str, fn: Any, done: Any) -> None:
        """Run ``fn(ctx)`` on a worker thread, then ``done(result)`` here; a newer run of ``name``
        replaces an older one, and closing the window stops it (:meth:`stop_all`)."""
        self._start(name, fn, done)

    def _start(self, name: str, fn: Any, done: Any) -> None:
        from wizard.qt.workers import Task

        old = self._tasks.get(name)
        if old is not None and old.running:
            old.cancel()
        task = Task(fn, self)
        self._tasks[name] = task
        self.busy.add(name)
        self.busy_changed.emit()

        def finished(result: object) -> None:
            if self._tasks.get(name) is not task:
                return  # a newer run of the same job replaced this one
            self.busy.discard(name)
            done(result)
            self.busy_changed.emit()
            self.changed.emit()

        def failed(exc: object) -> None:
            from wizard.qt.errors import error_text

            if self._tasks.get(name) is not task:
                return
            self.busy.discard(name)
            text = error_text(exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
            if name == "detect":
                self.detect_error = text
            self.problem.emit(text)
            self.busy_changed.emit()
            self.changed.emit()

        task.finished.connect(finished)
        task.failed.connect(failed)
        task.start()

    def start_detection(self, again: bool = False) -> None:
        """Detect this machine (or nothing, when simulating), then plan and check the network.

        ``again``: look once more (a Python was installed, disk space freed: "Check again").
        """
        if self.machine is not None and not (again and not self.simulated):
            self.replan()
            return
        python = self.options.python

        def detect(ctx: TaskContext) -> Machine:
            from wizard.core.detect import detect_machine

            return detect_machine(python=python) if python else detect_machine()

        def detected(machine: object) -> None:
            from wizard.core.model.machine import Machine

            assert isinstance(machine, Machine)
            self.machine = machine
            if self.env.base_python is None and machine.python is not None:
                self.env.base_python = machine.python.path
            self.replan()

        self.detect_error = None
        self._start("detect", detect, detected)

    def use_python(self, python: PythonTarget) -> None:
        """Plan for ``python`` (the interpreter the environment is made with), if it is not the planned one."""
        machine = self.machine
        if machine is None or machine.python == python:
            return
        others = [p for p in ([machine.python] if machine.python else []) + machine.interpreters if p != python]
        self.machine = dataclasses.replace(machine, python=python, interpreters=others)
        self.replan()

    def replan(self) -> None:
        """Plan again for the current machine and choices (in the background)."""
        machine, choices = self.machine, self.choices
        if machine is None:
            return

        def plan(ctx: TaskContext) -> Plan:
            from wizard.core.plan.planner import make_plan

            return make_plan(machine, choices)

        def planned(result: object) -> None:
            from wizard.core.model.plan import Plan

            assert isinstance(result, Plan)
            self.plan = result
            self.choice_index = 0
            if not self.simulated and self.network is None:
                self.check_network()

        self._start("plan", plan, planned)

    def check_network(self) -> None:
        """Can the chosen index be reached? Proxy and TLS problems come back in their own words."""
        source = self.source()
        proxy = self.proxy or None
        if source is None or not source.is_remote:
            return  # a folder needs no network; the install checks its wheels first
        url = source.location
        # an index answers for its torch project page; a find-links page lists the files itself
        page = url.rstrip("/") + "/torch/" if source.kind == "index" else url

        def check(ctx: TaskContext) -> dict[str, Any]:
            import requests

            from wizard.core import messages as M
            from wizard.core.fetch.net import NetConfig, check_response, classify_error, make_session
            from wizard.core.text import T

            session = make_session(NetConfig(proxy=proxy, timeout=(10.0, 15.0)))
            try:
                response = session.get(page)
                check_response(response, T(M.NET_WHAT_PACKAGE_INDEX))
            except requests.RequestException as exc:
                err = classify_error(exc, url, proxy)
                return {"ok": False, "url": url, "message": err.message, "hint": err.hint}
            except Exception as exc:  # check_response raises WizardError with words
                from wizard.qt.errors import error_text

                text = error_text(exc)
                return {"ok": False, "url": url, "message": text.message, "hint": text.hint}
            return {"ok": True, "url": url, "message": "", "hint": ""}

        def checked(result: object) -> None:
            assert isinstance(result, dict)
            self.network = result

        self._start("network", check, checked)

    def stop_all(self) -> None:
        """Cancel background checks (closing the window) and wait for their threads briefly."""
        for task in self._tasks.values():
            if task.running:
                task.cancel()
                task.wait(30000)
