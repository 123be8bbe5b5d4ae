#!/usr/bin/env python
"""ROIs found on the real movie (``../shared/data/real-2p-movie.zarr``), by each method.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_real_movie.py               # picture in build/
    PYTHONPATH=src .venv/bin/python benchmarks/bench_real_movie.py --image docs/images/real_rois.png

The movie (300 frames of 200 x 200) is registered with :func:`napari_photon.motion.register`
(rigid, defaults), then searched with ``detect_rois`` defaults (``"auto"``: 300 frames are
under :data:`~napari_photon.rois.SPARSE_MIN_FRAMES`, so the activity method runs), with the
sparse method at this movie's cell size (``radius=3.5``) and, when its venv is there, with
suite2p (sparsery, diameter 7). No ground truth exists: the script prints what each found
(count, kinds, area, SNR, skew, neuropil coefficients, events per ROI) and draws the ROIs on
the mean image.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from napari_photon import motion, rois, spikes, traces
from napari_photon.storage import open_movie

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _suite2p  # noqa: E402
from _report import table  # noqa: E402

REAL_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"
FRAME_RATE = 30.0  # the movie carries none; the design document's default


def describe(name: str, photons: np.ndarray, masks: np.ndarray, seconds: float,
             kinds: np.ndarray | None = None) -> list:
    extracted = traces.extract_all(photons, masks)
    quality = traces.trace_metrics(extracted)
    inferred = spikes.deconvolve_traces(extracted.dff, FRAME_RATE)
    n_events = (inferred.events > 2 * inferred.noise[:, None]).sum(axis=1)
    somata = "" if kinds is None else str(int((kinds == 0).sum()))
    median = (lambda x: f"{np.median(x):.2f}") if len(masks) else (lambda x: "")
    return [name, len(masks), somata, median(masks.sum((1, 2))), median(quality["snr"]),
            median(quality["skew"]), median(extracted.coefficients), median(n_events),
            f"{seconds:.1f}"]


def draw(mean: np.ndarray, found: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(found), figsize=(4.2 * len(found), 4.4), squeeze=False)
    low, high = np.percentile(mean, [1, 99.7])
    for ax, (name, masks) in zip(axes[0], found.items()):
        ax.imshow(mean, cmap="gray", vmin=low, vmax=high)
        for m in masks:
            ax.contour(m, levels=[0.5], colors=["#ffb000"], linewidths=0.7)
        ax.set_title(f"{name}: {len(masks)} ROIs", fontsize=10)
        ax.set_axis_off()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"picture: {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movie", type=Path, default=REAL_MOVIE)
    parser.add_argument("--image", type=Path, default=Path("build/real_rois.png"))
    parser.add_argument("--no-suite2p", action="store_true")
    args = parser.parse_args(argv)
    if not args.movie.exists():
        sys.exit(f"{args.movie} is not there: the real movie lives in ../shared/data/")
    raw = open_movie(args.movie)
    t = time.perf_counter()
    corrected, finalize = motion.register(raw)
    stabilized = np.asarray(corrected[:], np.float32)
    photons = np.maximum(stabilized * stabilized / 4 - 0.375, 0)  # algebraic inverse
    shifts = finalize().shifts
    border = int(np.ceil(np.abs(shifts).max())) + 1
    print(f"{raw.shape} registered in {time.perf_counter() - t:.1f} s, largest shift "
          f"{np.abs(shifts).max():.2f} px")
    rows, found = [], {}
    for name, settings in (("auto (activity)", {}), ("sparse, radius 3.5",
                                                     {"method": "sparse", "radius": 3.5})):
        t = time.perf_counter()
        result = rois.detect_rois(photons, border=border, traces=False, units="photons",
                                  **settings)
        seconds = time.perf_counter() - t
        found[name] = result.masks
        rows.append(describe(name, photons, result.masks, seconds, result.metrics.get("kind")))
    if not args.no_suite2p and _suite2p.available():
        masks, seconds = _suite2p.detect(photons, diameter=7.0, tau=1.0, fs=FRAME_RATE)
        found["suite2p"] = masks
        rows.append(describe("suite2p", photons, masks, seconds))
    print(table(rows, ["method", "ROIs", "somata", "area px", "SNR", "skew", "neuropil c",
                       "events", "seconds"]))
    draw(photons.mean(axis=0), found, args.image)


if __name__ == "__main__":
    main()
