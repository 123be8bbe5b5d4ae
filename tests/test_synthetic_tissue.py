"""Tests for the realistic tissue simulator (napari_photon.synthetic.make_tissue_movie):
each feature at a small size, switched on and off."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import regionprops

from napari_photon.synthetic import (BENCHMARK_SEEDS, TUNING_SEEDS, TissueModel, TissueMovie,
                                     make_tissue_movie)

SMALL = dict(n_frames=300, shape=(128, 128), n_cells=16, out_of_focus=5, processes=6,
             neuropil_sources=6)
STILL = dict(max_shift=0.0, nonrigid=0.0)


@pytest.fixture(scope="module")
def tissue() -> TissueMovie:
    return make_tissue_movie(**SMALL, seed=TUNING_SEEDS[0])


def test_seeds_reproducible_and_held_out() -> None:
    a = make_tissue_movie(n_frames=20, shape=(64, 64), n_cells=3, seed=5)
    b = make_tissue_movie(n_frames=20, shape=(64, 64), n_cells=3, seed=5)
    c = make_tissue_movie(n_frames=20, shape=(64, 64), n_cells=3, seed=6)
    np.testing.assert_array_equal(a.movie, b.movie)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.movie, c.movie)
    assert not set(TUNING_SEEDS) & set(BENCHMARK_SEEDS)


def test_unknown_setting_is_named() -> None:
    with pytest.raises(ValueError, match="donut_fractoin"):
        make_tissue_movie(n_frames=5, shape=(64, 64), donut_fractoin=0.5)
    with pytest.raises(ValueError, match="2D shape"):
        make_tissue_movie(n_frames=5, shape=(64, 64, 2))


def test_shapes_and_ground_truth(tissue: TissueMovie) -> None:
    t, (h, w), n = SMALL["n_frames"], SMALL["shape"], SMALL["n_cells"]
    assert tissue.movie.shape == (t, h, w) and tissue.movie.dtype == np.uint16
    assert tissue.masks.shape == tissue.footprints.shape == (n, h, w)
    assert tissue.spikes.shape == tissue.dff.shape == tissue.traces.shape == (n, t)
    assert set(tissue.categories) == {"donut", "filled", "overlap", "silent", "very_active",
                                      "dim"}
    assert tissue.out_of_focus_masks.shape[0] == 5 and tissue.process_masks.shape[0] == 6
    # photon-limited: about 1-6 photons per pixel per frame
    assert 0.5 < tissue.movie.mean() < 8.0
    # dF/F is zero at rest and follows the spikes; silent cells never leave rest
    assert (tissue.dff >= 0).all()
    firing = tissue.spikes.sum(axis=1) > 0
    assert (tissue.dff[firing].max(axis=1) > 0.05).all()
    silent = tissue.categories["silent"]
    assert silent.any() and not tissue.dff[silent].any() and not tissue.spikes[silent].any()
    spike_at = np.argwhere(tissue.spikes[firing] > 0)
    after = tissue.dff[firing][spike_at[:, 0], np.minimum(spike_at[:, 1] + 2, 299)]
    before = tissue.dff[firing][spike_at[:, 0], np.maximum(spike_at[:, 1] - 1, 0)]
    assert (after > before).mean() > 0.9, "each spike raises the calcium"


def test_donut_and_filled_somata() -> None:
    m = make_tissue_movie(n_frames=5, shape=(128, 128), n_cells=12, donut_fraction=0.5,
                          overlap_fraction=0.0, seed=3, **STILL)
    donut = m.categories["donut"]
    assert 0 < donut.sum() < len(donut)
    for i, f in enumerate(m.footprints):
        props = regionprops(m.masks[i].astype(np.uint8))[0]
        cy, cx = (int(round(c)) for c in props.centroid)
        assert m.masks[i, cy, cx], "the mask covers the whole cell, nucleus included"
        if donut[i]:
            assert f[cy, cx] < 0.6, "a donut's nucleus is dark"
        else:
            assert f[cy, cx] > 0.8, "a filled soma is brightest in its middle"
    none = make_tissue_movie(n_frames=5, shape=(128, 128), n_cells=12, donut_fraction=0.0,
                             seed=3, **STILL)
    assert not none.categories["donut"].any()


def test_overlapping_pairs_share_10_to_30_percent() -> None:
    m = make_tissue_movie(n_frames=5, shape=(192, 192), n_cells=30, overlap_fraction=0.4,
                          seed=4, **STILL)
    pairs = [(i, j) for i, j in enumerate(m.partner) if j > i]
    assert len(pairs) == 6
    assert (m.partner[m.partner >= 0] >= 0).all()
    assert all(m.partner[j] == i for i, j in pairs)
    shared = [(m.masks[i] & m.masks[j]).sum() / min(m.masks[i].sum(), m.masks[j].sum())
              for i, j in pairs]
    assert min(shared) > 0.03 and max(shared) < 0.45
    assert 0.08 < np.median(shared) < 0.35
    lone = np.flatnonzero(m.partner < 0)
    union = m.masks[lone].sum(axis=0)
    assert union.max() == 1, "lone cells do not touch"


def test_silent_and_very_active_cells() -> None:
    m = make_tissue_movie(n_frames=600, shape=(128, 128), n_cells=20, silent_fraction=0.25,
                          very_active_fraction=0.1, seed=5, **STILL)
    silent, busy = m.categories["silent"], m.categories["very_active"]
    assert silent.sum() == 5 and busy.sum() == 2
    assert not m.spikes[silent].any()
    assert (np.ptp(m.traces[silent], axis=1) == 0).all() and (m.traces[silent] > 0).all()
    rates = m.spikes.sum(axis=1) / (600 / m.frame_rate)
    assert rates[busy].min() > rates[~busy & ~silent].mean()


def test_brightness_spans_down_to_dim_cells() -> None:
    m = make_tissue_movie(n_frames=5, shape=(192, 192), n_cells=40, seed=6, **STILL)
    assert 0 < m.categories["dim"].sum() < 40
    rest = m.traces.min(axis=1)
    assert rest.max() / rest.min() > 10


def test_active_neuropil_is_truth_of_the_movie() -> None:
    """With no cells and no motion, neuropil_in over the whole frame is the movie's mean."""
    kw = dict(n_frames=400, shape=(96, 96), n_cells=0, seed=7, **STILL)
    m = make_tissue_movie(**kw)
    whole = np.ones((1, 96, 96), bool)
    truth = m.neuropil_in(whole)[0]
    measured = m.movie.reshape(400, -1).mean(axis=1)
    assert np.abs(measured / truth - 1).max() < 0.05
    assert np.corrcoef(measured, truth)[0, 1] > 0.9
    patch = np.zeros((1, 96, 96), bool)
    patch[0, 30:50, 30:50] = True
    assert m.neuropil_in(patch)[0].std() > 0.02 * m.neuropil_in(patch)[0].mean()
    quiet = make_tissue_movie(**{**kw, "active_neuropil": False, "out_of_focus": 0,
                                 "processes": 0, "bleaching": 0.0, "drift": 0.0})
    assert np.ptp(quiet.neuropil_in(patch)[0]) < 1e-3 * quiet.neuropil_in(patch)[0].mean()


