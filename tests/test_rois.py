"""ROI detection (napari_photon.rois): small synthetic movies, fast enough for CI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_photon import rois, synthetic
from napari_photon.evaluation import match_rois
from napari_photon.storage import open_movie, save_movie, write_options


@pytest.fixture(scope="module")
def small():
    """300 frames of 128 x 128, 8 cells, no motion."""
    return synthetic.make_movie(n_frames=300, shape=(128, 128), n_neurons=8, max_shift=0,
                                seed=1)


@pytest.fixture(scope="module")
def dense():
    """The hard variant's density and dimness (150 cells per 512 x 512, 2-8 photons)."""
    return synthetic.make_movie(n_frames=400, shape=(160, 160), n_neurons=15,
                                baseline=(2.0, 8.0), max_shift=0, seed=2)


@pytest.fixture(scope="module")
def found(small):
    return rois.detect_rois(small.movie)


def test_masks_found_on_small_movie(small, found):
    score = match_rois(small.masks, found.masks)
    assert found.masks.shape[1:] == small.masks.shape[1:] and found.masks.dtype == bool
    assert score["f1"] >= 0.9, score
    assert score["mean_iou"] >= 0.8


def test_dense_dim_movie(dense):
    result = rois.detect_rois(dense.movie, traces=False)
    score = match_rois(dense.masks, result.masks)
    assert score["f1"] >= 0.9, score


def test_metrics_shapes_and_ranges(found):
    n = len(found)
    m = found.metrics
    expected = {"area", "centroid_y", "centroid_x", "radius", "compactness", "eccentricity",
                "solidity", "touches_border", "correlation", "peak_correlation", "activity",
                "brightness", "contrast", "anatomical", "seed_y", "seed_x", "snr", "skew",
                "noise", "dff_peak"}
    assert expected <= set(m)
    assert all(len(v) == n for v in m.values())
    assert np.all((m["area"] >= 30) & (m["area"] <= 500))
    assert np.all((m["compactness"] > 0.5) & (m["compactness"] <= 1))
    assert np.all((m["correlation"] >= -1) & (m["correlation"] <= m["peak_correlation"]))
    assert np.all(m["peak_correlation"] <= 1)
    assert np.all(m["activity"] > 0) and np.all(m["brightness"] > 0)
    assert np.all(np.isfinite(m["skew"])) and np.median(m["snr"]) > 3
    # each seed lies inside its own mask
    assert all(found.masks[i, m["seed_y"][i], m["seed_x"][i]] for i in range(n))
    table = found.table()
    assert table.shape == (n,) and set(table.dtype.names) == set(m)


def test_params_are_json(found):
    params = json.loads(json.dumps(found.params))
    assert params["method"] == "auto" and params["min_area"] == 30
    assert params["method_used"] == "activity"  # 300 frames: too short for sparse
    assert params["radius"] == 6.0 and params["somata_only"] is True


