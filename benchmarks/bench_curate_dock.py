#!/usr/bin/env python
"""Benchmark the Curate ROIs dock (issue 13) in a real napari viewer (not a test).

Run from the repository root under a display (Xvfb)::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        env PYTHONPATH=src .venv/bin/python benchmarks/bench_curate_dock.py [--sizes 2000 10000]

For each size, a 512 x 512 recording with that many ROIs (disks of radius 3-6 at random
places, overlapping as dense detections do) and 1,000-frame stored traces per ROI (read
from memory: the database is left out) is shown in the dock, and it prints:

open
    ``show_model``: the layers (label image, colours), the table, until the viewer drew.
    The first row ("cold") is the first dock shown in the process and includes napari's
    one-time costs of a process's first layers (its units registry, the shapes layer's
    numba warm-up, OpenGL programs); the rows after it open in a fresh viewer of the same
    process, as a curator's second recording does.
select (traces)
    Selecting one ROI until its three traces are drawn (median of 10 ROIs).
merge, split, undo
    The action on the selection until the dock shows the new set (layer, colours, table),
    with the draft written after each (median of 5).

Targets: open <= 2 s (10,000 ROIs: <= 5 s), selection <= 100 ms, merge/split/undo <= 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = (512, 512)
FRAMES = 1000


def _inputs(n: int, seed: int = 0):
    from napari_photon import browse, curation

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    pixels = []
    for _ in range(n):
        cy, cx = rng.uniform(8, SHAPE[0] - 8, 2)
        r = rng.uniform(3, 6)
        y0, y1, x0, x1 = int(cy - r), int(cy + r) + 2, int(cx - r), int(cx + r) + 2
        sub = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
        ys, xs = np.nonzero(sub)
        pixels.append(np.ravel_multi_index((ys + y0, xs + x0), SHAPE))
    images = {"mean": rng.random(SHAPE, np.float32), "max": rng.random(SHAPE, np.float32),
              "correlation": rng.random(SHAPE, np.float32)}
    from napari_photon.browse._suggest import summary_images

    summary = summary_images(images, FRAMES)
    rois = curation.RoiSet.from_pixels(SHAPE, pixels, images=summary)
    traces = rng.normal(100, 5, (8, FRAMES)).astype(np.float32)

    def fetch(ids):
        return {i: {"fluorescence": traces[i % 8], "neuropil": traces[(i + 1) % 8],
                    "dff": traces[(i + 2) % 8] / 100 - 1} for i in ids}

    store = browse.TraceStore(fetch, None, SHAPE)
    key = {"mouse_id": "bench", "session_date": "2026-01-01", "recording_num": 1}
    return browse.CurationInputs(
        key=key, roi_key={**key, "motion_params_id": 1, "roi_params_id": 1}, schema="bench",
        shape=SHAPE, masks=None, metrics=dict(rois.metrics), images=images, traces=store,
        n_frames=FRAMES, rois=rois)


def _wait(app, done, timeout=60.0):
    start = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - start > timeout:
            raise TimeoutError
    app.processEvents()


def _timed(app, signal, action, repeats):
    times = []
    for i in range(repeats):
        fired: list = []

        def slot(*_args, fired=fired):
            fired.append(1)

        signal.connect(slot)
        start = time.perf_counter()
        action(i)
        _wait(app, lambda fired=fired: bool(fired))
        times.append(time.perf_counter() - start)
        signal.disconnect(slot)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_photon import browse
    from napari_photon._widgets._curate import CurateRois

    app = QApplication.instance() or QApplication([])
    print(f"{'ROIs':>11} {'open':>8} {'select':>8} {'merge':>8} {'split':>8} {'undo':>8}")
    runs = [(args.sizes[0], True)] + [(n, False) for n in args.sizes]
    for n, cold in runs:
        inputs = _inputs(n)
        viewer = napari.Viewer(show=True)
        viewer.window.resize(1600, 1000)
        dock = CurateRois(viewer)
        viewer.window.add_dock_widget(dock, name="Curate ROIs")
        with tempfile.TemporaryDirectory() as folder:
            model = browse.CurateModel(inputs, draft=Path(folder) / "draft.npz")
            start = time.perf_counter()
            dock.show_model(model)
            viewer.window._qt_viewer.canvas.native.repaint()
            app.processEvents()
            opened = time.perf_counter() - start

            areas = np.asarray(model.rois.areas)
            big = [int(i) for i in np.argsort(-areas)[:20]]
            select = _timed(app, dock.tracesShown, lambda i: dock.select([big[i]]), 10)
            centroids = np.array([np.mean(np.unravel_index(r.pixels, SHAPE), axis=1)
                                  for r in model.rois])

            def merge(i):
                a = big[i]
                d = np.linalg.norm(centroids - centroids[a], axis=1)
                d[a] = np.inf
                dock.select([a, int(np.argmin(d))])
                dock.act("merge")

            merged = _timed(app, dock.changed, merge, 5)

            def split(i):
                areas_now = np.asarray(dock.model.rois.areas)
                dock.select([int(np.argmax(areas_now))])
                dock.act("split")

            splits = _timed(app, dock.changed, split, 5)
            undone = _timed(app, dock.changed, lambda i: dock.act("undo"), 5)
        label = f"{n} cold" if cold else f"{n}"
        print(f"{label:>11} {opened:>7.2f}s {select * 1e3:>6.0f}ms {merged * 1e3:>6.0f}ms "
              f"{splits * 1e3:>6.0f}ms {undone * 1e3:>6.0f}ms", flush=True)
        viewer.close()


if __name__ == "__main__":
    main()
