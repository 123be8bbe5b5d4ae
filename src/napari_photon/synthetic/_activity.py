"""Calcium activity: spike trains and the calcium response of each source over time
(resting brightness plus spikes convolved with a rise/decay kernel)."""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def calcium_traces(rng: np.random.Generator, n_frames: int, frame_rate: float,
                   local_baseline: np.ndarray) -> np.ndarray:
    """Resting brightness plus spikes convolved with a rise/decay calcium kernel."""
    n = local_baseline.size
    rate_hz = rng.uniform(0.05, 0.5, n)
    spikes = rng.poisson((rate_hz / frame_rate)[:, None], (n, n_frames)).astype(np.float32)
    t = np.arange(int(math.ceil(5.0 * frame_rate)) + 1) / frame_rate
    out = np.empty((n, n_frames), np.float32)
    for i, decay in enumerate(rng.uniform(0.5, 1.0, n)):
        kernel = np.exp(-t / decay) - np.exp(-t / 0.05)
        out[i] = signal.fftconvolve(spikes[i], kernel / kernel.max())[:n_frames]
    np.maximum(out, 0.0, out=out)  # fftconvolve leaves tiny negative round-off
    resting = rng.uniform(0.2, 0.5, n) * local_baseline
    amplitude = rng.uniform(0.5, 2.0, n) * (local_baseline + resting)  # dF/F per spike
    return (resting[:, None] + amplitude[:, None] * out).astype(np.float32)


def spike_trains(rng: np.random.Generator, rates_hz: np.ndarray, n_frames: int,
                 frame_rate: float) -> np.ndarray:
    """Poisson spike counts per frame, float32 ``(n, t)``, at ``rates_hz`` (n,)."""
    rates = np.asarray(rates_hz, np.float64)
    return rng.poisson((rates / frame_rate)[:, None], (rates.size, n_frames)).astype(np.float32)


def calcium_response(spikes: np.ndarray, frame_rate: float, decay_s: np.ndarray,
                     rise_s: float = 0.05) -> np.ndarray:
    """Spikes convolved with a rise/decay kernel of peak 1 per spike, float32 ``(n, t)``."""
    n, n_frames = spikes.shape
    out = np.zeros((n, n_frames), np.float32)
    for i, decay in enumerate(np.broadcast_to(np.asarray(decay_s, float), (n,))):
        if not spikes[i].any():
            continue
        t = np.arange(int(math.ceil(5.0 * decay * frame_rate)) + 2) / frame_rate
        kernel = np.exp(-t / decay) - np.exp(-t / rise_s)
        out[i] = signal.fftconvolve(spikes[i], kernel / kernel.max())[:n_frames]
    return np.maximum(out, 0.0, out=out)
