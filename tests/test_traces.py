"""Traces (napari_photon.traces): fluorescence, neuropil and dF/F on small movies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_photon import rois, synthetic, traces
from napari_photon.evaluation import match_rois


@pytest.fixture(scope="module")
def small():
    return synthetic.make_movie(n_frames=300, shape=(128, 128), n_neurons=8, max_shift=0,
                                seed=1)


@pytest.fixture(scope="module")
def result(small):
    return traces.extract_all(small.movie, small.masks, frames_per_chunk=64)


def ground_truth_dff(truth: synthetic.SyntheticMovie) -> np.ndarray:
    """(F - F0) / F0 of the cell's own light at its footprint peak plus local background.

    ``.traces`` is resting brightness plus transients (never below rest), so F0 is the
    trace's minimum plus the background under the peak.
    """
    peaks = [np.unravel_index(np.argmax(f), f.shape) for f in truth.footprints]
    local = np.array([truth.background[p] for p in peaks])[:, None]
    rest = truth.traces.min(axis=1, keepdims=True)
    return (truth.traces - rest) / (rest + local)


def test_fluorescence_is_the_mask_mean(small, result):
    movie = small.movie.astype(np.float64)
    direct = np.stack([movie[:, m].mean(axis=1) for m in small.masks])
    np.testing.assert_allclose(result.fluorescence, direct, rtol=1e-5)
    np.testing.assert_allclose(traces.extract(small.movie, small.masks), direct, rtol=1e-5)
    rings = result.neuropil_masks
    direct_np = np.stack([movie[:, r].mean(axis=1) for r in rings])
    np.testing.assert_allclose(result.neuropil, direct_np, rtol=1e-5)
    assert result.fluorescence.dtype == np.float32
    assert result.dff.shape == result.baseline.shape == (8, 300)


def test_neuropil_annulus_excludes_all_rois(small, result):
    rings = result.neuropil_masks
    union = small.masks.any(axis=0)
    distance = ndimage.distance_transform_edt(~union)
    assert rings.shape == small.masks.shape
    assert not (rings & union).any()
    assert (distance[rings.any(axis=0)] > 2).all()  # 2 px gap from every ROI
    assert (rings.sum(axis=(1, 2)) >= 50).all()
    for mask, ring in zip(small.masks, rings):
        cy, cx = np.argwhere(mask).mean(axis=0)
        r = np.sqrt(mask.sum() / np.pi)
        ys, xs = np.nonzero(ring)
        assert np.hypot(ys - cy, xs - cx).max() <= 3 * r + 2 + 1e-6


def test_neuropil_grows_to_min_pixels():
    masks = np.zeros((2, 40, 40), bool)
    masks[0, 10:16, 10:16] = True
    masks[1, 20:40, 0:40] = True  # a big ROI eats most of the field
    rings = traces.neuropil_masks(masks, min_pixels=200)
    assert rings[0].sum() >= 200 and not (rings & masks.any(axis=0)).any()


def test_dff_correlates_with_ground_truth(small):
    found = rois.detect_rois(small.movie, traces=False)
    score = match_rois(small.masks, found.masks)
    truth_idx, found_idx = score["pairs"].T
    res = traces.extract_all(small.movie, found.masks[found_idx])
    gt = ground_truth_dff(small)[truth_idx]
    active = gt.std(axis=1) > 0
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(res.dff[active], gt[active])]
    assert np.mean(r) >= 0.95, r


def test_streaming_equals_in_memory(small):
    whole = traces.extract_all(small.movie, small.masks, frames_per_chunk=300)
    calls = []
    streamed = traces.extract_all(small.movie, small.masks, frames_per_chunk=17,
                                  progress=lambda d, t: calls.append((d, t)))
    for name in ("fluorescence", "neuropil", "dff", "baseline"):
        # bit for bit: the pipeline reads a stored movie in blocks of work smaller than its
        # shards, and a Trace row must not depend on how the frames were cut
        np.testing.assert_array_equal(getattr(streamed, name), getattr(whole, name),
                                      err_msg=name)
    assert calls[-1] == (300, 300) and len(calls) == 18


def test_dff_of_a_known_trace():
    t = np.arange(600, dtype=np.float32)
    f = np.full((1, 600), 20.0, np.float32)
    f[0, 300:] += 10 * np.exp(-(t[300:] - 300) / 30)
    neuropil = np.full((1, 600), 10.0, np.float32)
    dff, f0 = traces.delta_f_over_f(f, neuropil, neuropil_coefficient=0.7,
                                    baseline_window=200, baseline_sigma=2)
    np.testing.assert_allclose(f0, 13.0, rtol=2e-3)  # 20 - 0.7 * 10, up to the decay tail
    assert dff[0, :250] == pytest.approx(0, abs=1e-5)
    assert dff[0, 300] == pytest.approx(10 / 13, rel=5e-3)
    flat, _ = traces.delta_f_over_f(np.full((2, 50), 5.0), baseline_method="constant")
    assert np.all(flat == 0)


def test_dff_floor_keeps_division_finite():
    f = np.full((1, 100), 10.0, np.float32)
    neuropil = np.full((1, 100), 14.3, np.float32)  # Fc = 10 - 10.01 < 0
    dff, f0 = traces.delta_f_over_f(f, neuropil, floor=0.1)
    assert np.all(f0 == pytest.approx(1.0)) and np.all(np.isfinite(dff))


@pytest.mark.parametrize("method", ["maximin", "percentile", "constant"])
def test_baseline_methods(method):
    rng = np.random.default_rng(0)
    trace = 10 + rng.normal(0, 0.1, 900).astype(np.float32)
    trace[400:430] += 5
    base = traces.baseline(trace, method=method, window=300, sigma=3, percentile=10)
    assert base.shape == trace.shape
    assert np.all(np.abs(base - 10) < 0.3)
    with pytest.raises(ValueError):
        traces.baseline(trace, method="nope")


def test_trace_metrics(result):
    m = traces.trace_metrics(result)
    assert set(m) == {"snr", "skew", "noise", "dff_peak"}
    assert all(v.shape == (8,) for v in m.values())
    assert np.all(m["noise"] > 0) and np.all(np.isfinite(m["skew"]))


def test_empty_masks():
    movie = np.ones((10, 8, 8), np.uint16)
    res = traces.extract_all(movie, np.zeros((0, 8, 8), bool))
    assert res.fluorescence.shape == res.dff.shape == (0, 10)
    assert traces.trace_metrics(res)["snr"].shape == (0,)


def test_blocks_are_read_by_the_package_pool_and_no_more(monkeypatch):
    """With ``NAPARI_PHOTON_THREADS=3`` three blocks are read at once (a barrier of three
    only opens if they are), never more, and the result is the sequential one."""
    import threading

    from napari_photon._threads import THREADS_VARIABLE

    monkeypatch.setenv(THREADS_VARIABLE, "3")
    data = np.random.default_rng(0).poisson(3, size=(12, 8, 8)).astype(np.float32)
    barrier = threading.Barrier(3, timeout=30)
    lock = threading.Lock()
    state = {"running": 0, "most": 0}

    class Source:
        shape = data.shape

        def __len__(self) -> int:
            return len(data)

        def __getitem__(self, index):
            with lock:
                state["running"] += 1
                state["most"] = max(state["most"], state["running"])
            barrier.wait()
            with lock:
                state["running"] -= 1
            return data[index]

    masks = np.zeros((2, 8, 8), bool)
    masks[0, :3, :3] = masks[1, 4:, 4:] = True
    got = traces.extract(Source(), masks, frames_per_chunk=2)
    assert state["most"] == 3
    np.testing.assert_allclose(got, traces.extract(data, masks, frames_per_chunk=12),
                               rtol=1e-6)
