"""Building the registration model from a reference image: spectra of the whole frame and of
the tiles, tile weights, the QC reference and the estimator's gain correction."""

from __future__ import annotations

import numpy as np
from scipy import fft

from .. import _fourier as F
from .. import _ncc as N
from ._bandpass import filtered, reference_spectrum
from ._model import Model
from ._qc import qc_reference
from ._settings import Settings
from ._tile_offsets import reference_tile_weights
from ._tiles import cut_tiles, tile_grid, tile_margin


def build_model(reference: np.ndarray, settings: Settings) -> Model:
    """Precompute the reference spectra (whole frame and tiles) and the QC reference."""
    reference = np.asarray(reference, np.float32)
    h, w = reference.shape
    b = settings.binning
    ref_b = F.binned(reference[None], b)[0]
    conj, filt = reference_spectrum(ref_b, settings)
    model = Model(settings=settings, shape=(h, w), reference=reference, ref_conj=conj,
                  filt=filt)
    model.gain_inv = calibrate_gain(ref_b, model)
    if settings.method == "piecewise":
        grid = tile_grid(h, w, settings.tile_size, settings.tile_overlap, b)
        model.grid = grid
        ref_tiles = cut_tiles(filtered(ref_b[None], np.zeros((1, 2)), model.filt)[0], grid, b)
        margin = tile_margin(settings)
        model.tile_ncc = N.make_reference(ref_tiles, margin)
        model.tile_grad_ref, model.tile_offsets, model.tile_weight_floor = \
            reference_tile_weights(ref_tiles, model.tile_ncc.window)
        info = model.tile_weight_floor * 4.0
        model.tile_info = (info / max(float(np.median(info)), 1e-12)).reshape(
            *grid.shape, 2)
    model.qc_ref = qc_reference(reference, settings.qc_margin)
    return model


def calibrate_gain(ref_b: np.ndarray, model: Model, step: float = 2.0) -> np.ndarray:
    """Inverse of the estimator's gain, measured on the reference itself.

    Correlating two tapered images pulls the peak slightly towards zero lag (the window
    does not move with the content): a displacement ``d`` reads as about ``G d`` with ``G``
    a little below identity (0.99 here). Moving the reference by known sub-pixel amounts and
    measuring them gives ``G``; estimates are multiplied by its inverse. Returns identity
    when the fit is implausible.
    """
    s = model.settings
    hb, wb = ref_b.shape
    d = np.array([[step, 0], [-step, 0], [0, step], [0, -step], [step, step],
                  [-step, step], [step * 0.5, -step], [-step, -step * 0.5]], float)
    spec = fft.rfft2(ref_b.astype(np.float64))
    moved = np.stack([fft.irfft2(spec * F.phase_ramp(hb, wb, di), s=(hb, wb))
                      for di in d]).astype(np.float32)
    radius = (s.max_shift / s.binning, s.max_shift / s.binning)
    with_gain, _, _ = F.correlate(moved, F.taper(hb, wb), model.ref_conj, radius,
                                  s.whiten, model.filt)
    g, *_ = np.linalg.lstsq(d, with_gain, rcond=None)  # with_gain = d @ g
    g = g.T
    if not (np.all(np.abs(np.diag(g) - 1) < 0.2) and np.all(np.abs(g - np.diag(np.diag(g)))
                                                           < 0.1)):
        return np.eye(2)
    return np.linalg.inv(g)
