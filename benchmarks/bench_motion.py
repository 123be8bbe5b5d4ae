#!/usr/bin/env python
"""Benchmark ``napari_photon.motion``: speed and accuracy against baselines in the same run.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_motion.py            # 1000x512x512
    PYTHONPATH=src .venv/bin/python benchmarks/bench_motion.py --quick    # 200x256x256

Everything is measured end to end from a ``<photon@>`` movie (a photon zarr folder, the
format the column stores) to a new one: read, register, write (``save_movie(path,
Stabilized(corrected, calibration))``). Baselines run on the same stored movie in the same
run:

* the design document's algorithm: ``skimage.registration.phase_cross_correlation`` of
  each frame against the mean of the first 100 frames, then ``scipy.ndimage.shift``;
* suite2p 1.1.0 rigid registration, when ``benchmarks/_suite2p.py`` finds its separate venv
  (its own timing of ``registration_wrapper``, no I/O; offsets are whole pixels).

Sections: 1. standard movie (60 neurons, baseline 5-50 photons, shifts up to 8 px);
2. hard movie (150 neurons, 2-8 photons, shifts up to 12 px with frequent jumps);
3. piecewise vs rigid on a movie with a smooth non-rigid warp (up to 3 px);
4. scaling, 1000 vs 4000 frames; 5. peak memory of registering movies 8x, 16x and 64x the
chunk budget (fresh subprocesses, VmHWM); then a summary against the targets.

Errors: ``shifts + true displacement`` after removing the mean (the reference's own
position); "RMS" is over frames and both axes, "RMS 2D" the root mean squared length of
the error vector, "max" the largest error vector length.

The machine's cores are shared with other work while this runs: timings carry that noise;
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import header, load, machine, table

MIB = 2**20
TARGETS = {
    "fps": 300.0,
    "speedup": 15.0,
    "rms_standard": 0.05,
    "rms_hard": 0.15,
    "max_error": 0.5,
    "piecewise_gain": 3.0,
    "scaling": 0.10,
    "memory_slope": 0.10,
}


# -- helpers ---------------------------------------------------------------------------------
def errors(shifts: np.ndarray, truth: np.ndarray) -> dict:
    """Errors of shifts-to-apply against the true displacements (constant offset removed)."""
    err = np.asarray(shifts, np.float64) + truth
    err -= err.mean(axis=0)
    length = np.sqrt((err**2).sum(axis=1))
    return {"rms": float(np.sqrt(np.mean(err**2))), "rms2d": float(np.sqrt(np.mean(length**2))),
            "max": float(length.max()), "over_half": int((length > 0.5).sum())}


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def best_of(repeat: int, run: Any, *args: Any) -> dict:
    """The run with the shortest wall time among ``repeat`` (each returns a dict with
    ``wall``); the results themselves are the same every time."""
    runs = []
    for _ in range(max(1, repeat)):
        runs.append(run(*args))
        gc.collect()
    best = min(runs, key=lambda r: r["wall"])
    best["walls"] = [r["wall"] for r in runs]
    return best


def _vm_hwm() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -- the movies ------------------------------------------------------------------------------
def make_store(path: Path, kind: str, n: int, size: int, seed: int = 0,
               repeat: int = 1, budget: int | None = None) -> tuple[Any, np.ndarray, dict]:
    """Generate a synthetic movie, store it as a photon zarr; return (movie, truth, info)."""
    from napari_photon import synthetic
    from napari_photon.storage import open_movie, save_movie, write_options

    t = time.perf_counter()
    if kind == "hard":
        s = synthetic.make_hard_movie(n_frames=n, shape=(size, size), seed=seed)
    elif kind == "nonrigid":
        s = synthetic.make_movie(n_frames=n, shape=(size, size), seed=seed, nonrigid=3.0)
    else:
        s = synthetic.make_movie(n_frames=n, shape=(size, size), seed=seed)
    gen = time.perf_counter() - t
    data: Any = s.movie
    if repeat > 1:
        import dask.array as da

        data = da.concatenate([da.from_array(s.movie, chunks=(64, size, size))] * repeat)
    opts = {} if budget is None else {"chunk_budget": budget}
    with write_options(**opts):
        save_movie(path, data)
    truth = np.tile(s.shifts, (repeat, 1))
    info = {"generate_s": gen, "synthetic": s if kind == "nonrigid" else None}
    del s, data
    return open_movie(path), truth, info


# -- our registration ---------------------------------------------------------------------
def ours_two_call(movie: Any, out: Path, **settings: Any) -> dict:
    from napari_photon import motion
    from napari_photon.storage import Stabilized, save_movie

    shutil.rmtree(out, ignore_errors=True)
    with Timer() as t_est:
        est = motion.estimate_motion(movie, **settings)
    corrected = motion.CorrectedMovie(movie, est)
    with Timer() as t_apply:
        save_movie(out, Stabilized(corrected, movie.calibration))
    return {"estimate": est, "corrected": corrected, "wall": t_est.wall + t_apply.wall,
            "cpu": t_est.cpu + t_apply.cpu, "wall_estimate": t_est.wall,
            "wall_apply": t_apply.wall}


def ours_single_pass(movie: Any, out: Path, **settings: Any) -> dict:
    from napari_photon import motion
    from napari_photon.storage import Stabilized, save_movie

    shutil.rmtree(out, ignore_errors=True)
    with Timer() as t:
        with Timer() as t_ref:
            corrected, finalize = motion.register(movie, **settings)  # builds the reference
        save_movie(out, Stabilized(corrected, movie.calibration))
        est = finalize()
    return {"estimate": est, "corrected": corrected, "wall": t.wall, "cpu": t.cpu,
            "wall_reference": t_ref.wall}


# -- the design document's algorithm -----------------------------------------------------------
class _BaselineMovie:
    """Per frame: skimage phase_cross_correlation against the mean of the first 100 frames,
    then scipy.ndimage.shift (defaults: whole-pixel peak, cubic spline, zero fill)."""

    def __init__(self, movie: Any, n_reference: int = 100) -> None:
        self.movie = movie
        self.shape = tuple(movie.shape)
        self.dtype = np.dtype(np.float32)
        self.reference = np.asarray(movie[:n_reference], np.float32).mean(axis=0)
        self.shifts = np.zeros((self.shape[0], 2), np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice) -> np.ndarray:
        from scipy import ndimage
        from skimage.registration import phase_cross_correlation

        t0, t1, _ = index.indices(self.shape[0])
        frames = np.asarray(self.movie[t0:t1], np.float32)
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            shift, _, _ = phase_cross_correlation(self.reference, frame)
            self.shifts[t0 + i] = shift
            out[i] = ndimage.shift(frame, shift)
        return out


def baseline(movie: Any, out: Path, n_frames: int | None) -> dict:
    from napari_photon.storage import Stabilized, save_movie

    shutil.rmtree(out, ignore_errors=True)
    if n_frames is not None and n_frames < len(movie):
        movie = _Head(movie, n_frames)
    with Timer() as t:
        b = _BaselineMovie(movie)
        save_movie(out, Stabilized(b, movie.calibration))
    return {"shifts": b.shifts, "wall": t.wall, "cpu": t.cpu, "frames": len(movie)}


class _Head:
    """The first ``n`` frames of a stored movie (for a shorter baseline run)."""

    def __init__(self, movie: Any, n: int) -> None:
        self._movie, self.calibration = movie, movie.calibration
        self.shape = (n, *movie.shape[1:])
        self.dtype = movie.dtype
        self.frames_per_chunk = getattr(movie, "frames_per_chunk", 64)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice) -> np.ndarray:
        t0, t1, _ = index.indices(self.shape[0])
        return self._movie[t0:t1]


def suite2p_register(counts_source: Any) -> dict | None:
    """suite2p rigid registration of the photon counts, when its venv is available."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import _suite2p  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        if not _suite2p.available():
            return {"unavailable": getattr(_suite2p, "reason", "not available")}
        counts = np.empty(counts_source.shape, np.int16)
        for t0 in range(0, len(counts), 64):
            counts[t0:t0 + 64] = np.rint(np.asarray(counts_source[t0:t0 + 64]))
        result = _suite2p.register(counts)
    except Exception as err:  # noqa: BLE001 - a peer failing must not stop the benchmark
        return {"unavailable": f"{type(err).__name__}: {err}"}
    yoff, xoff = result[0], result[1]
    seconds = float(result[2]) if len(result) > 2 else float("nan")
    # suite2p's offsets are displacements; the shift to apply is minus them
    return {"shifts": -np.stack([yoff, xoff], axis=1), "wall": seconds,
            "frames": len(yoff)}


