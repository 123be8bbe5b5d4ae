"""Reference image: an average of frames registered to it, iterated."""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

import numpy as np
from scipy import fft

from .._blocks import thread_pool
from . import _fourier as F
from ._engine import Settings, reference_spectrum
from ._interpolate import cubic_shift_frames


def reference_runs(n_frames: int, n_reference: int, max_runs: int = 8,
                   min_run: int = 25) -> list[tuple[int, int]]:
    """Contiguous runs of frames, evenly spread over the movie, ``n_reference`` in all."""
    n_reference = max(1, min(n_reference, n_frames))
    if n_reference >= n_frames:
        return [(0, n_frames)]
    runs = max(1, min(max_runs, n_reference // min_run))
    length = math.ceil(n_reference / runs)
    starts = np.linspace(0, n_frames - length, runs).round().astype(int)
    out: list[tuple[int, int]] = []
    for s in starts:  # merge overlaps
        e = int(s) + length
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((int(s), e))
    return out


def _spans(runs: list[tuple[int, int]], block: int) -> list[tuple[int, int]]:
    return [(a, min(a + block, t1)) for t0, t1 in runs for a in range(t0, t1, block)]


def _read(movie: Any, span: tuple[int, int]) -> np.ndarray:
    """Frames of ``span`` in an array of our own (shifted in place later): a view into the
    caller's movie is copied."""
    x = np.asarray(movie[span[0]:span[1]], dtype=np.float32)
    return x if x.flags.owndata and x.flags.writeable else x.copy()


REFERENCE_SPAN = 16  # frames per task while building the reference
KEEP_BLOCKS = 4  # reference frames are kept in memory if they fit in 4 blocks, else re-read


def build_reference(movie: Any, settings: Settings, block: int = 64) -> tuple[np.ndarray, dict]:
    """Reference image (movie resolution, float32) from ``settings.reference_frames``
    frames in evenly spread runs.

    The frames are binned (twice the estimation binning, so each round is cheap) and
    registered to their mean; the mean of the registered frames becomes the next reference
    (``settings.iterations`` rounds; in the first round only the better-matching half of the
    frames is averaged, so frames caught mid-jump do not blur it). Averages of shifted
    frames are formed in the Fourier domain (a sum of phase-ramped spectra, no inverse FFT
    per frame). The final reference is the full-resolution average of the frames shifted to
    the median position (cubic convolution, edges clamped).

    Memory: the frames if they fit in 4 blocks (else they are read twice), and their
    binned copies. Reading, binning and the final average run on the thread pool.
    """
    s = settings
    t, h, w = (int(n) for n in movie.shape)
    runs = reference_runs(t, s.reference_frames)
    n = sum(b - a for a, b in runs)
    keep = n <= KEEP_BLOCKS * block
    rb = _reference_binning(s, h, w)
    # fixed spans (not the caller's block): the float32 sums per span make the reference,
    # which must not depend on how the movie happens to be read
    spans = _spans(runs, REFERENCE_SPAN)
    # the same spans as positions among the n reference frames
    blocks = list(itertools.pairwise(np.cumsum([0] + [b - a for a, b in spans]).tolist()))
    pool = thread_pool()
    loaded = list(pool.map(partial(_load, movie, rb, keep), spans))
    fb = np.concatenate([small for small, _ in loaded])
    kept = [x for _, x in loaded]  # None where not kept
    del loaded
    _, hb, wb = fb.shape
    sub = Settings(**{**s.to_dict(), "binning": rb})
    window = F.taper(hb, wb)
    radius = (s.max_shift / rb, s.max_shift / rb)
    plain = None
    disp = np.zeros((n, 2))
    peak = np.ones(n)
    ref_b = fb.mean(axis=0)
    for it in range(s.iterations):
        conj, filt = reference_spectrum(ref_b, sub)
        # the rounds before the last only place frames for an average: one Newton step
        newton = 2 if it == s.iterations - 1 else 1
        found = list(pool.map(
            partial(_locate, fb, window, conj, filt, radius, s.whiten, newton), blocks))
        disp = np.concatenate([d for d, _ in found])
        peak = np.concatenate([p for _, p in found])
        disp -= np.median(disp, axis=0)
        if it == s.iterations - 1:
            break
        if plain is None:
            plain = np.stack([fft.rfft2(f, workers=1) for f in fb])
        use = peak >= np.median(peak) if it == 0 else np.ones(n, bool)
        ref_b = _fourier_mean(plain[use], disp[use], hb, wb)
    del plain, fb
    shifts = -disp * rb
    info = {"frames": int(n), "runs": runs, "displacement": (disp * rb).astype(np.float32),
            "peak": np.asarray(peak, np.float32)}
    sums = pool.map(partial(_shifted_sum, movie, s.iterations > 0), spans, kept,
                    [shifts[a:b] for a, b in blocks])
    ref = (sum(sums) / n).astype(np.float32)
    if s.iterations:
        F.clamp_borders(ref, np.maximum(shifts.max(axis=0), 0.0))
        F.clamp_borders(ref, np.minimum(shifts.min(axis=0), 0.0))
    return ref, info


def _load(movie: Any, binning: int, keep: bool, span: tuple[int, int]
          ) -> tuple[np.ndarray, np.ndarray | None]:
    """The frames of ``span`` binned, and themselves when they are kept."""
    x = _read(movie, span)
    return F.binned(x, binning), (x if keep else None)


def _locate(fb: np.ndarray, window: np.ndarray, conj: np.ndarray, filt: np.ndarray,
            radius: tuple[float, float], whiten: float, newton: int,
            block: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Displacements and peak heights of the binned frames ``fb[block]``."""
    a, b = block
    disp, peak, _ = F.correlate(fb[a:b], window, conj, radius, whiten, filt, newton)
    return disp, peak


def _shifted_sum(movie: Any, shift: bool, span: tuple[int, int], frames: np.ndarray | None,
                 shifts: np.ndarray) -> np.ndarray:
    """Sum of the frames of ``span`` (kept, or read again) moved by ``shifts``: float32
    within the span (4x faster than float64), float64 across spans."""
    x = frames if frames is not None else _read(movie, span)
    if shift:  # in place: x is our own (see _read)
        x = cubic_shift_frames(x, shifts, out=x)
    return x.sum(axis=0).astype(np.float64)


def _reference_binning(s: Settings, h: int, w: int) -> int:
    """Twice the estimation binning while the binned frame keeps at least 96 pixels."""
    b = s.binning * 2
    while b > s.binning and min(h, w) // b < 96:
        b //= 2
    return max(1, b)


def _fourier_mean(spectra: np.ndarray, disp: np.ndarray, hb: int, wb: int) -> np.ndarray:
    """Mean of frames (given by their spectra) each shifted by ``-disp`` (circular)."""
    acc = np.zeros((hb, wb // 2 + 1), np.complex64)
    for spec, d in zip(spectra, disp):
        acc += spec * F.phase_ramp(hb, wb, -d)
    return fft.irfft2(acc / np.float32(max(len(spectra), 1)), s=(hb, wb)).astype(np.float32)
