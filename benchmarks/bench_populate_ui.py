#!/usr/bin/env python
"""Is napari's UI thread ever blocked while the Populate dock runs a populate? (issue #4)

Run from the repository root, under Xvfb with the xcb platform::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python benchmarks/bench_populate_ui.py            # 2 x 1000 x 512 x 512
    ... benchmarks/bench_populate_ui.py --frames 300 --size 256     # smaller

It builds the demo pipeline (``napari-photon demo``'s synthetic TIFF recordings: two mice,
``--recordings`` each, plus a 4D volume) on a fresh embedded PostgreSQL in a temporary
home, opens a shown napari viewer with the Populate dock, starts a 10 ms ``QTimer`` and
clicks **Populate all**: every table, in dependency order, in the dock's worker thread
(import, motion correction, ROI detection, traces). Each timer tick records the time; a
gap between ticks is how long the UI thread could not run. The gaps are printed (median,
99th percentile, largest) against the 100 ms target, with the run's duration and the
number of progress events the dock showed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_GAP_MS = 100.0
TICK_MS = 10


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--recordings", type=int, default=1, help="recordings per mouse")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds for the run")
    ap.add_argument("--switch-interval", type=float, default=0.0,
                    help="ms: Python's GIL switch interval during the run (default: Python's "
                    "own, 5 ms)")
    ap.add_argument("--diagnose", action="store_true",
                    help="when the UI thread misses its ticks for 80 ms, print what the other "
                    "threads are running")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-ui-"))
    os.environ["NAPARI_PHOTON_HOME"] = str(home)
    os.environ["NAPARI_PHOTON_DATABASE"] = "embedded"

    import napari
    from qtpy.QtCore import QEventLoop, QTimer
    from qtpy.QtWidgets import QApplication

    from napari_photon import db, pipeline
    from napari_photon.cli._demo import MICE, SESSION_DATE, write_recordings

    print(f"home      : {home} (embedded PostgreSQL, file stores)")
    db.configure()
    pipeline.activate("bench_populate_ui")
    t = time.perf_counter()
    write_recordings(argparse.Namespace(frames=args.frames, size=args.size,
                                        recordings=args.recordings, seed=0))
    for mouse in MICE:
        pipeline.Mouse.insert1({"mouse_id": mouse}, skip_duplicates=True)
        pipeline.Session.insert1({"mouse_id": mouse, "session_date": SESSION_DATE},
                                 skip_duplicates=True)
    print(f"recordings: {len(MICE)} x {args.recordings} of {args.frames} x {args.size} x "
          f"{args.size} + one 4D volume, written in {time.perf_counter() - t:.1f} s")

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    viewer.window.resize(1600, 1000)
    _, dock = viewer.window.add_plugin_dock_widget("napari-photon", "Populate")
    wait(app, lambda: not dock.busy and (dock.loaded or dock.last_error is not None), 120)
    if dock.last_error is not None:
        print(f"the dock could not load its counts: {dock.last_error}")
        return 1

    ticks: list[float] = []
    events: list[float] = []
    finished: list = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    stages: list[str] = []

    def received(event) -> None:
        events.append(time.perf_counter())
        stages.append(f"{event.table} {event.stage or event.kind}".strip())

    dock.event_received.connect(received)
    loop = QEventLoop()
    dock.run_finished.connect(finished.append)
    dock.run_finished.connect(lambda _last: loop.quit())
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    if args.diagnose:
        start_diagnosis(ticks)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
    timer.start()
    start = time.perf_counter()
    dock.populate_all_button.click()
    loop.exec_()  # the Qt event loop runs, as in napari, until the run finished
    duration = time.perf_counter() - start
    if not finished:
        print(f"the run did not finish within {args.timeout:.0f} s")
        return 1
    timer.stop()
    last = finished[0]

    gaps = np.diff(ticks) * 1000.0
    worst = int(np.argmax(gaps))
    print(f"populate  : {duration:.1f} s, {last.n_done} keys made, {last.n_errors} failed, "
          f"{len(events)} progress events shown by the dock")
    print(f"UI ticks  : {len(ticks)} of a {TICK_MS} ms QTimer")
    print(f"gap ms    : median {statistics.median(gaps):.1f}, p99 "
          f"{np.percentile(gaps, 99):.1f}, max {gaps[worst]:.1f} at {ticks[worst] - start:.1f} s "
          f"into the run; gaps over {TARGET_GAP_MS:.0f} ms: {int((gaps > TARGET_GAP_MS).sum())}")
    for i in np.argsort(gaps)[::-1][:5]:  # the longest gaps and what the run was doing
        before = int(np.searchsorted(events, ticks[i])) - 1
        doing = stages[before] if before >= 0 else "starting"
        print(f"  gap {gaps[i]:6.1f} ms at {ticks[i] - start:6.1f} s, after: {doing}")
    ok = gaps.max() <= TARGET_GAP_MS
    print(f"target    : no gap over {TARGET_GAP_MS:.0f} ms -> {'ok' if ok else 'MISSED'}")
    viewer.close()
    db.EmbeddedPostgres(home).stop()
    return 0


def start_diagnosis(ticks: list[float], late_s: float = 0.08) -> None:
    """A daemon thread: when the last tick is older than ``late_s``, print the innermost
    frames of every other thread (at most once per stall)."""
    import threading
    import traceback

    main = threading.main_thread().ident

    def watch() -> None:
        reported = None
        while True:
            time.sleep(0.02)
            if not ticks or time.perf_counter() - ticks[-1] < late_s or reported == ticks[-1]:
                continue
            reported = ticks[-1]
            print(f"-- UI thread late by {1000 * (time.perf_counter() - ticks[-1]):.0f} ms")
            for ident, frame in sys._current_frames().items():
                if ident in (main, threading.get_ident()):
                    continue
                where = traceback.extract_stack(frame)[-3:]
                print("   " + " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                          for f in reversed(where)))

    threading.Thread(target=watch, daemon=True, name="ui-diagnosis").start()


def wait(app, condition, timeout: float) -> None:
    """Process Qt events until ``condition()`` holds (before the clock starts)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s")
        time.sleep(0.005)


if __name__ == "__main__":
    sys.exit(main())
