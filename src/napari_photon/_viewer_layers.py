"""Put a recording into a napari viewer as lazy layers (no Qt import).

These functions take a napari ``Viewer`` (or anything with ``add_image``/``add_labels``)
and never import Qt, so the CLI demo, the reader and the widgets share them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MOVIE_LAYER", "add_recording_layers", "center_frame", "contrast_limits",
           "masks_to_labels"]

#: Keyword arguments of every lazy movie layer. ``cache=False`` keeps the frames out of
#: napari's opportunistic dask cache: a frame of a ``<photon@>`` movie is read again in a
#: few milliseconds, while that cache (25 % of RAM by default) kept every frame viewed
#: (2 MB each at 512 x 512) and grew the process by ~200 MB per 100 frames stepped through.
MOVIE_LAYER = {"colormap": "gray", "rgb": False, "cache": False}

RAW_NAME = "raw (stabilized)"
CORRECTED_NAME = "motion corrected"
ROIS_NAME = "ROIs"


def center_frame(movie: Any) -> np.ndarray:
    """The middle 2D frame of a ``(t, ..., y, x)`` movie: the plane napari shows first.

    Reads one frame only (``movie`` is indexed, never converted whole).
    """
    index = tuple(max(n - 1, 0) // 2 for n in movie.shape[:-2])  # as napari's Dims
    return np.asarray(movie[index])


def contrast_limits(frame: np.ndarray, percentiles: tuple[float, float] = (0.5, 99.8)) -> list:
    """Robust display range ``[lo, hi]`` of one frame (finite values, ``hi > lo``).

    Giving napari these limits keeps it from computing the range of a whole lazy movie.
    """
    values = np.asarray(frame, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [0.0, 1.0]
    lo, hi = (float(v) for v in np.percentile(values, percentiles))
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        hi = lo + 1.0
    return [lo, hi]


def masks_to_labels(masks: Any) -> np.ndarray:
    """Boolean masks ``(n, ...)`` to one label image: pixel of mask ``i`` -> ``i + 1``.

    Where masks overlap the later one wins; unassigned pixels are 0.
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim < 3:
        raise ValueError(f"masks must be (n, y, x) or (n, z, y, x), got shape {masks.shape}")
    dtype = np.uint16 if len(masks) < np.iinfo(np.uint16).max else np.uint32
    labels = np.zeros(masks.shape[1:], dtype=dtype)
    for i, mask in enumerate(masks):
        labels[mask] = i + 1
    return labels


def _layer_name(prefix: str, what: str) -> str:
    return f"{prefix} {what}" if prefix else what


def add_recording_layers(
    viewer: Any,
    movie: Any,
    *,
    corrected: Any = None,
    masks: Any = None,
    key: Any = None,
    name: str = "",
) -> list:
    """Add a recording's movie(s) and ROI masks to ``viewer``; return the new layers.

    Parameters
    ----------
    viewer : napari.Viewer
        Where the layers go.
    movie : PhotonMovie
        The raw movie; added as a lazy dask image (one frame per chunk).
    corrected : PhotonMovie, optional
        The motion-corrected movie, added above the raw one.
    masks : array_like of bool, optional
        ``(n, y, x)`` ROI masks, added as a Labels layer with label ``i + 1`` for mask ``i``.
    key : dict, optional
        The pipeline primary key; stored as ``metadata={"key": key}`` on every layer.
    name : str
        Prefix of the layer names (e.g. the recording's description).

    Returns
    -------
    list of napari layers
        In the order added: raw, corrected (when given), ROIs (when given).
    """
    layers = []
    for source, what in ((movie, RAW_NAME), (corrected, CORRECTED_NAME)):
        if source is None:
            continue
        layers.append(
            viewer.add_image(
                source.to_dask(1),
                name=_layer_name(name, what),
                contrast_limits=contrast_limits(center_frame(source)),
                metadata={"key": key},
                **MOVIE_LAYER,
            )
        )
    if masks is not None:
        layers.append(
            viewer.add_labels(
                masks_to_labels(masks),
                name=_layer_name(name, ROIS_NAME),
                opacity=0.5,
                metadata={"key": key},
            )
        )
    return layers
