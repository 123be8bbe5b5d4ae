"""Band-pass filtering in the Fourier domain: the reference's filtered conjugate spectrum,
and frames shifted and filtered in one FFT pair."""

from __future__ import annotations

import numpy as np
from scipy import fft

from .. import _fourier as F
from ._settings import Settings


def reference_spectrum(ref_b: np.ndarray, settings: Settings) -> tuple[np.ndarray,
                                                                         np.ndarray]:
    """Conjugate spectrum of a binned reference (filter folded in when not whitening) and
    the filter, for :func:`_fourier.correlate`."""
    hb, wb = ref_b.shape[-2:]
    b = settings.binning
    filt = F.spectral_filter(hb, wb, settings.smooth_sigma / b, settings.highpass / b)
    conj = np.conj(F.tapered_spectra(ref_b.reshape(-1, hb, wb), F.taper(hb, wb)))
    conj = conj.reshape(*ref_b.shape[:-2], hb, wb // 2 + 1)
    if settings.whiten == 0:
        conj = conj * filt
    return conj.astype(np.complex64), filt


def filtered(frames: np.ndarray, shifts: np.ndarray, filt: np.ndarray) -> np.ndarray:
    """Frames (n, h, w) shifted by ``shifts`` (n, 2) and band-pass filtered (``filt``, a
    half-spectrum filter) in one FFT pair each, wrapped bands edge-clamped."""
    n, h, w = frames.shape
    out = np.empty((n, h, w), np.float32)
    for i in range(n):
        spec = fft.rfft2(frames[i], workers=1)
        spec *= filt
        if shifts[i].any():
            spec *= F.phase_ramp(h, w, shifts[i])
        out[i] = fft.irfft2(spec, s=(h, w), workers=1, overwrite_x=True)
        F.clamp_borders(out[i], shifts[i])
    return out