# -- sections ------------------------------------------------------------------------------------
def rigid_section(kind: str, args: argparse.Namespace, tmp: Path) -> dict:
    n, size = args.frames, args.size
    movie, truth, info = make_store(tmp / f"{kind}.zarr", kind, n, size)
    print(f"  {kind}: generated in {info['generate_s']:.1f} s, stored "
          f"{movie.stored_nbytes / MIB:.1f} MiB, {movie.frames_per_chunk} frames per shard; "
          f"true shifts up to {np.abs(truth).max():.1f} px", flush=True)
    res: dict = {"frames": n}
    # best of --repeat runs for every method: the cores are shared, and a run that a
    # neighbour slowed down says nothing about the code
    print(f"  ours (two calls) x{args.repeat} ... {load()}", flush=True)
    two = best_of(args.repeat, ours_two_call, movie, tmp / "out.zarr")
    print(f"  ours (single pass) x{args.repeat} ... {load()}", flush=True)
    one = best_of(args.repeat, ours_single_pass, movie, tmp / "out.zarr")
    for name, r in (("two", two), ("single", one)):
        est, corrected = r["estimate"], r["corrected"]
        res[name] = {"fps": n / r["wall"], "wall": r["wall"], "cpu": r["cpu"],
                     **errors(est.shifts, truth),
                     "corr_before": float(np.mean(est.correlation_before)),
                     "corr_after": float(np.nanmean(corrected.correlation_after))}
        res[name]["walls"] = r["walls"]
        if name == "two":
            res[name]["fps_estimate"] = n / r["wall_estimate"]
            res[name]["fps_apply"] = n / r["wall_apply"]
    print(f"  baseline (design document) x{args.repeat} ... {load()}", flush=True)
    base = best_of(args.repeat, baseline, movie, tmp / "base.zarr", args.baseline_frames)
    nb = base["frames"]
    res["baseline"] = {"fps": nb / base["wall"], "wall": base["wall"], "cpu": base["cpu"],
                       "frames": nb, "walls": base["walls"],
                       **errors(base["shifts"][:nb], truth[:nb])}
    if not args.skip_suite2p:
        print(f"  suite2p ... {load()}", flush=True)
        s2p = suite2p_register(movie.photons("algebraic"))
        if s2p is None:
            res["suite2p"] = {"unavailable": "benchmarks/_suite2p.py not importable"}
        elif "unavailable" in s2p:
            res["suite2p"] = s2p
        else:
            res["suite2p"] = {"fps": s2p["frames"] / s2p["wall"], "wall": s2p["wall"],
                              **errors(s2p["shifts"], truth[:s2p["frames"]])}
    shutil.rmtree(tmp / f"{kind}.zarr", ignore_errors=True)
    return res


