"""Weighted normalized cross-correlation (NCC) by FFT, for tiles.

Correlating two tapered images biases the peak towards zero lag: moving the reference
changes how much of a bright structure near the edge falls under the taper. The weighted NCC
puts the window ``w`` on the frame only and fits ``frame(p) ~ a * ref(p - d) + b`` by
weighted least squares; with gain ``a`` and offset ``b`` profiled out::

    J(d) = [A(d) - Sf B(d) / Sw] / sqrt(Q(d) - B(d)^2 / Sw)

    A(d) = sum_p w(p) f(p) r(p - d)     (one FFT pair per tile)
    B(d) = sum_p w(p) r(p - d)          (reference only: computed once)
    Q(d) = sum_p w(p) r(p - d)^2        (reference only)
    Sf = sum_p w(p) f(p),  Sw = sum_p w(p)

By Cauchy-Schwarz ``J`` peaks exactly where ``r(p - d)`` matches the frame on the window,
whatever the window does. ``w`` is zero within ``margin`` px of the tile border, so for
``|d| <= margin`` the circular correlation never brings wrapped content into the fit. ``J``
is a ratio of band-limited trigonometric polynomials: its maximum is found on the grid, then
refined by Newton's method with exact derivatives of ``A``, ``B`` and ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import fft

from . import _fourier as F


@lru_cache(maxsize=32)
def ncc_window(size: int, margin: int, ramp: float = 0.1) -> np.ndarray:
    """Zero for ``margin`` px at each border, a raised-cosine ramp over ``ramp`` of the
    size, then one (square ``size x size``)."""
    m = min(margin, size // 2 - 2)
    k = max(1, min(int(size * ramp), size // 2 - m - 1))
    v = np.ones(size)
    v[:m] = 0.0
    v[size - m:] = 0.0
    r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
    v[m:m + k] = r
    v[size - m - k:size - m] = r[::-1]
    out = (v[:, None] * v[None, :]).astype(np.float32)
    out.setflags(write=False)
    return out


@dataclass
class NCCReference:
    """The reference-only parts of the NCC for a stack of reference tiles (k, s, s)."""

    size: int
    window: np.ndarray  # (s, s) float32
    ref_conj: np.ndarray = field(repr=False)  # (k, s, s//2+1) complex64
    b_spec: np.ndarray = field(repr=False)  # (k, s, s//2+1) complex128
    q_spec: np.ndarray = field(repr=False)
    b_surf: np.ndarray = field(repr=False)  # (k, s, s) float64
    q_surf: np.ndarray = field(repr=False)
    sw: float = 1.0


def make_reference(ref_tiles: np.ndarray, margin: int) -> NCCReference:
    ref = np.asarray(ref_tiles, np.float64)
    size = ref.shape[-1]
    window = ncc_window(size, int(margin))
    wspec = fft.rfft2(window.astype(np.float64))
    rspec = fft.rfft2(ref, axes=(-2, -1))
    b_spec = wspec * np.conj(rspec)
    q_spec = wspec * np.conj(fft.rfft2(ref * ref, axes=(-2, -1)))
    return NCCReference(
        size=size, window=window, ref_conj=np.conj(rspec).astype(np.complex64),
        b_spec=b_spec, q_spec=q_spec,
        b_surf=fft.irfft2(b_spec, s=(size, size), axes=(-2, -1)),
        q_surf=fft.irfft2(q_spec, s=(size, size), axes=(-2, -1)),
        sw=float(window.sum(dtype=np.float64)))


def estimate(tiles: np.ndarray, nref: NCCReference, radius: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Displacements (n, k, 2) and NCC peaks (n, k) of tiles (n, k, s, s), each against
    the matching reference tile, searched within ``radius`` px."""
    n, k, s, _ = tiles.shape
    r = int(min(radius, nref.window.shape[0] // 2 - 2))
    iy = (np.arange(-r - 1, r + 2) % s)[:, None]
    ix = (np.arange(-r - 1, r + 2) % s)[None, :]
    spectra = np.empty((n, k, s, s // 2 + 1), np.complex64)
    a_box = np.empty((n, k, 2 * r + 3, 2 * r + 3))
    weighted = tiles * nref.window
    sf = weighted.sum(axis=(2, 3), dtype=np.float64)
    for i in range(n):
        spec = fft.rfft2(weighted[i], workers=1)
        spec *= nref.ref_conj
        spectra[i] = spec
        a_box[i] = fft.irfft2(spec, s=(s, s), workers=1)[:, iy, ix]
    b_box = nref.b_surf[:, iy, ix][None]
    q_box = nref.q_surf[:, iy, ix][None]
    c = (sf / nref.sw)[..., None, None]
    j = (a_box - c * b_box) / np.sqrt(np.maximum(q_box - b_box**2 / nref.sw, 1e-12))
    lags, value = F.box_peaks(j.reshape(n * k, *j.shape[2:]), r, r)
    lags = _newton(spectra.reshape(n * k, s, -1), nref, sf.reshape(-1), lags,
                   np.tile(np.arange(k), n))
    return lags.reshape(n, k, 2), value.reshape(n, k)


def _derivatives(spec: np.ndarray, s: np.ndarray, width: int, scale: float) -> tuple:
    """Value (n,), gradient (n, 2) and Hessian (n, 2, 2) at ``s`` (n, 2) of real surfaces
    with half spectra ``spec`` (n, h, k) (irfft2 convention, times ``scale``)."""
    n, h, _ = spec.shape
    ky, kx = F.frequencies(h, width)
    ey = np.exp(1j * F.TWO_PI * ky[None, :] * s[:, :1])  # (n, h)
    ex = np.exp(1j * F.TWO_PI * kx[None, :] * s[:, 1:]) * F.hermitian_weights(width)
    xpow = np.stack([np.ones_like(kx), kx, kx * kx])  # (3, k)
    ypow = np.stack([np.ones_like(ky), ky, ky * ky])  # (3, h)
    bx = np.ascontiguousarray((ex[:, None, :] * xpow[None]).transpose(0, 2, 1))  # (n, k, 3)
    cy = ey[:, None, :] * ypow[None]  # (n, 3, h)
    m = np.empty((n, 3, 3), np.complex128)
    sp = spec.astype(np.complex128, copy=False)
    for i in range(n):
        m[i] = cy[i] @ (sp[i] @ bx[i])
    m *= scale
    value = m[:, 0, 0].real
    grad = -F.TWO_PI * np.stack([m[:, 1, 0].imag, m[:, 0, 1].imag], axis=1)
    c = -(F.TWO_PI**2)
    hess = np.empty((n, 2, 2))
    hess[:, 0, 0] = c * m[:, 2, 0].real
    hess[:, 1, 1] = c * m[:, 0, 2].real
    hess[:, 0, 1] = hess[:, 1, 0] = c * m[:, 1, 1].real
    return value, grad, hess


def _newton(spectra: np.ndarray, nref: NCCReference, sf: np.ndarray, lags: np.ndarray,
            ref_index: np.ndarray, iterations: int = 3) -> np.ndarray:
    size = nref.size
    scale = 1.0 / (size * size)
    s = lags.copy()
    start = lags.copy()
    c = sf / nref.sw
    b_spec, q_spec = nref.b_spec[ref_index], nref.q_spec[ref_index]
    for _ in range(iterations):
        a, ga, ha = _derivatives(spectra, s, size, scale)
        b, gb, hb = _derivatives(b_spec, s, size, scale)
        q, gq, hq = _derivatives(q_spec, s, size, scale)
        num = a - c * b
        gn = ga - c[:, None] * gb
        hn = ha - c[:, None, None] * hb
        den = np.maximum(q - b * b / nref.sw, 1e-12)
        gd = gq - 2.0 * b[:, None] * gb / nref.sw
        hd = hq - 2.0 * (gb[:, :, None] * gb[:, None, :] + b[:, None, None] * hb) / nref.sw
        r = den ** -0.5
        grad = gn * r[:, None] - 0.5 * (num * r**3)[:, None] * gd
        hess = (hn * r[:, None, None]
                - 0.5 * (r**3)[:, None, None] * (gn[:, :, None] * gd[:, None, :]
                                                  + gd[:, :, None] * gn[:, None, :])
                + 0.75 * (num * r**5)[:, None, None] * (gd[:, :, None] * gd[:, None, :])
                - 0.5 * (num * r**3)[:, None, None] * hd)
        s = F.newton_step(s, grad, hess[:, 0, 0], hess[:, 1, 1], hess[:, 0, 1])
    return F.keep_near(s, start)
