"""What can be inserted into a ``<photon@>`` column, validated and read block by block."""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..anscombe import generalized_anscombe
from ..calibration import Calibration

EXPECTED = (
    "expected photon counts as a numpy, dask or zarr array of shape (time, height, width) or "
    "(time, z, height, width), or napari_photon.storage.Calibrated(levels, calibration) for "
    "digitizer levels, or a PhotonMovie"
)


class PhotonInputError(ValueError):
    """A value cannot be stored in a ``<photon@>`` column."""


@dataclass(frozen=True)
class Calibrated:
    """Digitizer levels together with the calibration that turns them into photons.

    Parameters
    ----------
    data : array-like
        Movie in digitizer levels, shape (t, y, x) or (t, z, y, x).
    calibration : Calibration or dict
        Gain (levels per photon), zero level and read noise (levels).
    """

    data: Any
    calibration: Calibration


@dataclass(frozen=True)
class Stabilized:
    """Values that are already variance-stabilized (e.g. a registered movie).

    Parameters
    ----------
    data : array-like
        Generalized-Anscombe values, shape (t, y, x) or (t, z, y, x).
    calibration : Calibration
        The calibration the values were stabilized with.
    source_dtype : str
        dtype of the raw movie they came from (for size reports).
    """

    data: Any
    calibration: Calibration
    source_dtype: str = "uint16"


def _as_calibration(value: Any) -> Calibration:
    if isinstance(value, Calibration):
        return value
    if isinstance(value, dict):
        try:
            return Calibration.from_dict(value)
        except (TypeError, ValueError) as err:
            raise PhotonInputError(f"bad calibration {value}: {err}") from None
    raise PhotonInputError(
        "calibration must be a napari_photon.calibration.Calibration or a dict with gain, "
        f"zero_level and read_noise, got {type(value).__name__}"
    )


def _is_array_like(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("shape", "dtype", "__getitem__"))


#: the largest frame (one time point, all planes) the writer streams, as float32
MAX_FRAME_BYTES = 2**30


class MovieSource:
    """A validated movie that yields variance-stabilized float32 blocks along time.

    Parameters
    ----------
    value : array-like, Calibrated or PhotonMovie
        What was handed to the codec.

    Raises
    ------
    PhotonInputError
        When the value's type, shape, dtype or calibration cannot be stored.
    """

    def __init__(self, value: Any) -> None:
        from ._movie import PhotonMovie

        self.stabilized = isinstance(value, (PhotonMovie, Stabilized))
        if isinstance(value, (Calibrated, Stabilized)):
            data, calibration = value.data, value.calibration
        elif isinstance(value, PhotonMovie):
            data, calibration = value, value.calibration
        else:
            data, calibration = value, Calibration()
        calibration = _as_calibration(calibration)
        if isinstance(data, (list, tuple)) or not _is_array_like(data):
            raise PhotonInputError(f"<photon> cannot store a {type(data).__name__}: {EXPECTED}")
        dtype = np.dtype(data.dtype)
        if dtype.kind not in "uif" or dtype == np.bool_:
            raise PhotonInputError(
                f"<photon> needs a real numeric dtype (integer or float), got {dtype}: {EXPECTED}"
            )
        shape = tuple(int(n) for n in data.shape)
        if len(shape) not in (3, 4):
            raise PhotonInputError(
                f"<photon> needs 3 or 4 dimensions, got shape {shape}: {EXPECTED}"
            )
        if min(shape) < 1:
            raise PhotonInputError(f"<photon> cannot store an empty movie of shape {shape}")
        frame_bytes = 4 * math.prod(shape[1:])
        if frame_bytes > MAX_FRAME_BYTES:
            raise PhotonInputError(
                f"<photon> frames of shape {shape[1:]} would take {frame_bytes / 2**30:.1f} GiB "
                f"each as float32; expected frames of at most {MAX_FRAME_BYTES // 2**30} GiB "
                "(a declared shape this large is usually a wrong shape)")
        self.data = data
        self.calibration = calibration
        self.shape = shape
        self.dtype = dtype
        self.source_dtype = dtype
        if isinstance(value, Stabilized):
            self.source_dtype = np.dtype(value.source_dtype)
        elif isinstance(value, PhotonMovie):
            self.source_dtype = np.dtype(value.metadata.get("source_dtype", "uint16"))

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.shape[1:]

    def block(self, t0: int, t1: int) -> np.ndarray:
        """Frames ``t0:t1`` as variance-stabilized float32 values, validated (already
        stabilized values are passed on as they are: slightly negative values, from an
        interpolation, are the writer's to clip).

        Raises
        ------
        PhotonInputError
            If a value is not finite or lies impossibly far below the zero level.
        """
        raw = np.asarray(self.data[t0:t1])
        if self.stabilized:
            # as they are: values an interpolation (a registered movie) rang slightly
            # below zero are clipped by the writer while it quantizes them
            return raw.astype(np.float32, copy=False)
        if raw.dtype.kind == "f" and not np.isfinite(raw).all():
            bad = np.argwhere(~np.isfinite(raw))[0]
            raise PhotonInputError(
                f"<photon> values must be finite; frame {t0 + int(bad[0])} holds "
                f"{float(raw[tuple(bad)])} at {tuple(int(i) for i in bad[1:])}"
            )
        cal = self.calibration
        floor = cal.zero_level - cal.gain - 4.0 * cal.read_noise
        low = raw.min()
        if low <= floor:
            where = np.unravel_index(int(np.argmin(raw)), raw.shape)
            unit = "photon counts" if cal == Calibration() else "levels"
            raise PhotonInputError(
                f"<photon> values must not be negative after the zero level: frame "
                f"{t0 + int(where[0])} holds {float(low):g} {unit}, more than one photon below the "
                f"zero level {cal.zero_level} (gain {cal.gain}, read noise {cal.read_noise}); "
                "pass Calibrated(data, calibration) with the right zero level"
            )
        return generalized_anscombe(
            raw, gain=cal.gain, offset=cal.zero_level, sigma=cal.read_noise
        )
