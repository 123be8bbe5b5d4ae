"""What a synthetic movie is made of: the counts and their ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._frames import Frames, frames_per_block


@dataclass
class SyntheticMovie(Frames):
    """A synthetic movie with its ground truth; it is also the
    :class:`~napari_photon._frames.FrameSource` of its counts (``shape``, ``movie[t0:t1]``,
    ``to_dask()``... are those of :attr:`movie`).

    Attributes
    ----------
    movie : numpy.ndarray
        Photon counts, shape ``(t, y, x)`` (``(t, z, y, x)`` for volumes), integer dtype.
    shifts : numpy.ndarray
        float32 ``(t, 2)``: ``(dy, dx)`` displacement of frame ``t``; frame ``t`` shows the
        scene translated by ``shifts[t]``, registration must apply ``-shifts[t]``.
    footprints : numpy.ndarray
        float32 ``(n, y, x)`` (``(n, z, y, x)`` for volumes), spatial profiles, peak 1,
        in scene coordinates (= frame coordinates at zero shift).
    masks : numpy.ndarray
        bool, same shape as ``footprints``: footprint > 0.25 of its peak.
    traces : numpy.ndarray
        float32 ``(n, t)``: fluorescence each cell adds at its footprint peak, in photons
        per pixel per frame (resting brightness plus calcium transients).
    background : numpy.ndarray
        float32 ``(y, x)`` (``(z, y, x)`` for volumes): baseline photon rate image.
    frame_rate : float
        Frames (volumes) per second.
    warp_basis : numpy.ndarray or None
        float32 ``(k, 2, y, x)``: smooth displacement modes of the non-rigid warp (None for
        rigid movies).
    warp_weights : numpy.ndarray or None
        float32 ``(t, k)``: weight of each mode in each frame. The full displacement of
        frame ``t`` at pixel ``p`` is ``shifts[t] + sum_j warp_weights[t, j] *
        warp_basis[j, :, p]``: frame ``t`` at ``p`` shows the scene at ``p - displacement``
        (see :meth:`displacement`).
    """

    movie: np.ndarray
    shifts: np.ndarray
    footprints: np.ndarray
    masks: np.ndarray
    traces: np.ndarray
    background: np.ndarray
    frame_rate: float
    warp_basis: np.ndarray | None = None
    warp_weights: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.movie.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.movie.dtype

    @property
    def frames_per_chunk(self) -> int:
        return min(self.shape[0], frames_per_block(self.shape[1:]))

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.movie[index]

    def displacement(self, frames: Any = None) -> np.ndarray:
        """Ground-truth displacement field, float32 ``(n, 2, y, x)`` (rigid plus warp).

        Parameters
        ----------
        frames : int, slice or sequence of int, optional
            Which frames (default: all; mind the memory, 2 floats per pixel per frame).
            Registration must apply minus this field (up to a constant offset).
        """
        index = np.arange(len(self.shifts))[slice(None) if frames is None else frames]
        index = np.atleast_1d(index)
        shape = self.movie.shape[-2:]
        out = np.empty((len(index), 2, *shape), np.float32)
        out[:] = self.shifts[index][:, :, None, None]
        if self.warp_basis is not None and self.warp_weights is not None:
            out += np.tensordot(self.warp_weights[index], self.warp_basis, axes=(1, 0))
        return out


@dataclass
class SyntheticVolume(SyntheticMovie):
    """A synthetic volume movie; ``plane_spacing`` is the distance between planes (um)."""

    plane_spacing: float = 10.0
