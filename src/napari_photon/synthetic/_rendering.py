"""Rendering frames: the scene moved by each frame's motion (bilinear, on a padded canvas so
nothing wraps around), then Poisson sampled, in batches of frames."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_BATCH_PIXELS = 1 << 22  # canvas pixels rendered per batch of frames


def render(background: np.ndarray, footprints: np.ndarray, traces: np.ndarray,
           shifts: np.ndarray, pad: int, rng: np.random.Generator,
           dtype: np.dtype, warp: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Shift (and warp) the expected-rate frames bilinearly (in batches), Poisson sample."""
    h, w = background.shape
    n_frames = traces.shape[1]
    bg = np.pad(background, pad, mode="reflect")
    patches = []  # (padded row slice, padded col slice, patch) per cell
    for f in footprints:
        ys, xs = ndimage.find_objects((f > 0).astype(np.int8))[0]
        patches.append((slice(ys.start + pad, ys.stop + pad),
                        slice(xs.start + pad, xs.stop + pad), f[ys, xs]))
    out = np.empty((n_frames, h, w), dtype)
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else None
    batch = max(1, _BATCH_PIXELS // bg.size)
    rate = np.empty((batch, h, w), np.float32)
    for t0 in range(0, n_frames, batch):
        t1 = min(t0 + batch, n_frames)
        scene = np.repeat(bg[None], t1 - t0, axis=0)
        for i, (ys, xs, p) in enumerate(patches):
            scene[:, ys, xs] += traces[i, t0:t1, None, None] * p
        # frame(y, x) = scene(y - dy, x - dx): source origin at pad - shift.
        if warp is not None:
            _warp_batch(scene, rate[: t1 - t0], shifts[t0:t1], warp[0], warp[1][t0:t1], pad)
            counts = rng.poisson(rate[: t1 - t0])
            if top is not None:
                np.minimum(counts, top, out=counts)
            out[t0:t1] = counts
            continue
        src = pad - shifts[t0:t1].astype(np.float64)
        origin = np.floor(src).astype(int)
        frac = (src - origin).astype(np.float32)
        for k in range(t1 - t0):
            (iy, ix), (fy, fx), r, s = origin[k], frac[k], rate[k], scene[k]
            np.multiply(s[iy:iy + h, ix:ix + w], (1 - fy) * (1 - fx), out=r)
            r += s[iy:iy + h, ix + 1:ix + 1 + w] * ((1 - fy) * fx)
            r += s[iy + 1:iy + 1 + h, ix:ix + w] * (fy * (1 - fx))
            r += s[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w] * (fy * fx)
        counts = rng.poisson(rate[: t1 - t0])
        if top is not None:
            np.minimum(counts, top, out=counts)
        out[t0:t1] = counts
    return out


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