def print_rigid(kind: str, r: dict) -> None:
    base_fps = r["baseline"]["fps"]
    rows = []
    for label, key in (("ours, two calls (estimate + CorrectedMovie)", "two"),
                       ("ours, single pass (register)", "single"),
                       ("design document (skimage pcc + ndimage.shift)", "baseline"),
                       ("suite2p 1.1.0 rigid (its own timing, no I/O)", "suite2p")):
        x = r.get(key)
        if x is None:
            continue
        if "unavailable" in x:
            rows.append([label, "-", "-", "-", "-", "-", "-", f"n/a: {x['unavailable'][:40]}"])
            continue
        cpu = f"{1e3 * x['cpu'] / r['frames']:.1f}" if "cpu" in x and key != "baseline" else (
            f"{1e3 * x['cpu'] / x['frames']:.1f}" if "cpu" in x else "-")
        rows.append([label, f"{x['fps']:.0f}", f"{x['fps'] / base_fps:.1f}x", cpu,
                     f"{x['rms']:.3f}", f"{x['rms2d']:.3f}", f"{x['max']:.3f}",
                     str(x["over_half"])])
    print(table(rows, ["method (store -> store)", "frames/s", "vs design", "cpu ms/fr",
                       "RMS px", "RMS 2D", "max px", "frames > 0.5 px"]))
    two = r["two"]
    print(f"  two calls: estimate {two['fps_estimate']:.0f} frames/s, correct + write "
          f"{two['fps_apply']:.0f} frames/s; correlation with the reference before "
          f"{two['corr_before']:.3f}, after {two['corr_after']:.3f}")
    walls = "; ".join(f"{k} " + ", ".join(f"{w:.2f}" for w in r[k]["walls"])
                      for k in ("two", "single", "baseline"))
    print(f"  wall s of each run (the fastest is in the table): {walls}")
    if r["baseline"]["frames"] < r["frames"]:
        print(f"  (design document run on the first {r['baseline']['frames']} frames)")


