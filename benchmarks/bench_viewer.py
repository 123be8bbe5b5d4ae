#!/usr/bin/env python
"""Benchmark viewing a large ``<photon@>`` movie in a real napari viewer (issue #4).

Run from the repository root, under Xvfb with the xcb platform (a real OpenGL context)::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python benchmarks/bench_viewer.py               # 20,000 x 512 x 512
    ... benchmarks/bench_viewer.py --frames 2000                  # a smaller movie
    ... benchmarks/bench_viewer.py --markdown                     # also a Markdown table

The movie (20,000 frames of 512 x 512 Poisson photon counts, about 10 GB as uint16) is
generated block by block from a lazily built dask array and written with
``napari_photon.storage.save_movie`` -- the exact zarr layout of a ``<photon@>`` column
-- so it never sits in memory. It is cached under ``.cache/bench/`` (about 2.5 GB at full
size) and reused by later runs (``--rebuild`` to regenerate).

Each case runs in a fresh subprocess (clean memory figures), with a shown viewer whose
OpenGL context is warmed up before the clock starts (the viewer is open when the user
clicks Open):

* ``lazy``: ``open_movie`` + ``add_recording_layers`` -- what the Pipeline browser and
  the reader do: a dask layer of one frame per chunk.
* ``numpy``: a 1000-frame crop of the same stabilized values read into a numpy array
  first (its read time is reported apart), then ``viewer.add_image``: for scale.
* ``lazy-cold``: ``lazy`` as the first layer of a fresh napari process.
* ``lazy-nocache``: ``lazy`` with napari's opportunistic dask cache turned off (napari
  setting *Application > Dask cache*, default on with 25 % of RAM): each frame viewed
  stays cached (about 2 MB per 512 x 512 frame) until that budget is used.

Figures
-------
open -> first frame
    From calling open to the first frame drawn: a canvas screenshot (an offscreen render
    of the scene) after the layer was added, checked for real pixels.
RSS growth
    Resident memory after the first frame, and the peak while stepping, minus the
    resident memory just before open.
frame step
    ``viewer.dims.set_current_step`` to the next frame, ``processEvents`` (the on-screen
    repaint) and a canvas screenshot (the frame must differ from the previous one), for
    ``--steps`` consecutive frames; median and 90th percentile. The screenshot alone
    (nothing changed) is reported too: it is part of every step figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
MIB = 2**20

TARGET_FIRST_FRAME_S = 1.0
TARGET_RSS_MB = 300.0
TARGET_STEP_MS = 50.0
SHARD_FRAMES = 64  # frames per shard that save_movie picks for 512 x 512 (64 MiB budget)


# ------------------------------------------------------------------------------ the movie


def _cells(size: int, n_cells: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth background (5-50 photons) and a label image of round cells."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((size, size)), size / 12)
    noise = (noise - noise.min()) / (np.ptp(noise) or 1.0)
    background = (5.0 + 45.0 * noise).astype(np.float32)
    labels = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    for k in range(1, n_cells + 1):
        cy, cx = rng.uniform(8, size - 8, 2)
        r = rng.uniform(3.5, 6.5)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    return background, labels


POOL_A, POOL_B = 61, 67  # coprime: a frame's pair of pool frames repeats after 4087 frames


def poisson_movie(n_frames: int, size: int, seed: int = 1, n_cells: int = 150):
    """A lazy dask array (t, y, x) uint16 of Poisson photon counts, one block per shard.

    Cells flash with deterministic, cell-specific rhythms over a smooth 5-50 photon
    background. Drawing 5 G Poisson samples directly costs 20-40 minutes here (numpy's
    sampler takes ~300 ns per sample at these rates on this machine), so the background
    of frame ``t`` is the sum of two independent Poisson(lambda/2) frames drawn once,
    ``A[t % 61] + B[t % 67]``: Poisson(lambda) in every pixel of every frame, the same
    pair only every 4087 frames. The cells' photons are drawn per frame. Each block is
    computed on demand from its index alone, so writing the movie block by block never
    holds more than a few blocks in memory.
    """
    import dask.array as da

    background, labels = _cells(size, n_cells, seed)
    rng = np.random.default_rng(seed + 1)
    half = background / 2.0
    pool_a = rng.poisson(half, size=(POOL_A, size, size)).astype(np.uint16)
    pool_b = rng.poisson(half, size=(POOL_B, size, size)).astype(np.uint16)
    period = rng.uniform(40, 400, n_cells + 1)
    phase = rng.uniform(0, 2 * np.pi, n_cells + 1)
    amplitude = rng.uniform(20, 80, n_cells + 1)
    amplitude[0] = 0.0  # label 0: background
    inside = labels > 0
    cell_of_pixel = labels[inside]

    def block(block_id=None) -> np.ndarray:
        i = block_id[0]
        t = np.arange(i * SHARD_FRAMES, min((i + 1) * SHARD_FRAMES, n_frames))
        out = pool_a[t % POOL_A] + pool_b[t % POOL_B]
        activity = amplitude * np.maximum(np.sin(2 * np.pi * t[:, None] / period + phase), 0) ** 8
        cells = np.random.default_rng([seed, i]).poisson(activity[:, cell_of_pixel])
        out[:, inside] += cells.astype(np.uint16)
        return out

    n_full, rest = divmod(n_frames, SHARD_FRAMES)
    chunks = ((SHARD_FRAMES,) * n_full + ((rest,) if rest else ()), (size,), (size,))
    return da.map_blocks(block, chunks=chunks, dtype=np.uint16, meta=np.empty((0, 0, 0), np.uint16))


def ensure_movie(n_frames: int, size: int, rebuild: bool) -> tuple[Path, float | None]:
    """The cached movie folder (generated when missing); and the generation time."""
    from napari_photon.storage import save_movie, write_options

    folder = CACHE / f"poisson-{n_frames}x{size}x{size}.zarr"
    done = folder.with_suffix(".complete")
    if folder.exists() and done.exists() and not rebuild:
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    done.unlink(missing_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(CACHE).free
    need = n_frames * size * size * 2 * 0.3  # stored at about a quarter of raw uint16
    if free < 2 * need:
        sys.exit(f"not enough disk under {CACHE}: {free / 2**30:.1f} GiB free")
    print(
        f"generating {n_frames} x {size} x {size} Poisson frames "
        f"({n_frames * size * size * 2 / 1e9:.1f} GB as uint16) into {folder} ...",
        flush=True,
    )
    start = time.perf_counter()
    last = [0.0]

    def progress(done_frames: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 15 or done_frames == total:
            last[0] = now
            rate = done_frames / (now - start)
            print(
                f"  {done_frames}/{total} frames, {rate:.0f} frames/s, "
                f"{(total - done_frames) / max(rate, 1e-9):.0f} s left",
                flush=True,
            )

    with write_options(progress=progress):
        save_movie(folder, poisson_movie(n_frames, size))
    seconds = time.perf_counter() - start
    done.write_text(json.dumps({"frames": n_frames, "size": size, "seconds": seconds}))
    return folder, seconds


def folder_nbytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ------------------------------------------------------------------------------ one case


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class DrawCounter:
    """Counts the canvas's paints (vispy ``draw`` events of napari's scene canvas).

    napari has no public "frame drawn" signal; the benchmark reaches the scene canvas
    through ``viewer.window._qt_viewer`` (private, read-only use, benchmark only).
    """

    def __init__(self, viewer) -> None:
        self.count = 0
        canvas = viewer.window._qt_viewer.canvas._scene_canvas
        canvas.events.draw.connect(self._on_draw)

    def _on_draw(self, event=None) -> None:
        self.count += 1

    def wait(self, app, after: int, timeout: float = 10.0) -> None:
        """Process events until the canvas painted more than ``after`` times."""
        deadline = time.perf_counter() + timeout
        while self.count <= after:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise TimeoutError("the canvas never painted")


def run_case(case: str, folder: Path, steps: int, crop: int) -> dict:
    """Measure one case in this process (run by the parent as a subprocess).

    ``case`` is ``lazy``, ``numpy`` or ``lazy-cold``; all but ``lazy-cold`` first add and
    remove a small layer, so napari's one-time costs of its first layer in a process
    (lazy imports, the pint unit registry: about 0.6-1 s here) are paid before the clock
    starts, as they are in a session where anything was shown before.
    """
    import dask.array  # noqa: F401 - imported by napari_photon's browser at connect time
    import napari
    import zarr  # noqa: F401
    from qtpy.QtWidgets import QApplication

    from napari_photon._viewer_layers import add_recording_layers, center_frame, contrast_limits
    from napari_photon.storage import open_movie

    if case == "lazy-nocache":  # napari's opportunistic dask cache off (child's own settings)
        from napari.settings import get_settings

        get_settings().application.dask.enabled = False
    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    viewer.window.resize(1600, 1000)
    draws = DrawCounter(viewer)
    for _ in range(20):
        app.processEvents()
    if case != "lazy-cold":
        warm = viewer.add_image(np.zeros((2, 8, 8), np.float32), name="warm-up")
        draws.wait(app, draws.count)
        viewer.layers.remove(warm)
    viewer.screenshot(canvas_only=True, flash=False)  # the GL context is up
    app.processEvents()
    result: dict = {"case": case}

    if case == "numpy":
        movie = open_movie(folder)
        mid = movie.shape[0] // 2
        t0, t1 = max(mid - crop // 2, 0), min(mid - crop // 2 + crop, movie.shape[0])
        rss0 = _rss()
        start = time.perf_counter()
        data = np.asarray(movie[t0:t1])
        result["crop_read_s"] = time.perf_counter() - start
        result["crop_frames"] = int(data.shape[0])
        result["crop_mb"] = data.nbytes / MIB
    else:
        rss0 = _rss()

    before = draws.count
    start = time.perf_counter()
    if case == "numpy":
        layer = viewer.add_image(
            data,
            name="bench crop",
            colormap="gray",
            contrast_limits=contrast_limits(center_frame(data)),
        )
    else:
        movie = open_movie(folder)
        layer = add_recording_layers(viewer, movie, name="bench")[0]
    draws.wait(app, before)
    result["first_frame_s"] = time.perf_counter() - start
    image = np.asarray(viewer.screenshot(canvas_only=True, flash=False))
    result["first_frame_std"] = float(image[..., :3].std())
    app.processEvents()
    result["rss_open_mb"] = (_rss() - rss0) / MIB
    result["shape"] = list(layer.data.shape)
    result["lazy"] = type(layer.data).__module__.startswith("dask")
    result["canvas"] = list(image.shape[:2])

    shots = []
    for _ in range(7):
        s = time.perf_counter()
        viewer.screenshot(canvas_only=True, flash=False)
        shots.append(time.perf_counter() - s)
    result["screenshot_ms"] = 1000 * statistics.median(shots)

    first = int(viewer.dims.current_step[0])
    n_frames = layer.data.shape[0]
    times, slicing, peak, unchanged = [], [], _rss(), 0
    previous = image
    for i in range(1, steps + 1):
        frame = (first + i) % n_frames
        before = draws.count
        s = time.perf_counter()
        viewer.dims.set_current_step(0, frame)  # napari slices (reads the frame) here
        sliced = time.perf_counter()
        draws.wait(app, before)
        times.append(time.perf_counter() - s)
        slicing.append(sliced - s)
        shot = np.asarray(viewer.screenshot(canvas_only=True, flash=False))  # not timed
        unchanged += int(np.array_equal(shot, previous))
        previous = shot
        peak = max(peak, _rss())
    result["step_median_ms"] = 1000 * statistics.median(times)
    result["step_p90_ms"] = 1000 * float(np.percentile(times, 90))
    result["step_max_ms"] = 1000 * max(times)
    result["slice_median_ms"] = 1000 * statistics.median(slicing)
    result["steps"] = steps
    result["steps_unchanged"] = unchanged
    result["rss_peak_mb"] = (peak - rss0) / MIB
    viewer.close()
    return result


def run_subprocess(case: str, folder: Path, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--case",
        case,
        "--movie",
        str(folder),
        "--steps",
        str(args.steps),
        "--crop",
        str(args.crop),
    ]
    # fresh napari settings (defaults) per child, in the cache folder: the user's are not
    # read nor changed, and lazy-nocache's change does not leak into the other cases
    settings = CACHE / f"napari-settings-{case}.yaml"
    settings.unlink(missing_ok=True)
    env = dict(os.environ, NAPARI_CONFIG=str(settings))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.exit(
        f"case {case} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )


# ------------------------------------------------------------------------------ report


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(lazy: dict, crop: dict, cold: dict, nocache: dict, info: dict, markdown: bool) -> str:
    rows = [
        (
            "open -> first frame painted (s)",
            f"{lazy['first_frame_s']:.2f}",
            f"{crop['first_frame_s']:.2f} (+{crop['crop_read_s']:.1f} read)",
            f"<= {TARGET_FIRST_FRAME_S:.0f}",
            _mark(lazy["first_frame_s"] <= TARGET_FIRST_FRAME_S),
        ),
        (
            "  same, first layer of a fresh napari (s)",
            f"{cold['first_frame_s']:.2f}",
            "-",
            "-",
            "",
        ),
        (
            "RSS growth after first frame (MB)",
            f"{lazy['rss_open_mb']:.0f}",
            f"{crop['rss_open_mb']:.0f}",
            f"<= {TARGET_RSS_MB:.0f}",
            _mark(lazy["rss_open_mb"] <= TARGET_RSS_MB),
        ),
        (
            f"RSS growth, peak over {lazy['steps']} steps (MB)",
            f"{lazy['rss_peak_mb']:.0f}",
            f"{crop['rss_peak_mb']:.0f}",
            f"<= {TARGET_RSS_MB:.0f}",
            _mark(lazy["rss_peak_mb"] <= TARGET_RSS_MB),
        ),
        (
            "  same, napari's dask cache off (MB)",
            f"{nocache['rss_peak_mb']:.0f}",
            "-",
            f"<= {TARGET_RSS_MB:.0f}",
            _mark(nocache["rss_peak_mb"] <= TARGET_RSS_MB),
        ),
        (
            "frame step to painted, median (ms)",
            f"{lazy['step_median_ms']:.1f}",
            f"{crop['step_median_ms']:.1f}",
            f"<= {TARGET_STEP_MS:.0f}",
            _mark(lazy["step_median_ms"] <= TARGET_STEP_MS),
        ),
        (
            "  p90 / max (ms)",
            f"{lazy['step_p90_ms']:.1f} / {lazy['step_max_ms']:.1f}",
            f"{crop['step_p90_ms']:.1f} / {crop['step_max_ms']:.1f}",
            "-",
            "",
        ),
        (
            "  of which slicing, median (ms)",
            f"{lazy['slice_median_ms']:.1f}",
            f"{crop['slice_median_ms']:.1f}",
            "-",
            "",
        ),
        (
            "canvas screenshot, for scale (ms)",
            f"{lazy['screenshot_ms']:.1f}",
            f"{crop['screenshot_ms']:.1f}",
            "-",
            "",
        ),
    ]
    head = (
        "figure",
        f"lazy <photon@> {info['frames']} fr",
        f"numpy crop {crop['crop_frames']} fr",
        "target",
        "lazy",
    )
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * len(head)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
        fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
        lines.append(fmt.format(*head))
        lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--crop", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached movie")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument(
        "--case", choices=("lazy", "numpy", "lazy-cold", "lazy-nocache"), help=argparse.SUPPRESS
    )
    parser.add_argument("--movie", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:  # child process
        print("RESULT " + json.dumps(run_case(args.case, args.movie, args.steps, args.crop)))
        return

    if os.environ.get("QT_QPA_PLATFORM") not in (None, "xcb") or not os.environ.get("DISPLAY"):
        print(
            "warning: run under Xvfb with QT_QPA_PLATFORM=xcb (see the docstring)", file=sys.stderr
        )
    folder, generated = ensure_movie(args.frames, args.size, args.rebuild)
    stored = folder_nbytes(folder)
    raw = args.frames * args.size * args.size * 2
    info = {"frames": args.frames, "size": args.size}
    print(
        f"movie: {folder} ({args.frames} x {args.size} x {args.size}; raw uint16 "
        f"{raw / 1e9:.2f} GB, stored {stored / 1e9:.2f} GB = {stored / raw:.3f} of raw"
        + (f"; generated in {generated:.0f} s" if generated else "; cached")
        + ")"
    )
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; Python {platform.python_version()}"
    )
    lazy = run_subprocess("lazy", folder, args)
    crop = run_subprocess("numpy", folder, args)
    cold = run_subprocess("lazy-cold", folder, args)
    nocache = run_subprocess("lazy-nocache", folder, args)
    for r in (lazy, crop, cold, nocache):
        print(
            f"{r['case']}: layer {r['shape']} lazy={r['lazy']}, canvas {r['canvas']}, first frame "
            f"pixel std {r['first_frame_std']:.1f}, steps with an unchanged canvas "
            f"{r['steps_unchanged']}/{r['steps']}"
            + (
                f", crop {r['crop_mb']:.0f} MB read in {r['crop_read_s']:.1f} s"
                if "crop_mb" in r
                else ""
            )
        )
    print()
    print(report(lazy, crop, cold, nocache, info, markdown=False))
    if args.markdown:
        print()
        print(report(lazy, crop, cold, nocache, info, markdown=True))
    print(f"\nload average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
