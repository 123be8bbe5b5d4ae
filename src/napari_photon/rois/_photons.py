"""Photon counts from whatever a detector is handed: raw counts, a stabilized array, or a
:class:`~napari_photon.storage.PhotonMovie` (its algebraic photon view)."""

from __future__ import annotations

from typing import Any

import numpy as np

UNITS = ("auto", "photons", "stabilized")


def photon_view(movie: Any, units: str) -> Any:
    """The movie as photon counts, read block by block.

    Parameters
    ----------
    movie : array-like, shape (t, y, x)
    units : {"auto", "photons", "stabilized"}
        What the values of ``movie`` are; ``"auto"``: a PhotonMovie's photon view, and
        photon counts for anything else.

    Returns
    -------
    array-like
        Sliceable along time, photon counts.
    """
    if units not in UNITS:
        raise ValueError(f"units must be 'auto', 'photons' or 'stabilized', got {units!r}")
    if units == "auto":
        return movie.photons("algebraic") if hasattr(movie, "photons") else movie
    if units == "stabilized":
        return _Unstabilized(movie)
    return movie


class _Unstabilized:
    """Photon counts from a stabilized array (algebraic inverse of ``2 sqrt(x + 3/8)``)."""

    def __init__(self, movie: Any) -> None:
        self.movie = movie
        self.shape = tuple(movie.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        s = np.asarray(self.movie[index], dtype=np.float32)
        return np.maximum(s * s / 4 - 0.375, 0)
