"""TIFF stacks opened for streaming import."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_photon import synthetic
from napari_photon.calibration import Calibration
from napari_photon.io import TiffImportError, TiffMovie
from napari_photon.io import calibration_properties


def test_reads_pages_lazily_with_metadata(tmp_path, monkeypatch):
    x = np.random.default_rng(0).poisson(5, size=(40, 16, 24)).astype(np.uint16)
    cal = Calibration(gain=2.0, zero_level=10.0)
    synthetic.write_tiff(tmp_path / "a.tif", x, frame_rate=12.5,
                         properties=calibration_properties(cal))
    with TiffMovie.open(tmp_path / "a.tif") as movie:
        assert movie.shape == (40, 16, 24) and movie.dtype == np.uint16
        assert movie.frame_rate == pytest.approx(12.5)
        assert movie.calibration == cal
        np.testing.assert_array_equal(movie.array[5:9], x[5:9])


def test_volume_axes_and_spacing(tmp_path):
    v = np.zeros((4, 3, 8, 8), np.uint16)
    v[2, 1] = 7
    synthetic.write_tiff(tmp_path / "v.tif", v, frame_rate=2.0, plane_spacing=5.0)
    with TiffMovie.open(tmp_path / "v.tif") as movie:
        assert movie.shape == (4, 3, 8, 8) and movie.plane_spacing == 5.0
        np.testing.assert_array_equal(movie.array[2:3], v[2:3])


def test_plain_multipage_tiff_without_metadata(tmp_path):
    x = np.arange(5 * 6 * 7, dtype=np.uint16).reshape(5, 6, 7)
    tifffile.imwrite(tmp_path / "p.tif", x)
    with TiffMovie.open(tmp_path / "p.tif") as movie:
        assert movie.frame_rate is None and movie.calibration is None
        np.testing.assert_array_equal(movie.array[:], x)


def _truncated(path):
    tifffile.imwrite(path, np.ones((20, 32, 32), np.uint16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _pages_of_two_shapes(path):
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((8, 8), np.uint16))
        tif.write(np.zeros((9, 9), np.uint16))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_bytes(b"not a tiff at all"), "not a readable TIFF"),
        (lambda p: tifffile.imwrite(p, np.zeros((8, 8), np.uint16)), "a single image"),
        (lambda p: tifffile.imwrite(p, np.zeros((4, 8, 8, 3), np.uint8), photometric="rgb"),
         "RGB"),
        (_truncated, "truncated"),
        (_pages_of_two_shapes, "pages have different shapes"),
        (lambda p: tifffile.imwrite(p, np.full((3, 8, 8), 1 + 2j, np.complex64)),
         "not a real number type"),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.tif"
    make(path)
    with pytest.raises(TiffImportError, match=message) as err:
        TiffMovie.open(path)
    assert str(path) in str(err.value)
