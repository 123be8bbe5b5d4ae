"""Sparse activity detection: cells found one at a time in a binned, high-passed movie.

Made for tissue where the neuropil is active: its signal is spatially smooth and shared,
a soma's is local, sparse in time and positive. The movie is binned in time (``bin_frames``
frames per bin, read block by block) and each bin high-passed in space (minus a Gaussian
blur of ``highpass_sigma`` px, which takes the neuropil and vignetting out) and in time
(minus a running mean, which takes bleaching and drift out); the binned movie stays in
memory (at most ``max_bins`` bins: ``bin_frames`` grows for longer movies).

Each pixel's series is divided by its noise SD and smoothed in space at the scale of a
soma; the score of a pixel is the mean of its squared excursions above ``z_threshold``.
The best-scoring pixel seeds a cell: its footprint is the projection of every nearby
pixel on the seed's time course over the bins where the seed is active; the footprint's
connected pixels above ``fraction`` of its peak are the mask; the cell's footprint times
its time course is then subtracted from the movie (so an overlapping neighbour shows
through), and the next best pixel is taken, until no score reaches ``score_threshold``
(matching pursuit, as suite2p's sparsery and CaImAn's greedy initialisation do).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from .._in_order import map_ahead
from ._summary import ProgressCallback


def _highpassed_bins(block: np.ndarray, k: int, highpass_sigma: float) -> np.ndarray:
    """Bins of ``k`` frames of ``block`` (whole bins only), minus their spatial low-pass."""
    nb = len(block) // k
    binned = block[: nb * k].reshape(nb, k, *block.shape[-2:]).mean(axis=1)
    return binned - ndimage.gaussian_filter(binned, (0, highpass_sigma, highpass_sigma),
                                            mode="reflect")


def _highpass_span(photons: Any, t0: int, t1: int, k: int, highpass_sigma: float
                   ) -> np.ndarray:
    return _highpassed_bins(np.asarray(photons[t0:t1], dtype=np.float32), k, highpass_sigma)


def binned_highpass(photons: Any, frames_per_chunk: int, bin_frames: int,
                    highpass_sigma: float, temporal_window: int,
                    progress: ProgressCallback | None = None,
                    client: Any = None) -> np.ndarray:
    """The movie binned in time and high-passed in space and time, float32 (bins, y, x).

    The package's threads read the blocks and, on a second pool, bin and high-pass them
    (whole bins each, so the result does not depend on the blocks or the threads); with a
    dask.distributed ``client``, the cluster's workers do. The temporal filter runs here.
    """
    n_frames = len(photons)
    height, width = photons.shape[-2:]
    k = max(1, int(bin_frames))
    n_bins = n_frames // k
    if n_bins < 3:
        raise ValueError(f"sparse detection needs at least 3 bins of {k} frames; the movie "
                         f"has {n_frames} frames (lower bin_frames)")
    step = max(k, (max(1, int(frames_per_chunk)) // k) * k)
    spans = [(t0, min(t0 + step, n_bins * k)) for t0 in range(0, n_bins * k, step)]
    if client is not None:
        from .._blocks import run_blocks

        out = np.concatenate(run_blocks(_highpass_span, photons, spans, (k, highpass_sigma),
                                        progress=progress, client=client))
    else:
        out = np.empty((n_bins, height, width), np.float32)
        for (t0, _), part in map_ahead(photons, spans,
                                       lambda block: _highpassed_bins(block, k, highpass_sigma)):
            out[t0 // k: t0 // k + len(part)] = part
            if progress is not None:
                progress(min(t0 + step, n_frames), n_frames)
    if temporal_window and temporal_window < n_bins:
        out -= ndimage.uniform_filter1d(out, int(temporal_window), axis=0, mode="reflect")
    else:
        out -= out.mean(axis=0)
    return out


def _noise_sd(movie: np.ndarray) -> np.ndarray:
    """Per-pixel noise SD from successive bins' differences (robust to transients)."""
    diff = np.diff(movie, axis=0)
    return np.maximum(1.4826 * np.median(np.abs(diff), axis=0) / math.sqrt(2), 1e-6)


