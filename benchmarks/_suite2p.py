"""suite2p 1.1.0 as a benchmark peer, run in its own virtual environment.

suite2p is never a dependency of napari-photon: it lives in a separate venv outside the
package (``/work/main/.cache/suite2p-venv`` by default, ``SUITE2P_VENV`` overrides), built
by :func:`setup` with the recipe of ``../shared/ENVIRONMENT.md``:

1. ``python3 -m venv VENV && VENV/bin/pip install torch==2.13.0`` (a CPU wheel is on this
   machine's disk, found through pip's ``find-links``; any other torch pulls a multi-GB
   CUDA build);
2. ``VENV/bin/pip install torch==2.13.0 suite2p==1.1.0`` (pulls cellpose and a CUDA build of
   torchvision 0.28);
3. patch ``torchvision/_meta_registrations.py``: its two unconditional
   ``register_fake("torchvision::nms" / "torchvision::qnms")`` registrations fail on CPU
   with "operator torchvision::nms does not exist"; they are made conditional on
   ``torchvision.extension._has_ops()``.

:func:`register` and :func:`detect` write the movie to a temporary ``.npy`` file, run
suite2p in a subprocess of that venv, and read the results back from another ``.npy``.
The seconds they return are measured inside the subprocess around the suite2p call only
(no interpreter start, no import, no file I/O).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("SUITE2P_VENV", ROOT / ".cache" / "suite2p-venv"))
TORCH = "torch==2.13.0"
SUITE2P = "suite2p==1.1.0"
_PATCH_MARK = "if torchvision.extension._has_ops() else (lambda fn: fn))"

#: why suite2p is not available (empty when it is, or before the first check)
reason = ""
_available: bool | None = None


def _python() -> Path:
    return VENV / "bin" / "python"


def _run(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _fail(message: str) -> bool:
    global reason, _available
    reason, _available = message, False
    return False


def _meta_registrations() -> Path | None:
    found = sorted(VENV.glob("lib/python3*/site-packages/torchvision/_meta_registrations.py"))
    return found[0] if found else None


def _patch_torchvision() -> bool:
    """Make torchvision's nms/qnms fake registrations conditional (idempotent)."""
    path = _meta_registrations()
    if path is None:
        return _fail(f"torchvision is not installed in {VENV}")
    text = path.read_text()
    if _PATCH_MARK in text:
        return True
    patched = text
    for op in ("nms", "qnms"):
        old = f'@torch.library.register_fake("torchvision::{op}")\n'
        new = (f'@(torch.library.register_fake("torchvision::{op}") '
               f"{_PATCH_MARK}\n")
        patched = patched.replace(old, new)
    if patched == text:
        return _fail(f"{path}: no unconditional nms/qnms register_fake line to patch")
    path.write_text(patched)
    return True


def _import_check() -> bool:
    python = _python()
    if not python.exists():
        return _fail(f"no suite2p venv at {VENV} (run benchmarks/_suite2p.py setup)")
    proc = _run([str(python), "-c", ("import torch, torchvision, suite2p; "
                 "from suite2p.registration import registration_wrapper; "
                 "from suite2p.detection import detection_wrapper; "
                 "print(torch.__version__, suite2p.version)")], timeout=300)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return _fail(f"importing suite2p in {VENV} failed: {last}")
    global reason, _available
    reason, _available = "", True
    return True


def available() -> bool:
    """True when the suite2p venv exists and imports suite2p (checked once, no install)."""
    if _available is None:
        if _meta_registrations() is not None and not _patch_torchvision():
            return False
        _import_check()
    return bool(_available)


def version() -> str:
    """``"suite2p X, torch Y"`` of the venv, or ``""``."""
    if not available():
        return ""
    proc = _run([str(_python()), "-c", ("import torch, suite2p; "
                 "print(f'suite2p {suite2p.version}, torch {torch.__version__}')")], 300)
    return proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else ""


def setup(log: Path | None = None) -> bool:
    """Install suite2p into :data:`VENV` if needed (idempotent); True when it works.

    Takes minutes and about 1.8 GB the first time. On failure :data:`reason` says why.
    """
    global _available
    _available = None
    if _python().exists() and available():
        return True
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        steps = []
        if not _python().exists():
            steps.append([shutil.which("python3") or sys.executable, "-m", "venv", str(VENV)])
        pip = [str(_python()), "-m", "pip", "install"]
        steps += [pip + [TORCH], pip + [TORCH, SUITE2P]]
        for step in steps:
            proc = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False)
            if proc.returncode != 0:
                return _fail(f"`{' '.join(step)}` exited with {proc.returncode}")
    finally:
        if log:
            out.close()
    if not _patch_torchvision():
        return False
    _available = None
    return available()