def test_out_of_focus_somata_and_processes_are_decoys(tissue: TissueMovie) -> None:
    cells = tissue.masks.any(axis=0)
    for mask in tissue.process_masks:
        if mask.sum() < 20:
            continue
        props = regionprops(mask.astype(np.uint8))[0]
        assert props.eccentricity > 0.8 or props.solidity < 0.7, "processes are thin"
    for mask in tissue.out_of_focus_masks:
        assert mask.sum() > 0
    assert not (tissue.process_masks.any(axis=0) == cells).all()


def test_vessels_vignetting_bleaching() -> None:
    kw = dict(n_frames=300, shape=(128, 128), n_cells=6, seed=8, **STILL)
    m = make_tissue_movie(**kw, vessels=2, vignetting=0.4, bleaching=0.3, drift=0.0)
    assert m.vessels.min() < 0.35
    centres = [tuple(int(round(c)) for c in regionprops(k.astype(np.uint8))[0].centroid)
               for k in m.masks]
    assert all(m.vessels[c] > 0.6 for c in centres), "no soma sits on a vessel"
    flat = make_tissue_movie(**kw, vessels=0, vignetting=0.0, bleaching=0.0, drift=0.0)
    assert (flat.vessels == 1).all()
    frames = m.movie.astype(np.float64)
    ratio = frames[-50:].mean() / frames[:50].mean()
    assert 0.6 < ratio < 0.8  # 30% lost by the end
    flat_ratio = flat.movie[-50:].mean() / flat.movie[:50].mean()
    assert 0.9 < flat_ratio < 1.1
    corner = np.r_[m.movie[:, :16, :16].ravel(), m.movie[:, -16:, -16:].ravel()].mean()
    flat_corner = np.r_[flat.movie[:, :16, :16].ravel(), flat.movie[:, -16:, -16:].ravel()].mean()
    assert corner / m.movie[:, 48:80, 48:80].mean() < flat_corner / flat.movie[:, 48:80, 48:80].mean()


def test_rigid_and_nonrigid_motion() -> None:
    m = make_tissue_movie(n_frames=200, shape=(96, 96), n_cells=4, max_shift=4.0,
                          nonrigid=1.5, seed=9)
    assert np.abs(m.shifts).max() <= 4.0 and m.shifts.std() > 0.1
    field = m.displacement(slice(0, 200, 20))
    spread = (field - field.mean(axis=(2, 3), keepdims=True))
    assert np.abs(spread).max() > 0.3, "the displacement varies across the field"
    still = make_tissue_movie(n_frames=20, shape=(96, 96), n_cells=4, seed=9, **STILL)
    assert not still.shifts.any() and still.warp_basis is None


def test_model_defaults_document_the_benchmark() -> None:
    model = TissueModel()
    assert model.n_cells == 140 and model.baseline == (1.0, 6.0)
    m = make_tissue_movie(n_frames=5, shape=(64, 64), n_cells=2, model=model, seed=1,
                          out_of_focus=0)
    assert m.model.out_of_focus == 0 and m.model.n_cells == 2
