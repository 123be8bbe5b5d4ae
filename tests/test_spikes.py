"""Tests for napari_photon.spikes: OASIS deconvolution scored against known spikes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_photon import spikes

RATE = 30.0
DECAY = 0.8
RISE = 0.05


def _calcium(seed: int, noise: float, n: int = 4, t: int = 3000, rise: float = RISE):
    """Poisson spikes (0.5 Hz), calcium rising in 50 ms and decaying in 0.8 s (0.3 dF/F a
    spike at its peak), Gaussian noise."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.5 / RATE, (n, t)).astype(np.float64)
    time = np.arange(int(6 * DECAY * RATE)) / RATE
    kernel = np.exp(-time / DECAY) - (np.exp(-time / rise) if rise else 0.0)
    kernel /= kernel.max()
    calcium = 0.3 * np.stack([np.convolve(c, kernel)[:t] for c in counts])
    return counts, calcium + rng.normal(0, noise, calcium.shape)


@pytest.fixture(scope="module")
def clean():
    counts, traces = _calcium(0, 0.05)
    return counts, traces, spikes.deconvolve_traces(traces, RATE)


def test_events_follow_the_true_spikes(clean) -> None:
    counts, traces, found = clean
    assert found.events.shape == traces.shape and found.events.dtype == np.float32
    assert (found.events >= 0).all()
    r = spikes.spike_correlation(found.events, counts, RATE, bin_s=0.1)
    assert r.shape == (4,) and np.all(r > 0.7)
    shuffled = np.random.default_rng(1).permutation(counts.T).T
    assert np.all(np.abs(spikes.spike_correlation(found.events, shuffled, RATE)) < 0.2)
    # the fitted calcium follows the trace, within its noise
    assert np.std(found.denoised - traces, axis=1).max() < 0.08
    np.testing.assert_allclose(found.noise, 0.05, rtol=0.25)


def test_events_are_moved_back_by_the_rise_time(clean) -> None:
    counts, traces, found = clean
    assert found.params["lag_frames"] == 2  # 0.05 s at 30 Hz
    unmoved = spikes.deconvolve_traces(traces, RATE, rise_s=0.0)
    assert unmoved.params["lag_frames"] == 0
    np.testing.assert_array_equal(found.events[:, :-2], unmoved.events[:, 2:])
    assert not found.events[:, -2:].any()
    moved_r = spikes.spike_correlation(found.events, counts, RATE)
    assert np.all(moved_r > spikes.spike_correlation(unmoved.events, counts, RATE) + 0.1)


def test_decay_estimated_or_given() -> None:
    _, traces = _calcium(3, 0.05, rise=0.0)
    refitted = spikes.deconvolve_traces(traces, RATE, optimize_g=5)
    assert np.median(refitted.decay_s) == pytest.approx(DECAY, rel=0.2)
    first = spikes.deconvolve_traces(traces, RATE)  # the autocovariance estimate runs short
    assert 0.4 * DECAY < np.median(first.decay_s) < np.median(refitted.decay_s)
    given = spikes.deconvolve_traces(traces[:1], RATE, decay_s=DECAY)
    assert given.params["decay_s"] == DECAY and given.decay_s[0] == pytest.approx(DECAY)


def test_noisier_traces_score_lower(clean) -> None:
    counts, _, found = clean
    _, noisy = _calcium(0, 0.2)
    worse = spikes.deconvolve_traces(noisy, RATE)
    assert np.median(spikes.spike_correlation(worse.events, counts, RATE)) < np.median(
        spikes.spike_correlation(found.events, counts, RATE))


def test_one_trace_constant_rows_and_progress() -> None:
    _, traces = _calcium(2, 0.05, n=1, t=600)
    assert spikes.deconvolve_traces(traces[0], RATE).events.shape == (1, 600)
    calls = []
    rows = np.vstack([np.full(600, 2.0), traces[0]])
    found = spikes.deconvolve_traces(rows, RATE, progress=lambda d, t: calls.append((d, t)))
    assert not found.events[0].any() and found.events[1].any()
    assert calls == [(1, 2), (2, 2)]
    assert spikes.deconvolve_traces(np.zeros((0, 50)), RATE).events.shape == (0, 50)


@pytest.mark.parametrize(
    "traces, rate, kwargs, message",
    [
        (np.vstack([np.ones(10), [np.nan] * 10]), RATE, {}, r"rows \[1\]"),
        (np.ones((1, 10)), 0.0, {}, "frame_rate"),
        (np.ones((1, 10)), RATE, {"decay_s": -1.0}, "decay_s"),
        (np.ones((1, 10)), RATE, {"rise_s": -0.1}, "rise_s"),
        (np.ones((1, 2, 10)), RATE, {}, "shape"),
    ],
)
def test_bad_input_is_named(traces, rate, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        spikes.deconvolve_traces(traces, rate, **kwargs)


def test_bins_sum_events_in_time() -> None:
    events = np.arange(10, dtype=float)[None]
    # 20 Hz, 0.1 s bins: two frames a bin
    np.testing.assert_array_equal(spikes.bin_events(events, 20.0, 0.1), [[1, 5, 9, 13, 17]])
    # 30 Hz, 0.1 s: three frames a bin, the last bin partial
    np.testing.assert_array_equal(spikes.bin_events(events, 30.0, 0.1), [[3, 12, 21, 9]])
    with pytest.raises(ValueError, match="positive"):
        spikes.bin_events(events, 30.0, 0.0)


def test_correlation_shapes_must_match() -> None:
    with pytest.raises(ValueError, match=r"\(1, 10\).*\(1, 9\)"):
        spikes.spike_correlation(np.ones((1, 10)), np.ones((1, 9)), RATE)
    assert np.isnan(spikes.spike_correlation(np.ones((1, 30)), np.ones((1, 30)), RATE)[0])


def test_instant_rise_scores_high_without_the_shift() -> None:
    # calcium with no rise (pure exponential): rise_s=0 is the matching model
    counts, traces = _calcium(0, 0.05, rise=0.0)
    r = spikes.spike_correlation(spikes.deconvolve_traces(traces, RATE, rise_s=0.0).events,
                                 counts, RATE)
    assert np.all(r > 0.9)
    _, noisy = _calcium(0, 0.2, rise=0.0)
    low = spikes.spike_correlation(spikes.deconvolve_traces(noisy, RATE, rise_s=0.0).events,
                                   counts, RATE)
    assert np.all(low < r)


def test_failed_decay_estimate_falls_back() -> None:
    # OASIS's AR estimate raises LinAlgError on a 4-frame trace
    found = spikes.deconvolve_traces(np.random.default_rng(0).normal(0, 1, 4), RATE)
    assert found.params["fallback_rows"] == [0]
    assert found.decay_s[0] == pytest.approx(spikes.FALLBACK_DECAY_S)
