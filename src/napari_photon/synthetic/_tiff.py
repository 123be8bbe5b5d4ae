"""Writing movies as ImageJ hyperstack TIFFs (what a microscope's acquisition would leave)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile


def write_tiff(
    path: str | Path,
    movie: Any,
    frame_rate: float | None = None,
    properties: dict[str, str] | None = None,
    plane_spacing: float | None = None,
) -> Path:
    """Write a ``(t, y, x)`` or ``(t, z, y, x)`` stack as an ImageJ hyperstack TIFF.

    Parameters
    ----------
    path : str or Path
        Output file.
    movie : array_like
        numpy array (written directly) or any array with ``shape``/``dtype`` and slicing
        along axis 0 (dask, zarr), written in chunks of frames. ImageJ supports uint8,
        uint16 and float32.
    frame_rate : float, optional
        Frames (volumes) per second, stored as ImageJ ``finterval = 1 / frame_rate``.
    properties : dict, optional
        ImageJ ``Properties`` (string key/value pairs), e.g. a recorded calibration.
    plane_spacing : float, optional
        Distance between planes of a volume, stored as ImageJ ``spacing``.

    Returns
    -------
    Path
        The written file.
    """
    shape = tuple(int(s) for s in movie.shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"movie must be (t, y, x) or (t, z, y, x), got shape {shape}")
    metadata: dict[str, Any] = {"axes": "TYX" if len(shape) == 3 else "TZYX"}
    if frame_rate:
        metadata["finterval"] = 1.0 / float(frame_rate)
    if properties:
        metadata["Properties"] = dict(properties)
    if plane_spacing:
        metadata["spacing"] = float(plane_spacing)
    path, dtype = Path(path), np.dtype(movie.dtype)
    if isinstance(movie, np.ndarray):
        tifffile.imwrite(path, movie, imagej=True, metadata=metadata)
        return path

    def frames(step: int = 16) -> Iterator[np.ndarray]:  # a few frames at a time
        for t0 in range(0, shape[0], step):
            yield np.ascontiguousarray(np.asarray(movie[t0:t0 + step]), dtype=dtype)

    tifffile.imwrite(path, frames(), shape=shape, dtype=dtype, imagej=True, metadata=metadata)
    return path
