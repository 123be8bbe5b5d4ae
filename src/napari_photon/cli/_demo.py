"""``napari-photon demo``: a whole pipeline on synthetic recordings with known ground truth."""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._progress import terminal_progress

DEMO_SCHEMA = "photon_demo"
#: the demo mice, as the design document inserts them
MICE = (
    {"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"},
    {"mouse_id": 2, "strain": "C57BL/6J", "sex": "F"},
)
SESSION_DATE = "2026-11-25"
DOCKED_WIDGETS = ("Pipeline browser", "Populate", "Process recording")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build and populate a demo pipeline from synthetic recordings, then show it",
        description="Generate synthetic two-photon recordings with known motion, neurons and "
        "calcium traces, write them as TIFF stacks, import them into a pipeline on the "
        "embedded database (or the configured server), populate every table, print a summary "
        "and save a plot of traces. With a display and napari installed (the napari "
        "extra), open napari on the result.",
    )
    parser.add_argument("--schema", default=DEMO_SCHEMA, help=f"default {DEMO_SCHEMA}")
    parser.add_argument("--frames", type=int, default=600, help="frames per recording")
    parser.add_argument("--size", type=int, default=256, help="frame height and width")
    parser.add_argument("--recordings", type=int, default=2, help="recordings per mouse")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="folder for the trace plot")
    parser.add_argument("--no-viewer", action="store_true", help="do not open napari")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import db, pipeline

    started = time.perf_counter()
    info = db.configure()
    where = "embedded PostgreSQL" if info.get("embedded") else f"{info.get('backend')} server"
    print(f"database: {where} at {info.get('host')}:{info.get('port')}")
    demo = pipeline.activate(args.schema)
    truth = write_recordings(args)
    for mouse in MICE:
        demo.Mouse.insert1(mouse, skip_duplicates=True)
        demo.Session.insert1(
            {
                "mouse_id": mouse["mouse_id"],
                "session_date": SESSION_DATE,
                "experimenter": "napari-photon demo",
                "notes": "synthetic recordings with known motion, neurons and traces",
            },
            skip_duplicates=True,
        )
    with terminal_progress():
        results = demo.populate()
    print_summary(demo, results)
    report_ground_truth(demo, truth)
    output = args.output or db.home() / "demo"
    plot = save_trace_plot(demo, output / "traces.png")
    print(f"trace plot: {plot}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    if args.no_viewer:
        return 0
    if not napari_installed():
        print(NO_NAPARI)
    elif os.environ.get("DISPLAY"):
        open_viewer(demo)
    else:
        print("no display: not opening napari (run with a display to browse the pipeline)")
    return 0


NO_NAPARI = (
    "napari is not installed: the pipeline is ready, but opening the viewer needs napari "
    "(pip install 'napari-photon[napari]' PyQt6, or bash scripts/bootstrap.sh demo)"
)


def napari_installed() -> bool:
    """Whether napari is installed (a headless install has no napari and no Qt); nothing
    is imported."""
    try:
        return importlib.util.find_spec("napari") is not None
    except (ImportError, ValueError):
        return False


def write_recordings(args: argparse.Namespace) -> dict:
    """Synthetic TIFF stacks in each demo session's raw folder; returns the ground truth."""
    from .. import synthetic
    from ..calibration import Calibration
    from ..pipeline import session_folder
    from ..io import calibration_properties

    truth = {}
    seed = args.seed
    for mouse in (m["mouse_id"] for m in MICE):
        folder = session_folder({"mouse_id": mouse, "session_date": SESSION_DATE})
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(1, args.recordings + 1):
            path = folder / f"recording_{number:02d}.tif"
            seed += 1
            movie = synthetic.make_movie(
                n_frames=args.frames, shape=(args.size, args.size),
                n_neurons=max(4, args.size**2 // 1100), max_shift=min(8.0, args.size / 32),
                seed=seed,
            )
            truth[(mouse, number)] = movie
            if path.exists():
                continue
            # Odd recordings as digitizer levels with the calibration in the file; even ones
            # as bare levels, so Recording.make has to estimate the calibration.
            cal = Calibration(gain=2.5, zero_level=100.0, read_noise=0.0)
            levels = (movie.movie * cal.gain + cal.zero_level).astype(np.uint16)
            props = calibration_properties(cal) if number % 2 else None
            synthetic.write_tiff(path, levels, frame_rate=movie.frame_rate, properties=props)
    volume_path = session_folder({"mouse_id": MICE[0]["mouse_id"], "session_date": SESSION_DATE})
    volume_path = volume_path / "volume_01.tif"
    if not volume_path.exists():
        volume = synthetic.make_volume(
            n_frames=max(20, args.frames // 10), n_planes=3, shape=(args.size // 2,) * 2,
            n_neurons=6, neuron_radius=(3.0, 5.0), max_shift=2.0, seed=seed + 1,
        )
        synthetic.write_tiff(
            volume_path, volume.movie, frame_rate=volume.frame_rate,
            plane_spacing=volume.plane_spacing,
        )
    return truth


def print_summary(demo: Any, results: list) -> None:
    from ..pipeline._report import human_bytes

    movies = demo.stored_movies()
    print()
    header = f"{'table':<16} {'rows':>6} {'time':>8} {'stored':>10} {'original':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    seconds = {r.table: r.seconds for r in results}
    for table in demo.tables:
        name = table.__name__
        mine = [m for m in movies if m.table == name]
        stored = sum(m.stored_nbytes for m in mine)
        original = sum(m.original_nbytes for m in mine)
        time_text = f"{seconds[name]:.1f} s" if name in seconds else "-"
        sizes = (
            f"{human_bytes(stored):>10} {human_bytes(original):>10} {original / stored:>6.2f}x"
            if mine
            else f"{'-':>10} {'-':>10} {'-':>7}"
        )
        print(f"{name:<16} {len(table()):>6} {time_text:>8} {sizes}")
    for r in results:
        for key, message in r.errors:
            print(f"error in {r.table} {key}: {message}")


def report_ground_truth(demo: Any, truth: dict) -> None:
    """How well registration and detection recovered the known motion and neurons."""
    print()
    for (mouse, number), movie in truth.items():
        key = {"mouse_id": mouse, "session_date": SESSION_DATE, "recording_num": number}
        rows = (demo.MotionCorrected & key).proj("shift_y", "shift_x").to_dicts()
        n_rois = [r["n_rois"] for r in (demo.ROI & key).proj("n_rois").to_dicts()]
        if not rows:
            continue
        estimate = np.c_[rows[0]["shift_y"], rows[0]["shift_x"]]
        error = estimate + movie.shifts
        error -= error.mean(axis=0)
        rms = float(np.sqrt((error**2).sum(axis=1).mean()))
        print(
            f"mouse_id {mouse} recording_num {number}: registration RMS error {rms:.2f} px; "
            f"{int(n_rois[0]) if len(n_rois) else 0} ROIs found, {len(movie.footprints)} neurons"
        )


def save_trace_plot(demo: Any, path: Path) -> Path:
    """Plot the first 10 traces of the first recording as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    keys = demo.ROI.keys(limit=1)
    fig, ax = plt.subplots(figsize=(10, 6))
    if keys:
        trace = (demo.Trace & keys[0]).proj("fluorescence")
        rows = trace.to_dicts(order_by="roi_id", limit=10)
        rate = (demo.Recording & keys[0]).fetch1("frame_rate") or 1.0
        for i, row in enumerate(rows):
            f = row["fluorescence"]
            t = np.arange(len(f)) / rate
            ax.plot(t, (f - f.min()) / max(np.ptp(f), 1e-6) + i, lw=0.8)
            ax.text(t[-1], i + 0.4, f" roi_id {row['roi_id']}", fontsize=8, va="center")
        ax.set_title(f"First {len(rows)} traces of mouse_id {keys[0]['mouse_id']} "
                     f"recording_num {keys[0]['recording_num']} (photons, scaled per ROI)")
    ax.set_xlabel("time (s)")
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def open_viewer(demo: Any) -> None:
    """Open napari on the first demo recording: lazy layers, nothing read up front."""
    import napari

    from .._viewer_layers import add_recording_layers

    key = demo.MotionCorrected.keys(limit=1)[0]
    viewer = napari.Viewer(title="napari-photon demo")
    add_recording_layers(
        viewer,
        (demo.Recording & key).fetch1("raw_movie"),
        corrected=(demo.MotionCorrected & key).fetch1("corrected_movie"),
        masks=(demo.ROI & key).fetch1("roi_masks"),
        key=key,
    )
    for widget in DOCKED_WIDGETS:
        viewer.window.add_plugin_dock_widget("napari-photon", widget)
    napari.run()
