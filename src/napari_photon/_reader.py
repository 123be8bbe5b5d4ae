"""napari reader (npe2 ``napari-photon.get_reader``): photon zarr folders as lazy layers.

Reads folders written by ``<photon@>`` / :func:`napari_photon.storage.save_movie` (zarr v3
with this package's attributes) and zarr v2 arrays compressed with the ``anscombe-v1``
codec of PyPI ``anscombe-transform``. The check that decides whether a path is ours reads
only the small zarr metadata file, never array data: napari offers every path to this
reader (its patterns include ``*``), so everything else must be declined quickly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._viewer_layers import MOVIE_LAYER, center_frame, contrast_limits

__all__ = ["get_reader", "is_photon_zarr", "read_photon_zarr"]

# Kept equal to napari_photon.storage (ATTRS_KEY, LEGACY_CODEC_ID); duplicated so that
# declining a path imports neither zarr nor the storage package.
_ATTRS_KEY = "napari_photon"
_LEGACY_CODEC_ID = "anscombe-v1"
_MAX_METADATA_BYTES = 1 << 20

LayerData = tuple[Any, dict, str]


def _read_json(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_METADATA_BYTES:
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_photon_zarr(path: str | Path) -> bool:
    """True when ``path`` is a photon zarr folder (checks its metadata file only)."""
    try:
        folder = Path(path)
        if not folder.is_dir():
            return False
    except (OSError, TypeError, ValueError):
        return False
    meta = _read_json(folder / "zarr.json")
    if meta is not None:
        attrs = meta.get("attributes")
        return (
            meta.get("node_type") == "array"
            and isinstance(attrs, dict)
            and isinstance(attrs.get(_ATTRS_KEY), dict)
        )
    zarray = _read_json(folder / ".zarray")
    if zarray is not None:
        codecs = [zarray.get("compressor"), *(zarray.get("filters") or [])]
        return any(isinstance(c, dict) and c.get("id") == _LEGACY_CODEC_ID for c in codecs)
    return False


def get_reader(path: str | Path | list) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader hook: a reader function for a photon zarr folder, else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, (str, Path)) or not is_photon_zarr(path):
        return None
    return read_photon_zarr


def read_photon_zarr(path: str | Path | list) -> list[LayerData]:
    """Open a photon zarr as one lazy image layer of stabilized values.

    The layer's data is ``PhotonMovie.to_dask(1)`` (one frame per dask chunk); its
    contrast limits come from the middle frame only, so napari never computes over the
    whole movie.
    """
    from .storage import open_movie

    if isinstance(path, (list, tuple)):
        path = path[0]
    folder = Path(path)
    movie = open_movie(folder)
    name = folder.name[: -len(".zarr")] if folder.name.endswith(".zarr") else folder.name
    kwargs = {
        "name": name or str(folder),
        "metadata": {
            "calibration": movie.calibration.to_dict(),
            "path": str(folder.resolve()),
        },
        "contrast_limits": contrast_limits(center_frame(movie)),
        **MOVIE_LAYER,
    }
    return [(movie.to_dask(1), kwargs, "image")]
