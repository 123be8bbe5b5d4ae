"""Tests for napari_photon.motion: rigid and piecewise registration, small and fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import fft, ndimage

from napari_photon import motion
from napari_photon.anscombe import generalized_anscombe
from napari_photon.motion import _fourier as F
from napari_photon.synthetic import make_movie

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def stabilized(synth) -> np.ndarray:
    return generalized_anscombe(synth.movie)


def rigid_error(shifts: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """RMS (over frames and both axes) and max |error| of shifts against ``-truth``, after
    removing the constant offset of the reference."""
    err = shifts + truth
    err = err - err.mean(axis=0)
    return float(np.sqrt(np.mean(err**2))), float(np.abs(err).max())


@pytest.fixture(scope="module")
def small():
    synth = make_movie(n_frames=80, shape=(128, 128), n_neurons=20, baseline=(20.0, 100.0),
                       max_shift=4.0, seed=3)
    return synth, stabilized(synth)


@pytest.fixture(scope="module")
def small_estimate(small):
    return motion.estimate_motion(small[1], frames_per_chunk=16)


def periodic_shift(image: np.ndarray, d) -> np.ndarray:
    """``image`` moved by ``d`` (exact band-limited circular shift)."""
    h, w = image.shape
    spec = fft.rfft2(image.astype(np.float64)) * F.phase_ramp(h, w, np.asarray(d, float))
    return fft.irfft2(spec, s=(h, w)).astype(np.float32)


def texture(shape=(96, 96), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndimage.gaussian_filter(rng.standard_normal(shape), 2.0) * 20 + 30).astype(
        np.float32)


# -- rigid ---------------------------------------------------------------------------------
def test_known_rigid_shifts_recovered_subpixel(small, small_estimate):
    synth, _ = small
    rms, worst = rigid_error(small_estimate.shifts, synth.shifts)
    assert rms < 0.08, rms
    assert worst < 0.3, worst
    assert small_estimate.shifts.shape == (80, 2)
    assert small_estimate.shifts.dtype == np.float32


def test_sign_convention_is_skimage_shift_to_apply():
    """A frame showing the reference moved by d gets shift -d (as skimage's
    phase_cross_correlation), and applying it restores the reference."""
    ref = texture()
    d = np.array([[2.3, -1.6], [-3.7, 0.4], [0.0, 0.0]])
    frames = np.stack([periodic_shift(ref, di) for di in d])
    est = motion.estimate_motion(frames, reference=ref, max_shift=8, binning=1, highpass=0)
    np.testing.assert_allclose(est.shifts, -d, atol=0.02)
    corrected = motion.CorrectedMovie(frames, est)[:]
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(corrected[inner] - ref[inner[1:]]).max() < 0.05 * np.ptp(ref)
    from skimage.registration import phase_cross_correlation

    sk, _, _ = phase_cross_correlation(ref, frames[0], upsample_factor=20)
    np.testing.assert_allclose(est.shifts[0], sk, atol=0.1)


def test_no_wrap_around_at_borders():
    """Content pushed out at one border does not come back in at the other one."""
    frame = np.full((64, 64), 10.0, np.float32)
    yy, xx = np.mgrid[:64, :64]
    frame += 200.0 * np.exp(-((yy - 60.0) ** 2 + (xx - 20.0) ** 2) / 4.0)  # blob at bottom
    frame += 150.0 * np.exp(-((yy - 30.0) ** 2 + (xx - 61.0) ** 2) / 4.0)  # blob at right
    for shift in ([6.3, 0.0], [0.0, 5.6], [6.0, 5.0], [-0.4, 7.2]):
        out = F.shift_frames(frame[None], np.array([shift]))[0]
        dy, dx = shift
        if dy > 0:  # rows entering at the top: no trace of the bottom blob
            assert out[: int(np.ceil(dy)) + 1].max() < 15.0, shift
        if dx > 0:  # columns entering at the left: no trace of the right blob
            assert out[:, : int(np.ceil(dx)) + 1].max() < 15.0, shift
        # and the blobs moved where they should (inside the frame)
        if dy == 0 and dx > 0:
            assert out[60, 20 + round(dx)] > 150
    # whole-pixel shifts copy exactly, with the nearest edge repeated
    out = F.shift_frames(frame[None], np.array([[0.0, 3.0]]))[0]
    np.testing.assert_array_equal(out[:, 3:], frame[:, :-3])
    np.testing.assert_array_equal(out[:, :3], np.repeat(frame[:, :1], 3, axis=1))


def test_fourier_shift_keeps_unit_noise():
    noise = np.random.default_rng(0).standard_normal((8, 128, 128)).astype(np.float32)
    out = F.shift_frames(noise, np.full((8, 2), 0.5))
    assert out[:, 4:-4, 4:-4].std() == pytest.approx(1.0, abs=0.02)


def test_hard_jumps_recovered():
    synth = make_movie(n_frames=60, shape=(160, 160), n_neurons=35, baseline=(2.0, 8.0),
                       max_shift=10.0, jump_rate=2.0, jump_size=0.6, seed=5)
    assert np.abs(np.diff(synth.shifts, axis=0)).max() > 2.0  # it does jump
    est = motion.estimate_motion(stabilized(synth))
    rms, worst = rigid_error(est.shifts, synth.shifts)
    assert rms < 0.2 and worst < 0.6, (rms, worst)


# -- piecewise -------------------------------------------------------------------------------
def field_error(est, synth, margin: int = 8, step: int = 4) -> float:
    """RMS (per axis) of the estimated displacement field against the ground truth, in
    reference coordinates (truth evaluated where the content really is), after removing
    each location's mean error over time (the reference's own position and warp)."""
    h, w = synth.movie.shape[1:]
    qy, qx = np.mgrid[margin:h - margin:step, margin:w - margin:step].astype(float)
    truth = synth.displacement()  # (t, 2, h, w), at frame pixels
    out = []
    est_field = est.field()[:, :, margin:h - margin:step, margin:w - margin:step]
    for t in range(len(truth)):
        d = np.stack([truth[t, a][qy.astype(int), qx.astype(int)] for a in range(2)])
        for _ in range(3):  # D_ref(q) = D(q + D_ref(q))
            coords = [qy + d[0], qx + d[1]]
            d = np.stack([ndimage.map_coordinates(truth[t, a], coords, order=1,
                                                  mode="nearest") for a in range(2)])
        out.append(-est_field[t] - d)
    err = np.array(out)
    err -= err.mean(axis=0)
    return float(np.sqrt(np.mean(err**2)))


@pytest.fixture(scope="module")
def warped():
    synth = make_movie(n_frames=60, shape=(256, 256), n_neurons=60, max_shift=3.0,
                       nonrigid=3.0, seed=11)
    return synth, stabilized(synth)


def test_piecewise_beats_rigid_on_a_warped_movie(warped):
    synth, movie = warped
    rigid = motion.estimate_motion(movie, method="rigid")
    piece = motion.estimate_motion(movie, method="piecewise", tile_size=96, tile_overlap=64)
    assert piece.tile_shifts.shape == (60, 6, 6, 2)
    assert piece.tile_centers[0].shape == (6,)
    e_rigid, e_piece = field_error(rigid, synth), field_error(piece, synth)
    # 60 small frames: about 2x here (the benchmark's 512x512 movie shows >= 3x)
    assert e_piece < 0.6 * e_rigid, (e_rigid, e_piece)
    corrected = motion.CorrectedMovie(movie, piece)
    out = corrected[:]
    assert out.shape == movie.shape and np.isfinite(out).all()
    assert np.nanmean(corrected.correlation_after) > np.mean(piece.correlation_before)


def test_displacement_ground_truth(warped):
    synth, _ = warped
    d = synth.displacement([0, 5])
    assert d.shape == (2, 2, 256, 256)
    warp = d - synth.shifts[[0, 5], :, None, None]
    assert 0.2 < np.abs(synth.displacement() - synth.shifts[:, :, None, None]).max() <= 3.05
    assert warp.std(axis=(2, 3)).max() > 0.05  # varies across the field


# -- QC, chunking, parallel paths, progress ---------------------------------------------------
def test_qc_fields(small, small_estimate):
    _, movie = small
    est = small_estimate
    corrected = motion.CorrectedMovie(movie, est)
    assert est.correlation_before.shape == (80,)
    assert np.all((est.correlation_before > 0) & (est.correlation_before <= 1))
    with pytest.raises(RuntimeError, match="every frame"):
        _ = corrected.mean_image
    corrected[0:30]
    corrected[20:50]  # overlapping reads count each frame once
    assert corrected.frames_read == 50 and not corrected.complete
    corrected[50:80]
    assert corrected.complete
    after = corrected.correlation_after
    assert np.isfinite(after).all()
    assert after.mean() > est.correlation_before.mean()
    mean, peak = corrected.mean_image, corrected.max_image
    assert mean.shape == peak.shape == (128, 128)
    assert np.all(peak >= mean - 1e-4)
    out = np.concatenate([corrected[a:a + 40] for a in (0, 40)])
    np.testing.assert_allclose(mean, out.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(peak, out.max(axis=0), rtol=1e-5)
    assert np.corrcoef(mean[8:-8, 8:-8].ravel(), est.reference[8:-8, 8:-8].ravel())[0, 1] > 0.9
    qc = corrected.qc()
    assert set(qc) == {"correlation_before", "correlation_after", "mean_image", "max_image"}


def test_chunk_size_invariance(small, small_estimate):
    _, movie = small
    # bit for bit: a preview and a populate read the movie in different blocks, and the
    # stored result must not depend on it
    other = motion.estimate_motion(movie, frames_per_chunk=33, workers=1)
    np.testing.assert_array_equal(other.shifts, small_estimate.shifts)
    np.testing.assert_array_equal(other.correlation_before, small_estimate.correlation_before)
    a = motion.CorrectedMovie(movie, small_estimate, workers=1)
    b = motion.CorrectedMovie(movie, small_estimate, workers=2)
    whole = a[:]
    pieces = np.concatenate([b[t:t + 7] for t in range(0, 80, 7)])
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(b[5], whole[5])
    np.testing.assert_allclose(a.mean_image, b.mean_image, rtol=1e-6)


def test_dask_input_equals_numpy(small, small_estimate):
    import dask.array as da

    _, movie = small
    lazy = da.from_array(movie, chunks=(16, 128, 128))
    est = motion.estimate_motion(lazy, frames_per_chunk=16)
    np.testing.assert_allclose(est.shifts, small_estimate.shifts, atol=1e-6)
    out = motion.CorrectedMovie(lazy, est).to_dask(frames_per_chunk=20)
    np.testing.assert_allclose(out[10:30].compute(),
                               motion.CorrectedMovie(movie, est)[10:30], atol=1e-6)


def test_distributed_client_equals_threads(small, small_estimate):
    import distributed
    _, movie = small
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        seen = []
        est = motion.estimate_motion(movie, frames_per_chunk=16, client=client,
                                     progress=lambda d, t: seen.append((d, t)))
    np.testing.assert_allclose(est.shifts, small_estimate.shifts, atol=1e-6)
    assert seen[-1] == (80, 80)


def test_progress_reaches_total(small):
    _, movie = small
    calls = []
    est = motion.estimate_motion(movie[:40], frames_per_chunk=8,
                                 progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1] == (40, 40) and len(calls) == 5
    reads = []
    corrected = motion.CorrectedMovie(movie[:40], est, progress=lambda d, t: reads.append(d))
    for t0 in range(0, 40, 16):
        corrected[t0:t0 + 16]
    assert reads == [16, 32, 40]


def test_single_pass_register_matches_two_calls(small, small_estimate):
    _, movie = small
    corrected, finalize = motion.register(movie)
    with pytest.raises(RuntimeError):
        finalize()
    out = np.concatenate([corrected[t:t + 16] for t in range(0, 80, 16)])
    est = finalize()
    np.testing.assert_array_equal(est.shifts, small_estimate.shifts)
    two = motion.CorrectedMovie(movie, small_estimate)[:]
    np.testing.assert_allclose(out, two, atol=1e-4)
    assert corrected.complete and corrected.mean_image.shape == (128, 128)


def test_store_to_store(tmp_path: Path, small):
    from napari_photon.storage import Stabilized, open_movie, save_movie

    synth, _ = small
    stored = save_movie(tmp_path / "raw.zarr", synth.movie)
    est = motion.estimate_motion(stored)
    corrected = motion.CorrectedMovie(stored, est)
    out = save_movie(tmp_path / "reg.zarr", Stabilized(corrected, stored.calibration))
    assert corrected.complete
    again = open_movie(tmp_path / "reg.zarr")
    assert again.shape == stored.shape
    assert np.abs(again[:] - corrected[:]).max() <= 0.25 + 1e-4  # quantization only
    rms, _ = rigid_error(est.shifts, synth.shifts)
    assert rms < 0.1
    assert out.calibration == stored.calibration


def test_legacy_api(small, monkeypatch):
    """The first motion API, moved out of the package to benchmarks/_first_motion_api.py."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _first_motion_api as first

    _, movie = small
    ref = first.estimate_reference(movie, n_frames=40, iterations=2)
    shifts = first.estimate_shifts(movie, ref, frames_per_chunk=32)
    assert shifts.shape == (80, 2)
    out = first.ShiftedMovie(movie, shifts)[0:8]
    np.testing.assert_allclose(out, first.apply_shifts(movie[:8], shifts[:8]))


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        motion.estimate_motion(np.zeros((4, 32, 32), np.float32), method="elastic")
    with pytest.raises(ValueError, match=r"\(t, y, x\)"):
        motion.estimate_motion(np.zeros((4, 2, 32, 32), np.float32))


def test_the_callers_movie_is_never_modified(small):
    _, movie = small
    before = movie.copy()
    est = motion.estimate_motion(movie, frames_per_chunk=16)
    motion.CorrectedMovie(movie, est)[:]
    corrected, finalize = motion.register(movie)
    corrected[:]
    finalize()
    np.testing.assert_array_equal(movie, before)
