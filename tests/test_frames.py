"""Every lazy movie is a FrameSource, and its ways of reading agree."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest

from napari_photon import motion, synthetic
from napari_photon._frames import WORK_FRAMES, FrameSource, index_frames, work_frames
from napari_photon.io import TiffMovie
from napari_photon.storage import open_movie, save_movie, write_options

FRAMES, SIZE = 24, 32


@pytest.fixture(scope="module")
def synth() -> synthetic.SyntheticMovie:
    return synthetic.make_movie(n_frames=FRAMES, shape=(SIZE, SIZE), n_neurons=3,
                                neuron_radius=(3.0, 4.0), max_shift=2, seed=2)


@pytest.fixture(scope="module")
def stored(synth, tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "raw.zarr"
    with write_options(chunk_budget=10 * 4 * SIZE * SIZE):  # shards of 10 frames
        save_movie(path, synth.movie)
    return open_movie(path)


def _sources(synth, stored, folder: Path) -> dict:
    estimate = motion.estimate_motion(stored, reference_frames=8)
    volume = synthetic.make_volume(n_frames=6, n_planes=2, shape=(16, 16), n_neurons=2,
                                   neuron_radius=(3.0, 4.0), max_shift=1, seed=1)
    synthetic.write_tiff(folder / "movie.tif", synth.movie)
    synthetic.write_tiff(folder / "volume.tif", volume.movie)
    return {
        "PhotonMovie": lambda: stored,
        "PhotonCounts": lambda: stored.counts,
        "PhotonCounts algebraic": lambda: stored.photons("algebraic"),
        "CorrectedMovie": lambda: motion.CorrectedMovie(stored, estimate, workers=2),
        "RegisteringMovie": lambda: motion.register(stored, reference=estimate.reference)[0],
        "TiffMovie": lambda: TiffMovie.open(folder / "movie.tif"),
        "TiffMovie volume": lambda: TiffMovie.open(folder / "volume.tif"),
        "SyntheticMovie": lambda: synth,
        "SyntheticVolume": lambda: volume,
    }


@pytest.fixture(scope="module")
def sources(synth, stored, tmp_path_factory) -> dict:
    return _sources(synth, stored, tmp_path_factory.mktemp("tiff"))


NAMES = ["PhotonMovie", "PhotonCounts", "PhotonCounts algebraic", "CorrectedMovie",
         "RegisteringMovie", "TiffMovie", "TiffMovie volume", "SyntheticMovie",
         "SyntheticVolume"]


@pytest.mark.parametrize("name", NAMES)
def test_implements_the_protocol(sources, name):
    source = sources[name]()
    assert isinstance(source, FrameSource)
    assert len(source) == source.shape[0] and source.ndim == len(source.shape) in (3, 4)
    assert isinstance(source.frames_per_chunk, int) and 1 <= source.frames_per_chunk
    assert np.dtype(source.dtype) == source[0].dtype


@pytest.mark.parametrize("name", NAMES)
def test_getitem_read_into_and_to_dask_agree(sources, name):
    # each way on a fresh source: a corrected movie must not depend on what was read before
    whole = np.asarray(sources[name]()[:])
    n = len(whole)
    assert whole.shape == sources[name]().shape and whole.dtype == sources[name]().dtype
    source = sources[name]()
    np.testing.assert_array_equal(source[3], whole[3])
    np.testing.assert_array_equal(source[-1], whole[-1])
    np.testing.assert_array_equal(source[2:5], whole[2:5])
    np.testing.assert_array_equal(source[1:n:2], whole[1:n:2])
    np.testing.assert_array_equal(source[2:5, 1:7], whole[2:5, 1:7])
    np.testing.assert_array_equal(source[..., 3], whole[..., 3])
    np.testing.assert_array_equal(np.asarray(sources[name]()), whole)

    out = np.empty((4, *whole.shape[1:]), whole.dtype)
    assert sources[name]().read_into(1, 5, out) is out
    np.testing.assert_array_equal(out, whole[1:5])

    viewed = sources[name]().to_dask()
    assert isinstance(viewed, da.Array) and viewed.dtype == whole.dtype
    assert set(viewed.chunks[0]) == {1}  # one frame per chunk: what a viewer wants
    np.testing.assert_array_equal(viewed.compute(), whole)
    np.testing.assert_array_equal(viewed[n // 2].compute(), whole[n // 2])

    processing = sources[name]()
    blocks = processing.to_dask(processing.frames_per_chunk)
    assert blocks.chunks[0][0] == min(processing.frames_per_chunk, n)
    np.testing.assert_array_equal(blocks.compute(), whole)


def test_dask_names_are_the_objects_own(sources):
    a, b = sources["CorrectedMovie"](), sources["CorrectedMovie"]()
    assert a.to_dask().name != b.to_dask().name  # a shared cache keeps them apart
    assert a.to_dask().name == a.to_dask().name


def test_index_frames_reads_one_block_per_index():
    values = np.arange(10 * 2 * 3, dtype=np.float32).reshape(10, 2, 3)
    reads = []

    class Blocks:
        shape, dtype = values.shape, values.dtype

    def read(t0, t1):
        reads.append((t0, t1))
        return values[t0:t1]

    for index in (4, -2, slice(2, 8, 3), slice(None, None, -1), (slice(1, 3), 1), Ellipsis,
                  (Ellipsis, 2), slice(5, 5)):
        np.testing.assert_array_equal(index_frames(Blocks(), read, index), values[index])
    assert (2, 8) in reads and (8, 9) in reads
    with pytest.raises(IndexError):
        index_frames(Blocks(), read, 10)
    with pytest.raises(IndexError, match="contiguous blocks"):
        index_frames(Blocks(), read, [1, 2])


def test_tiff_pages_reshaped_into_volumes_index_like_numpy():
    from napari_photon.io._tiff import _Reshaped

    volumes = np.arange(6 * 2 * 4 * 5, dtype=np.uint16).reshape(6, 2, 4, 5)
    pages = _Reshaped(volumes.reshape(12, 4, 5), volumes.shape)
    for index in (3, slice(1, 4), (slice(1, 4), 1), (Ellipsis, 2), slice(None, None, 2)):
        np.testing.assert_array_equal(pages[index], volumes[index])


@pytest.mark.parametrize(("per_shard", "expected"), [
    (455, 57), (256, 64), (64, 64), (65, 33), (10, 10), (1, 1), (None, WORK_FRAMES)])
def test_work_frames_splits_a_shard_evenly_into_blocks_of_at_most_64(per_shard, expected):
    step = work_frames(per_shard)
    assert step == expected and 1 <= step <= WORK_FRAMES
    if per_shard:  # as few blocks per shard as the cap allows, nearly equal in size
        parts = -(-per_shard // step)
        assert parts == -(-per_shard // WORK_FRAMES)
        assert per_shard - (parts - 1) * step >= step - parts
