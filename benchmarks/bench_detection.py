#!/usr/bin/env python
"""Benchmark ROI detection and trace fidelity against baselines measured in the same run.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_detection.py            # 1000 x 512 x 512
    PYTHONPATH=src .venv/bin/python benchmarks/bench_detection.py --quick    # 300 x 256 x 256
    PYTHONPATH=src .venv/bin/python benchmarks/bench_detection.py --no-suite2p

Movies (``napari_photon.synthetic.make_movie``, ground truth known):

* ``standard``: 60 neurons per 512 x 512, baseline 5-50 photons/px, no motion;
* ``hard``: 150 neurons per 512 x 512, baseline 2-8 photons/px, no motion;
* ``hard+motion``: as ``hard`` with rigid motion up to 12 px, corrected with the *known*
  shifts (bilinear ``scipy.ndimage.shift``, edges replicated), so the numbers do not depend
  on the registration code but do include interpolation's side effects; every detector
  gets ``border = ceil(max |shift|)`` pixels cut off (suite2p crops its own).

Detectors:

* ``design doc``: the design document's algorithm, re-implemented here: threshold the
  mean image at its 95th percentile, label connected components, keep 50 < area < 500;
* ``ours``: :func:`napari_photon.rois.detect_rois` (defaults; ``traces=False`` for the
  timed detection, the trace pass is timed separately), after a warm-up call on a small
  crop (imports, first-call costs);
* ``suite2p``: suite2p 1.1.0 ``detection_wrapper`` (sparsery, defaults, diameter 12,
  tau 1 s, fs 30 Hz) in its own venv (``benchmarks/_suite2p.py``), when available. Its
  masks are scored two ways, soma_crop pixels and all pixels; the better F1 is its score.
  Its seconds are those of the ``detection_wrapper`` call inside the subprocess (no
  interpreter start, import or file transfer).

Scores: Hungarian matching of masks on IoU, a match counting when IoU >= 0.5; F1,
precision, recall, mean IoU of matches. Trace fidelity: :func:`napari_photon.traces.
extract_all` on our matched ROIs; ground-truth dF/F = (trace - rest) / (rest + local
background), ``rest`` = the synthetic trace's minimum (its resting brightness), local
background = ``.background`` at the footprint peak; Pearson r per cell, over cells that
fire at all (a silent cell's ground truth is constant). Pearson r ignores offset and scale,
so it does not depend on that choice of F0; the median slope of extracted over true dF/F
is printed for amplitude.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from napari_photon import rois, synthetic, traces
from napari_photon.evaluation import match_rois

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _suite2p

TARGET_F1_STANDARD = 0.97
TARGET_F1_HARD_NO_PEER = 0.90
TARGET_TRACE_R = 0.95


# -- baseline: the design document's detector -------------------------------------------


def design_doc_detect(movie: np.ndarray, percentile: float = 95.0, min_area: int = 50,
                      max_area: int = 500, border: int = 0) -> np.ndarray:
    """95th-percentile threshold of the mean image, connected components, 50 < area < 500."""
    mean = np.zeros(movie.shape[1:])
    for t0 in range(0, len(movie), 64):
        mean += np.asarray(movie[t0 : t0 + 64], dtype=np.float64).sum(axis=0)
    mean /= len(movie)
    if border:
        mean[:border], mean[-border:], mean[:, :border], mean[:, -border:] = 0, 0, 0, 0
    labels, n = ndimage.label(mean > np.percentile(mean, percentile))
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    keep = [i for i in range(1, n + 1) if min_area < areas[i] < max_area]
    return np.stack([labels == i for i in keep]) if keep else np.zeros((0, *mean.shape), bool)


# -- movies -----------------------------------------------------------------------------


def make_movies(frames: int, size: int, seed: int, motion: bool) -> dict:
    scale = (size / 512) ** 2
    movies = {}
    t = time.perf_counter()
    movies["standard"] = (synthetic.make_movie(
        n_frames=frames, shape=(size, size), n_neurons=max(1, round(60 * scale)),
        max_shift=0, seed=seed), 0)
    movies["hard"] = (synthetic.make_movie(
        n_frames=frames, shape=(size, size), n_neurons=max(1, round(150 * scale)),
        baseline=(2.0, 8.0), max_shift=0, seed=seed), 0)
    if motion:
        moving = synthetic.make_movie(
            n_frames=frames, shape=(size, size), n_neurons=max(1, round(150 * scale)),
            baseline=(2.0, 8.0), max_shift=12.0, seed=seed)
        corrected = np.empty(moving.movie.shape, np.float32)
        for i, frame in enumerate(moving.movie):
            ndimage.shift(frame.astype(np.float32), -moving.shifts[i], output=corrected[i],
                          order=1, mode="nearest")
        moving.movie = corrected
        border = math.ceil(float(np.abs(moving.shifts).max()))
        movies["hard+motion"] = (moving, border)
    print(f"  movies generated in {time.perf_counter() - t:.1f} s")
    return movies


def ground_truth_dff(truth: synthetic.SyntheticMovie) -> np.ndarray:
    peaks = [np.unravel_index(np.argmax(f), f.shape) for f in truth.footprints]
    local = np.array([truth.background[p] for p in peaks], np.float64)[:, None]
    rest = truth.traces.min(axis=1, keepdims=True).astype(np.float64)
    return (truth.traces - rest) / (rest + local)


def trace_fidelity(truth: synthetic.SyntheticMovie, masks: np.ndarray) -> dict:
    score = match_rois(truth.masks, masks)
    truth_idx, found_idx = score["pairs"].T if score["tp"] else (np.zeros(0, int),) * 2
    t = time.perf_counter()
    res = traces.extract_all(truth.movie, masks[found_idx])
    seconds = time.perf_counter() - t
    gt = ground_truth_dff(truth)[truth_idx]
    active = gt.std(axis=1) > 0
    r = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(res.dff[active], gt[active])])
    r_raw = np.array([np.corrcoef(a, b)[0, 1]
                      for a, b in zip(res.fluorescence[active], gt[active])])
    slope = np.array([np.polyfit(b, a, 1)[0] for a, b in zip(res.dff[active], gt[active])])
    return {"n": int(active.sum()), "silent": int((~active).sum()), "r_mean": float(r.mean()),
                "r_min": float(r.min()), "r_p10": float(np.percentile(r, 10)),
                "r_raw_mean": float(r_raw.mean()), "slope_median": float(np.median(slope)),
                "seconds": seconds}


# -- run ----------------------------------------------------------------------------------


def score_row(truth_masks: np.ndarray, masks: np.ndarray, seconds: float) -> dict:
    s = match_rois(truth_masks, masks)
    return {"n_found": int(s["n_found"]), "n_truth": int(s["n_truth"]), "f1": float(s["f1"]),
                "precision": float(s["precision"]), "recall": float(s["recall"]),
                "mean_iou": float(s["mean_iou"]), "seconds": float(seconds)}


def run(args: argparse.Namespace) -> dict:
    """Run the benchmark; print the tables and return every figure as a dict."""
    frames, size = (300, 256) if args.quick else (args.frames, args.size)
    use_s2p = not args.no_suite2p and _suite2p.available()
    info = {"frames": frames, "size": size, "seed": args.seed, "cores": os.cpu_count(),
                "python": platform.python_version(), "numpy": np.__version__,
                "suite2p": _suite2p.version() if use_s2p else None,
                "suite2p_reason": None if use_s2p else
                ("--no-suite2p" if args.no_suite2p else _suite2p.reason)}
    print("=" * 78)
    print("napari_photon ROI detection and trace benchmark")
    print("=" * 78)
    print(f"movies   : {frames} frames x {size} x {size}, seed {args.seed}")
    print(f"machine  : {os.cpu_count()} cores, shared with other work (timings are noisy)")
    print(f"python   : {info['python']}, numpy {info['numpy']}")
    print(f"suite2p  : {info['suite2p'] or 'not run: ' + str(info['suite2p_reason'])}")
    movies = make_movies(frames, size, args.seed, motion=not args.no_motion)
    results: dict = {"info": info, "detection": {}, "traces": {}}
    warm = movies["standard"][0].movie[:100, :128, :128]  # imports and first-call costs
    design_doc_detect(warm)
    rois.detect_rois(warm, traces=False)
    for name, (truth, border) in movies.items():
        rows = {}
        t = time.perf_counter()
        base = design_doc_detect(truth.movie, border=border)
        rows["design doc"] = score_row(truth.masks, base, time.perf_counter() - t)
        t = time.perf_counter()
        ours = rois.detect_rois(truth.movie, border=border, traces=False)
        rows["ours"] = score_row(truth.masks, ours.masks, time.perf_counter() - t)
        rows["ours"]["anatomical"] = int(ours.metrics["anatomical"].sum())
        if use_s2p:
            try:
                variants, seconds = _suite2p.detect_variants(truth.movie)
                for variant, masks in variants.items():
                    if border:  # the same edge cut as everyone else
                        masks = masks.copy()
                        masks[:, :border] = masks[:, -border:] = False
                        masks[:, :, :border] = masks[:, :, -border:] = False
                        masks = masks[masks.any(axis=(1, 2))]
                    rows[f"suite2p ({variant})"] = score_row(truth.masks, masks, seconds)
            except RuntimeError as error:
                print(f"  suite2p failed on {name}: {error}")
        results["detection"][name] = rows
        results["traces"][name] = trace_fidelity(truth, ours.masks)
        results["traces"][name]["gt_masks"] = trace_fidelity(truth, truth.masks)["r_mean"]
        print(f"  {name}: done")
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


def report(results: dict) -> None:
    print()
    print("ROI detection (IoU >= 0.5, Hungarian matching)")
    header = (f"{'movie':<12} {'detector':<22} {'found':>5} {'true':>4} {'F1':>6} {'prec':>6} "
              f"{'recall':>6} {'IoU':>5} {'sec':>7} {'sec/ours':>8}")
    print(header)
    print("-" * len(header))
    for movie, rows in results["detection"].items():
        ours = rows["ours"]["seconds"]
        for name, r in rows.items():
            print(f"{movie:<12} {name:<22} {r['n_found']:>5} {r['n_truth']:>4} {r['f1']:>6.3f} "
                  f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['mean_iou']:>5.3f} "
                  f"{r['seconds']:>7.2f} {r['seconds'] / ours:>8.2f}")
    print()
    print("Trace fidelity (our ROIs matched to truth; dF/F vs ground-truth dF/F)")
    header = (f"{'movie':<12} {'cells':>5} {'silent':>6} {'r mean':>7} {'r p10':>6} "
              f"{'r min':>6} {'raw F r':>7} {'GT masks r':>10} {'slope':>6} {'sec':>6}")
    print(header)
    print("-" * len(header))
    for movie, t in results["traces"].items():
        print(f"{movie:<12} {t['n']:>5} {t['silent']:>6} {t['r_mean']:>7.4f} {t['r_p10']:>6.3f} "
              f"{t['r_min']:>6.3f} {t['r_raw_mean']:>7.4f} {t['gt_masks']:>10.4f} "
              f"{t['slope_median']:>6.3f} {t['seconds']:>6.2f}")
    print()
    print("Targets")
    targets = []
    det = results["detection"]
    f1 = det["standard"]["ours"]["f1"]
    targets.append((f"F1 standard >= {TARGET_F1_STANDARD}", f"{f1:.3f}",
                    f1 >= TARGET_F1_STANDARD))
    for movie in [m for m in ("hard", "hard+motion") if m in det]:
        peers = [r["f1"] for k, r in det[movie].items() if k.startswith("suite2p")]
        ours = det[movie]["ours"]["f1"]
        if peers:
            goal, label = max(peers), f"suite2p's {max(peers):.3f} (same run)"
        else:
            goal, label = TARGET_F1_HARD_NO_PEER, f"{TARGET_F1_HARD_NO_PEER} (no suite2p)"
        targets.append((f"F1 {movie} >= {label}", f"{ours:.3f}", ours >= goal))
    for movie, t in results["traces"].items():
        targets.append((f"trace r {movie} >= {TARGET_TRACE_R}", f"{t['r_mean']:.4f}",
                        t["r_mean"] >= TARGET_TRACE_R))
    for label, value, ok in targets:
        print(f"  {label:<48} {value:>8}  {'ok' if ok else 'MISSED'}")
    results["targets"] = [{"target": a, "value": b, "ok": bool(c)} for a, b, c in targets]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="300 x 256 x 256 smoke run")
    parser.add_argument("--no-suite2p", action="store_true", help="skip the suite2p peer")
    parser.add_argument("--no-motion", action="store_true",
                        help="skip the hard movie with corrected motion")
    parser.add_argument("--json", help="write all figures to this file")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
