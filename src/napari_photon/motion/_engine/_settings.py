"""Registration settings: what one registration does, with frame-size dependent defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
