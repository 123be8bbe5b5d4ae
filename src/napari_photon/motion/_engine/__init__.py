"""The registration engine: settings, the reference model, per-block estimation and apply.

Everything here works on blocks of frames held in memory; streaming, parallelism and QC
bookkeeping live in ``motion._estimate`` and ``motion._corrected``, which use this package
as one namespace (``from . import _engine as E``; ``E.estimate_block(...)``). That
namespace holds every public name of the single module this package was split from.

One concept per module:

* ``_settings``: :class:`Settings` and :func:`resolve_settings` (defaults by frame size);
* ``_tiles``: the piecewise method's overlapping tile grid;
* ``_model``: :class:`Model`, what block estimation needs from the reference;
* ``_bandpass``: the reference's filtered spectrum, frames shifted and band-passed;
* ``_build_model``: :func:`build_model` (tile weights, QC reference, gain correction);
* ``_block``: :func:`estimate_block`, rigid and per-tile shifts of a block of frames;
* ``_tile_offsets``: where each tile's measurement applies;
* ``_tile_smoothing``: outlier rejection and smoothing of tile shifts over space and time;
* ``_qc``: each frame's correlation with the reference;
* ``_field``: :class:`FieldInterpolator`, dense fields from tile shifts;
* ``_apply``: :func:`apply_rigid` and :func:`apply_field`.
"""

from ._apply import apply_field, apply_rigid
from ._bandpass import filtered, reference_spectrum
from ._block import BlockEstimate, estimate_block, warp_binned
from ._build_model import build_model, calibrate_gain
from ._field import FieldInterpolator
from ._model import Model
from ._qc import (
    QC_STRIDE,
    binned_and_correlation,
    frame_correlation,
    qc_arguments,
    qc_grid,
    qc_reference,
    qc_stride,
)
from ._settings import INTERPOLATIONS, METHODS, Settings, resolve_settings
from ._tile_offsets import frame_offsets, reference_tile_weights, to_tile_centers
from ._tile_smoothing import reject_outliers, smooth_in_time, smooth_tiles
from ._tiles import TileGrid, tile_grid, tile_margin

__all__ = [
    "INTERPOLATIONS",
    "METHODS",
    "QC_STRIDE",
    "BlockEstimate",
    "FieldInterpolator",
    "Model",
    "Settings",
    "TileGrid",
    "apply_field",
    "apply_rigid",
    "binned_and_correlation",
    "build_model",
    "calibrate_gain",
    "estimate_block",
    "filtered",
    "frame_correlation",
    "frame_offsets",
    "qc_arguments",
    "qc_grid",
    "qc_reference",
    "qc_stride",
    "reference_spectrum",
    "reference_tile_weights",
    "reject_outliers",
    "resolve_settings",
    "smooth_in_time",
    "smooth_tiles",
    "tile_grid",
    "tile_margin",
    "to_tile_centers",
    "warp_binned",
]
