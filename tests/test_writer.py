"""The shard writer's two ways in: blocks of values, and frames mapped in worker threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from napari_photon import motion, synthetic
from napari_photon.storage import Stabilized, open_movie, save_movie, write_options
from napari_photon.storage._shards import layout_of
from napari_photon.storage._source import MovieSource
from napari_photon.storage._writer import frame_mapper

BUDGET = 16 * 4 * 64 * 64  # shards of 16 frames of 64 x 64


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> object:
    movie = synthetic.make_movie(n_frames=72, shape=(64, 64), n_neurons=6, max_shift=3,
                                 seed=5).movie
    path = tmp_path_factory.mktemp("writer") / "raw.zarr"
    with write_options(chunk_budget=BUDGET):
        return save_movie(path, movie)


def test_mapped_frames_store_what_the_block_path_stores(tmp_path: Path, stored):
    corrected, finalize = motion.register(stored)
    source = MovieSource(Stabilized(corrected, stored.calibration))
    with write_options(chunk_budget=BUDGET):
        mapped = save_movie(tmp_path / "mapped.zarr", Stabilized(corrected, stored.calibration))
    estimate = finalize()
    layout = layout_of(_zarr(tmp_path / "mapped.zarr"))
    assert mapped.shape == stored.shape
    assert frame_mapper(source, layout) is not None  # the frames went through map_frames

    values = motion.CorrectedMovie(stored, estimate)[:]
    plain = MovieSource(Stabilized(values, stored.calibration))
    assert frame_mapper(plain, layout) is None  # an array goes block by block
    with write_options(chunk_budget=BUDGET):
        save_movie(tmp_path / "blocks.zarr", Stabilized(values, stored.calibration))
    a = open_movie(tmp_path / "mapped.zarr")[:]
    b = open_movie(tmp_path / "blocks.zarr")[:]
    assert np.array_equal(a, b)
    assert np.abs(a - values).max() <= 0.25 + 1e-6  # quantization only
    assert corrected.complete and np.isfinite(corrected.correlation_after).all()


class _Ringing:
    """A stabilized movie computed block by block that rings below zero near its dark
    corner, as an interpolated one does; ``map_frames`` like a CorrectedMovie's."""

    def __init__(self, n: int = 40, size: int = 32) -> None:
        y, x = np.mgrid[:size, :size]
        base = (0.08 * (x + y) - 0.4).astype(np.float32)  # -0.4 .. 4.6
        self.values = np.stack([base + 0.01 * t for t in range(n)])
        self.shape, self.dtype = self.values.shape, np.dtype(np.float32)
        self.mapped = 0

    def __getitem__(self, index):
        return self.values[index]

    def map_frames(self, t0: int, t1: int, fn):
        self.mapped += t1 - t0
        return [fn(frame) for frame in self.values[t0:t1]]


def test_values_below_zero_become_code_zero_on_both_paths(tmp_path: Path):
    from napari_photon.calibration import Calibration

    ringing = _Ringing()
    assert ringing.values.min() < -0.3
    budget = 8 * 4 * 32 * 32
    with write_options(chunk_budget=budget):
        save_movie(tmp_path / "mapped.zarr", Stabilized(ringing, Calibration()))
        save_movie(tmp_path / "blocks.zarr", Stabilized(ringing.values, Calibration()))
    assert ringing.mapped == 40  # the mapped path was taken for the first write
    a = open_movie(tmp_path / "mapped.zarr")[:]
    b = open_movie(tmp_path / "blocks.zarr")[:]
    assert np.array_equal(a, b)
    expected = np.rint(np.maximum(ringing.values, 0) / 0.5) * 0.5
    assert np.array_equal(a, expected.astype(np.float32))


def test_map_frames_hands_each_corrected_frame_to_the_function(stored):
    est = motion.estimate_motion(stored)
    corrected = motion.CorrectedMovie(stored, est)
    threads: set[int] = set()

    def total(frame: np.ndarray) -> float:
        threads.add(threading.get_ident())
        return float(frame.sum(dtype=np.float64))

    got = corrected.map_frames(16, 40, total)
    expected = [float(f.sum(dtype=np.float64)) for f in motion.CorrectedMovie(stored, est)[16:40]]
    assert got == expected
    assert threads == {threading.get_ident()}  # all in the calling thread
    assert corrected.frames_read == 24
    with pytest.raises(IndexError):
        corrected.map_frames(60, 80, total)


def test_only_streaming_keeps_a_decode_buffer_in_the_thread(stored):
    from napari_photon.motion import _corrected

    est = motion.estimate_motion(stored)
    corrected = motion.CorrectedMovie(stored, est, workers=1)  # reads in this thread
    buffers = _corrected._local.__dict__.setdefault("buffers", {})
    buffers.clear()
    corrected[:]  # a plain read of the whole movie leaves nothing behind
    assert "source" not in buffers
    corrected.map_frames(0, 16, lambda frame: None)  # streaming reuses one block's buffer
    assert buffers["source"].size == 16 * 64 * 64


def _zarr(path: Path):
    import zarr

    return zarr.open_array(str(path), mode="r")
