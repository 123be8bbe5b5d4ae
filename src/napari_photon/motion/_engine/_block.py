"""Per-block estimation: the rigid shift of each frame of a block and, piecewise, the shift
of each tile (matched in passes, each undoing the field found so far)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .. import _fourier as F
from .. import _ncc as N
from ._bandpass import filtered
from ._field import interpolation_matrix
from ._model import Model
from ._qc import binned_and_correlation
from ._tile_offsets import frame_offsets, to_tile_centers
from ._tile_smoothing import reject_outliers, smooth_tiles
from ._tiles import cut_tiles


@dataclass
class BlockEstimate:
    """Estimates for a block of frames (``shifts`` are shifts to apply, movie px)."""

    shifts: np.ndarray  # (n, 2)
    peak: np.ndarray  # (n,) height of the correlation peak
    correlation: np.ndarray  # (n,) Pearson correlation with the reference, before
    tile_shifts: np.ndarray | None = None  # (n, ny, nx, 2)


def estimate_block(frames: np.ndarray, model: Model, qc: bool = True) -> BlockEstimate:
    """Estimate motion of a block of frames (n, y, x) relative to the model's reference."""
    s = model.settings
    frames = np.ascontiguousarray(frames, np.float32)
    b = s.binning
    fb, corr = binned_and_correlation(frames, model, qc)
    hb, wb = fb.shape[1:]
    radius = (s.max_shift / b, s.max_shift / b)
    disp_b, peak, _ = F.correlate(fb, F.taper(hb, wb), model.ref_conj, radius, s.whiten,
                                  model.filt)
    if model.gain_inv is not None:
        disp_b = disp_b @ model.gain_inv.T
    result = BlockEstimate(shifts=(-disp_b * b).astype(np.float32),
                           peak=peak.astype(np.float32), correlation=corr)
    if s.method == "piecewise":
        result.tile_shifts = _estimate_tiles(fb, disp_b, model)
    return result


def _estimate_tiles(fb: np.ndarray, disp_b: np.ndarray, model: Model) -> np.ndarray:
    """Per-tile shifts to apply (n, ny, nx, 2), movie px.

    The rigid displacement is undone first and the frame band-passed like the reference
    (one FFT pair of the binned frame). Each tile is then matched to the reference tile by
    weighted normalized cross-correlation (:mod:`._ncc`: no taper bias) within
    ``max_tile_shift``. A tile's peak is the displacement averaged over the tile, weighted
    by where its texture is in that frame (a bright cell near a tile edge pulls it there),
    so the measurement is assigned to that weighted position and moved to the tile centre
    with the field's local gradient (:func:`to_tile_centers`). Outliers among neighbouring
    tiles are replaced by their neighbourhood's median (:func:`reject_outliers`).
    """
    s, grid = model.settings, model.grid
    assert grid is not None and model.tile_ncc is not None
    b = s.binning
    aligned = filtered(fb, -disp_b, model.filt)
    residual = _tile_pass(aligned, model)
    for _ in range(1, s.tile_passes):
        # undo the field found so far and measure what is left: within-tile variation of
        # the displacement, which biases a tile's average, shrinks with each pass
        residual = residual + _tile_pass(warp_binned(aligned, residual, model), model)
    disp = residual + (disp_b * b)[:, None, None, :]
    return (-disp).astype(np.float32)


def _tile_pass(aligned: np.ndarray, model: Model) -> np.ndarray:
    """Tile displacements (n, ny, nx, 2), movie px, of rigidly aligned, band-passed binned
    frames relative to the reference."""
    s, grid = model.settings, model.grid
    b = s.binning
    n = len(aligned)
    tiles = np.stack([cut_tiles(a, grid, b) for a in aligned])  # (n, k, tb, tb)
    local, _ = N.estimate(tiles, model.tile_ncc, s.max_tile_shift / b + 0.5)
    offsets = np.stack([frame_offsets(t, model) for t in tiles])
    residual = local.reshape(n, *grid.shape, 2) * b
    residual = reject_outliers(residual, s.tile_outlier)
    residual = to_tile_centers(residual, offsets * b, grid)
    return smooth_tiles(residual, model.tile_info, s.tile_smoothing)


def warp_binned(aligned: np.ndarray, residual: np.ndarray, model: Model) -> np.ndarray:
    """``out(q) = aligned(q + r(q))`` for binned frames, ``r`` the dense field of tile
    displacements ``residual`` (movie px), bilinear."""
    b = model.settings.binning
    n, hb, wb = aligned.shape
    grid = model.grid
    my = interpolation_matrix((grid.centers_y - (b - 1) / 2.0) / b, hb).astype(np.float32)
    mx = interpolation_matrix((grid.centers_x - (b - 1) / 2.0) / b, wb).astype(np.float32)
    g = np.moveaxis(residual.astype(np.float32) / b, -1, 1)  # (n, 2, ny, nx) binned px
    fields = np.matmul(np.matmul(my, g), mx.T)  # (n, 2, hb, wb)
    base = np.mgrid[:hb, :wb].astype(np.float32)
    out = np.empty_like(aligned)
    for i in range(n):
        ndimage.map_coordinates(aligned[i], base + fields[i], output=out[i], order=1,
                                mode="nearest")
    return out