class _Scorer:
    """The score image, recomputed window by window as cells are taken out."""

    def __init__(self, movie: np.ndarray, noise: np.ndarray, sigma: float, z: float) -> None:
        self.movie, self.noise, self.sigma, self.z = movie, noise, sigma, z
        # SD of a Gaussian-smoothed unit white-noise image: rescale to unit noise
        probe = np.zeros((8 * int(sigma + 1) + 1,) * 2)
        probe[len(probe) // 2, len(probe) // 2] = 1
        self.gain = 1.0 / math.sqrt(float((ndimage.gaussian_filter(probe, sigma) ** 2).sum()))
        # the same truncated kernel as scipy's gaussian_filter (truncate=4), for smoothed_at
        self.radius = int(4.0 * sigma + 0.5)
        taps = np.arange(-self.radius, self.radius + 1, dtype=np.float64)
        self.kernel = np.exp(-0.5 * (taps / sigma) ** 2)
        self.kernel /= self.kernel.sum()
        self.score = np.zeros(movie.shape[1:], np.float32)
        self.update((slice(0, movie.shape[1]), slice(0, movie.shape[2])))

    def smoothed_at(self, window: tuple[slice, slice], at: tuple[int, int]) -> np.ndarray:
        """``smoothed(window)[:, y, x]`` at the one pixel ``at`` (window coordinates),
        as a weighted sum over the kernel's support instead of smoothing the window."""
        radius, kernel = self.radius, self.kernel
        height = window[0].stop - window[0].start
        width = window[1].stop - window[1].start
        y, x = at
        y0, y1 = max(0, y - radius), min(height, y + radius + 1)
        x0, x1 = max(0, x - radius), min(width, x + radius + 1)
        rows = slice(window[0].start + y0, window[0].start + y1)
        cols = slice(window[1].start + x0, window[1].start + x1)
        z = self.movie[:, rows, cols] / self.noise[rows, cols]
        ky = kernel[y0 - y + radius: y1 - y + radius]
        kx = kernel[x0 - x + radius: x1 - x + radius]
        return (np.einsum("tyx,y,x->t", z, ky, kx) * self.gain).astype(np.float32)

    def smoothed(self, window: tuple[slice, slice]) -> np.ndarray:
        z = self.movie[:, window[0], window[1]] / self.noise[window]
        return ndimage.gaussian_filter(z, (0, self.sigma, self.sigma), mode="constant") * self.gain

    def update(self, window: tuple[slice, slice]) -> None:
        ys, xs = window
        for y0 in range(ys.start, ys.stop, 128):  # bounded memory on large frames
            rows = slice(y0, min(y0 + 128, ys.stop))
            pad = int(3 * self.sigma) + 1
            outer = slice(max(0, rows.start - pad), min(self.movie.shape[1], rows.stop + pad))
            z = self.smoothed((outer, xs))[:, rows.start - outer.start: rows.stop - outer.start]
            excess = np.maximum(z - self.z, 0)
            self.score[rows, xs] = (excess * excess).mean(axis=0)


def sparse_rois(movie: np.ndarray, *, radius: float = 6.0, fraction: float = 0.3,
                z_threshold: float = 3.0, score_threshold: float = 0.05,
                min_area: int = 30, max_area: int = 500, border: int = 0,
                max_rois: int = 2000, active_bins: int = 2
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells found one at a time in a binned, high-passed movie (see the module).

    Parameters
    ----------
    movie : ndarray, shape (bins, y, x)
        From :func:`binned_highpass`; modified in place (cells are subtracted).
    radius : float
        Typical soma radius, px: the smoothing scale (radius / 2) and the reach of a
        footprint (2.5 radii).
    fraction, min_area, max_area, border
        As in :func:`~napari_photon.rois.detect_rois`.
    z_threshold, score_threshold : float
        A pixel scores the mean squared excursion of its smoothed, noise-normalised series
        above ``z_threshold``; seeds stop below ``score_threshold``.
    max_rois : int
        At most this many seeds are tried.
    active_bins : int
        A seed needs this many bins above ``z_threshold``.

    Returns
    -------
    masks : ndarray of bool, shape (n, y, x)
    seeds : ndarray of int, shape (n, 2)
    scores : ndarray of float32, shape (n,)
        Each seed's score when it was taken.
    footprints : ndarray of float32, shape (n, y, x)
        Each cell's footprint (projection weights, lightly smoothed, not cut to the
        mask: its fall-off outside the mask tells a sharp soma from a blurred one), peak
        1 inside the mask, zero outside the seed's window.
    """
    height, width = movie.shape[1:]
    noise = _noise_sd(movie)
    sigma = max(0.5, radius / 2)
    scorer = _Scorer(movie, noise, sigma, z_threshold)
    if border > 0:
        scorer.score[:border], scorer.score[-border:] = 0, 0
        scorer.score[:, :border], scorer.score[:, -border:] = 0, 0
    reach = math.ceil(2.5 * radius)
    masks, seeds, scores, footprints = [], [], [], []
    for _ in range(max_rois):
        at = np.unravel_index(int(np.argmax(scorer.score)), scorer.score.shape)
        if scorer.score[at] < score_threshold:
            break
        win = (slice(max(0, at[0] - reach), min(height, at[0] + reach + 1)),
               slice(max(0, at[1] - reach), min(width, at[1] + reach + 1)))
        local = movie[:, win[0], win[1]]
        cy, cx = at[0] - win[0].start, at[1] - win[1].start
        trace = scorer.smoothed_at(win, (cy, cx))
        active = trace > z_threshold
        footprint = None
        if active.sum() >= active_bins:
            x = trace[active]
            footprint = np.tensordot(x, local[active], axes=(0, 0)) / float(x @ x)
            for _refine in range(2):  # re-estimate the time course from the footprint
                fp = ndimage.gaussian_filter(footprint, 0.5)
                keep = _mask_at(fp, (cy, cx), fraction)
                if keep is None:
                    footprint = None
                    break
                w = np.where(keep, fp, 0)
                course = np.tensordot(local, w, axes=((1, 2), (0, 1))) / float((w * w).sum())
                act = course > np.median(course) + z_threshold * _diff_noise(course)
                if act.sum() < active_bins:
                    footprint = None
                    break
                c = course[act]
                footprint = np.tensordot(c, local[act], axes=(0, 0)) / float(c @ c)
        keep = None
        if footprint is not None:
            fp = ndimage.gaussian_filter(footprint, 0.5)
            keep = _mask_at(fp, (cy, cx), fraction)
        if keep is not None and min_area <= int(keep.sum()) <= max_area:
            w = np.where(ndimage.binary_dilation(keep, iterations=1), np.maximum(fp, 0), 0)
            course = np.tensordot(local, w, axes=((1, 2), (0, 1))) / float((w * w).sum())
            local -= course[:, None, None] * w[None]
            mask = np.zeros((height, width), bool)
            mask[win] = keep
            if border > 0:
                mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = (
                    False, False, False, False)
            full = np.zeros((height, width), np.float32)
            full[win] = fp / max(float(fp[keep].max()), 1e-12)
            masks.append(mask)
            seeds.append(at)
            scores.append(float(scorer.score[at]))
            footprints.append(full)
            scorer.update(win)
            if border > 0:
                _clear_border(scorer.score, border)
        else:  # nothing cell-like here: do not come back to this pixel
            yy, xx = np.ogrid[win]
            near = (yy - at[0]) ** 2 + (xx - at[1]) ** 2 <= max(1.0, radius / 2) ** 2
            scorer.score[win][near] = 0
    if not masks:
        return (np.zeros((0, height, width), bool), np.zeros((0, 2), int),
                np.zeros(0, np.float32), np.zeros((0, height, width), np.float32))
    return (np.stack(masks), np.asarray(seeds, int), np.asarray(scores, np.float32),
            np.stack(footprints))


def _diff_noise(x: np.ndarray) -> float:
    """Noise SD of a series from its successive differences (transients barely count)."""
    return 1.4826 * float(np.median(np.abs(np.diff(x)))) / math.sqrt(2)


def _mask_at(footprint: np.ndarray, at: tuple[int, int], fraction: float) -> np.ndarray | None:
    """Connected pixels above ``fraction`` of the footprint's peak near ``at``, filled."""
    peak = float(footprint[max(0, at[0] - 2): at[0] + 3, max(0, at[1] - 2): at[1] + 3].max())
    if peak <= 0:
        return None
    parts, _ = ndimage.label(footprint > fraction * peak)
    near = parts[max(0, at[0] - 2): at[0] + 3, max(0, at[1] - 2): at[1] + 3]
    labels = np.unique(near[near > 0])
    if not labels.size:
        return None
    best = max(labels, key=lambda lab: footprint[parts == lab].max())
    return ndimage.binary_fill_holes(parts == best)


def _clear_border(score: np.ndarray, border: int) -> None:
    score[:border], score[-border:], score[:, :border], score[:, -border:] = 0, 0, 0, 0
