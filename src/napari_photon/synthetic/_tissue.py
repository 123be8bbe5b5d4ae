"""The realistic tissue simulator: :func:`make_tissue_movie` and :class:`TissueMovie`.

Photons per pixel per frame in scene coordinates are::

    vessels * (tissue + sum_k neuropil_k(t) + sum_j source_j(t))

with ``source_j`` the in-focus somata (the cells to report), blurred out-of-focus somata and
processes, each with its own calcium activity. The scene moves (rigid walk with jumps plus
a smooth non-rigid warp), is multiplied by the vignetting (frame coordinates) and by
bleaching and drift (time), and is Poisson sampled.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage, signal

from ._activity import calcium_response, spike_trains
from ._ground_truth import SyntheticMovie
from ._motion import nonrigid_warp, rigid_shifts
from ._rendering import Gains, Patch, render_scene
from ._tissue_model import TUNING_SEEDS, TissueModel
from ._tissue_scene import (blurred_soma, ellipse, neuropil_fields, place_somata, process, soma,
                            tissue_background, vessel_transmission, vignette)

#: resting brightness over the local neuropil below which a cell counts as dim
DIM_CONTRAST = 0.15


@dataclass
class TissueMovie(SyntheticMovie):
    """A realistic synthetic movie and its ground truth (the fields of
    :class:`SyntheticMovie` hold the in-focus somata: ``footprints`` with dark nuclei for
    donut cells, ``masks`` the whole cell, nucleus included; masks of overlapping pairs
    share pixels).

    Attributes
    ----------
    spikes : ndarray of float32, shape (n, t)
        Spikes per frame of each soma.
    dff : ndarray of float32, shape (n, t)
        True dF/F: the calcium transients over the cell's raw resting fluorescence (its
        own resting brightness plus the local neuropil at its centre).
    categories : dict of str -> ndarray of bool, shape (n,)
        ``donut``, ``filled``, ``overlap`` (one of an overlapping pair), ``silent``,
        ``very_active``, ``dim`` (resting brightness below ``DIM_CONTRAST`` of the
        local neuropil).
    partner : ndarray of int, shape (n,)
        Index of the overlapping partner, -1 for none.
    out_of_focus_masks, process_masks : ndarray of bool, shape (m, y, x)
        Things that look like cells and are not: blurred somata (above half their peak)
        and processes (above a quarter of theirs).
    vessels : ndarray of float32, shape (y, x)
        Light passed by the blood vessels (1 away from them).
    model : TissueModel
    seed : int or None
    """

    spikes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    dff: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    categories: dict[str, np.ndarray] = field(default_factory=dict)
    partner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    out_of_focus_masks: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), bool))
    process_masks: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), bool))
    vessels: np.ndarray = field(default_factory=lambda: np.ones((0, 0), np.float32))
    model: TissueModel = field(default_factory=TissueModel)
    seed: int | None = None
    _fields: np.ndarray | None = field(default=None, repr=False)
    _field_weights: np.ndarray | None = field(default=None, repr=False)
    _others: list[Patch] = field(default_factory=list, repr=False)
    _other_traces: np.ndarray | None = field(default=None, repr=False)
    _gains: Gains = field(default_factory=Gains, repr=False)

    def neuropil_in(self, masks: np.ndarray) -> np.ndarray:
        """True contamination: mean expected photons per pixel inside each mask of
        everything but the in-focus somata (tissue, active neuropil, out-of-focus somata,
        processes), with vignetting (at the scene's position) and bleaching, float32
        ``(m, t)``. Regressing it on a measured neuropil trace gives the true
        contamination coefficient."""
        masks = np.asarray(masks, bool)
        weights = masks.reshape(len(masks), -1).astype(np.float32)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1)
        gain = (self._gains.image if self._gains.image is not None
                else np.ones(self.background.shape, np.float32)).ravel()
        weights = weights * gain
        out = np.repeat((weights @ self.background.ravel())[:, None], len(self.shifts), 1)
        if self._fields is not None and len(self._fields):
            out += (weights @ self._fields.reshape(len(self._fields), -1).T) @ self._field_weights
        for patch, trace in zip(self._others, self._other_traces):
            share = weights[:, _flat_index(patch, self.background.shape)] @ patch.profile.ravel()
            out += share[:, None] * trace[None, :]
        if self._gains.time is not None:
            out *= self._gains.time[None, :]
        return out.astype(np.float32)


def _flat_index(patch: Patch, shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.mgrid[patch.ys, patch.xs]
    return (yy * shape[1] + xx).ravel()


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = bounds
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n)) if n else np.zeros(0)


def _sources(rng: np.random.Generator, n: int, n_frames: int, frame_rate: float,
             rates_hz: np.ndarray, decay: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Spikes and calcium (peak 1 per spike) of ``n`` sources, in steady state: the
    activity starts 5 decay times before the first frame, so the movie does not open
    on calcium-free tissue."""
    burn = int(math.ceil(5 * decay[1] * frame_rate))
    spikes = spike_trains(rng, rates_hz, n_frames + burn, frame_rate)
    calcium = calcium_response(spikes, frame_rate, rng.uniform(*decay, n))
    return spikes[:, burn:], np.ascontiguousarray(calcium[:, burn:])


def _time_gain(rng: np.random.Generator, n_frames: int, frame_rate: float, bleaching: float,
               drift: float) -> np.ndarray:
    t = np.arange(n_frames) / max(n_frames - 1, 1)
    gain = (1.0 - bleaching) ** t
    if drift > 0:
        walk = signal.lfilter([1.0], [1.0, -0.999], rng.standard_normal(n_frames))
        walk = ndimage.gaussian_filter1d(walk, 2 * frame_rate)
        walk -= walk.mean()
        gain *= 1.0 + drift * walk / max(float(np.abs(walk).max()), 1e-12)
    return gain.astype(np.float32)


def make_tissue_movie(n_frames: int = 1500, shape: tuple[int, int] = (384, 384),
                      seed: int | None = TUNING_SEEDS[0], model: TissueModel | None = None,
                      dtype: Any = np.uint16, **overrides: Any) -> TissueMovie:
    """Simulate a movie of realistic cortical tissue with its ground truth.

    Parameters
    ----------
    n_frames, shape : int, tuple of int
        Movie size ``(n_frames, *shape)``.
    seed : int or None
        Seed of ``numpy.random.default_rng``. :data:`TUNING_SEEDS` are the ones the
        detector was tuned on; report figures on :data:`BENCHMARK_SEEDS`.
    model : TissueModel, optional
        What the tissue holds (default: :class:`TissueModel`'s L2/3 GCaMP6 defaults).
    dtype : numpy dtype
        Integer dtype of the counts.
    **overrides
        Any :class:`TissueModel` field, e.g. ``donut_fraction=0`` or
        ``active_neuropil=False`` (ablations).

    Returns
    -------
    TissueMovie
    """
    base = model or TissueModel()
    names = {f.name for f in dataclasses.fields(TissueModel)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown tissue model setting(s) {unknown}; expected any of "
                         f"{sorted(names)}")
    m = dataclasses.replace(base, **overrides)
    if n_frames < 1 or len(shape) != 2:
        raise ValueError(f"need n_frames >= 1 and a 2D shape, got {n_frames}, {shape}")
    shape = (int(shape[0]), int(shape[1]))
    rng = np.random.default_rng(seed)
    fr = float(m.frame_rate)
    shifts = rigid_shifts(rng, n_frames, float(m.max_shift), fr, m.jump_rate, m.jump_size)
    warp = nonrigid_warp(rng, n_frames, shape, float(m.nonrigid), fr) if m.nonrigid > 0 else None
    vessels = vessel_transmission(rng, shape, m.vessels, m.vessel_width)
    tissue = tissue_background(rng, shape, m.baseline) * vessels

    # in-focus somata
    reach = float(m.max_shift + m.nonrigid + 1.0)
    lo, hi = m.radius
    axes = [ellipse(rng, r) for r in rng.uniform(lo, hi, m.n_cells)]
    cells = place_somata(rng, shape, m.n_cells, (lo, hi), m.overlap_fraction,
                         m.overlap_area, reach, vessels > 0.6,
                         radii=[float(np.sqrt(a * b)) for a, b, _ in axes])
    n = len(cells)
    donut = rng.random(n) < m.donut_fraction
    patches, masks = [], np.zeros((n, *shape), bool)
    for i, (y, x, _, _) in enumerate(cells):
        patch, masks[i] = soma(rng, shape, y, x, axes[i], bool(donut[i]), m.nucleus_size,
                               m.nucleus_brightness)
        patches.append(patch)
    order = rng.permutation(n)
    n_silent = int(round(m.silent_fraction * n))
    n_active = int(round(m.very_active_fraction * n))
    silent = np.zeros(n, bool)
    silent[order[:n_silent]] = True
    very_active = np.zeros(n, bool)
    very_active[order[n_silent:n_silent + n_active]] = True
    rates = _log_uniform(rng, m.rate_hz, n)
    rates[very_active] = rng.uniform(*m.very_active_hz, int(very_active.sum()))
    rates[silent] = 0.0
    spikes, calcium = _sources(rng, n, n_frames, fr, rates, m.decay_s)
    local = np.array([tissue[int(y), int(x)] for y, x, _, _ in cells], np.float32)
    contrast = _log_uniform(rng, m.resting_contrast, n).astype(np.float32)
    resting = contrast * local
    amplitude = rng.uniform(*m.dff_per_spike, n).astype(np.float32) * (resting + local)
    traces = resting[:, None] + amplitude[:, None] * calcium
    dff = (amplitude / (resting + local))[:, None] * calcium

    # active neuropil
    fields = neuropil_fields(rng, shape, m.neuropil_sources, m.neuropil_size)
    _, np_calcium = _sources(rng, m.neuropil_sources, n_frames, fr,
                             rng.uniform(0.5, 3.0, m.neuropil_sources), m.decay_s)
    scale = rng.uniform(*m.neuropil_dff, m.neuropil_sources) / np.maximum(np_calcium.std(axis=1), 1e-6)
    weights = (np_calcium * scale[:, None]).astype(np.float32)
    if not m.active_neuropil:
        weights[:] = weights.mean(axis=1, keepdims=True)
    fields = (fields * tissue[None]).astype(np.float32)

    # out-of-focus somata and processes: active sources that are not cells
    others, other_traces, oof_masks, proc_masks = [], [], [], []
    for _ in range(m.out_of_focus):
        y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        p = blurred_soma(rng, shape, y, x, rng.uniform(*m.radius), rng.uniform(*m.out_of_focus_blur))
        others.append(p)
        oof_masks.append(p.to_image(shape) > 0.5)
    for _ in range(m.processes):
        p = process(rng, shape, rng.uniform(*m.process_length), rng.uniform(0.6, 1.0))
        others.append(p)
        proc_masks.append(p.to_image(shape) > 0.25)
    k = len(others)
    o_rates = _log_uniform(rng, (0.1, 2.0), k)
    _, o_calcium = _sources(rng, k, n_frames, fr, o_rates, m.decay_s)
    centre = np.array([tissue[p.ys, p.xs].mean() if p.profile.size else 0.0 for p in others],
                      np.float32)
    o_rest = rng.uniform(0.2, 0.8, k).astype(np.float32) * centre
    o_amp = rng.uniform(0.1, 0.6, k).astype(np.float32) * (o_rest + centre)
    other_traces = o_rest[:, None] + o_amp[:, None] * o_calcium
    others = [Patch(p.ys, p.xs, p.profile * vessels[p.ys, p.xs]) for p in others]
    patches = [Patch(p.ys, p.xs, p.profile * vessels[p.ys, p.xs]) for p in patches]

    gains = Gains(image=vignette(shape, m.vignetting) if m.vignetting > 0 else None,
                  time=_time_gain(rng, n_frames, fr, m.bleaching, m.drift)
                  if (m.bleaching > 0 or m.drift > 0) else None)
    pad = math.ceil(reach) + 2
    movie = render_scene(tissue, patches + others, np.concatenate(
        [traces, other_traces.reshape(k, n_frames)]), shifts, pad, rng, np.dtype(dtype), warp,
        fields=fields, field_weights=weights, gains=gains)
    footprints = np.stack([p.to_image(shape) for p in patches]) if n else np.zeros((0, *shape), np.float32)
    partner = np.array([c[3] for c in cells], int)
    categories = {"donut": donut, "filled": ~donut, "overlap": partner >= 0, "silent": silent,
                  "very_active": very_active, "dim": contrast < DIM_CONTRAST}
    empty = np.zeros((0, *shape), bool)
    return TissueMovie(
        movie=movie, shifts=shifts, footprints=footprints, masks=masks,
        traces=traces.astype(np.float32), background=tissue, frame_rate=fr,
        warp_basis=None if warp is None else warp[0],
        warp_weights=None if warp is None else warp[1],
        spikes=spikes, dff=dff.astype(np.float32), categories=categories, partner=partner,
        out_of_focus_masks=np.stack(oof_masks) if oof_masks else empty,
        process_masks=np.stack(proc_masks) if proc_masks else empty, vessels=vessels,
        model=m, seed=seed, _fields=fields, _field_weights=weights, _others=others,
        _other_traces=other_traces.reshape(k, n_frames), _gains=gains)
