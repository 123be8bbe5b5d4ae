"""The npe2 manifest and the photon zarr reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "napari.yaml"
PACKAGED_MANIFEST = ROOT / "src" / "napari_photon" / "napari.yaml"
REAL_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"


def _real_movie() -> Path:
    if not REAL_MOVIE.is_dir():
        pytest.skip(f"shared real movie not found at {REAL_MOVIE} (../shared/data is absent)")
    return REAL_MOVIE


@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    from napari_photon.synthetic import make_movie

    return make_movie(40, (48, 48), n_neurons=4, max_shift=2.0, seed=3).movie


@pytest.fixture
def photon_zarr(tmp_path, counts) -> Path:
    from napari_photon.storage import save_movie

    path = tmp_path / "movie.zarr"
    save_movie(path, counts)
    return path


# -- manifest ----------------------------------------------------------------------------


def test_manifest_file_validates():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(MANIFEST)
    assert manifest.name == "napari-photon"
    assert manifest.display_name == "napari-photon"
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    assert commands["napari-photon.get_reader"] == "napari_photon._reader:get_reader"
    assert commands["napari-photon.synthetic_sample"] == (
        "napari_photon._sample_data:synthetic_sample"
    )
    # every contribution points at a declared command, and every command imports
    used = [r.command for r in manifest.contributions.readers]
    used += [s.command for s in manifest.contributions.sample_data]
    used += [w.command for w in manifest.contributions.widgets or []]
    assert set(used) <= set(commands)
    manifest.validate_imports()
    reader = manifest.contributions.readers[0]
    assert reader.accepts_directories
    assert set(reader.filename_patterns) == {"*.zarr", "*"}


def test_packaged_manifest_is_the_root_file():
    # editable installs load napari_photon/napari.yaml from src: a relative symlink
    assert PACKAGED_MANIFEST.is_symlink()
    assert Path(PACKAGED_MANIFEST.readlink()).as_posix() == "../../napari.yaml"
    assert PACKAGED_MANIFEST.read_bytes() == MANIFEST.read_bytes()


def test_installed_plugin_validates():
    """What ``npe2 validate napari-photon --imports`` checks, on the installed package."""
    from importlib.metadata import PackageNotFoundError, distribution

    from npe2.cli import app
    from typer.testing import CliRunner

    try:
        distribution("napari-photon")
    except PackageNotFoundError:
        pytest.fail("napari-photon is not installed: run `pip install -e .`", pytrace=False)
    result = CliRunner().invoke(app, ["validate", "napari-photon", "--imports"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


# -- reader ------------------------------------------------------------------------------


def test_reader_declines_other_paths(tmp_path):
    import zarr

    from napari_photon._reader import get_reader

    plain_folder = tmp_path / "folder"
    plain_folder.mkdir()
    (plain_folder / "notes.txt").write_text("not a movie")
    assert get_reader(str(plain_folder)) is None
    assert get_reader(str(plain_folder / "notes.txt")) is None
    assert get_reader(str(tmp_path / "missing.zarr")) is None

    v3 = tmp_path / "plain-v3.zarr"
    zarr.create_array(str(v3), shape=(4, 8, 8), dtype="float32", attributes={"a": 1})
    assert get_reader(str(v3)) is None

    v2 = tmp_path / "plain-v2.zarr"
    zarr.create_array(str(v2), shape=(4, 8, 8), dtype="uint16", zarr_format=2)
    assert get_reader(str(v2)) is None

    group = tmp_path / "group.zarr"
    zarr.open_group(str(group), mode="w", attributes={"napari_photon": {}})
    assert get_reader(str(group)) is None

    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / "zarr.json").write_text("{not json")
    assert get_reader(str(broken)) is None


def test_reader_check_reads_metadata_only(tmp_path, photon_zarr):
    from napari_photon._reader import get_reader

    # only zarr.json, no chunk or shard files: accepting it cannot have read any data
    metadata_only = tmp_path / "metadata-only.zarr"
    metadata_only.mkdir()
    shutil.copy(photon_zarr / "zarr.json", metadata_only / "zarr.json")
    assert callable(get_reader(str(metadata_only)))

    legacy = tmp_path / "legacy.zarr"
    legacy.mkdir()
    zarray = {"shape": [2, 4, 4], "chunks": [1, 4, 4], "dtype": "<i2", "fill_value": 0,
              "order": "C", "filters": None, "zarr_format": 2,
              "compressor": {"id": "anscombe-v1", "zero_level": 10, "conversion_gain": 2.0}}
    (legacy / ".zarray").write_text(json.dumps(zarray))
    assert callable(get_reader(str(legacy)))


def test_reader_reads_our_zarr_lazily(photon_zarr, counts):
    import dask.array as da

    from napari_photon._reader import get_reader
    from napari_photon.storage import open_movie

    reader = get_reader(str(photon_zarr))
    assert reader is not None
    assert get_reader([str(photon_zarr)]) is not None  # napari may pass a one-item list
    [(data, kwargs, layer_type)] = reader(str(photon_zarr))
    assert layer_type == "image"
    assert isinstance(data, da.Array)
    assert data.shape == counts.shape and data.dtype == np.float32
    assert data.chunksize[0] == 1
    assert kwargs["name"] == "movie"
    assert kwargs["metadata"]["path"] == str(photon_zarr.resolve())
    assert kwargs["metadata"]["calibration"] == open_movie(photon_zarr).calibration.to_dict()
    lo, hi = kwargs["contrast_limits"]
    middle = np.asarray(data[(len(data) - 1) // 2])
    assert middle.min() <= lo < hi <= middle.max()


def test_viewer_opens_real_movie(make_napari_viewer):
    import dask.array as da

    path = _real_movie()
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin="napari-photon")
    assert len(layers) == 1 and layers[0] is viewer.layers[0]
    layer = layers[0]
    assert layer.name == "real-2p-movie"
    assert isinstance(layer.data, da.Array)
    assert layer.data.shape == (300, 200, 200)
    assert layer.data.chunksize == (1, 200, 200)
    assert layer.metadata["calibration"]["gain"] == pytest.approx(96.99485239600828)
    assert layer.metadata["calibration"]["zero_level"] == 86
    assert layer.metadata["path"] == str(path.resolve())
    lo, hi = layer.contrast_limits
    assert hi > lo
    # napari shows the middle frame: real values, not zeros
    assert viewer.dims.current_step[0] == 149
    shown = np.asarray(layer._slice.image.raw)
    assert shown.shape == (200, 200) and shown.std() > 0


def test_viewer_opens_our_zarr(make_napari_viewer, photon_zarr):
    import dask.array as da

    viewer = make_napari_viewer()
    [layer] = viewer.open(photon_zarr, plugin="napari-photon")
    assert isinstance(layer.data, da.Array)
    assert layer.name == "movie"
