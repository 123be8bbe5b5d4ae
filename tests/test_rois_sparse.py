"""The sparse method of ROI detection (napari_photon.rois._sparse, _kinds, _sparse_method):
each piece on small movies, and the whole on a small realistic-tissue movie."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_photon import rois, synthetic
from napari_photon.evaluation import match_rois
from napari_photon.rois._kinds import KINDS, classify, footprint_edge
from napari_photon.rois._sparse import binned_highpass, sparse_rois


def _disk(shape, y, x, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - y) ** 2 + (xx - x) ** 2 <= r * r).astype(np.float32)


def _transients(rng, n_frames, times, decay=15.0):
    c = np.zeros(n_frames)
    for t0 in times:
        c[t0:] += np.exp(-np.arange(n_frames - t0) / decay)
    return c


def test_binned_highpass_takes_out_smooth_light_and_bleaching():
    rng = np.random.default_rng(0)
    n = 400
    yy, xx = np.mgrid[:64, :64]
    smooth = np.exp(-((yy - 20) ** 2 + (xx - 40) ** 2) / (2 * 25.0**2))
    wave = 1 + 0.5 * np.sin(np.arange(n) / 15.0)  # an active, smooth neuropil field
    bleach = np.linspace(1.0, 0.7, n)
    rate = (5 + 10 * smooth[None] * wave[:, None, None]) * bleach[:, None, None]
    movie = rng.poisson(rate).astype(np.float32)
    out = binned_highpass(movie, 64, 10, 8.0, 10)
    assert out.shape == (40, 64, 64) and out.dtype == np.float32
    raw = movie[: 400].reshape(40, 10, 64, 64).mean(axis=1)
    inner = (slice(None), slice(16, 48), slice(16, 48))
    assert out[inner].std() < 0.35 * raw[inner].std()
    assert abs(float(out.mean())) < 0.05
    with pytest.raises(ValueError, match="at least 3 bins"):
        binned_highpass(movie[:20], 64, 10, 8.0, 10)


def test_overlapping_cells_are_separated():
    """Two cells sharing ~20% of their area, firing at different times: two ROIs."""
    rng = np.random.default_rng(1)
    n, shape = 1200, (64, 64)
    a, b = _disk(shape, 30, 26, 6), _disk(shape, 30, 34.5, 6)
    shared = (a * b).sum() / a.sum()
    assert 0.1 < shared < 0.3
    ca = _transients(rng, n, [100, 400, 700, 1000])
    cb = _transients(rng, n, [250, 550, 850, 1100])
    rate = 4 + 1.0 * (a + b)[None] + 6 * (ca[:, None, None] * a + cb[:, None, None] * b)
    movie = rng.poisson(rate).astype(np.uint16)
    found = rois.detect_rois(movie, traces=False, anatomical=False)
    truth = np.stack([a > 0, b > 0])
    score = match_rois(truth, found.masks)
    assert score["tp"] == 2, score
    assert found.masks.shape[0] == 2
    assert (found.metrics["overlap"] > 0.05).all(), "their masks share pixels"


def test_donut_cell_is_one_roi_with_its_nucleus():
    rng = np.random.default_rng(2)
    n, shape = 900, (64, 64)
    cell = _disk(shape, 32, 32, 7)
    nucleus = _disk(shape, 32, 32, 4)
    ring = cell - 0.9 * nucleus
    calcium = _transients(rng, n, [80, 300, 520, 760])
    movie = rng.poisson(3 + ring[None] * (1 + 5 * calcium[:, None, None])).astype(np.uint16)
    found = rois.detect_rois(movie, traces=False)
    assert len(found) == 1
    assert found.masks[0, 32, 32], "the nucleus is inside the ROI"
    assert match_rois(cell[None] > 0, found.masks)["mean_iou"] > 0.7


def test_classify_kinds():
    shape = (96, 96)
    masks, footprints = [], []
    for i, (y, x) in enumerate([(15, 15), (15, 45), (15, 75), (45, 15), (45, 45)]):
        disk = _disk(shape, y, x, 6)
        masks.append(disk > 0)
        footprints.append(disk)  # sharp somata
    blob = ndimage.gaussian_filter(_disk(shape, 75, 75, 6), 4.0)
    blob /= blob.max()
    masks.append(blob > 0.25)
    footprints.append(blob)  # out of focus
    line = np.zeros(shape, np.float32)
    line[70, 5:50] = 1
    line = ndimage.gaussian_filter(line, 1.0)
    line /= line.max()
    masks.append(line > 0.25)
    footprints.append(line)  # a process
    kinds, metrics = classify(np.stack(masks), np.stack(footprints))
    names = [KINDS[k] for k in kinds]
    assert names == ["soma"] * 5 + ["out of focus", "process"]
    assert metrics["edge"][5] > 2 * np.median(metrics["edge"][:5])
    # a halo left over from subtracting a cell is no soma
    halo = np.stack([masks[0]]), np.stack([footprints[0] - 0.5 * (ndimage.binary_dilation(
        masks[0], iterations=3) & ~masks[0])])
    assert footprint_edge(*halo)[0] < -0.2


def test_sparse_rois_on_empty_movie_finds_nothing():
    rng = np.random.default_rng(3)
    movie = binned_highpass(rng.poisson(5.0, (500, 64, 64)).astype(np.float32), 100, 10,
                            12.0, 30)
    masks, seeds, scores, _ = sparse_rois(movie, score_threshold=0.35)
    assert masks.shape == (0, 64, 64) and seeds.shape == (0, 2) and scores.shape == (0,)


@pytest.fixture(scope="module")
def tissue():
    return synthetic.make_tissue_movie(
        n_frames=900, shape=(128, 128), seed=synthetic.TUNING_SEEDS[0], n_cells=16,
        out_of_focus=6, processes=7, neuropil_sources=5, max_shift=0.0, nonrigid=0.0)


def test_tissue_movie_sparse_beats_correlation_and_leaves_decoys_out(tissue):
    """On a small realistic-tissue movie: better than the activity method, and the
    ROIs left out as processes or out-of-focus lie on those decoys."""
    movie = tissue.movie
    sparse = rois.detect_rois(movie, traces=False)
    activity = rois.detect_rois(movie, method="activity", traces=False)
    s = match_rois(tissue.masks, sparse.masks)
    a = match_rois(tissue.masks, activity.masks)
    assert s["f1"] >= 0.6 and s["f1"] > a["f1"] + 0.15, (s, a)
    everything = rois.detect_rois(movie, traces=False, somata_only=False)
    kinds = everything.metrics["kind"]
    assert set(np.unique(kinds)) <= set(range(len(KINDS)))
    assert len(everything) > len(sparse)
    decoys = np.concatenate([tissue.process_masks, tissue.out_of_focus_masks]).any(axis=0)
    left_out = everything.masks[kinds != KINDS.index("soma")]
    on_decoy = (left_out & decoys).sum(axis=(1, 2)) / left_out.sum(axis=(1, 2))
    on_cells = (left_out & tissue.masks.any(axis=0)).sum(axis=(1, 2)) / left_out.sum(axis=(1, 2))
    assert (on_decoy > on_cells).mean() >= 0.5


def test_sparse_metrics_and_params(tissue):
    found = rois.detect_rois(tissue.movie[:600], traces=False, score_threshold=0.5)
    m = found.metrics
    assert {"kind", "edge", "overlap", "activity_score", "anatomical"} <= set(m)
    assert ((m["overlap"] >= 0) & (m["overlap"] <= 1)).all()
    assert (m["kind"] == 0).all()  # somata only by default
    active = ~m["anatomical"]
    assert (m["activity_score"][active] >= 0.5).all() and (m["activity_score"][~active] == 0).all()
    assert found.params["score_threshold"] == 0.5 and found.params["method_used"] == "sparse"


@pytest.mark.parametrize("radius", [0.8, 3.5, 6.0])
def test_the_smoothed_series_at_one_pixel_is_the_smoothed_window_there(radius):
    """``_Scorer.smoothed_at`` (a weighted sum) equals smoothing the whole window and
    reading one pixel, at the image's edges and corners too."""
    import math

    from napari_photon.rois._sparse import _Scorer

    rng = np.random.default_rng(0)
    movie = rng.normal(size=(30, 50, 60)).astype(np.float32)
    noise = np.abs(rng.normal(1, 0.1, size=(50, 60))).astype(np.float32)
    scorer = _Scorer(movie, noise, max(0.5, radius / 2), 3.0)
    reach = math.ceil(2.5 * radius)
    for at in [(0, 0), (49, 59), (25, 30), (2, 57), (48, 1)]:
        window = (slice(max(0, at[0] - reach), min(50, at[0] + reach + 1)),
                  slice(max(0, at[1] - reach), min(60, at[1] + reach + 1)))
        inside = (at[0] - window[0].start, at[1] - window[1].start)
        np.testing.assert_allclose(scorer.smoothed_at(window, inside),
                                   scorer.smoothed(window)[:, inside[0], inside[1]],
                                   rtol=1e-5, atol=1e-6)


def test_the_binned_movie_is_the_same_whatever_the_threads_and_blocks(monkeypatch):
    movie = synthetic.make_movie(n_frames=400, shape=(96, 96), n_neurons=4, seed=5).movie
    results = []
    for threads, frames_per_chunk in ((1, 400), (1, 30), (3, 30), (2, 57)):
        monkeypatch.setenv("NAPARI_PHOTON_THREADS", str(threads))
        calls = []
        record = calls.append
        results.append(binned_highpass(movie, frames_per_chunk, 10, 12.0, 30,
                                       progress=lambda d, t, record=record: record((d, t))))
        assert calls[-1] == (400, 400)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)  # in frame order
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])  # bit for bit
