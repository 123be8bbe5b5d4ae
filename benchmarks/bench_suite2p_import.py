#!/usr/bin/env python
"""suite2p's own output imported: what `napari-photon import suite2p` makes of a real run.

Run from the repository root (suite2p's venv is built on first use, see ``_suite2p.py``)::

    .venv/bin/python benchmarks/bench_suite2p_import.py
    .venv/bin/python benchmarks/bench_suite2p_import.py --frames 1000 --size 384

The tests of the import read result folders the tests write in suite2p's documented layout;
this runs suite2p 1.1.0 itself (``run_s2p``, its default settings but the cell diameter and
frame rate) on a realistic simulated recording of a held-out seed (non-rigid motion, donut
and overlapping cells, active neuropil), imports its folder into a fresh pipeline (its own
embedded PostgreSQL), makes the traces of suite2p's ROIs with ``populate``, and compares:

* the ROIs and labels: as many ROIs as ``stat.npy``, as many "cell" labels as ``iscell``;
* the traces: the pipeline's fluorescence of suite2p's masks against suite2p's ``F``
  (correlation per ROI; suite2p weights its pixels, the pipeline does not);
* the shifts: the imported ones (minus suite2p's offsets) and the pipeline's own rigid
  registration of the same recording, each against the simulator's true shifts (the
  correction is minus the scene's translation; correlation, and the SD of the error after
  the constant offset of each tool's reference image);
* the registered movie: the stored ``MotionCorrected`` mean image against suite2p's
  ``meanImg``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _suite2p
from _report import header, machine, table


def _recording(lab, frames: int, size: int, seed: int):
    from napari_photon import synthetic
    from napari_photon.calibration import Calibration
    from napari_photon.io import calibration_properties

    truth = synthetic.make_tissue_movie(frames, (size, size), seed=seed)
    lab.Mouse.insert1({"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"})
    key = {"mouse_id": 1, "session_date": "2026-11-25"}
    lab.Session.insert1({**key, "experimenter": "bench", "notes": "suite2p import"})
    folder = lab.session_folder(key)
    folder.mkdir(parents=True)
    counts = calibration_properties(Calibration(gain=1.0, zero_level=0.0))
    synthetic.write_tiff(folder / "rec.tif", truth.movie, frame_rate=30.0, properties=counts)
    return truth, key, folder


def _shift_figures(shift_y, shift_x, truth_shifts) -> tuple[float, float]:
    """Correlation with the true correction, and the SD of the error (offset removed),
    over both axes."""
    made = np.stack([shift_y, shift_x], axis=1).astype(np.float64)
    correction = -np.asarray(truth_shifts, np.float64)[:, :2]
    r = np.mean([np.corrcoef(made[:, i], correction[:, i])[0, 1] for i in range(2)])
    error = made - correction
    return float(r), float(np.sqrt(np.mean(np.var(error, axis=0))))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--diameter", type=float, default=12.0)
    args = ap.parse_args(argv)
    header("suite2p's output imported")
    print(machine())
    if not _suite2p.available() and not _suite2p.setup():
        raise SystemExit(f"suite2p is not available: {_suite2p.reason}")
    from napari_photon import synthetic

    seed = synthetic.BENCHMARK_SEEDS[0]
    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-s2p-"))
    os.chmod(home, 0o755)
    for name in [k for k in os.environ if k.startswith(("DJ_", "NAPARI_PHOTON_"))]:
        del os.environ[name]
    os.environ["NAPARI_PHOTON_HOME"] = str(home)
    try:
        from napari_photon import pipeline
        from napari_photon.pipeline._import_suite2p import import_suite2p

        lab = pipeline.activate("bench_s2p_import")
        truth, session, folder = _recording(lab, args.frames, args.size, seed)
        lab.populate(session, tables=("Recording",))
        recording = (lab.Recording & session).keys()[0]
        own = {**recording, "motion_params_id": 1}
        t = time.perf_counter()
        lab.populate(own, tables=("MotionCorrected",))
        own_seconds = time.perf_counter() - t

        plane0, s2p_seconds = _suite2p.run_folder(folder, home / "s2p", fs=30.0, tau=1.0,
                                                  diameter=args.diameter)
        t = time.perf_counter()
        made = import_suite2p(lab, plane0, recording)
        import_seconds = time.perf_counter() - t
        t = time.perf_counter()
        lab.populate(made["roi"], tables=("Trace",))
        trace_seconds = time.perf_counter() - t

        stat = np.load(plane0 / "stat.npy", allow_pickle=True)
        iscell = np.load(plane0 / "iscell.npy")[:, 0] > 0.5
        f_s2p = np.load(plane0 / "F.npy")
        ops = np.load(plane0 / "ops.npy", allow_pickle=True).item()
        n_rois = int((lab.ROI & made["roi"]).fetch1("n_rois"))
        labels = (lab.Curation.Mask & made["curation"]).to_arrays("label")
        ours = np.stack([r["fluorescence"] for r in
                         (lab.Trace & made["roi"]).to_dicts(order_by="roi_id")])
        r_traces = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(ours, f_s2p)])
        imported = (lab.MotionCorrected & made["motion"]).fetch1("shift_y", "shift_x")
        own_shifts = (lab.MotionCorrected & own).fetch1("shift_y", "shift_x")
        r_imported, sd_imported = _shift_figures(*imported, truth.shifts)
        r_own, sd_own = _shift_figures(*own_shifts, truth.shifts)
        stored = (lab.MotionCorrected & made["motion"]).fetch1("corrected_movie")
        mean_stored = np.asarray(stored.photons("algebraic")[:], np.float64).mean(axis=0)
        r_mean = float(np.corrcoef(mean_stored.ravel(),
                                   np.asarray(ops["meanImg"], np.float64).ravel())[0, 1])
    finally:
        from napari_photon.db import EmbeddedPostgres

        EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)

    print(f"tissue movie {args.frames} x {args.size} x {args.size}, seed {seed} "
          f"(held out), {len(truth.masks)} in-focus somata")
    print(table([
        ["suite2p run_s2p (registration to deconvolution)", f"{s2p_seconds:.1f} s"],
        ["napari-photon import suite2p", f"{import_seconds:.1f} s"],
        ["populate Trace of the imported ROIs", f"{trace_seconds:.1f} s"],
        ["napari-photon MotionCorrected (rigid), same recording", f"{own_seconds:.1f} s"],
    ], ["step", "time"]))
    print()
    print(table([
        ["ROIs: stat.npy / imported", f"{len(stat)} / {n_rois}"],
        ["cells: iscell / 'cell' labels",
         f"{int(iscell.sum())} / {int(np.sum(labels == 'cell'))}"],
        ["traces: r(pipeline F, suite2p F), median", f"{np.median(r_traces):.3f}"],
        ["traces: r, 5th percentile / min",
         f"{np.percentile(r_traces, 5):.3f} / {r_traces.min():.3f}"],
        ["shifts imported: r with the true correction", f"{r_imported:.3f}"],
        ["shifts imported: error SD (px)", f"{sd_imported:.2f}"],
        ["shifts napari-photon: r with the true correction", f"{r_own:.3f}"],
        ["shifts napari-photon: error SD (px)", f"{sd_own:.2f}"],
        ["registered mean image: r(stored, suite2p meanImg)", f"{r_mean:.3f}"],
    ], ["figure", "value"]))
    return {"n_stat": len(stat), "n_rois": n_rois, "r_traces": r_traces,
            "r_shifts_imported": r_imported, "r_shifts_own": r_own, "r_mean": r_mean}


if __name__ == "__main__":
    main()