_WORKER = textwrap.dedent(
    """
    import json, sys, time, logging
    import numpy as np
    import torch
    torch.set_num_threads(int(sys.argv[3]))
    from suite2p.parameters import default_settings
    logging.disable(logging.INFO)
    job = json.loads(open(sys.argv[1]).read())
    out = sys.argv[2]
    movie = np.load(job["movie"])
    settings = default_settings()
    cpu = torch.device("cpu")
    if job["task"] == "register":
        from suite2p.registration import registration_wrapper
        reg = settings["registration"]
        reg["nonrigid"] = False
        reg.update(job.get("settings", {}))
        frames = np.ascontiguousarray(movie)
        t0 = time.perf_counter()
        result = registration_wrapper(frames, settings=reg, device=cpu)
        seconds = time.perf_counter() - t0
        np.savez(out, yoff=np.asarray(result["yoff"], np.float64),
                 xoff=np.asarray(result["xoff"], np.float64), seconds=seconds)
    else:
        from suite2p.detection import detection_wrapper
        det = settings["detection"]
        det["algorithm"] = "sparsery"
        det.update(job.get("settings", {}))
        t0 = time.perf_counter()
        new, stat, _ = detection_wrapper(
            movie, diameter=job["diameter"], tau=job["tau"], fs=job["fs"],
            settings=det, device=cpu)
        seconds = time.perf_counter() - t0
        n = len(stat)
        lengths = np.array([len(s["ypix"]) for s in stat], np.int64)
        cat = (lambda key, dt: np.concatenate([np.asarray(s[key], dt) for s in stat])
               if n else np.zeros(0, dt))
        crop = [np.asarray(s.get("soma_crop", np.ones(len(s["ypix"]), bool)), bool)
                for s in stat]
        np.savez(out, lengths=lengths, ypix=cat("ypix", np.int64),
                 xpix=cat("xpix", np.int64), lam=cat("lam", np.float32),
                 overlap=cat("overlap", bool) if n and "overlap" in stat[0]
                 else np.zeros(int(lengths.sum()), bool),
                 soma_crop=np.concatenate(crop) if n else np.zeros(0, bool),
                 seconds=seconds)
    """
)


def _call(task: str, movie: np.ndarray, threads: int, timeout: float | None,
          **job) -> dict:
    if not available():
        raise RuntimeError(f"suite2p is not available: {reason}")
    with tempfile.TemporaryDirectory(prefix="suite2p-peer-") as tmp:
        tmp = Path(tmp)
        counts = np.clip(np.asarray(movie), -32768, 32767).astype(np.int16)
        np.save(tmp / "movie.npy", counts)
        del counts
        (tmp / "job.json").write_text(json.dumps(dict(job, task=task,
                                                      movie=str(tmp / "movie.npy"))))
        (tmp / "worker.py").write_text(_WORKER)
        out = tmp / "out.npz"
        env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
        env.setdefault("MPLCONFIGDIR", str(tmp / "mpl"))
        proc = subprocess.run(
            [str(_python()), str(tmp / "worker.py"), str(tmp / "job.json"), str(out),
             str(threads)], capture_output=True, text=True, timeout=timeout, env=env,
            check=False)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"suite2p {task} failed (exit {proc.returncode}):\n{tail}")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


def register(movie: np.ndarray, *, threads: int | None = None,
             timeout: float | None = 3600, **settings) -> tuple[np.ndarray, np.ndarray, float]:
    """Rigid registration with suite2p's ``registration_wrapper(nonrigid=False)``.

    Parameters
    ----------
    movie : ndarray, shape (t, y, x)
        Raw frames (photon counts); sent to suite2p as int16.
    threads : int, optional
        torch threads in the subprocess (default: all cores).
    **settings
        Overrides of suite2p's registration settings.

    Returns
    -------
    yoff, xoff : ndarray of float64, shape (t,)
        suite2p's offsets: the *displacement* of each frame relative to its reference
        (suite2p rolls each frame by minus them). Same sign as ``synthetic`` ``.shifts``;
        the opposite of skimage's ``phase_cross_correlation`` (a correcting shift). suite2p
        1.1.0 rigid offsets are whole pixels.
    seconds : float
        Time of the ``registration_wrapper`` call (reference image included).
    """
    res = _call("register", movie, threads or os.cpu_count() or 1, timeout,
                settings=settings)
    return res["yoff"], res["xoff"], float(res["seconds"])


