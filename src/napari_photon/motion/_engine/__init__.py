"""The registration engine: settings, the reference model, per-block estimation and apply.

Everything here works on blocks of frames held in memory; streaming, parallelism and QC
bookkeeping live in ``motion._estimate`` and ``motion._corrected``, which use this package
as one namespace (``from . import _engine as E``; ``E.estimate_block(...)``).

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
from ._bandpass import reference_spectrum
from ._block import BlockEstimate, estimate_block
from ._build_model import build_model
from ._field import FieldInterpolator
from ._model import Model
from ._qc import frame_correlation, qc_arguments, qc_reference
from ._settings import METHODS, Settings, resolve_settings
from ._tile_smoothing import smooth_in_time

__all__ = [
    "METHODS",
    "BlockEstimate",
    "FieldInterpolator",
    "Model",
    "Settings",
    "apply_field",
    "apply_rigid",
    "build_model",
    "estimate_block",
    "frame_correlation",
    "qc_arguments",
    "qc_reference",
    "reference_spectrum",
    "resolve_settings",
    "smooth_in_time",
]
