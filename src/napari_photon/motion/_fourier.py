"""Fourier-domain building blocks: spectra, cross-power, sub-pixel peaks, shifting.

Conventions
-----------
* A *displacement* ``d`` means the frame shows the reference moved by ``d``:
  ``frame(p) = reference(p - d)``. The cross-correlation ``c(s) = sum_p frame(p + s)
  reference(p)`` peaks at ``s = d``.
* A *shift* (what the public API returns, as scikit-image does) is what must be applied to
  the frame to align it: ``shift = -d``. ``shift_frames(frames, shift)`` gives
  ``out(p) = frame(p - shift)``.

FFTs run one frame at a time (a batch of 64 512x512 frames does not fit in cache; one frame
at a time was 1.7-2x faster here) with ``workers=1``: parallelism comes from running blocks
in threads.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft

from . import _kernels as K

TWO_PI = 2.0 * np.pi


@lru_cache(maxsize=32)
def taper(height: int, width: int, edge: float = 0.15) -> np.ndarray:
    """Separable raised-cosine window: the outer ``edge`` fraction fades to zero, so the
    periodic boundary of the FFT (an edge fixed to the frame) cannot pin shifts at zero."""

    def ramp(n: int) -> np.ndarray:
        k = max(1, int(n * edge))
        w = np.ones(n, dtype=np.float32)
        r = (0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)).astype(np.float32)
        w[:k], w[n - k:] = r, r[::-1]
        return w

    out = ramp(height)[:, None] * ramp(width)[None, :]
    out.setflags(write=False)
    return out


def binned(frames: np.ndarray, factor: int) -> np.ndarray:
    """Sum ``factor x factor`` pixel blocks of ``(n, y, x)`` frames (odd edges dropped).

    Both the frames and the reference are binned the same way, so the displacement between
    them is unchanged (in binned pixels); the sum keeps white noise white.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if factor == 1:
        return frames
    n, h, w = frames.shape
    out = np.empty((n, h // factor, w // factor), np.float32)
    for i in range(n):
        K.bin_and_correlate(frames[i], factor, out[i])
    return out


@lru_cache(maxsize=32)
def frequencies(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ky, kx)`` in cycles per pixel for an ``rfft2`` of shape ``(height, width//2+1)``."""
    return (fft.fftfreq(height).astype(np.float64), fft.rfftfreq(width).astype(np.float64))


@lru_cache(maxsize=32)
def spectral_filter(height: int, width: int, sigma: float, highpass: float) -> np.ndarray:
    """Gaussian low-pass of ``sigma`` px (smooths the correlation surface) times a Gaussian
    high-pass of ``highpass`` px (0 = none), float32 ``(height, width//2+1)``."""
    ky, kx = frequencies(height, width)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    g = np.exp(-2.0 * (np.pi * sigma) ** 2 * k2)
    if highpass > 0:
        g *= 1.0 - np.exp(-2.0 * (np.pi * highpass) ** 2 * k2)
    out = g.astype(np.float32)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=32)
def hermitian_weights(width: int) -> np.ndarray:
    """Weight of each column of a half spectrum in the full sum: 2 for columns that stand
    for a conjugate pair, 1 for the zero (and, for even widths, the Nyquist) column."""
    weights = np.full(width // 2 + 1, 2.0)
    weights[0] = 1.0
    if width % 2 == 0:
        weights[-1] = 1.0
    weights.setflags(write=False)
    return weights


def tapered_spectra(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``rfft2`` of each mean-subtracted, tapered frame, ``(n, h, w//2+1)`` complex64."""
    n, h, w = frames.shape
    out = np.empty((n, h, w // 2 + 1), np.complex64)
    buf = np.empty((h, w), np.float32)
    for i in range(n):
        np.subtract(frames[i], np.float32(frames[i].mean()), out=buf)
        buf *= window
        out[i] = fft.rfft2(buf, workers=1)
    return out


def whiten_spectra(x: np.ndarray, power: float) -> np.ndarray:
    """Divide cross-power spectra by their magnitude to the ``power`` (in place)."""
    if power > 0:
        mag = np.abs(x)
        mag += np.float32(1e-12 + 1e-6 * float(mag.max(initial=0.0)))
        if power != 1:
            np.power(mag, np.float32(power), out=mag)
        x /= mag
    return x


def correlate(frames: np.ndarray, window: np.ndarray, ref_conj: np.ndarray,
              radius: tuple[float, float], whiten: float = 0.0,
              filt: np.ndarray | None = None, newton: int = 1
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-power spectra and sub-pixel correlation peaks of frames against a reference.

    Parameters
    ----------
    frames : ndarray (n, h, w)
        Frames (binned already, if at all).
    window : ndarray (h, w)
        Taper applied to each mean-subtracted frame.
    ref_conj : ndarray (h, w//2+1) or (n, h, w//2+1)
        Conjugate spectrum of the tapered reference, filter folded in (``whiten == 0``) or
        not (then ``filt`` is applied after whitening).
    radius : (float, float)
        Largest displacement searched, per axis.
    newton : int
        Newton iterations of the sub-pixel refinement (:func:`refine_peaks`). One, from
        the parabola's estimate, gave the same errors as three on the benchmark movies
        (RMS 0.0464 px standard, 0.0640 hard, to 1e-7 px), at 0.15-0.2 ms less per
        frame each.

    Returns
    -------
    displacement : ndarray (n, 2)
        Where the (band-limited) correlation peaks, to a small fraction of a pixel.
    peak : ndarray (n,)
        Correlation peak height.
    spectra : ndarray (n, h, w//2+1)
        The cross-power spectra (for callers that combine them).
    """
    n, h, w = frames.shape
    ry = int(min(radius[0], h // 2 - 1))
    rx = int(min(radius[1], w // 2 - 1))
    iy = (np.arange(-ry - 1, ry + 2) % h)[:, None]
    ix = (np.arange(-rx - 1, rx + 2) % w)[None, :]
    if h * w <= BATCHED_PIXELS:
        x, boxes = _batched_boxes(frames, window, ref_conj, whiten, filt, iy, ix)
        lags, value = box_peaks(boxes, ry, rx)
        return refine_peaks(x, lags, w, newton), value, x
    x = np.empty((n, h, w // 2 + 1), np.complex64)
    boxes = np.empty((n, 2 * ry + 3, 2 * rx + 3), np.float32)
    buf = np.empty((h, w), np.float32)
    per_frame_ref = ref_conj.ndim == 3
    for i in range(n):
        np.subtract(frames[i], np.float32(frames[i].mean()), out=buf)
        buf *= window
        spec = fft.rfft2(buf, workers=1)
        spec *= ref_conj[i] if per_frame_ref else ref_conj
        if whiten > 0:
            whiten_spectra(spec, whiten)
            spec *= filt
        x[i] = spec
        boxes[i] = box_of(spec, iy, ix, w)
    lags, value = box_peaks(boxes, ry, rx)
    lags = refine_peaks(x, lags, w, newton)
    return lags, value, x


#: frames up to this size (128 x 128: the reference's 4x-binned frames) are correlated as
#: one batch: a batch of 16 fits in cache, and one FFT call instead of 16 saves the
#: per-call overhead that dominates at this size (the reference's rounds 0.30 -> 0.2 s)
BATCHED_PIXELS = 128 * 128


def _batched_boxes(frames: np.ndarray, window: np.ndarray, ref_conj: np.ndarray,
                   whiten: float, filt: np.ndarray | None, iy: np.ndarray, ix: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`correlate`'s cross-power spectra and correlation boxes, one batch."""
    w = frames.shape[-1]
    means = np.array([np.float32(f.mean()) for f in frames], np.float32)
    centred = np.subtract(frames, means[:, None, None], dtype=np.float32)
    centred *= window
    x = fft.rfft2(centred, workers=1).astype(np.complex64, copy=False)
    x *= ref_conj
    if whiten > 0:
        whiten_spectra(x, whiten)
        x *= filt
    return x, box_of(x, iy, ix, w, overwrite=False).astype(np.float32, copy=False)


def peaks_from_spectra(x: np.ndarray, height: int, width: int,
                       radius: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peaks (n, 2) and heights (n,) of the correlations whose cross-power
    spectra are ``x`` (n, height, width//2+1), within ``radius`` of zero lag."""
    n = len(x)
    ry = int(min(radius[0], height // 2 - 1))
    rx = int(min(radius[1], width // 2 - 1))
    iy = (np.arange(-ry - 1, ry + 2) % height)[:, None]
    ix = (np.arange(-rx - 1, rx + 2) % width)[None, :]
    boxes = np.empty((n, 2 * ry + 3, 2 * rx + 3), np.float32)
    for i in range(n):
        boxes[i] = box_of(x[i], iy, ix, width, overwrite=False)
    lags, value = box_peaks(boxes, ry, rx)
    return refine_peaks(x, lags, width), value


def box_of(spec: np.ndarray, rows: np.ndarray, cols: np.ndarray, width: int,
           overwrite: bool = True) -> np.ndarray:
    """``irfft2(spec)[..., rows, cols]`` computing only the rows asked for: the inverse
    along y for every column of the half spectrum (or spectra: the last two axes), then
    along x for ``rows`` only (a correlation box of 35 of 256 rows costs a little over half
    the full inverse). ``spec`` is overwritten unless ``overwrite`` is False."""
    along_y = fft.ifft(spec, axis=-2, workers=1, overwrite_x=overwrite)
    return fft.irfft(along_y[..., rows.ravel(), :], n=width, axis=-1, workers=1,
                     overwrite_x=True)[..., cols.ravel()]


def box_peaks(box: np.ndarray, ry: int, rx: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid maximum of correlation windows ``box`` (n, 2ry+3, 2rx+3) covering lags
    ``-ry-1 .. ry+1`` (the outer rim only serves the parabola), as signed lags refined by
    a separable parabola, and the peak value."""
    n = len(box)
    inner = box[:, 1:-1, 1:-1].reshape(n, -1)
    flat = inner.argmax(axis=1)
    py, px = np.divmod(flat, 2 * rx + 1)
    py, px = py + 1, px + 1
    rows = np.arange(n)
    centre = box[rows, py, px].astype(np.float64)
    lags = np.stack([py - ry - 1, px - rx - 1], axis=1).astype(np.float64)
    pairs = ((box[rows, py - 1, px], box[rows, py + 1, px]),
             (box[rows, py, px - 1], box[rows, py, px + 1]))
    for axis, (a, b) in enumerate(pairs):
        a, b = a.astype(np.float64), b.astype(np.float64)
        denom = a - 2.0 * centre + b
        safe = denom < 0
        off = np.where(safe, 0.5 * (a - b) / np.where(safe, denom, -1.0), 0.0)
        lags[:, axis] += np.clip(off, -0.5, 0.5)
    return lags, centre


def refine_peaks(x: np.ndarray, lags: np.ndarray, width: int,
                 iterations: int = 3) -> np.ndarray:
    """Newton's method on the band-limited correlation ``c(s) = Re sum_k X_k e^{2 pi i k.s}``.

    The correlation surface is the inverse FFT of the (filtered) cross-power ``x`` (a half
    spectrum); between grid points it is exactly the
    trigonometric interpolant of the surface, so its maximum can be found to any precision:
    gradient and Hessian come from a few matrix products with the spectrum (separable in
    y and x), vectorized over the batch. Steps that leave the peak's basin (Hessian not
    negative definite or a step over half a pixel) are refused: the starting lag is kept.

    Parameters
    ----------
    x : ndarray (n, h, width//2+1) complex
        Cross-power spectra (as passed to the inverse FFT).
    lags : ndarray (n, 2)
        Starting points (from :func:`integer_peaks`), in pixels.
    width : int
        Width of the correlation surface (the half spectrum does not tell odd from even).
    """
    n, h, _ = x.shape
    ky, kx = frequencies(h, width)
    ypow = np.stack([np.ones_like(ky), ky, ky * ky])  # (3, h)
    xpow = np.stack([np.ones_like(kx), kx, kx * kx]) * hermitian_weights(width)  # (3, k)
    s = np.array(lags, dtype=np.float64)
    start = s.copy()
    xc = x
    ypow = ypow.astype(np.float32)
    xpow = xpow.astype(np.float32)
    for _ in range(iterations):
        ey = np.exp(1j * TWO_PI * ky[None, :] * s[:, :1]).astype(np.complex64)  # (n, h)
        ex = np.exp(1j * TWO_PI * kx[None, :] * s[:, 1:]).astype(np.complex64)  # (n, k)
        bx = np.ascontiguousarray((ex[:, None, :] * xpow[None]).transpose(0, 2, 1))
        cy = ey[:, None, :] * ypow[None]  # (n, 3, h)
        m = np.empty((n, 3, 3), np.complex128)
        for i in range(n):  # BLAS products, one frame at a time
            m[i] = cy[i] @ (xc[i] @ bx[i])
        grad = -TWO_PI * np.stack([m[:, 1, 0].imag, m[:, 0, 1].imag], axis=1)
        hyy = -(TWO_PI**2) * m[:, 2, 0].real
        hxx = -(TWO_PI**2) * m[:, 0, 2].real
        hxy = -(TWO_PI**2) * m[:, 1, 1].real
        s = newton_step(s, grad, hyy, hxx, hxy)
    return keep_near(s, start)


def newton_step(s: np.ndarray, grad: np.ndarray, hyy: np.ndarray, hxx: np.ndarray,
                hxy: np.ndarray) -> np.ndarray:
    """One Newton step of points ``s`` (n, 2) towards a maximum, from the gradient (n, 2)
    and the Hessian's entries (n,) there. A point keeps its place where the step would
    leave the peak's basin: the Hessian is not negative definite, or the step exceeds
    half a pixel on an axis."""
    det = hyy * hxx - hxy * hxy
    ok = (hyy < 0) & (det > 0)
    safe_det = np.where(ok, det, 1.0)
    step_y = (hxx * grad[:, 0] - hxy * grad[:, 1]) / safe_det
    step_x = (hyy * grad[:, 1] - hxy * grad[:, 0]) / safe_det
    step = -np.stack([step_y, step_x], axis=1)
    ok &= np.all(np.abs(step) < 0.5, axis=1)
    return np.where(ok[:, None], s + step, s)


def keep_near(s: np.ndarray, start: np.ndarray, limit: float = 1.0) -> np.ndarray:
    """``s`` with the points that moved more than ``limit`` px (on an axis) from ``start``
    put back there: a refined point must stay next to the grid peak it started from."""
    far = np.any(np.abs(s - start) > limit, axis=1)
    s[far] = start[far]
    return s


# -- shifting ---------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _phase_axes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ky, kx = frequencies(height, width)
    return (-TWO_PI * ky).astype(np.float64), (-TWO_PI * kx).astype(np.float64)


def phase_ramp(height: int, width: int, shift: np.ndarray) -> np.ndarray:
    """``exp(-2 pi i k.shift)`` for one (dy, dx), complex64 ``(height, width//2+1)``."""
    ay, ax = _phase_axes(height, width)
    ry = np.exp(1j * ay * float(shift[0])).astype(np.complex64)
    rx = np.exp(1j * ax * float(shift[1])).astype(np.complex64)
    if width % 2 == 0:  # keep the Nyquist column real: a real image stays real
        rx[-1] = np.float32(np.cos(ax[-1] * float(shift[1])))
    if height % 2 == 0:
        ry[height // 2] = np.float32(np.cos(ay[height // 2] * float(shift[0])))
    return ry[:, None] * rx[None, :]


def clamp_borders(frame: np.ndarray, shift: np.ndarray, margin: int = 1) -> None:
    """Replace the rows/columns a circular shift wrapped around (plus ``margin`` next to
    the seam, where the Fourier interpolation mixes both sides) by the nearest clean
    row/column, in place: the edge handling of ``scipy.ndimage.shift(mode='nearest')``."""
    h, w = frame.shape
    dy, dx = float(shift[0]), float(shift[1])
    if dy > 0:
        k = min(h - 1, int(np.ceil(dy - 1e-6)) + margin) if dy > 1e-6 else 0
        if k:
            frame[:k] = frame[k]
    elif dy < 0:
        k = min(h - 1, int(np.ceil(-dy - 1e-6)) + margin) if dy < -1e-6 else 0
        if k:
            frame[h - k:] = frame[h - k - 1]
    if dx > 0:
        k = min(w - 1, int(np.ceil(dx - 1e-6)) + margin) if dx > 1e-6 else 0
        if k:
            frame[:, :k] = frame[:, k:k + 1]
    elif dx < 0:
        k = min(w - 1, int(np.ceil(-dx - 1e-6)) + margin) if dx < -1e-6 else 0
        if k:
            frame[:, w - k:] = frame[:, w - k - 1:w - k]


def shift_frames(frames: np.ndarray, shifts: np.ndarray, out: np.ndarray | None = None,
                 margin: int = 1) -> np.ndarray:
    """``out[t](p) = frames[t](p - shifts[t])``: sub-pixel Fourier (sinc) interpolation,
    which keeps white noise white with unit variance, and no wrap-around: the band that a
    circular shift would bring in from the opposite border is filled with the nearest
    clean edge row/column (:func:`clamp_borders`)."""
    n, h, w = frames.shape
    if out is None:
        out = np.empty((n, h, w), np.float32)
    for i in range(n):
        s = shifts[i]
        if s[0] == 0 and s[1] == 0:
            out[i] = frames[i]
            continue
        if float(s[0]).is_integer() and float(s[1]).is_integer():
            _integer_shift(frames[i], int(s[0]), int(s[1]), out[i])
            continue
        spec = fft.rfft2(frames[i], workers=1)
        spec *= phase_ramp(h, w, s)
        out[i] = fft.irfft2(spec, s=(h, w), workers=1, overwrite_x=True)
        clamp_borders(out[i], s, margin)
    return out


def _integer_shift(src: np.ndarray, dy: int, dx: int, dst: np.ndarray) -> None:
    """Whole-pixel shift with nearest-edge filling (no interpolation)."""
    h, w = src.shape
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    dst[:] = src[ys[:, None], xs[None, :]]


def integer_shift_frames(frames: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Whole-pixel shifts (rounded) with nearest-edge filling, ``(n, y, x)``."""
    out = np.empty(frames.shape, np.float32)
    for i, (dy, dx) in enumerate(np.rint(shifts).astype(int)):
        _integer_shift(frames[i], int(dy), int(dx), out[i])
    return out
