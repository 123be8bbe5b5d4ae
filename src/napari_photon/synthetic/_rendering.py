"""Rendering frames: the scene moved by each frame's motion (bilinear, on a padded canvas so
nothing wraps around), then Poisson sampled, in batches of frames.

The scene of frame ``t`` is ``background + sum_i trace_i(t) * patch_i`` (sparse components
such as somata, processes, blurred out-of-focus cells) ``+ sum_k weight_k(t) * field_k``
(dense low-rank components such as active neuropil, one matrix product per batch), in
scene coordinates. After moving, optional gains in frame coordinates (vignetting) and in
time (bleaching, drift) multiply the expected rate before sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_BATCH_PIXELS = 1 << 22  # canvas pixels rendered per batch of frames


@dataclass(frozen=True)
class Patch:
    """A component's spatial profile on the rows ``ys`` and columns ``xs`` of the scene."""

    ys: slice
    xs: slice
    profile: np.ndarray

    @classmethod
    def from_image(cls, image: np.ndarray) -> Patch:
        """The bounding box of ``image > 0`` (an all-zero image gives an empty patch)."""
        found = ndimage.find_objects((image > 0).astype(np.int8))
        if not found or found[0] is None:
            return cls(slice(0, 0), slice(0, 0), np.zeros((0, 0), np.float32))
        ys, xs = found[0]
        return cls(ys, xs, np.asarray(image[ys, xs], np.float32))

    def padded(self, pad: int) -> Patch:
        return Patch(slice(self.ys.start + pad, self.ys.stop + pad),
                     slice(self.xs.start + pad, self.xs.stop + pad), self.profile)

    def to_image(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, np.float32)
        out[self.ys, self.xs] = self.profile
        return out


@dataclass(frozen=True)
class Gains:
    """Multiplicative gains applied after motion: ``image`` (y, x) in frame coordinates
    (vignetting) and ``time`` (t,) (bleaching, drift); None for 1."""

    image: np.ndarray | None = None
    time: np.ndarray | None = None


def render(background: np.ndarray, footprints: np.ndarray, traces: np.ndarray,
           shifts: np.ndarray, pad: int, rng: np.random.Generator,
           dtype: np.dtype, warp: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Shift (and warp) the expected-rate frames bilinearly (in batches), Poisson sample."""
    patches = [Patch.from_image(f) for f in footprints]
    return render_scene(background, patches, traces, shifts, pad, rng, dtype, warp)


def render_scene(background: np.ndarray, patches: list[Patch], traces: np.ndarray,
                 shifts: np.ndarray, pad: int, rng: np.random.Generator, dtype: np.dtype,
                 warp: tuple[np.ndarray, np.ndarray] | None = None, *,
                 fields: np.ndarray | None = None, field_weights: np.ndarray | None = None,
                 gains: Gains | None = None) -> np.ndarray:
    """Render a movie of Poisson counts from sparse patches and dense low-rank fields.

    Parameters
    ----------
    background : (y, x) float32
        Static expected photons per pixel per frame, scene coordinates.
    patches, traces : list of Patch, (n, t) float32
        Sparse components and their time courses.
    shifts, pad, rng, dtype, warp
        Rigid displacement per frame, canvas padding, generator, output dtype, optional
        non-rigid warp ``(basis, weights)`` (see :func:`._motion.nonrigid_warp`).
    fields, field_weights : (k, y, x), (k, t) float32, optional
        Dense components and their time courses.
    gains : Gains, optional
    """
    h, w = background.shape
    n_frames = len(shifts)
    bg = np.pad(background, pad, mode="reflect")
    padded = [p.padded(pad) for p in patches]
    dense = None
    if fields is not None and len(fields):
        dense = np.pad(fields, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
        dense = dense.reshape(len(fields), -1)
    out = np.empty((n_frames, h, w), dtype)
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else None
    batch = max(1, _BATCH_PIXELS // bg.size)
    rate = np.empty((batch, h, w), np.float32)
    for t0 in range(0, n_frames, batch):
        t1 = min(t0 + batch, n_frames)
        if dense is not None:
            scene = (field_weights[:, t0:t1].T @ dense).reshape(t1 - t0, *bg.shape)
            scene += bg
        else:
            scene = np.repeat(bg[None], t1 - t0, axis=0)
        for i, p in enumerate(padded):
            scene[:, p.ys, p.xs] += traces[i, t0:t1, None, None] * p.profile
        moved = rate[: t1 - t0]
        # frame(y, x) = scene(y - dy, x - dx): source origin at pad - shift.
        if warp is not None:
            _warp_batch(scene, moved, shifts[t0:t1], warp[0], warp[1][t0:t1], pad)
        else:
            _shift_batch(scene, moved, shifts[t0:t1], pad)
        if gains is not None and gains.image is not None:
            moved *= gains.image
        if gains is not None and gains.time is not None:
            moved *= gains.time[t0:t1, None, None]
        counts = rng.poisson(moved)
        if top is not None:
            np.minimum(counts, top, out=counts)
        out[t0:t1] = counts
    return out


def _shift_batch(scene: np.ndarray, rate: np.ndarray, shifts: np.ndarray, pad: int) -> None:
    """``rate[k](p) = scene[k](p + pad - shifts[k])``, bilinear."""
    h, w = rate.shape[-2:]
    src = pad - shifts.astype(np.float64)
    origin = np.floor(src).astype(int)
    frac = (src - origin).astype(np.float32)
    for k in range(len(rate)):
        (iy, ix), (fy, fx), r, s = origin[k], frac[k], rate[k], scene[k]
        np.multiply(s[iy:iy + h, ix:ix + w], (1 - fy) * (1 - fx), out=r)
        r += s[iy:iy + h, ix + 1:ix + 1 + w] * ((1 - fy) * fx)
        r += s[iy + 1:iy + 1 + h, ix:ix + w] * (fy * (1 - fx))
        r += s[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w] * (fy * fx)


def _warp_batch(scene: np.ndarray, rate: np.ndarray, shifts: np.ndarray, basis: np.ndarray,
                weights: np.ndarray, pad: int) -> None:
    """``rate[k](p) = scene[k](p + pad - displacement_k(p))``, bilinear (map_coordinates)."""
    h, w = rate.shape[-2:]
    grid = np.mgrid[:h, :w].astype(np.float32) + np.float32(pad)
    for k in range(len(rate)):
        field = np.tensordot(weights[k], basis, axes=(0, 0))  # (2, h, w)
        field += shifts[k][:, None, None]
        ndimage.map_coordinates(scene[k], grid - field, output=rate[k], order=1,
                                mode="nearest", prefilter=False)
