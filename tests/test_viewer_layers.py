"""``add_recording_layers``: lazy recording layers in a viewer, and a window screenshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SCREENSHOTS

SCREENSHOT = SCREENSHOTS / "viewer.png"
KEY = {"mouse_id": "M001", "session_date": "2026-11-25", "recording_num": 1}


class ReadCounter:
    """Counts bytes and requests served from chunk/shard files: through zarr's LocalStore
    and through our own shard reader (``ZarrLocation.read_bytes``)."""

    def __init__(self, monkeypatch) -> None:
        from zarr.storage import LocalStore

        from napari_photon.storage import ZarrLocation

        self.requests: list[tuple[str, object]] = []
        self.nbytes = 0
        original_get = LocalStore.get
        original_partial = LocalStore.get_partial_values
        counter = self

        async def get(store, key, prototype, byte_range=None):
            buf = await original_get(store, key, prototype, byte_range)
            counter._count(key, byte_range, buf)
            return buf

        async def get_partial_values(store, prototype, key_ranges):
            key_ranges = list(key_ranges)
            bufs = await original_partial(store, prototype, key_ranges)
            for (key, byte_range), buf in zip(key_ranges, bufs, strict=True):
                counter._count(key, byte_range, buf)
            return bufs

        original_read = ZarrLocation.read_bytes

        def read_bytes(location, key, start=None, end=None):
            data = original_read(location, key, start, end)
            counter._count(key, (start, end), data)
            return data

        monkeypatch.setattr(LocalStore, "get", get)
        monkeypatch.setattr(LocalStore, "get_partial_values", get_partial_values)
        monkeypatch.setattr(ZarrLocation, "read_bytes", read_bytes)

    def _count(self, key: str, byte_range: object, buf: object) -> None:
        if buf is None or key.endswith("zarr.json"):
            return
        self.requests.append((key, byte_range))
        self.nbytes += len(buf)


def _chunk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name != "zarr.json")


@pytest.fixture(scope="module")
def truth():
    from napari_photon.synthetic import make_movie

    return make_movie(120, (128, 128), n_neurons=12, max_shift=4.0, seed=7)


@pytest.fixture
def saved(tmp_path, truth):
    """The raw counts and a motion-corrected version, as sharded photon zarrs."""
    from napari_photon.motion._fourier import shift_frames
    from napari_photon.storage import save_movie, write_options

    shifts = np.asarray(-truth.shifts, np.float64)
    corrected = np.clip(shift_frames(np.asarray(truth.movie, np.float32), shifts), 0, None)
    # 20 frames per shard: several shard files, one inner chunk per frame
    with write_options(chunk_budget=20 * 4 * 128 * 128):
        raw = save_movie(tmp_path / "m.zarr", truth.movie)
        fixed = save_movie(tmp_path / "corrected.zarr", corrected)
    assert raw.frames_per_chunk == 20
    return raw, fixed, tmp_path


def test_add_recording_layers_is_lazy(make_napari_viewer, monkeypatch, saved, truth):
    import dask.array as da
    from napari.layers import Image, Labels

    from napari_photon._viewer_layers import add_recording_layers
    from napari_photon.storage import open_movie

    _, _, folder = saved
    total = _chunk_bytes(folder / "m.zarr") + _chunk_bytes(folder / "corrected.zarr")
    reads = ReadCounter(monkeypatch)
    # fresh PhotonMovie objects: every read below goes through the patched store
    raw = open_movie(folder / "m.zarr")
    corrected = open_movie(folder / "corrected.zarr")

    viewer = make_napari_viewer()
    layers = add_recording_layers(
        viewer, raw, corrected=corrected, masks=truth.masks, key=KEY, name="M001 #1"
    )
    assert [type(layer) for layer in layers] == [Image, Image, Labels]
    assert list(viewer.layers) == layers
    assert [layer.name for layer in layers] == [
        "M001 #1 raw (stabilized)",
        "M001 #1 motion corrected",
        "M001 #1 ROIs",
    ]
    for layer in layers:
        assert layer.metadata == {"key": KEY}
    for layer, movie in zip(layers[:2], (raw, corrected), strict=True):
        assert isinstance(layer.data, da.Array)
        assert layer.data.shape == movie.shape == truth.movie.shape
        assert layer.data.chunksize[0] == 1
        lo, hi = layer.contrast_limits
        assert hi > lo
    labels = layers[2].data
    alone = truth.masks.sum(axis=0) == 1
    for i, mask in enumerate(truth.masks):
        assert np.all(labels[mask & alone] == i + 1)
    assert np.all(labels[~truth.masks.any(axis=0)] == 0)

    # only the shown frame (plus the one frame for contrast limits) was read, per movie
    after_add = reads.nbytes
    assert 0 < after_add < 0.15 * total, (after_add, total, reads.requests)
    frames_read = {key for key, _ in reads.requests}
    assert len(frames_read) <= 4, frames_read  # shard files touched, of 12
    # stepping a frame reads about one more frame per movie, not a shard or the movie
    viewer.dims.set_current_step(0, 3)
    step = reads.nbytes - after_add
    assert 0 < step < 0.1 * total, (step, total)
    # frames viewed are not kept in napari's dask cache (memory stays flat over a session):
    # coming back to frame 3 reads it again
    viewer.dims.set_current_step(0, 4)
    before_back = reads.nbytes
    viewer.dims.set_current_step(0, 3)
    assert reads.nbytes > before_back


def test_masks_to_labels_rejects_2d():
    from napari_photon._viewer_layers import masks_to_labels

    with pytest.raises(ValueError, match="masks must be"):
        masks_to_labels(np.zeros((4, 4), dtype=bool))


def test_window_screenshot(make_napari_viewer, saved, truth):
    import imageio.v3 as iio

    from napari_photon._viewer_layers import add_recording_layers

    raw, corrected, _ = saved
    viewer = make_napari_viewer(show=True, title="napari-photon")
    add_recording_layers(viewer, raw, corrected=corrected, masks=truth.masks, key=KEY)
    viewer.layers.selection.active = viewer.layers[0]
    viewer.reset_view()

    canvas = viewer.screenshot(canvas_only=True, flash=False)
    gray = canvas[..., :3].mean(axis=-1)
    assert gray.std() > 10, "the canvas rendered flat: no OpenGL image?"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(SCREENSHOT), canvas_only=False, flash=False)
    image = iio.imread(SCREENSHOT)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 400
    gray = image[..., :3].astype(np.float64).mean(axis=-1)
    assert gray.std() > 10
    assert (gray > 20).mean() > 0.05


def test_stepping_a_plain_to_dask_layer_keeps_napari_cache_small(make_napari_viewer, tmp_path):
    """``viewer.add_image(movie.to_dask())``, the obvious call, with napari's own dask cache
    on: stepping through the movie keeps about the frames shown, not whole shards."""
    from napari.utils import resize_dask_cache

    from napari_photon.storage import save_movie

    frames, size = 600, 64
    counts = np.random.default_rng(1).poisson(6, (frames, size, size)).astype(np.uint16)
    movie = save_movie(tmp_path / "long.zarr", counts)
    shard_bytes = movie.frames_per_chunk * size * size * 4
    assert shard_bytes >= 100 * size * size * 4  # a shard holds many frames
    viewer = make_napari_viewer()
    cache = resize_dask_cache(64 * 2**20)  # napari's cache, on, with room for shards
    cache.cache.clear()
    viewer.add_image(movie.to_dask())
    for t in range(0, 60):
        viewer.dims.set_current_step(0, t)
    held = cache.cache.total_bytes
    assert held <= 8 * 60 * size * size * 4, held  # a few copies of the 60 frames shown
    assert held < shard_bytes, held
