"""Where a tile's measurement applies: the centroid of its texture (reference and frame
gradients) rather than the tile centre, and moving measurements to the centres."""

from __future__ import annotations

import numpy as np

from ._model import Model
from ._tiles import TileGrid


def frame_offsets(tiles: np.ndarray, model: Model) -> np.ndarray:
    """Where each tile's measurement applies in this frame, relative to the tile centre
    (binned px), per displacement axis: the centroid of ``window * df/da * dr/da`` (the
    frame's and the reference's gradients along axis ``a``; noise averages out of the
    product). Tiles with too little weight keep the reference's own centroid.
    Shape (k, 2 [axis], 2 [y, x])."""
    gref, static, floor = model.tile_grad_ref, model.tile_offsets, model.tile_weight_floor
    tb = tiles.shape[-1]
    coords = np.arange(tb) - (tb - 1) / 2.0
    out = static.copy()
    for axis in range(2):
        g = np.diff(tiles, axis=1 + axis, prepend=tiles[:, :1] if axis == 0
                    else tiles[:, :, :1])
        e = g * gref[:, axis]
        total = e.sum(axis=(1, 2))
        good = total > floor[:, axis]
        if good.any():
            cy = (e.sum(axis=2) @ coords) / np.where(good, total, 1.0)
            cx = (e.sum(axis=1) @ coords) / np.where(good, total, 1.0)
            out[good, axis, 0] = np.clip(cy[good], -tb / 2, tb / 2)
            out[good, axis, 1] = np.clip(cx[good], -tb / 2, tb / 2)
    return out


def reference_tile_weights(ref_tiles: np.ndarray, window: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For :func:`frame_offsets`: the windowed gradients of the (band-passed) reference
    tiles (k, 2, tb, tb), the reference's own information centroids (k, 2, 2) and, per tile
    and axis, the weight below which a frame's centroid is not trusted (a quarter of the
    reference's own)."""
    k, tb, _ = ref_tiles.shape
    coords = np.arange(tb) - (tb - 1) / 2.0
    grads = np.empty((k, 2, tb, tb), np.float32)
    offsets = np.zeros((k, 2, 2))
    floor = np.zeros((k, 2))
    for i, tile in enumerate(ref_tiles.astype(np.float64)):
        for axis in range(2):
            g = np.diff(tile, axis=axis, prepend=tile[:1] if axis == 0 else tile[:, :1])
            grads[i, axis] = g * window
            e = g * g * window
            total = e.sum()
            floor[i, axis] = 0.25 * total
            if total > 0:
                offsets[i, axis, 0] = (e.sum(axis=1) @ coords) / total
                offsets[i, axis, 1] = (e.sum(axis=0) @ coords) / total
    return grads, offsets, floor


def to_tile_centers(residual: np.ndarray, offsets: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Move tile displacements (n, ny, nx, 2) measured at ``centre + offsets`` (offsets
    (n or 1, ny*nx, 2 [axis], 2 [y, x]), movie px) to the tile centres with the field's
    local gradient (centred differences between tiles)."""
    ny, nx = grid.shape
    off = offsets.reshape(-1, ny, nx, 2, 2)  # per frame, or one set for all
    out = residual.copy()
    for dim, (count, step) in enumerate(((ny, grid.centers_y), (nx, grid.centers_x))):
        if count < 2:
            continue
        spacing = np.gradient(step.astype(np.float64))
        shape = [1, 1, 1, 1]
        shape[1 + dim] = count
        grad = np.gradient(residual, axis=1 + dim) / spacing.reshape(shape)
        # displacement axis a, measured at offset off[..., a, dim] along this dimension
        out -= grad * off[..., dim]
    return out
