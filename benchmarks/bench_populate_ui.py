#!/usr/bin/env python
"""Is napari's UI thread ever blocked while the Populate dock runs a populate? (issue #4)

Run from the repository root, under Xvfb with the xcb platform::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python benchmarks/bench_populate_ui.py            # 2 x 1000 x 512 x 512
    ... benchmarks/bench_populate_ui.py --frames 300 --size 256     # smaller

It builds the demo pipeline (``napari-photon demo``'s synthetic TIFF recordings: two mice,
``--recordings`` each, plus a 4D volume) on a fresh embedded PostgreSQL in a temporary
home, opens a shown napari viewer with the Populate dock, starts a 10 ms ``QTimer`` and
clicks **Populate all**: every table, in dependency order (import, motion correction, ROI
detection, traces). Each timer tick records the time; a gap between ticks is how long the
UI thread could not run. The gaps are printed (median, 99th percentile, largest) against
the 100 ms target, with the run's duration and the number of progress events the dock
showed.

The run is made twice on the same recordings, each time in a fresh schema: first with the
keys made in a thread of napari's process (the baseline), then in a child process (the
dock's default); ``--modes`` picks one or both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

TARGET_GAP_MS = 100.0
TICK_MS = 10


MODES = {
    "thread": "in a thread of napari's process (baseline)",
    "process": "in a child process (the dock's default)",
    "headless": "by a separate headless process, the dock idle (this machine's floor)",
}

# what a headless worker (`napari-photon populate`) does, at the dock's niceness
HEADLESS = (
    "import os, sys; os.nice(int(sys.argv[2])); "
    "from napari_photon import pipeline; pipeline.activate(sys.argv[1]); "
    "events = list(pipeline.run_populate()); "
    "sys.exit(1 if events[-1].n_errors else 0)"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--recordings", type=int, default=1, help="recordings per mouse")
    ap.add_argument("--modes", default="thread,process,headless",
                    help="comma-separated, in order: thread (the keys are made in a thread "
                    "of napari's process), process (in a child process), headless (by a "
                    "separate process not started by napari, while the dock is idle)")
    ap.add_argument("--niceness", type=int, default=None,
                    help="the child process's niceness (default: the dock's)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds for each run")
    ap.add_argument("--keep-home", action="store_true",
                    help="keep the temporary home (recordings, database, stores) afterwards")
    ap.add_argument("--switch-interval", type=float, default=0.0,
                    help="ms: Python's GIL switch interval during the runs (default: "
                    "Python's own, 5 ms)")
    ap.add_argument("--gc-log", action="store_true",
                    help="record the interpreter's garbage collections in napari's process "
                    "and print how much of each long gap they took")
    ap.add_argument("--pause-spinner", action="store_true",
                    help="diagnosis: keep napari's animated activity indicator paused during "
                    "the runs (every frame of its animation repaints the window)")
    ap.add_argument("--diagnose", action="store_true",
                    help="when the UI thread misses its ticks for 80 ms, print what every "
                    "thread of napari's process is running")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        ap.error(f"--modes: choose from {', '.join(MODES)}")

    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-ui-"))
    os.environ["NAPARI_PHOTON_HOME"] = str(home)
    os.environ["NAPARI_PHOTON_DATABASE"] = "embedded"

    import napari
    from qtpy.QtWidgets import QApplication

    from napari_photon import db, pipeline
    from napari_photon.cli._demo import write_recordings

    print(f"home      : {home} (embedded PostgreSQL, file stores)")
    db.configure()
    t = time.perf_counter()
    write_recordings(argparse.Namespace(frames=args.frames, size=args.size,
                                        recordings=args.recordings, seed=0))
    print(f"recordings: 2 mice x {args.recordings} of {args.frames} x {args.size} x "
          f"{args.size} + one 4D volume, written in {time.perf_counter() - t:.1f} s")

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    viewer.window.resize(1600, 1000)
    pipeline.activate(f"bench_populate_ui_{modes[0]}")
    _, dock = viewer.window.add_plugin_dock_widget("napari-photon", "Populate")
    if args.niceness is not None:
        dock.niceness = args.niceness
    print(f"child     : niceness {dock.niceness} (in process mode)")
    if args.diagnose:
        start_diagnosis(_TICKS)
    if args.gc_log:
        import gc
        gc.callbacks.append(_record_gc)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
    results = {}
    for mode in modes:
        print(f"\n== populate all {MODES[mode]}")
        result = measure(app, dock, pipeline, mode, args.timeout, args.pause_spinner)
        if result is None:
            return 1
        results[mode] = result
    if len(results) > 1:
        print("\n| mode: keys made | UI gap median ms | p99 ms | max ms | gaps > 100 ms | run s |")
        print("|---|---|---|---|---|---|")
        for mode, r in results.items():
            print(f"| {mode}: {r['done']} | {r['median']:.1f} | {r['p99']:.1f} | "
                  f"{r['max']:.1f} | {r['over']} | {r['seconds']:.1f} |")
        for other in ("thread", "headless"):
            if {other, "process"} <= set(results):
                o, p = results[other], results["process"]
                print(f"process / {other}: largest gap {p['max'] / o['max']:.2f}, p99 gap "
                      f"{p['p99'] / o['p99']:.2f}, run time {p['seconds'] / o['seconds']:.2f}")
    viewer.close()
    db.EmbeddedPostgres(home).stop()
    if not args.keep_home:
        shutil.rmtree(home, ignore_errors=True)
    return 0


_TICKS: list[float] = []
_GC: list[tuple[float, float, int]] = []  # (start, stop, generation) of each collection
_GC_START: list[float] = [0.0]


def _record_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _GC_START[0] = time.perf_counter()
    else:
        _GC.append((_GC_START[0], time.perf_counter(), info["generation"]))


def gc_inside(t0: float, t1: float) -> str:
    """The collections that ran between ``t0`` and ``t1``: generation and ms each."""
    inside = [(g, 1000 * (b - a)) for a, b, g in _GC if b > t0 and a < t1]
    return ", ".join(f"gen{g} {ms:.0f} ms" for g, ms in inside) or "none"


def headless_result(pipeline, returncode: int) -> SimpleNamespace | None:
    """What the dock's last event would say of a headless run."""
    if returncode != 0:
        return None
    counts = pipeline.job_counts()
    return SimpleNamespace(n_done=sum(c.done for c in counts),
                           n_errors=sum(c.error for c in counts))