def piecewise_section(args: argparse.Namespace, tmp: Path) -> dict:
    from scipy import ndimage

    n, size = args.nonrigid_frames, args.size
    movie, truth, info = make_store(tmp / "nonrigid.zarr", "nonrigid", n, size)
    synth = info["synthetic"]
    print(f"  generated in {info['generate_s']:.1f} s; warp up to "
          f"{np.abs(synth.displacement(slice(0, n, 10)) - synth.shifts[::10, :, None, None]).max():.2f}"
          " px on top of the rigid motion", flush=True)
    out = {}
    for method in ("rigid", "piecewise"):
        print(f"  {method} ... {load()}", flush=True)
        r = ours_two_call(movie, tmp / "out.zarr", method=method)
        est = r["estimate"]
        out[method] = {"fps": n / r["wall"], "fps_estimate": n / r["wall_estimate"],
                       "fps_apply": n / r["wall_apply"],
                       "field_rms": field_error(est, synth, ndimage),
                       **errors(est.shifts, truth),
                       "corr_after": float(np.nanmean(r["corrected"].correlation_after))}
    out["gain"] = out["rigid"]["field_rms"] / out["piecewise"]["field_rms"]
    shutil.rmtree(tmp / "nonrigid.zarr", ignore_errors=True)
    return out


def field_error(est: Any, synth: Any, ndimage: Any, margin: int = 16, step: int = 16) -> float:
    """RMS (per axis) of the estimated displacement field against the truth on a grid of
    pixels, in reference coordinates: the truth is evaluated where the content really is,
    ``D(q) = D_true(q + D(q))`` (fixed point); each location's mean error over time (the
    reference's own position and warp) is removed."""
    h, w = synth.movie.shape[1:]
    qy, qx = np.mgrid[margin:h - margin:step, margin:w - margin:step].astype(float)
    field = est.field()
    errs = []
    for t in range(len(synth.shifts)):
        truth = synth.displacement(t)[0]
        d = truth[:, qy.astype(int), qx.astype(int)].astype(float)
        for _ in range(4):
            d = np.stack([ndimage.map_coordinates(truth[a], [qy + d[0], qx + d[1]], order=1,
                                                  mode="nearest") for a in range(2)])
        errs.append(-field[t][:, margin:h - margin:step, margin:w - margin:step] - d)
    e = np.array(errs)
    e -= e.mean(axis=0)
    return float(np.sqrt(np.mean(e**2)))


