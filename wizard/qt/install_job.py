"""The install, step by step, off the GUI thread: the GUI twin of ``wizard.core.install.flow``.

Same order and same safety as the CLI: target -> (create venv) -> snapshot -> download into a
wheelhouse -> pip install -> pin. Python work runs as :class:`~wizard.qt.workers.Task`; child
processes (venv, pip) run with :class:`~wizard.qt.workers.ProcessRunner`, from the very
``Command`` objects the core builds. A failure or a cancel puts the environment back (a venv
made by this run is deleted, an existing one is rolled back to its snapshot) and removes the
wheelhouse; the download cache keeps verified files so a retry does not download them again.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, DownloadItem, ProgressCallback
from wizard.core.fetch.net import NetConfig, make_session
from wizard.core.fetch.wheelhouse import fetch_wheelhouse, probe_target
from wizard.core.install import environments as envs
from wizard.core.install import pip_runner
from wizard.core.install.flow import activation_hint, replacements_needing_consent, write_pins
from wizard.core.install.process import Command
from wizard.qt.errors import ErrorText, error_text
from wizard.qt.workers import ProcessResult, ProcessRunner, Task, TaskContext


@dataclass(frozen=True)
class JobRequest:
    """Everything the job needs, decided by the pages before it starts."""

    requirements: tuple[str, ...]
    torch: str
    variant: str
    index_url: str
    python: str | None = None
    venv: str | None = None
    new_venv: str | None = None
    consent: bool = False
    proxy: str | None = None


class FilewiseDownloader(Downloader):
    """A :class:`Downloader` that fetches files one after the other, reporting each file's bytes.

    The core reports the total of a parallel batch; the Install page shows one row per file.
    Large files still come in parallel ranges.
    """

    def __init__(self, on_file: Callable[[int, int, int, float, float | None], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_file = on_file
        self.names: list[str] = []

    def fetch_all(self, items: Any, dest_dir: Path, progress: ProgressCallback | None = None,
                  cancel: Any = None, extra_bytes: int = 0) -> list[Path]:
        paths: list[Path] = []
        for item in items:
            if item.filename not in self.names:
                self.names.append(item.filename)
            index = self.names.index(item.filename)

            def report(done: int, total: int, rate: float, eta: float | None, index: int = index) -> None:
                self.on_file(index, done, total, rate, eta)

            paths += super().fetch_all([item], dest_dir, report, cancel, extra_bytes)
            size = paths[-1].stat().st_size
            self.on_file(index, size, size, 0.0, 0.0)
        return paths


# The steps in the order they run; the page shows them as a checklist.
STEPS = ("prepare", "venv", "download", "pip", "pins")


class InstallJob(QObject):
    """Runs one install; emits exactly one of ``succeeded`` / ``failed`` / ``cancelled`` at the end."""

    step = Signal(str)
    status = Signal(str)
    line = Signal(str)
    files_planned = Signal(object)  # list[(filename, size or 0)]
    file_progress = Signal(int, "qlonglong", "qlonglong", float, float)  # type: ignore[arg-type]  # PySide6 accepts C++ type names
    pip_progress = Signal("qlonglong", "qlonglong")  # type: ignore[arg-type]  # PySide6 accepts C++ type names
    succeeded = Signal(object)  # dict: prefix, python, activate, installed
    failed = Signal(object)  # ErrorText
    cancelled = Signal(str)  # what was undone

    def __init__(self, request: JobRequest, parent: QObject | None = None,
                 downloader_options: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.downloader_options = downloader_options or {}
        self.runner = ProcessRunner(self)
        self.runner.line.connect(self._on_line)
        self.task: Task | None = None
        self.target: envs.Target | None = None
        self.info: envs.InterpreterInfo | None = None
        self.snapshot: envs.Snapshot | None = None
        self.previous: bytes | None = None
        self.created = False
        self.wheelhouse = Path(tempfile.mkdtemp(prefix="tgs-wheelhouse-"))
        self.installed: list[tuple[str, str]] = []
        self.current = ""
        self.cancel_requested = False
        self.active = False
        self._after_process: Callable[[ProcessResult], None] | None = None
        self.runner.finished.connect(self._process_done)

    # ------------------------------------------------------------------ plumbing

    def start(self) -> None:
        """Begin with the first step."""
        self.active = True
        self._enter("prepare", QCoreApplication.translate("InstallJob", "Checking the environment…"))
        self._thread(self._prepare, self._after_prepare)

    def cancel(self) -> None:
        """Stop the running step; the job then undoes what it did and emits ``cancelled``."""
        if not self.active or self.cancel_requested:
            return
        self.cancel_requested = True
        self.status.emit(QCoreApplication.translate("InstallJob", "Cancelling…"))
        if self.task is not None and self.task.running:
            self.task.cancel()
        if self.runner.running():
            self.runner.cancel()

    def wait_idle(self, ms: int = 60000) -> None:
        """Block until the background thread (if any) ended: used when the window closes."""
        if self.task is not None and self.task.running:
            self.task.wait(ms)
        if self.runner.process is not None:
            self.runner.process.waitForFinished(ms)

    def _enter(self, step: str, text: str) -> None:
        self.current = step
        self.step.emit(step)
        self.status.emit(text)
        self.line.emit(f"== {text}")

    def _thread(self, fn: Callable[[TaskContext], object], then: Callable[[Any], None]) -> None:
        task = Task(fn, self)
        task.finished.connect(lambda result: self._thread_done(then, result))
        task.failed.connect(self._fail)
        task.message.connect(self.line)
        task.data.connect(self.files_planned)
        task.progress.connect(self.file_progress)
        self.task = task
        task.start()

    def _thread_done(self, then: Callable[[Any], None], result: Any) -> None:
        if self.cancel_requested:
            self._undo(None)
            return
        try:
            then(result)
        except BaseException as exc:  # a failing step must still undo and report
            self._fail(exc)

    def _run(self, command: Command, then: Callable[[ProcessResult], None]) -> None:
        self.line.emit("$ " + command.display())
        self._after_process = then
        self.runner.start(command)

    @Slot(object)
    def _process_done(self, result: ProcessResult) -> None:
        then, self._after_process = self._after_process, None
        if self.cancel_requested or result.cancelled:
            self._undo(None)
            return
        if result.start_error:
            self._fail(WizardError(QCoreApplication.translate(
                "InstallJob", "A program could not be started: {0}").format(result.start_error),
                                   QCoreApplication.translate(
                                       "InstallJob", "Check that the Python interpreter exists and works.")))
            return
        if then is not None:
            try:
                then(result)
            except BaseException as exc:
                self._fail(exc)

    @Slot(str)
    def _on_line(self, text: str) -> None:
        meaning = pip_runner.read_line(text)
        if meaning.progress is not None:
            self.pip_progress.emit(meaning.progress.done, meaning.progress.total or 0)
            return
        self.line.emit(text)
        if meaning.status is not None:
            self.status.emit(meaning.status)
        if meaning.installed is not None:
            self.installed = meaning.installed

    # ------------------------------------------------------------------ steps

    def _prepare(self, ctx: TaskContext) -> dict[str, Any]:
        r = self.request
        target = envs.resolve_target(
            python=r.python, venv=r.venv, new_venv=r.new_venv,
            default_name=envs.env_name_for(r.torch, r.variant), platform=sys.platform,
            long_paths_enabled=envs.windows_long_paths_enabled())
        out: dict[str, Any] = {"target": target}
        if target.kind == "new_venv":
            assert target.base_python
            envs.inspect_interpreter(target.base_python)  # a broken base Python fails here, in words
            return out
        info = envs.inspect_interpreter(target.python)
        envs.refuse_externally_managed(info)
        needing = replacements_needing_consent(r.requirements, envs.list_distributions(target.python))
        if needing and not r.consent:
            raise WizardError(QCoreApplication.translate(
                "InstallJob", "This environment already has {0}").format("; ".join(needing)),
                              QCoreApplication.translate(
                                  "InstallJob", "Go back to the Environment page and agree to replace them."))
        ctx.message(QCoreApplication.translate("InstallJob", "Recording a snapshot of the environment"))
        out["previous"] = envs.stored_snapshot_bytes(target.python)
        out["snapshot"] = envs.take_snapshot(target.python, target.prefix, index_urls=(r.index_url,))
        out["info"] = info
        return out

    def _after_prepare(self, out: dict[str, Any]) -> None:
        self.target = out["target"]
        assert self.target is not None
        if self.target.kind != "new_venv":
            self.info, self.snapshot, self.previous = out["info"], out["snapshot"], out["previous"]
            self._download()
            return
        self._enter("venv", QCoreApplication.translate(
            "InstallJob", "Creating the environment {0}").format(self.target.prefix))
        self.created = True
        self.target.prefix.parent.mkdir(parents=True, exist_ok=True)
        base = self.target.base_python
        assert base
        self._run(Command(argv=(base, "-m", "venv", str(self.target.prefix)), env={"PYTHONUTF8": "1"}),
                  self._after_venv)

    def _after_venv(self, result: ProcessResult) -> None:
        if not result.ok:
            raise WizardError(
                QCoreApplication.translate("InstallJob", "The virtual environment could not be created."),
                QCoreApplication.translate(
                    "InstallJob", "On Debian or Ubuntu install the venv module (sudo apt install python3-venv)."),
                "\n".join(result.tail[-30:]))
        target = self.target
        assert target is not None
        (target.prefix / envs.CREATED_MARKER).write_text(json.dumps({"created_by": "torch-gpu-setup"}),
                                                         encoding="utf-8")

        def snapshot(ctx: TaskContext) -> envs.InterpreterInfo:
            envs.take_snapshot(target.python, target.prefix, created_venv=True, index_urls=(self.request.index_url,))
            return envs.inspect_interpreter(target.python)

        self._thread(snapshot, self._after_snapshot)

    def _after_snapshot(self, info: envs.InterpreterInfo) -> None:
        self.info = info
        if pip_runner.pip_supports_raw_progress(info.pip_version):
            self._download()
            return
        self.status.emit(QCoreApplication.translate("InstallJob", "Upgrading pip in the new environment"))
        self._run(pip_runner.upgrade_pip_command(info.python), self._after_pip_upgrade)

    def _after_pip_upgrade(self, result: ProcessResult) -> None:
        if not result.ok:  # not fatal: pip then runs without machine-readable progress
            self.line.emit(QCoreApplication.translate(
                "InstallJob", "pip could not be upgraded; continuing without a progress bar"))
            self._download()
            return
        assert self.target is not None
        self._thread(lambda ctx: envs.inspect_interpreter(self.target.python) if self.target else None,
                     self._after_reinspect)

    def _after_reinspect(self, info: envs.InterpreterInfo) -> None:
        self.info = info
        self._download()

    def _download(self) -> None:
        self._enter("download", QCoreApplication.translate("InstallJob", "Downloading the packages"))
        r = self.request
        target = self.target
        assert target is not None

        def fetch(ctx: TaskContext) -> object:
            python, os_info = probe_target(str(target.python))
            session = make_session(NetConfig(proxy=r.proxy or None))
            downloader = FilewiseDownloader(ctx.progress, session=session, **self.downloader_options)

            def planned(wheels: list[Any], total: int) -> None:
                downloader.names = [w.filename for w in wheels]
                ctx.data([(w.filename, w.size or 0) for w in wheels])

            return fetch_wheelhouse(list(r.requirements), index_url=r.index_url, dest=self.wheelhouse,
                                    python=python, os_info=os_info, session=session, downloader=downloader,
                                    cancel=ctx.cancel, on_plan=planned)

        self._thread(fetch, lambda _: self._pip())

    def _pip(self) -> None:
        self._enter("pip", QCoreApplication.translate("InstallJob", "Installing with pip"))
        assert self.target is not None and self.info is not None
        r = self.request
        # The wheelhouse holds the resolved set, each file verified against the index's sha256:
        # pip installs from it alone (wizard/core/fetch/wheelhouse.py), so nothing is downloaded twice.
        command = pip_runner.install_command(
            self.target.python, r.requirements, find_links=[self.wheelhouse], pip_version=self.info.pip_version,
            extra_args=("--no-index",))
        self._run(command, self._after_pip)

    def _after_pip(self, result: ProcessResult) -> None:
        if not result.ok:
            failure = pip_runner.classify_failure(result.tail, result.returncode)
            raise WizardError(failure.message, failure.hint, failure.details)
        self._enter("pins", QCoreApplication.translate("InstallJob", "Pinning the installed build"))
        target = self.target
        assert target is not None

        def pin(ctx: TaskContext) -> list[str]:
            after = envs.list_distributions(target.python)
            _, _, messages = write_pins(target.prefix, target.python, after, sys.platform)
            return messages

        self._thread(pin, self._done)

    def _done(self, messages: list[str]) -> None:
        for message in messages:
            self.line.emit(message)
        self._cleanup()
        target = self.target
        assert target is not None
        self.active = False
        self.succeeded.emit({"prefix": target.prefix, "python": target.python, "kind": target.kind,
                             "activate": activation_hint(target.prefix, target.kind, sys.platform),
                             "installed": list(self.installed)})

    # ------------------------------------------------------------------ the way back

    def _cleanup(self) -> None:
        shutil.rmtree(self.wheelhouse, ignore_errors=True)

    def _undo_work(self, ctx: TaskContext) -> str:
        target = self.target
        self._cleanup()
        if target is None:
            return QCoreApplication.translate("InstallJob", "Nothing was changed.")
        if self.created:
            envs.delete_created_venv(target.prefix, force=True)
            envs.snapshot_path(target.python).unlink(missing_ok=True)
            return QCoreApplication.translate(
                "InstallJob", "The new environment {0} was removed.").format(target.prefix)
        if self.snapshot is None:
            return QCoreApplication.translate("InstallJob", "Nothing was changed.")
        done = envs.rollback(target.python, on_line=ctx.message, snapshot=self.snapshot)
        envs.restore_snapshot_bytes(target.python, self.previous)
        return done

    def _undo(self, error: ErrorText | None) -> None:
        self._enter("undo", QCoreApplication.translate("InstallJob", "Putting the environment back as it was…"))

        def finished(undone: object) -> None:
            self.active = False
            if error is None:
                self.cancelled.emit(str(undone))
            else:
                self.failed.emit(ErrorText(error.message, " ".join(p for p in (error.hint, str(undone)) if p),
                                           error.details))

        def undo_failed(exc: object) -> None:
            self.active = False
            text = error_text(exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
            first = error or ErrorText(QCoreApplication.translate(
                "InstallJob", "The installation was cancelled."), "", "")
            self.failed.emit(ErrorText(first.message, QCoreApplication.translate(
                "InstallJob", "Undoing it failed too: {0}").format(text.message),
                                       "\n\n".join(p for p in (first.details, text.details) if p)))

        task = Task(self._undo_work, self)
        task.finished.connect(finished)
        task.failed.connect(undo_failed)
        task.message.connect(self.line)
        self.task = task
        # A cancel that arrives now must not stop the undo itself.
        self.cancel_requested = True
        task.start()

    @Slot(object)
    def _fail(self, exc: object) -> None:
        if self.cancel_requested:
            self._undo(None)
            return
        self._undo(error_text(exc if isinstance(exc, BaseException) else RuntimeError(str(exc))))


def download_items(files: list[tuple[str, int]]) -> list[DownloadItem]:
    """Files as download items (used by tests and the benchmark to describe a planned fetch)."""
    return [DownloadItem(url="", filename=name, size=size) for name, size in files]