def test_summary_images_streaming_equals_in_memory(small):
    movie = small.movie[:120]
    whole = rois.summary_images(movie, frames_per_chunk=len(movie), bin_frames=3)
    streamed = rois.summary_images(movie, frames_per_chunk=7, bin_frames=3)
    for name in ("mean", "max", "std", "correlation", "activity"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(whole, name),
                                   rtol=1e-4, atol=1e-4, err_msg=name)
    assert streamed.n_frames == 120 and streamed.bin_frames == 3
    np.testing.assert_allclose(whole.mean, movie.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(whole.max, movie.max(axis=0))


def test_progress_reaches_total(small):
    calls = []
    rois.detect_rois(small.movie[:100], frames_per_chunk=32,
                     progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert calls[-1] == (200, 200)  # two passes: summary images, then traces
    assert done == sorted(done) and len(calls) == 8
    calls.clear()
    rois.detect_rois(small.movie[:100], method="sparse", frames_per_chunk=32,
                     progress=lambda done, total: calls.append((done, total)))
    # three passes of 4 blocks: summary images, the binned movie, then traces
    assert calls[-1] == (300, 300) and len(calls) == 12


def test_a_stored_movie_is_worked_on_in_blocks_smaller_than_its_shards(small, tmp_path):
    """One shard of 200 frames is four blocks of work per pass (threads share them), and
    the masks are those found reading the shard whole."""
    path = tmp_path / "one_shard.zarr"
    with write_options(chunk_budget=200 * 4 * 128 * 128):
        save_movie(path, small.movie[:200])
    stored = open_movie(path)
    assert stored.frames_per_chunk == 200
    calls = []
    by_blocks = rois.detect_rois(stored, method="activity",
                                 progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (400, 400) and len(calls) == 8  # two passes of 4 blocks of 50
    whole = rois.detect_rois(stored, method="activity", frames_per_chunk=200)
    np.testing.assert_array_equal(by_blocks.masks, whole.masks)
    np.testing.assert_array_equal(by_blocks.metrics["snr"], whole.metrics["snr"])


def test_photon_movie_input(small, found, tmp_path):
    from napari_photon.storage import save_movie

    stored = save_movie(tmp_path / "m.zarr", small.movie)
    result = rois.detect_rois(stored)
    assert match_rois(small.masks, result.masks)["f1"] >= 0.9
    assert match_rois(found.masks, result.masks)["f1"] >= 0.9


def test_stabilized_units(small):
    counts = small.movie[:150].astype(np.float32)
    stabilized = 2 * np.sqrt(counts + 0.375)
    a = rois.summary_images(counts)
    b = rois.summary_images(stabilized, units="stabilized")
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-4, atol=1e-4)


def test_anatomical_path_finds_still_cell():
    """One cell never fires, one does: the activity path needs the mean image for it."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :96]
    still = np.exp(-((yy - 30) ** 2 + (xx - 30) ** 2) / 30.0)
    active = np.exp(-((yy - 65) ** 2 + (xx - 62) ** 2) / 30.0)
    n = 300
    calcium = np.zeros(n)
    for t0 in (40, 130, 220):
        calcium[t0:] += np.exp(-np.arange(n - t0) / 20.0)
    rate = 10 + 5 * still[None] + 20 * calcium[:, None, None] * active[None]
    movie = rng.poisson(rate).astype(np.uint16)
    truth = np.stack([still > 0.25, active > 0.25])

    no_anatomy = rois.detect_rois(movie, anatomical=False, traces=False)
    assert match_rois(truth[1:], no_anatomy.masks)["f1"] == 1.0
    assert not no_anatomy.masks[:, 30, 30].any()

    both = rois.detect_rois(movie, traces=False)
    score = match_rois(truth, both.masks)
    assert score["f1"] == 1.0, score
    still_roi = both.masks[:, 30, 30].argmax()
    assert both.metrics["anatomical"][still_roi]
    assert not both.metrics["anatomical"][both.masks[:, 65, 62].argmax()]

    anatomical_only = rois.detect_rois(movie, method="anatomical", traces=False)
    assert anatomical_only.masks[:, 30, 30].any()


def test_border_is_left_out(small):
    result = rois.detect_rois(small.movie, border=40, traces=False)
    assert len(result) >= 1
    assert not result.masks[:, :40].any() and not result.masks[:, -40:].any()
    assert not result.masks[:, :, :40].any() and not result.masks[:, :, -40:].any()


def test_correlation_method_and_legacy_detect(small):
    images = rois.summary_images(small.movie)
    masks = rois.detect(images, min_area=30, max_area=500)
    assert masks.ndim == 3 and masks.shape[1:] == (128, 128) and len(masks) >= 4
    result = rois.detect_rois(method="correlation", images=images, traces=False)
    assert len(result) == len(masks) and len(result.metrics["area"]) == len(masks)


def test_precomputed_images_and_no_movie(small):
    images = rois.summary_images(small.movie)
    result = rois.detect_rois(method="activity", images=images, traces=False)
    assert match_rois(small.masks, result.masks)["f1"] >= 0.9
    with pytest.raises(ValueError, match="method must be one of"):
        rois.detect_rois(method="nope", images=images)
    with pytest.raises(ValueError, match="sparse method needs the movie"):
        rois.detect_rois(images=images, method="sparse", traces=False)


def test_empty_movie_finds_nothing():
    movie = np.random.default_rng(1).poisson(5.0, (100, 64, 64)).astype(np.uint16)
    result = rois.detect_rois(movie)
    assert len(result) <= 1  # noise alone
    assert result.masks.shape[1:] == (64, 64)


@pytest.mark.parametrize("bin_frames", [1, 3])
def test_summary_images_do_not_depend_on_the_threads(small, monkeypatch, bin_frames):
    movie = small.movie[:150]
    images = []
    for threads in (1, 3):
        monkeypatch.setenv("NAPARI_PHOTON_THREADS", str(threads))
        calls = []
        record = calls.append
        images.append(rois.summary_images(movie, frames_per_chunk=20, bin_frames=bin_frames,
                                          progress=lambda d, t, record=record: record((d, t))))
        assert calls[-1] == (150, 150) and len(calls) == 8  # blocks of 20 frames
    for name in ("mean", "max", "std", "correlation", "activity"):
        np.testing.assert_array_equal(getattr(images[1], name), getattr(images[0], name),
                                      err_msg=name)