def scaling_section(args: argparse.Namespace, tmp: Path) -> dict:
    n, size = args.frames, args.size
    out = {}
    for repeat in (1, 4):
        movie, truth, _ = make_store(tmp / f"scale{repeat}.zarr", "standard", n, size,
                                     repeat=repeat)
        print(f"  {repeat * n} frames x{args.repeat} ... {load()}", flush=True)
        r = best_of(args.repeat, ours_single_pass, movie, tmp / "out.zarr")
        from napari_photon.motion import Settings  # noqa: F401 (import cost outside timing)

        out[repeat * n] = {"wall": r["wall"], "cpu": r["cpu"], "fps": repeat * n / r["wall"],
                           "wall_reference": r["wall_reference"],
                           **errors(r["estimate"].shifts, truth)}
        shutil.rmtree(tmp / f"scale{repeat}.zarr", ignore_errors=True)
    a, b = out[n], out[4 * n]
    out["ratio"] = b["wall"] / a["wall"]
    out["cpu_ratio"] = b["cpu"] / a["cpu"]
    # the reference (a fixed number of frames) is built once, whatever the movie's length
    out["stream_ratio"] = (b["wall"] - b["wall_reference"]) / (a["wall"] - a["wall_reference"])
    return out


def memory_child(spec: dict) -> None:
    """In a fresh process: register a stored movie store -> store; report peak RSS."""
    import psutil

    from napari_photon import motion
    from napari_photon.storage import Stabilized, open_movie, save_movie, write_options

    movie = open_movie(spec["path"])
    proc = psutil.Process()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    rss0 = proc.memory_info().rss
    t = time.perf_counter()
    with write_options(chunk_budget=spec["budget"]):
        if spec["mode"] == "single":
            corrected, finalize = motion.register(movie)
            save_movie(spec["out"], Stabilized(corrected, movie.calibration))
            finalize()
        else:
            est = motion.estimate_motion(movie)
            save_movie(spec["out"], Stabilized(motion.CorrectedMovie(movie, est),
                                               movie.calibration))
    print(json.dumps({"rss0": rss0, "hwm": _vm_hwm(), "reset": reset,
                      "seconds": time.perf_counter() - t,
                      "frames_per_shard": movie.frames_per_chunk}))


