"""Compiled per-frame kernels of rigid correction (numba).

With NumPy every step of the per-frame work (four taps per axis, the QC dot products, the
projections' sum and max) is its own pass over a 1 MiB frame, out of cache each time. These
kernels do the shift and everything that reads the corrected frame in one sweep, row by row,
while the row is in L1; they release the GIL, so blocks run in parallel threads.

Compiled once per machine and cached next to this file (``cache=True``; numba falls back
to a user cache directory where that is not writable).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}


# Loops run over views from index 0 (``for k in range(len(view))``): numba then drops the
# negative-index wrap-around check, and LLVM vectorizes them (10x faster here than
# ``dst[c] += w * src[c + offset]``).
@njit(**_JIT)
def _shift_row_into(src, r, wy, oy, loy, hiy, edgey, wx, ox, lox, hix, edgex, row, dst):
    """Row ``r`` of the shifted frame into ``dst`` (``row``: a scratch row)."""
    w = src.shape[1]
    if hiy > loy:
        base = min(max(r, loy), hiy - 1) + oy
        s = src[base]
        wj = wy[0]
        for c in range(w):
            row[c] = wj * s[c]
        for j in range(1, wy.shape[0]):
            s = src[base + j]
            wj = wy[j]
            for c in range(w):
                row[c] += wj * s[c]
    else:
        s = src[edgey]
        for c in range(w):
            row[c] = s[c]
    if hix <= lox:
        v = row[edgex]
        for c in range(w):
            dst[c] = v
        return
    inner = dst[lox:hix]
    s = row[lox + ox:hix + ox]
    wj = wx[0]
    for k in range(inner.shape[0]):
        inner[k] = wj * s[k]
    for j in range(1, wx.shape[0]):
        s = row[lox + ox + j:hix + ox + j]
        wj = wx[j]
        for k in range(inner.shape[0]):
            inner[k] += wj * s[k]
    for c in range(lox):
        dst[c] = dst[lox]
    for c in range(hix, w):
        dst[c] = dst[hix - 1]


@njit(**_JIT)
def _shift_row_planned(src, r, weights, ints, row, dst):
    """:func:`_shift_row_into` with the y and x plans packed as
    :func:`._interpolate.block_plans` makes them (``weights`` (8,), ``ints`` (12,))."""
    ny, nx = ints[0], ints[6]
    _shift_row_into(src, r, weights[:ny], ints[1], ints[2], ints[3], ints[4],
                    weights[4:4 + nx], ints[7], ints[8], ints[9], ints[10], row, dst)


@njit(**_JIT)
def _shift_frame(src, out, weights, ints):
    row = np.empty(src.shape[1], np.float32)
    for r in range(src.shape[0]):
        _shift_row_planned(src, r, weights, ints, row, out[r])


@njit(**_JIT)
def _project_row(values, acc, top):
    for c in range(values.shape[0]):
        v = values[c]
        acc[c] += v
        if v > top[c]:
            top[c] = v


@njit(**_JIT, fastmath={"reassoc", "contract"})
def _moments(values, ref):
    """Sum, sum of squares and dot product with ``ref`` of ``values`` (float64)."""
    s1 = 0.0
    s2 = 0.0
    dot = 0.0
    for k in range(ref.shape[0]):
        v = np.float64(values[k])
        s1 += v
        s2 += v * v
        dot += v * ref[k]
    return s1, s2, dot


@njit(**_JIT)
def _pearson(s1, s2, dot, n):
    var = s2 - s1 * s1 / n
    return dot / math.sqrt(var) if var > 0 else 0.0


@njit(**_JIT)
def _correct_block(src, out, plans_w, plans_i, part_sum, part_max, qc_ref, margin, stride,
                   corr):
    """Shift each frame ``src[i]`` into ``out[i]`` (by its packed plans ``plans_w[i]``,
    ``plans_i[i]``: see :func:`_shift_row_planned`), add the block to the projections
    and put each frame's Pearson correlation with ``qc_ref`` into ``corr``.

    Row by row across the block's frames: a row of the projections stays in cache while
    every frame adds to it, instead of both projections (3 MiB) passing through memory
    once per frame."""
    n, h, w = src.shape
    row = np.empty(w, np.float32)
    moments = np.zeros((n, 3))
    for r in range(h):
        acc = part_sum[r]
        top = part_max[r]
        q = r - margin
        qc_row = q >= 0 and q % stride == 0 and q // stride < qc_ref.shape[0]
        for i in range(n):
            dst = out[i, r]
            _shift_row_planned(src[i], r, plans_w[i], plans_i[i], row, dst)
            _project_row(dst, acc, top)
            if qc_row:
                a, b, c = _moments(dst[margin::stride], qc_ref[q // stride])
                moments[i, 0] += a
                moments[i, 1] += b
                moments[i, 2] += c
    for i in range(n):
        corr[i] = _pearson(moments[i, 0], moments[i, 1], moments[i, 2], qc_ref.size)


@njit(**_JIT)
def _bin_and_correlate(frame, factor, out, qc_ref, margin, stride):
    """Sums of ``factor x factor`` blocks of ``frame`` into ``out`` and the frame's Pearson
    correlation with ``qc_ref`` (``stride`` 0: not computed), in one read of the frame."""
    hb, wb = out.shape
    w = frame.shape[1]
    rows = np.empty(w, np.float32)
    s1 = s2 = dot = 0.0
    for i in range(hb):
        first = frame[i * factor]
        for c in range(w):
            rows[c] = first[c]
        for a in range(1, factor):
            more = frame[i * factor + a]
            for c in range(w):
                rows[c] += more[c]
        dst = out[i]
        for c in range(wb):
            acc = rows[c * factor]
            for b in range(1, factor):
                acc += rows[c * factor + b]
            dst[c] = acc
        if stride > 0:
            for a in range(factor):
                q = i * factor + a - margin
                if q >= 0 and q % stride == 0 and q // stride < qc_ref.shape[0]:
                    x, y, z = _moments(frame[q + margin, margin::stride], qc_ref[q // stride])
                    s1 += x
                    s2 += y
                    dot += z
    return _pearson(s1, s2, dot, qc_ref.size) if stride > 0 else np.nan


@njit(**_JIT)
def _correlation(frame, qc_ref, margin, stride):
    s1 = s2 = dot = 0.0
    for i in range(qc_ref.shape[0]):
        a, b, c = _moments(frame[margin + i * stride, margin::stride], qc_ref[i])
        s1 += a
        s2 += b
        dot += c
    return _pearson(s1, s2, dot, qc_ref.size)


def shift_frame(src: np.ndarray, out: np.ndarray, weights: np.ndarray, ints: np.ndarray
                ) -> None:
    """``out(p) = src(p - shift)`` for one float32 frame, ``out`` not overlapping ``src``;
    ``weights`` (8,) and ``ints`` (12,) are the y and x plans of
    :func:`._interpolate.block_plans`."""
    _shift_frame(src, out, weights, ints)


def correct_block(src: np.ndarray, out: np.ndarray, weights: np.ndarray, ints: np.ndarray,
                  part_sum: np.ndarray, part_max: np.ndarray, qc_ref: np.ndarray,
                  margin: int, stride: int) -> np.ndarray:
    """Each frame of ``src`` (n, h, w) shifted into ``out`` (not overlapping) by its plans
    (:func:`._interpolate.block_plans`), added to ``part_sum`` (float64) and maxed into
    ``part_max`` (float32) in the same sweep; returns each frame's Pearson correlation with
    ``qc_ref`` (2-D: the reference on the QC grid ``[margin::stride, margin::stride]``,
    centred and of unit norm), float32."""
    corr = np.empty(len(src), np.float64)
    _correct_block(src, out, weights, ints, part_sum, part_max, qc_ref, margin, stride,
                   corr)
    return corr.astype(np.float32)


def correlation(frame: np.ndarray, qc_ref: np.ndarray, margin: int, stride: int) -> float:
    """Pearson correlation of ``frame`` on the QC grid with ``qc_ref`` (see
    :func:`correct_block`)."""
    return float(_correlation(frame, qc_ref, margin, stride))


def bin_and_correlate(frame: np.ndarray, factor: int, out: np.ndarray,
                      qc_ref: np.ndarray | None = None, margin: int = 0, stride: int = 0
                      ) -> float:
    """Sums of ``factor x factor`` blocks of ``frame`` into ``out`` (shape
    ``(h // factor, w // factor)``, the odd edges dropped) and, with ``qc_ref``, the
    frame's correlation with it (see :func:`correct_block`; NaN without)."""
    if qc_ref is None:
        qc_ref, stride = _NO_QC, 0
    return float(_bin_and_correlate(frame, factor, out, qc_ref, margin, stride))


_NO_QC = np.zeros((1, 1), np.float32)
