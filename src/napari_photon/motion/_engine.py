"""The registration engine: settings, the reference model, per-block estimation and apply.

Everything here works on blocks of frames held in memory; streaming, parallelism and QC
bookkeeping live in ``_estimate`` and ``_corrected``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import fft, interpolate, ndimage

from . import _fourier as F
from . import _kernels as K
from . import _ncc as N
from ._interpolate import cubic_shift_frames

METHODS = ("rigid", "piecewise")
INTERPOLATIONS = ("cubic", "fourier")


@dataclass(frozen=True)
class Settings:
    """Parameters of one registration (all lengths in pixels of the movie).

    Attributes
    ----------
    method : str
        ``"rigid"`` (one translation per frame) or ``"piecewise"`` (a translation per tile,
        smoothly interpolated into a displacement field).
    reference_frames : int
        Frames (evenly spread over the movie) the reference image is built from.
    iterations : int
        Rounds of "register the reference frames to the reference, average them again".
    max_shift : float
        Largest rigid displacement searched for, per axis.
    smooth_sigma : float
        Gaussian smoothing (px) of the correlation: sets the upper end of the band used.
    whiten : float
        Exponent of the spectral whitening of the cross-power: 0 (default) is plain
        cross-correlation, the matched filter for the white, unit-variance noise of a
        stabilized movie; 1 is phase correlation (suite2p's choice), more robust to
        uneven illumination but noisier.
    highpass : float
        Sigma (px) of a Gaussian high-pass applied to the correlation (0: none): removes
        the smooth background, whose overlap with the taper would pull shifts to zero.
    binning : int
        Frames and reference are summed in ``binning x binning`` blocks before estimation
        (1: full resolution). Displacements are still measured to a small fraction of a
        movie pixel; only frequencies the smoothing removes anyway are lost.
    tile_size, tile_overlap : int
        Piecewise: tile edge and overlap between neighbouring tiles.
    max_tile_shift : float
        Piecewise: largest displacement of a tile relative to the rigid one.
    tile_outlier : float
        Piecewise: a tile whose displacement differs from the median of its 3x3
        neighbourhood by more than this (px) takes that median (0: keep all).
    tile_smoothing : float
        Piecewise: weight of the 8 neighbouring tiles when each tile's displacement is
        averaged with theirs, every tile weighted by its information (the reference's
        texture energy along that axis): textureless tiles follow their neighbours,
        textured ones mostly keep their own measurement (0: no averaging).
    tile_passes : int
        Piecewise: rounds of tile matching, each on frames with the field found so far
        undone (bilinear, at binned resolution).
    tile_temporal_sigma : float
        Piecewise: Gaussian smoothing over time (frames) of the tile displacements beyond
        the rigid shift (which keeps its jumps); the single-pass :func:`register` smooths
        within each block only (0: none).
    order : int
        Piecewise: spline order of the remap (``scipy.ndimage.map_coordinates``).
    interpolation : str
        Rigid: how sub-pixel shifts are applied. ``"cubic"`` (default): separable cubic
        convolution, four taps per axis (:mod:`._interpolate`), a mild low-pass at
        fractional shifts; ``"fourier"``: sinc interpolation by an FFT pair, which keeps
        white noise white at about 2-3x the cost.
    qc_margin : int
        Border (px) left out of the per-frame correlation with the reference.
    """

    method: str = "rigid"
    reference_frames: int = 200
    iterations: int = 3
    max_shift: float = 32.0
    smooth_sigma: float = 1.5
    whiten: float = 0.0
    highpass: float = 8.0
    binning: int = 2
    tile_size: int = 128
    tile_overlap: int = 64
    max_tile_shift: float = 8.0
    tile_outlier: float = 1.0
    tile_smoothing: float = 0.25
    tile_passes: int = 2
    tile_temporal_sigma: float = 1.0
    order: int = 3
    interpolation: str = "cubic"
    qc_margin: int = 16

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_settings(shape: tuple[int, ...], **given) -> Settings:
    """Fill defaults that depend on the frame size and check the values."""
    if len(shape) != 3:
        raise ValueError(f"motion correction needs a (t, y, x) movie, got shape {shape}")
    t, h, w = (int(n) for n in shape)
    given = {k: v for k, v in given.items() if v is not None}
    method = given.get("method", "rigid")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    interpolation = given.get("interpolation", "cubic")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    small = min(h, w)
    defaults = {
        "max_shift": float(max(4, small // 8)),
        "binning": 2 if small >= 128 else 1,
        "tile_size": min(128, max(16, small // 2)),
        "qc_margin": max(1, small // 32),
    }
    settings = Settings(**{**asdict(Settings()), **defaults, **given})
    ts = min(int(settings.tile_size), small)
    overlap = min(int(settings.tile_overlap), ts - 1)
    settings = Settings(**{**asdict(settings), "tile_size": ts, "tile_overlap": overlap,
                           "reference_frames": int(max(1, min(settings.reference_frames, t))),
                           "iterations": int(max(0, settings.iterations)),
                           "binning": int(max(1, settings.binning)),
                           "qc_margin": int(min(max(0, settings.qc_margin), small // 4))})
    if settings.max_shift <= 0 or settings.smooth_sigma <= 0:
        raise ValueError("max_shift and smooth_sigma must be positive")
    if settings.binning > 1 and ts // settings.binning < 8:
        settings = Settings(**{**asdict(settings), "binning": 1})
    return settings


# -- tiles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileGrid:
    """Overlapping square tiles covering the frame.

    ``starts_y``/``starts_x`` are top/left corners (movie px), ``centers_y``/``centers_x``
    the tile centres, ``size`` the tile edge.
    """

    size: int
    starts_y: np.ndarray
    starts_x: np.ndarray

    @property
    def centers_y(self) -> np.ndarray:
        return self.starts_y + (self.size - 1) / 2.0

    @property
    def centers_x(self) -> np.ndarray:
        return self.starts_x + (self.size - 1) / 2.0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.starts_y), len(self.starts_x)


def tile_grid(height: int, width: int, size: int, overlap: int, binning: int) -> TileGrid:
    """Evenly spread tiles with at least ``overlap`` px in common (corners on the binned
    grid, so binned tiles are exact sub-blocks)."""

    def starts(n: int) -> np.ndarray:
        stride = max(1, size - overlap)
        count = max(1, math.ceil((n - size) / stride) + 1)
        s = np.linspace(0, n - size, count)
        return (np.floor(s / binning) * binning).astype(int)

    return TileGrid(size=int(size), starts_y=starts(height), starts_x=starts(width))


@dataclass
class Model:
    """Everything block estimation needs, built once from the reference image."""

    settings: Settings
    shape: tuple[int, int]
    reference: np.ndarray  # (h, w) float32, movie resolution
    ref_conj: np.ndarray = field(repr=False)  # binned, tapered ref spectrum (conj, filtered)
    filt: np.ndarray = field(repr=False)
    grid: TileGrid | None = None
    tile_ncc: Any = field(default=None, repr=False)  # _ncc.NCCReference of the tiles
    tile_offsets: np.ndarray | None = field(default=None, repr=False)  # (k, 2, 2) binned px
    tile_grad_ref: np.ndarray | None = field(default=None, repr=False)  # (k, 2, tb, tb)
    tile_weight_floor: np.ndarray | None = field(default=None, repr=False)  # (k, 2)
    tile_info: np.ndarray | None = field(default=None, repr=False)  # (ny, nx, 2)
    qc_ref: np.ndarray | None = field(default=None, repr=False)  # see qc_reference
    gain_inv: np.ndarray | None = field(default=None, repr=False)  # (2, 2) bias correction

    @property
    def binned_shape(self) -> tuple[int, int]:
        b = self.settings.binning
        return self.shape[0] // b, self.shape[1] // b


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
        ref_tiles = _tiles(filtered(ref_b[None], np.zeros((1, 2)), model.filt)[0], grid, b)
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


def _tiles(frame_b: np.ndarray, grid: TileGrid, binning: int) -> np.ndarray:
    """The tiles of one binned frame, (ny*nx, tb, tb) float32."""
    tb = grid.size // binning
    ys, xs = grid.starts_y // binning, grid.starts_x // binning
    return np.stack([frame_b[y:y + tb, x:x + tb] for y in ys for x in xs]).astype(np.float32)


def tile_margin(settings: Settings) -> int:
    """Zero border (binned px) of the tile window: covers the tile search radius."""
    return math.ceil(settings.max_tile_shift / settings.binning) + 2


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


# -- estimation ------------------------------------------------------------------------------
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
    tiles = np.stack([_tiles(a, grid, b) for a in aligned])  # (n, k, tb, tb)
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
    my = _interp_matrix((grid.centers_y - (b - 1) / 2.0) / b, hb).astype(np.float32)
    mx = _interp_matrix((grid.centers_x - (b - 1) / 2.0) / b, wb).astype(np.float32)
    g = np.moveaxis(residual.astype(np.float32) / b, -1, 1)  # (n, 2, ny, nx) binned px
    fields = np.matmul(np.matmul(my, g), mx.T)  # (n, 2, hb, wb)
    base = np.mgrid[:hb, :wb].astype(np.float32)
    out = np.empty_like(aligned)
    for i in range(n):
        ndimage.map_coordinates(aligned[i], base + fields[i], output=out[i], order=1,
                                mode="nearest")
    return out


def frame_offsets(tiles: np.ndarray, model: Model) -> np.ndarray:
    """Where each tile's measurement applies in this frame, relative to the tile centre
    (binned px), per displacement axis: the centroid of ``window * df/da * dr/da`` (the
    frame's and the reference's gradients along axis ``a``; noise averages out of the
    product). Tiles with too little weight keep the reference's own centroid.
    Shape (k, 2 [axis], 2 [y, x])."""
    gref, static, floor = model.tile_grad_ref, model.tile_offsets, model.tile_weight_floor
    tb = tiles.shape[-1]
    coords = np.arange(tb) - (tb - 1) / 2.0
    out = static.copy()
    for axis in range(2):
        g = np.diff(tiles, axis=1 + axis, prepend=tiles[:, :1] if axis == 0
                    else tiles[:, :, :1])
        e = g * gref[:, axis]
        total = e.sum(axis=(1, 2))
        good = total > floor[:, axis]
        if good.any():
            cy = (e.sum(axis=2) @ coords) / np.where(good, total, 1.0)
            cx = (e.sum(axis=1) @ coords) / np.where(good, total, 1.0)
            out[good, axis, 0] = np.clip(cy[good], -tb / 2, tb / 2)
            out[good, axis, 1] = np.clip(cx[good], -tb / 2, tb / 2)
    return out


def reference_tile_weights(ref_tiles: np.ndarray, window: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For :func:`frame_offsets`: the windowed gradients of the (band-passed) reference
    tiles (k, 2, tb, tb), the reference's own information centroids (k, 2, 2) and, per tile
    and axis, the weight below which a frame's centroid is not trusted (a quarter of the
    reference's own)."""
    k, tb, _ = ref_tiles.shape
    coords = np.arange(tb) - (tb - 1) / 2.0
    grads = np.empty((k, 2, tb, tb), np.float32)
    offsets = np.zeros((k, 2, 2))
    floor = np.zeros((k, 2))
    for i, tile in enumerate(ref_tiles.astype(np.float64)):
        for axis in range(2):
            g = np.diff(tile, axis=axis, prepend=tile[:1] if axis == 0 else tile[:, :1])
            grads[i, axis] = g * window
            e = g * g * window
            total = e.sum()
            floor[i, axis] = 0.25 * total
            if total > 0:
                offsets[i, axis, 0] = (e.sum(axis=1) @ coords) / total
                offsets[i, axis, 1] = (e.sum(axis=0) @ coords) / total
    return grads, offsets, floor


def to_tile_centers(residual: np.ndarray, offsets: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Move tile displacements (n, ny, nx, 2) measured at ``centre + offsets`` (offsets
    (n or 1, ny*nx, 2 [axis], 2 [y, x]), movie px) to the tile centres with the field's
    local gradient (centred differences between tiles)."""
    ny, nx = grid.shape
    off = offsets.reshape(-1, ny, nx, 2, 2)  # per frame, or one set for all
    out = residual.copy()
    for dim, (count, step) in enumerate(((ny, grid.centers_y), (nx, grid.centers_x))):
        if count < 2:
            continue
        spacing = np.gradient(step.astype(np.float64))
        shape = [1, 1, 1, 1]
        shape[1 + dim] = count
        grad = np.gradient(residual, axis=1 + dim) / spacing.reshape(shape)
        # displacement axis a, measured at offset off[..., a, dim] along this dimension
        out -= grad * off[..., dim]
    return out


def smooth_tiles(residual: np.ndarray, info: np.ndarray, alpha: float) -> np.ndarray:
    """Information-weighted average of each tile's displacement (n, ny, nx, 2) with its 8
    neighbours (weight ``alpha`` each, diagonals ``alpha / 2``); ``info`` (ny, nx, 2)."""
    if alpha <= 0:
        return residual
    kernel = np.array([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) * alpha
    kernel[1, 1] = 1.0
    k4 = kernel[None, :, :, None]
    wsum = ndimage.convolve(info[None], k4, mode="constant")
    num = ndimage.convolve(residual * info[None], k4, mode="constant")
    return num / np.maximum(wsum, 1e-12)


def smooth_in_time(tile_shifts: np.ndarray, shifts: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over frames of ``tile_shifts - shifts`` (the non-rigid part)."""
    if sigma <= 0 or len(tile_shifts) < 2:
        return tile_shifts
    rest = tile_shifts - shifts[:, None, None, :]
    rest = ndimage.gaussian_filter1d(rest, sigma, axis=0, mode="nearest")
    return (rest + shifts[:, None, None, :]).astype(np.float32)


def reject_outliers(residual: np.ndarray, threshold: float) -> np.ndarray:
    """Replace tile displacements (n, ny, nx, 2) that differ from the median of their 3x3
    neighbourhood by more than ``threshold`` px (per axis) by that median. A smooth warp
    has no such jumps; a tile with little texture or one flashing cell does."""
    if threshold <= 0 or min(residual.shape[1:3]) < 2:
        return residual
    med = ndimage.median_filter(residual, size=(1, 3, 3, 1), mode="nearest")
    bad = np.abs(residual - med) > threshold
    return np.where(bad, med, residual)


QC_STRIDE = 2  # correlations use every 2nd pixel in y and x of frames at least 128 px wide


def qc_grid(shape: tuple[int, int], margin: int) -> tuple[slice, slice]:
    """The pixels the QC correlation is computed on: inside ``margin``, every
    ``QC_STRIDE``-th row and column (all of them in frames under 128 px). A quarter of the
    pixels estimate the same Pearson correlation to about 0.002 (tens of thousands of
    pixels still) at a fraction of the cost of the whole frame."""
    h, w = shape
    step = qc_stride(shape)
    return slice(margin, h - margin, step), slice(margin, w - margin, step)


def qc_stride(shape: tuple[int, int]) -> int:
    return QC_STRIDE if min(shape) >= 128 else 1


def qc_reference(reference: np.ndarray, margin: int) -> np.ndarray:
    """The reference on the QC grid (2-D), centred and of unit norm (float32)."""
    gy, gx = qc_grid(reference.shape, margin)
    crop = np.asarray(reference, np.float64)[gy, gx]
    crop = crop - crop.mean()
    return (crop / max(float(np.sqrt((crop * crop).sum())), 1e-12)).astype(np.float32)


def qc_arguments(model: Model) -> tuple[np.ndarray, int, int]:
    """``(qc_ref, margin, stride)``, as the kernels take them."""
    return model.qc_ref, model.settings.qc_margin, qc_stride(model.shape)


def frame_correlation(frames: np.ndarray, model: Model) -> np.ndarray:
    """Pearson correlation of each frame with the reference on the QC grid
    (:func:`qc_grid`)."""
    args = qc_arguments(model)
    return np.array([K.correlation(np.ascontiguousarray(f, np.float32), *args)
                     for f in frames], np.float32)


def binned_and_correlation(frames: np.ndarray, model: Model, qc: bool = True
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The frames binned by the settings' factor and their correlation with the reference
    (NaN without ``qc``), in one read of each frame."""
    b = model.settings.binning
    n, h, w = frames.shape
    if b == 1 or not qc:
        corr = frame_correlation(frames, model) if qc else np.full(n, np.nan, np.float32)
        return F.binned(frames, b), corr
    fb = np.empty((n, h // b, w // b), np.float32)
    args = qc_arguments(model)
    corr = np.array([K.bin_and_correlate(frames[i], b, fb[i], *args) for i in range(n)],
                    np.float32)
    return fb, corr


# -- displacement fields ---------------------------------------------------------------------
def _interp_matrix(centers: np.ndarray, n: int) -> np.ndarray:
    """(n, len(centers)) matrix evaluating a not-a-knot cubic spline (linear for fewer
    than 4 knots) through values at ``centers`` at pixels 0..n-1; constant beyond the
    outermost centres (extrapolating noisy end slopes did worse)."""
    k = len(centers)
    if k == 1:
        return np.ones((n, 1))
    c = centers.astype(np.float64)
    spline = interpolate.make_interp_spline(c, np.eye(k), k=min(3, k - 1))
    return spline(np.clip(np.arange(n, dtype=np.float64), c[0], c[-1]))


class FieldInterpolator:
    """Upsamples per-tile shifts (n, ny, nx, 2) to dense fields (n, 2, y, x)."""

    def __init__(self, grid: TileGrid, shape: tuple[int, int]) -> None:
        self.my = _interp_matrix(grid.centers_y, shape[0]).astype(np.float32)
        self.mx = _interp_matrix(grid.centers_x, shape[1]).astype(np.float32)

    @classmethod
    def for_settings(cls, settings: Settings, shape: tuple[int, int]) -> FieldInterpolator:
        """The interpolator of the tile grid that ``settings`` lay over frames of ``shape``."""
        h, w = shape
        s = settings
        return cls(tile_grid(h, w, s.tile_size, s.tile_overlap, s.binning), shape)

    def __call__(self, tile_shifts: np.ndarray) -> np.ndarray:
        t = np.asarray(tile_shifts, np.float32)  # (n, ny, nx, 2)
        # (h, ny) @ (n, 2, ny, nx) @ (nx, w)
        g = np.moveaxis(t, -1, 1)
        return np.matmul(np.matmul(self.my, g), self.mx.T)


# -- apply -----------------------------------------------------------------------------------
def apply_rigid(frames: np.ndarray, shifts: np.ndarray, interpolation: str = "cubic",
                out: np.ndarray | None = None) -> np.ndarray:
    """``out[t](p) = frames[t](p - shifts[t])``, nearest-edge filling (see
    :class:`Settings` ``interpolation``)."""
    frames = np.asarray(frames, np.float32)
    shifts = np.asarray(shifts, np.float64)
    if interpolation == "fourier":
        return F.shift_frames(frames, shifts, out=out)
    return cubic_shift_frames(frames, shifts, out=out)


def apply_field(frames: np.ndarray, fields: np.ndarray, order: int = 3) -> np.ndarray:
    """``out[t](p) = frames[t](p - fields[t, :, p])`` with spline interpolation of
    ``order`` and nearest-edge filling (``scipy.ndimage.map_coordinates``)."""
    frames = np.asarray(frames, np.float32)
    n, h, w = frames.shape
    grid = np.mgrid[:h, :w].astype(np.float32)
    out = np.empty_like(frames)
    for i in range(n):
        src = frames[i]
        if order > 1:
            src = ndimage.spline_filter(src, order=order, output=np.float32, mode="nearest")
        ndimage.map_coordinates(src, grid - fields[i], output=out[i], order=order,
                                mode="nearest", prefilter=False)
    return out
