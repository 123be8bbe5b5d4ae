"""Fluorescence traces: mean photons per ROI and frame, streaming over blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

ProgressCallback = Callable[[int, int], None]


def extract(
    photons: Any,
    masks: np.ndarray,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Mean photon count inside each mask, for every frame.

    Parameters
    ----------
    photons : array-like, shape (t, y, x)
        Photon counts per pixel, read block by block along time.
    masks : ndarray of bool, shape (n, y, x)

    Returns
    -------
    ndarray of float32, shape (n, t)
    """
    n_frames = len(photons)
    n_rois = len(masks)
    flat = masks.reshape(n_rois, -1).astype(np.float32)
    area = np.maximum(flat.sum(axis=1, keepdims=True), 1)
    weights = sparse.csr_matrix(flat / area)
    traces = np.empty((n_rois, n_frames), dtype=np.float32)
    for t0 in range(0, n_frames, frames_per_chunk):
        block = np.asarray(photons[t0 : t0 + frames_per_chunk], dtype=np.float32)
        traces[:, t0 : t0 + len(block)] = weights @ block.reshape(len(block), -1).T
        if progress is not None:
            progress(t0 + len(block), n_frames)
    return traces