def detect_variants(movie: np.ndarray, *, diameter: float = 12.0, tau: float = 1.0,
                    fs: float = 30.0, threads: int | None = None,
                    timeout: float | None = 3600,
                    **settings) -> tuple[dict[str, np.ndarray], float]:
    """One suite2p detection run, its ROIs as masks two ways.

    Returns ``({"soma_crop": masks, "all_pixels": masks}, seconds)``: each ROI's
    ``soma_crop`` pixels (suite2p's own soma estimate, dendrite-like extensions removed),
    and every pixel it assigns to the ROI. See :func:`detect` for the parameters.
    """
    res = _call("detect", movie, threads or os.cpu_count() or 1, timeout,
                diameter=[float(diameter)] * 2, tau=float(tau), fs=float(fs),
                settings=settings)
    height, width = np.asarray(movie).shape[-2:]
    lengths = res["lengths"]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    out = {}
    for name, crop in (("soma_crop", True), ("all_pixels", False)):
        masks = np.zeros((len(lengths), height, width), bool)
        for i in range(len(lengths)):
            sl = slice(starts[i], starts[i + 1])
            keep = res["soma_crop"][sl] if crop else slice(None)
            masks[i, res["ypix"][sl][keep], res["xpix"][sl][keep]] = True
        out[name] = masks
    return out, float(res["seconds"])


def detect(movie: np.ndarray, *, diameter: float = 12.0, tau: float = 1.0,
           fs: float = 30.0, soma_crop: bool = True, threads: int | None = None,
           timeout: float | None = 3600, **settings) -> tuple[np.ndarray, float]:
    """ROI detection with suite2p's ``detection_wrapper`` (sparsery) on a registered movie.

    Parameters
    ----------
    movie : ndarray, shape (t, y, x)
        Registered frames (photon counts); sent to suite2p as int16.
    diameter, tau, fs : float
        suite2p's expected cell diameter (px), indicator timescale (s) and frame rate (Hz);
        the bin size is ``round(tau * fs)`` frames.
    soma_crop : bool
        Keep only suite2p's ``soma_crop`` pixels of each ROI (default; suite2p's GUI and
        classifier use them too), else every pixel suite2p assigns to the ROI.
    **settings
        Overrides of suite2p's detection settings (e.g. ``threshold_scaling``).

    Returns
    -------
    masks : ndarray of bool, shape (n, y, x)
    seconds : float
        Time of the ``detection_wrapper`` call (binning, sparsery, ROI statistics).
    """
    variants, seconds = detect_variants(movie, diameter=diameter, tau=tau, fs=fs,
                                        threads=threads, timeout=timeout, **settings)
    return variants["soma_crop" if soma_crop else "all_pixels"], seconds


_RUN_FOLDER = textwrap.dedent(
    """
    import json, sys, time, logging
    import torch
    torch.set_num_threads(int(sys.argv[2]))
    import suite2p
    logging.disable(logging.INFO)
    job = json.loads(open(sys.argv[1]).read())
    db = suite2p.default_db()
    db.update(data_path=[job["folder"]], save_path0=job["save_path0"], nplanes=1,
              nchannels=1)
    settings = suite2p.default_settings()
    settings.update(torch_device="cpu", fs=job["fs"], tau=job["tau"],
                    diameter=job["diameter"])
    t0 = time.perf_counter()
    suite2p.run_s2p(db=db, settings=settings)
    print(json.dumps({"seconds": time.perf_counter() - t0}))
    """
)


def run_folder(folder: Path, save_path0: Path, *, fs: float = 30.0, tau: float = 1.0,
               diameter: float = 12.0, threads: int | None = None,
               timeout: float | None = 3600) -> tuple[Path, float]:
    """suite2p's whole pipeline (``run_s2p``: registration, detection, extraction,
    classification, deconvolution) on the TIFFs of ``folder``, with its default settings
    but these; its results go to ``save_path0/suite2p/plane0``, as a lab's would.

    Returns
    -------
    plane0 : Path
    seconds : float
        Time of the ``run_s2p`` call.
    """
    if not available():
        raise RuntimeError(f"suite2p is not available: {reason}")
    with tempfile.TemporaryDirectory(prefix="suite2p-run-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"folder": str(folder), "save_path0": str(save_path0),
                                   "fs": float(fs), "tau": float(tau),
                                   "diameter": [float(diameter)] * 2}))
        script = Path(tmp) / "run.py"
        script.write_text(_RUN_FOLDER)
        env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg",
                   MPLCONFIGDIR=str(Path(tmp) / "mpl"))
        proc = subprocess.run([str(_python()), str(script), str(job),
                               str(threads or os.cpu_count() or 1)], capture_output=True,
                              text=True, timeout=timeout, env=env, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"suite2p run_s2p failed (exit {proc.returncode}):\n{tail}")
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    return Path(save_path0) / "suite2p" / "plane0", float(seconds)


if __name__ == "__main__":  # python benchmarks/_suite2p.py [setup|check]
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    ok = setup(Path(sys.argv[2]) if len(sys.argv) > 2 else None) if command == "setup" \
        else available()
    print(f"suite2p available: {ok}" + (f" ({version()})" if ok else f" -- {reason}"))
    sys.exit(0 if ok else 1)
