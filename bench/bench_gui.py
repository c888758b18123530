"""GUI benchmark: start-up against an empty PySide6 window, event-loop stalls, memory.

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_gui.py`` (any platform works).

1. Time to the first painted window, the wizard against an empty ``QWidget``, each started the
   same way (a fresh ``python`` process, timed from process start to the first Paint event);
   median of 3, reported as a ratio (goal < 1.5x).
2. The longest gap of a 10 ms timer probe while one core flow (on its worker thread, as every
   install runs) emits a simulated download (per-file progress 100 times a second per file), a pip
   run (a child printing 60 000 raw progress lines) and a verify run (a child printing 2 000 JSON
   training points) all at once, rendered by the Install and Verify pages (goal < 100 ms).
3. The GUI process's peak resident memory (goal < 250 MB).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STARTUP = textwrap.dedent("""
    import os, sys, time
    t0 = time.monotonic() - (time.time() - float(sys.argv[2]))
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    if sys.argv[1] == "wizard":
        from wizard.qt.app import create_wizard
        from wizard.qt.state import GuiOptions
        window = create_wizard(GuiOptions(machine=sys.argv[3], lang="en"))
    else:
        window = QWidget()
        window.resize(900, 680)
    class First(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                print(time.monotonic() - t0, flush=True)
                os._exit(0)
            return False
    f = First()
    app.installEventFilter(f)
    window.show()
    QTimer.singleShot(10000, lambda: os._exit(1))
    app.exec()
""")


def first_paint(kind: str, profile: str) -> float:
    """Seconds from process start to the first painted window."""
    out = subprocess.run([sys.executable, "-c", STARTUP, kind, repr(time.time()), profile], cwd=ROOT,
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return float(out.stdout.strip().splitlines()[-1])


def stalls() -> float:
    """Longest timer-probe gap (ms) while one core flow emits a download, a pip run and a verify run at once.

    The events take the real path: the flow's thread emits them, the Task queues them and the
    GUI thread collects them ten times a second (wizard/qt/workers.py), the InstallJob and the
    Verify page render them.
    """
    import threading

    from PySide6.QtCore import QElapsedTimer, QTimer

    from wizard.core.events import Emit, FileProgress, FilesPlanned, LogLine
    from wizard.core.install import pip_runner
    from wizard.core.install.flow import InstallRequest
    from wizard.core.process import Command, run_command
    from wizard.core.verify.runner import _typed
    from wizard.qt.adapters import InstallJob
    from wizard.qt.app import create_wizard, make_application
    from wizard.qt.state import GuiOptions, PageId

    app = make_application()   # the wizard's own (its GIL switch interval included)
    wizard = create_wizard(GuiOptions(machine=str(ROOT / "tests/profiles/ubuntu2404-rtx5090-drv590.json")))
    wizard.show()
    install = wizard.page_of(PageId.INSTALL)
    verify = wizard.page_of(PageId.VERIFY)
    pip_code = "import sys\nfor i in range(60000): print(f'Progress {i*4096} of {60000*4096} bytes')"
    ver_code = ("import json\nfor i in range(2000): print(json.dumps({'event': 'progress', 'stage': 'training', "
                "'step': i, 'loss': 1/(i+1), 'elapsed': i/100}), flush=True)")

    def flow(emit: Emit, cancel: threading.Event) -> None:
        emit(FilesPlanned(tuple((f"file{i}.whl", 500_000_000) for i in range(4))))

        def download() -> None:
            # 100 updates a second per file: 20x what the core's Downloader sends (one per 0.2 s)
            for done in range(0, 500_000_000, 1_250_000):
                for i in range(4):
                    emit(FileProgress(i, done, 500_000_000, 1e8, 5.0))
                time.sleep(0.01)

        def pip() -> None:
            run_command(Command(argv=(sys.executable, "-c", pip_code)),
                        on_line=lambda line: emit(pip_runner.read_line(line).progress or LogLine(line)))

        def demo() -> None:
            from wizard.core.verify.runner import VerifyParser

            parser = VerifyParser(_typed(emit))
            run_command(Command(argv=(sys.executable, "-c", ver_code)), on_line=parser.feed)

        threads = [threading.Thread(target=f) for f in (download, pip, demo)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    job = InstallJob(InstallRequest("2.14.1", "cu130", ("torch==2.14.1+cu130",)), install)
    job.runner.flow = flow
    job.runner.finished.disconnect()   # the stand-in flow returns no install outcome
    job.files_planned.connect(install._on_files)  # type: ignore[attr-defined]
    job.file_progress.connect(install._on_file_progress)  # type: ignore[attr-defined]
    job.pip_progress.connect(install._on_pip_progress)  # type: ignore[attr-defined]
    job.runner.flow_event.connect(verify._on_event)  # type: ignore[attr-defined]
    worst = 0.0
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def probe() -> None:
        nonlocal worst
        now = clock.elapsed()
        worst = max(worst, now - last[0] - 10)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(probe)
    timer.start()
    job.start()
    deadline = time.monotonic() + 120
    while job.running() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    wizard.close()
    return worst


def main() -> int:
    """Print the three numbers."""
    profile = str(ROOT / "tests/profiles/ubuntu2404-rtx5090-drv590.json")
    empty = statistics.median(first_paint("empty", profile) for _ in range(3))
    wizard = statistics.median(first_paint("wizard", profile) for _ in range(3))
    print(f"first paint: empty PySide6 window {empty * 1000:.0f} ms, wizard {wizard * 1000:.0f} ms, "
          f"ratio {wizard / empty:.2f}x (goal < 1.5x)")
    worst = stalls()
    print(f"longest event-loop stall during download + pip + verify: {worst:.0f} ms (goal < 100 ms)")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"peak RSS of the GUI process: {rss_mb:.0f} MB (goal < 250 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