def memory_section(args: argparse.Namespace, tmp: Path) -> list[dict]:
    size, budget = args.size, int(args.mem_budget_mib * MIB)
    frame = 4 * size * size
    out = []
    for k in [int(x) for x in args.mem_multiples.split(",")]:
        n = max(2, k * budget // frame)
        path = tmp / f"mem{k}.zarr"
        make_store(path, "standard", n, size, budget=budget)
        for mode in ("two", "single"):
            spec = {"path": str(path), "out": str(tmp / "mem_out.zarr"), "budget": budget,
                    "mode": mode}
            shutil.rmtree(spec["out"], ignore_errors=True)
            proc = subprocess.run([sys.executable, __file__, "--memory-child", json.dumps(spec)],
                                  capture_output=True, text=True, env=os.environ.copy(),
                                  check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"memory child failed:\n{proc.stderr[-3000:]}")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res.update({"multiple": k, "frames": n, "mode": mode,
                        "peak_above": res["hwm"] - res["rss0"], "movie_f32": n * frame})
            out.append(res)
        shutil.rmtree(path, ignore_errors=True)
    return out


# -- driver --------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 x 256 x 256")
    ap.add_argument("--baseline-frames", type=int, default=None,
                    help="run the design document's algorithm on the first N frames only")
    ap.add_argument("--nonrigid-frames", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each rigid method (ours and the design document's); the "
                    "fastest is reported, all wall times are printed")
    ap.add_argument("--mem-budget-mib", type=float, default=16)
    ap.add_argument("--mem-multiples", default="8,16,64",
                    help="movie lengths in chunk budgets (flatness is judged between the "
                    "movies of at least 200 frames, the reference sample)")
    ap.add_argument("--skip-hard", action="store_true")
    ap.add_argument("--skip-piecewise", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-suite2p", action="store_true")
    ap.add_argument("--json", help="also write the raw figures to this JSON file")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    return ap


def run(args: argparse.Namespace | None = None, **overrides: Any) -> dict:
    """Run the benchmark, print its tables, return the figures (for a combined command)."""
    if args is None:
        args = parser().parse_args([])
    for key, value in overrides.items():
        setattr(args, key, value)
    if args.quick:
        args.frames, args.size = 200, 256
        args.nonrigid_frames = min(args.nonrigid_frames, 100)
        args.mem_budget_mib = min(args.mem_budget_mib, 4)
    tmp = Path(tempfile.mkdtemp(prefix="bench_motion_"))
    results: dict = {"args": vars(args).copy(), "machine": machine()}
    t_start = time.perf_counter()
    try:
        import scipy
        import skimage

        header("napari_photon.motion benchmark")
        print(f"movies     : {args.frames} x {args.size} x {args.size} photon counts, stored "
              "as <photon@> zarr folders; registered store -> store")
        print(f"machine    : {machine()}; the cores are SHARED with other workers while this "
              "runs, so timings carry their load")
        print(f"python     : {platform.python_version()}, numpy {np.__version__}, scipy "
              f"{scipy.__version__}, scikit-image {skimage.__version__}")
        print(f"start      : {load()}")

        header("1. Standard movie (60 neurons, 5-50 photons, shifts up to 8 px)")
        results["standard"] = rigid_section("standard", args, tmp)
        print_rigid("standard", results["standard"])
        if not args.skip_hard:
            header("2. Hard movie (150 neurons, 2-8 photons, shifts up to 12 px with jumps)")
            results["hard"] = rigid_section("hard", args, tmp)
            print_rigid("hard", results["hard"])
        if not args.skip_piecewise:
            header(f"3. Piecewise vs rigid, smooth non-rigid warp up to 3 px "
                   f"({args.nonrigid_frames} frames)")
            pw = piecewise_section(args, tmp)
            results["piecewise"] = pw
            rows = [[m, f"{pw[m]['field_rms']:.3f}", f"{pw[m]['fps_estimate']:.0f}",
                     f"{pw[m]['fps_apply']:.0f}", f"{pw[m]['fps']:.0f}",
                     f"{pw[m]['corr_after']:.3f}"] for m in ("rigid", "piecewise")]
            print(table(rows, ["method", "field RMS px", "estimate fr/s", "correct+write fr/s",
                               "end to end fr/s", "corr after"]))
            print(f"  residual displacement error, rigid / piecewise: {pw['gain']:.2f}x")
        if not args.skip_scaling:
            header(f"4. Scaling: {args.frames} vs {4 * args.frames} frames (single pass)")
            sc = scaling_section(args, tmp)
            results["scaling"] = sc
            rows = [[f"{k} frames", f"{sc[k]['wall']:.1f}", f"{sc[k]['wall_reference']:.1f}",
                     f"{sc[k]['cpu']:.1f}", f"{sc[k]['fps']:.0f}", f"{sc[k]['rms']:.3f}"]
                    for k in (args.frames, 4 * args.frames)]
            print(table(rows, ["movie", "wall s", "of which reference", "cpu s", "frames/s",
                               "RMS px"]))
            print(f"  time ratio for 4x the frames: {sc['ratio']:.2f} in all (cpu "
                  f"{sc['cpu_ratio']:.2f}), {sc['stream_ratio']:.2f} for the pass over the "
                  "frames (the reference is built from the same 200 frames in both)")
        if not args.skip_memory:
            budget = int(args.mem_budget_mib * MIB)
            header(f"5. Peak memory, chunk budget {args.mem_budget_mib:g} MiB "
                   "(fresh subprocess per run, VmHWM above the RSS after imports)")
            mem = memory_section(args, tmp)
            results["memory"] = mem
            rows = [[f"{r['multiple']}x budget, {r['mode']}", r["frames"],
                     f"{r['movie_f32'] / MIB:.0f}", r["frames_per_shard"],
                     f"{r['peak_above'] / MIB:.0f}", f"{r['peak_above'] / budget:.1f}",
                     f"{r['seconds']:.1f}"] for r in mem]
            print(table(rows, ["movie", "frames", "f32 MiB", "fr/shard", "peak MiB",
                               "in budgets", "s"]))
        results["summary"] = summary(results, args)
        print(f"\n(total run time {time.perf_counter() - t_start:.0f} s; end: {load()})")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=_jsonable))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return str(x)


def summary(res: dict, args: argparse.Namespace) -> list[list[str]]:
    header("Summary against the targets (timings measured on SHARED cores)")
    rows: list[list[str]] = []

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    std = res["standard"]
    best = max(std["two"]["fps"], std["single"]["fps"])
    rows.append(["rigid end to end frames/s (best of two calls / single pass)",
                 f"{std['two']['fps']:.0f} / {std['single']['fps']:.0f}",
                 f">= {TARGETS['fps']:.0f}", mark(best >= TARGETS["fps"])])
    ratio = best / std["baseline"]["fps"]
    rows.append(["speed vs design document (same run)", f"{ratio:.1f}x",
                 f">= {TARGETS['speedup']:.0f}x", mark(ratio >= TARGETS["speedup"])])
    for kind, target in (("standard", "rms_standard"), ("hard", "rms_hard")):
        if kind not in res:
            continue
        r = res[kind]["single"]
        rows.append([f"RMS error, {kind} (per axis | 2D)", f"{r['rms']:.3f} | {r['rms2d']:.3f}",
                     f"<= {TARGETS[target]}", mark(r["rms"] <= TARGETS[target])])
        worst = max(res[kind]["single"]["max"], res[kind]["two"]["max"])
        rows.append([f"largest frame error, {kind}", f"{worst:.3f}",
                     f"<= {TARGETS['max_error']}", mark(worst <= TARGETS["max_error"])])
    if "piecewise" in res:
        g = res["piecewise"]["gain"]
        rows.append(["piecewise cuts rigid's residual field error by", f"{g:.2f}x",
                     f">= {TARGETS['piecewise_gain']:.0f}x", mark(g >= TARGETS["piecewise_gain"])])
    if "scaling" in res:
        sc = res["scaling"]
        # linear in the frames: the pass over them within 10 % of 4x; in all, the fixed
        # cost of the reference (always 200 frames) makes 4x the frames cost less than 4x
        dev = abs(sc["stream_ratio"] / 4 - 1)
        rows.append(["time for 4x the frames, pass over the frames",
                     f"{sc['stream_ratio']:.2f}", "3.6 - 4.4", mark(dev <= TARGETS["scaling"])])
        rows.append(["time for 4x the frames, in all (fixed-size reference included)",
                     f"{sc['ratio']:.2f}", "<= 4.4",
                     mark(sc["ratio"] <= 4 * (1 + TARGETS["scaling"]))])
    if "memory" in res:
        for mode in ("two", "single"):
            rs = sorted((r for r in res["memory"] if r["mode"] == mode),
                        key=lambda r: r["multiple"])
            # compare movies at least as long as the reference sample (200 frames)
            long = [r for r in rs if r["frames"] >= 200]
            rs = long if len(long) >= 2 else rs
            if len(rs) >= 2:
                grow = (rs[-1]["peak_above"] - rs[0]["peak_above"]) / max(
                    1, rs[-1]["movie_f32"] - rs[0]["movie_f32"])
                budget = args.mem_budget_mib * MIB
                label = (f"peak memory growth / movie growth ({mode}; peak "
                         f"{rs[0]['peak_above'] / budget:.1f} -> "
                         f"{rs[-1]['peak_above'] / budget:.1f} budgets)")
                rows.append([label, f"{grow:+.3f}",
                             f"<= {TARGETS['memory_slope']} (flat)",
                             mark(grow <= TARGETS["memory_slope"])])
    print(table(rows, ["figure", "value", "target", "status"]))
    return rows


def main() -> None:
    args = parser().parse_args()
    if args.memory_child:
        memory_child(json.loads(args.memory_child))
        return
    run(args)


if __name__ == "__main__":
    main()