def pause_animations(window) -> int:
    """Pause every running ``QMovie`` shown by a label of ``window``; how many were."""
    from qtpy.QtGui import QMovie
    from qtpy.QtWidgets import QLabel

    paused = 0
    for label in window.findChildren(QLabel):
        movie = label.movie()
        if movie is not None and movie.state() == QMovie.MovieState.Running:
            movie.setPaused(True)
            paused += 1
    return paused


def measure(app, dock, pipeline, mode: str, timeout: float, pause_spinner: bool = False
            ) -> dict | None:
    """Populate every table of a fresh schema from the dock; the UI timer's gaps."""
    from qtpy.QtCore import QEventLoop, QTimer

    from napari_photon.cli._demo import MICE, SESSION_DATE

    # the recordings were just written: let the kernel write them out first, or the
    # writeback of a gigabyte of dirty pages stalls everything on the machine during the
    # first run (a microscope's files are on disk long before anyone populates them)
    os.sync()
    pipeline.activate(f"bench_populate_ui_{mode}")
    for mouse in MICE:
        pipeline.Mouse.insert1({"mouse_id": mouse}, skip_duplicates=True)
        pipeline.Session.insert1({"mouse_id": mouse, "session_date": SESSION_DATE},
                                 skip_duplicates=True)
    dock.separate_process = mode != "thread"
    wait(app, lambda: not dock.busy, 120)
    dock.refresh()
    wait(app, lambda: not dock.busy and (dock.loaded or dock.last_error is not None), 120)
    if dock.last_error is not None:
        print(f"the dock could not load its counts: {dock.last_error}")
        return None

    ticks = _TICKS
    ticks.clear()
    _GC.clear()
    events: list[float] = []
    finished: list = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    paused: list[int] = []
    if pause_spinner:
        window = dock.viewer.window._qt_window  # benchmark diagnosis only
        timer.timeout.connect(lambda: paused.append(pause_animations(window)))
    stages: list[str] = []

    def received(event) -> None:
        events.append(time.perf_counter())
        stages.append(f"{event.table} {event.stage or event.kind}".strip())

    loop = QEventLoop()

    def ended(last) -> None:
        finished.append(last)
        loop.quit()

    draws: list[float] = []  # napari's canvas repaints (llvmpipe: tens of ms each)
    with warnings.catch_warnings():  # napari's private canvas: read-only, benchmark only
        warnings.simplefilter("ignore", FutureWarning)
        canvas = dock.viewer.window._qt_window._qt_viewer.canvas._scene_canvas

    def drawn(_event) -> None:
        draws.append(time.perf_counter())

    canvas.events.draw.connect(drawn)
    dock.event_received.connect(received)
    timed: dict[str, list[float]] = {"dock event": [], "napari bar sync": []}

    def timing(name, fn):
        def call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timed[name].append(1000 * (time.perf_counter() - t))
        return call

    dock._handle_event = timing("dock event", dock._handle_event)
    dock.progress.sync_activity = timing("napari bar sync", dock.progress.sync_activity)
    dock.run_finished.connect(ended)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    timer.start()
    start = time.perf_counter()
    cpu_start = time.thread_time()  # the user-interface thread's processor time
    if mode == "headless":
        worker = subprocess.Popen([sys.executable, "-c", HEADLESS,
                                   pipeline.current_schema().database, str(dock.niceness)])
        watch = QTimer()
        watch.setInterval(50)
        watch.timeout.connect(lambda: worker.poll() is not None and ended(headless_result(
            pipeline, worker.returncode)))
        watch.start()
    else:
        dock.populate_all_button.click()
    loop.exec_()  # the Qt event loop runs, as in napari, until the run finished
    duration = time.perf_counter() - start
    ui_cpu = time.thread_time() - cpu_start
    timer.stop()
    if mode == "headless":
        watch.stop()
    canvas.events.draw.disconnect(drawn)
    dock.event_received.disconnect(received)
    dock.run_finished.disconnect(ended)
    if not finished or finished[0] is None:
        print(f"the run did not finish within {timeout:.0f} s" if not finished
              else "the run stopped on an error (see the dock)")
        return None
    last = finished[0]

    gaps = np.diff(ticks) * 1000.0
    worst = int(np.argmax(gaps))
    over = int((gaps > TARGET_GAP_MS).sum())
    print(f"populate  : {duration:.1f} s, {last.n_done} keys made, {last.n_errors} failed, "
          f"{len(events)} progress events shown by the dock, {len(draws)} canvas repaints"
          + (f" (at {', '.join(f'{d - start:.1f}' for d in draws[:5])} s)" if draws else ""))
    print(f"UI thread : {ui_cpu:.1f} s of processor time in the {duration:.1f} s "
          f"({100 * ui_cpu / duration:.0f} %)")
    print(f"UI ticks  : {len(ticks)} of a {TICK_MS} ms QTimer"
          + (f"; animations paused {sum(paused)} times" if pause_spinner else ""))
    print(f"gap ms    : median {statistics.median(gaps):.1f}, p99 "
          f"{np.percentile(gaps, 99):.1f}, max {gaps[worst]:.1f} at {ticks[worst] - start:.1f} s "
          f"into the run; gaps over {TARGET_GAP_MS:.0f} ms: {over}")
    for i in np.argsort(gaps)[::-1][:5]:  # the longest gaps and what the run was doing
        before = int(np.searchsorted(events, ticks[i])) - 1
        doing = stages[before] if before >= 0 else "starting"
        print(f"  gap {gaps[i]:6.1f} ms at {ticks[i] - start:6.1f} s, after: {doing}"
              + (f"; collections in it: {gc_inside(ticks[i], ticks[i + 1])}" if _GC else ""))
    if _GC:
        by_gen = {g: [1000 * (b - a) for a, b, gg in _GC if gg == g] for g in (0, 1, 2)}
        print("gc        : " + "; ".join(
            f"gen{g} x{len(ms)} max {max(ms):.0f} ms" for g, ms in by_gen.items() if ms))
    for name, ms in timed.items():
        if ms:
            print(f"{name:10s}: {len(ms)} calls, median {statistics.median(ms):.1f} ms, "
                  f"max {max(ms):.1f} ms")
    del dock._handle_event, dock.progress.sync_activity
    ok = gaps.max() <= TARGET_GAP_MS
    print(f"target    : no gap over {TARGET_GAP_MS:.0f} ms -> {'ok' if ok else 'MISSED'}")
    return {"done": last.n_done, "median": statistics.median(gaps),
            "p99": float(np.percentile(gaps, 99)), "max": float(gaps.max()), "over": over,
            "seconds": duration}


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
                if ident == threading.get_ident():
                    continue
                where = traceback.extract_stack(frame)[-3:]
                print(("   UI " if ident == main else "   ")
                      + " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
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
