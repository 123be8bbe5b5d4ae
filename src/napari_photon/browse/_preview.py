"""A :class:`~napari_photon.browse._process.Preview` as napari layer data, movies kept lazy."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._frames import Frames, index_frames
from .._viewer_layers import MOVIE_LAYER, center_frame, contrast_limits, masks_to_labels
from ._open import layer_metadata, recording_key, recording_label
from ._process import Preview

__all__ = ["FrameReader", "preview_layers"]

LayerData = tuple[Any, dict, str]


class FrameReader(Frames):
    """Numpy-style indexing over a movie that is read in contiguous blocks of frames (a
    :class:`~napari_photon._frames.FrameSource`).

    ``make`` hands lazy movies to insert (e.g. ``Stabilized(ShiftedMovie(...))``) that
    only support ``movie[t0:t1]``; dask and napari index with tuples. Values are clipped
    at 0, as the ``<photon@>`` codec does for stabilized input.

    Parameters
    ----------
    data : array-like
        Supports ``data[t0:t1]``; has ``shape``.
    """

    def __init__(self, data: Any) -> None:
        self._data = data
        self.shape = tuple(int(n) for n in data.shape)
        self.dtype = np.dtype(np.float32)

    @property
    def frames_per_chunk(self) -> int:
        return int(getattr(self._data, "frames_per_chunk", 0) or 64)

    def __getitem__(self, index: Any) -> np.ndarray:
        return index_frames(self, self._read, index)

    def _read(self, t0: int, t1: int) -> np.ndarray:
        values = np.asarray(self._data[t0:t1], dtype=np.float32)
        return np.maximum(values, 0)


def _movie_data(value: Any) -> Any:
    """The array-like behind a ``<photon@>`` input (``Stabilized``/``Calibrated`` or array)."""
    data = getattr(value, "data", value)
    if all(hasattr(data, a) for a in ("shape", "__getitem__")) and len(data.shape) in (3, 4):
        return data
    return None


def preview_layers(result: Preview, schema: str = "") -> list[LayerData]:
    """Layer data tuples showing ``result``: lazy movies, summary images, ROI labels.

    The first row of the master table and of each part table are shown. One-dimensional
    values (shifts, correlations) and scalars are left to :meth:`Preview.summary`.
    """
    table = result.step.target
    sources = [(table.__name__, table(), result.rows[:1])]
    for name, rows in result.parts.items():
        sources.append((f"{table.__name__}.{name}", getattr(table, name)(), rows[:1]))
    key = recording_key(result.key)
    prefix = f"{recording_label(key)} preview"
    layers: list[LayerData] = []
    seen: set[str] = set()
    for source, heading_table, rows in sources:
        photon = {
            name
            for name, attr in heading_table.heading.attributes.items()
            if attr.codec is not None and getattr(attr.codec, "name", None) == "photon"
        }
        for row in rows:
            for name, value in row.items():
                if name in heading_table.primary_key or name in seen:
                    continue
                metadata = layer_metadata(
                    key,
                    table=source,
                    row_key=result.key,
                    role="preview",
                    schema=schema,
                    field=name,
                )
                layer = _layer(name, value, name in photon, metadata, prefix)
                if layer is not None:
                    seen.add(name)
                    layers.append(layer)
    # labels on top
    layers.sort(key=lambda layer: layer[2] == "labels")
    return layers


def _layer(name: str, value: Any, photon: bool, metadata: dict, prefix: str):
    if photon and _movie_data(value) is not None:
        reader = FrameReader(_movie_data(value))
        data = reader.to_dask()  # one frame per chunk, keys of its own
        axis = ("t", "z", "y", "x") if reader.ndim == 4 else ("t", "y", "x")
        return (
            data,
            {
                "name": f"{prefix} {name}",
                "contrast_limits": contrast_limits(center_frame(reader)),
                **MOVIE_LAYER,
                "axis_labels": axis,
                "metadata": metadata,
            },
            "image",
        )
    if not isinstance(value, np.ndarray):
        return None
    if value.dtype == np.bool_ and value.ndim >= 3:
        metadata["napari_photon"]["n_rois"] = len(value)
        kwargs = {"name": f"{prefix} {name}", "opacity": 0.5, "metadata": metadata}
        return (masks_to_labels(value), kwargs, "labels")
    if value.ndim == 2 and value.dtype.kind in "uif":
        return (
            value,
            {
                "name": f"{prefix} {name}",
                "contrast_limits": contrast_limits(value),
                "colormap": "gray",
                "visible": False,
                "metadata": metadata,
            },
            "image",
        )
    return None
