"""ScanImage acquisitions: files grouped, channels and planes de-interleaved, frames placed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_photon.io import (
    ScanImageAcquisition,
    ScanImageLayout,
    TiffImportError,
    group_acquisitions,
    is_scanimage,
)

SHAPE = (16, 20)
FLYBACK = 9999


def _frame_data(channels, planes, flyback, frame_rate=30.0, step=5.0):
    saved = "[" + ";".join(str(c) for c in channels) + "]" if len(channels) > 1 else \
        str(channels[0])
    lines = [
        f"SI.hChannels.channelSave = {saved}",
        f"SI.hFastZ.enable = {'true' if planes > 1 else 'false'}",
        f"SI.hStackManager.numSlices = {planes}",
        f"SI.hStackManager.actualNumSlices = {planes}",
        f"SI.hStackManager.stackZStepSize = {step}",
        f"SI.hFastZ.numDiscardFlybackFrames = {flyback}",
        "SI.hFastZ.discardFlybackFrames = false",
        "SI.hStackManager.framesPerSlice = 1" if planes > 1 else
        "SI.hStackManager.framesPerSlice = Inf",
        f"SI.hRoiManager.scanFrameRate = {frame_rate}",
        f"SI.hRoiManager.scanVolumeRate = {frame_rate / (planes + flyback)}",
        "SI.hRoiManager.scanZoomFactor = 2",
        f"SI.hRoiManager.pixelsPerLine = {SHAPE[1]}",
        "SI.hRoiManager.imagingFovUm = [-150 -120;150 -120;150 120;-150 120]",
        "SI.VERSION_MAJOR = 2022",
    ]
    return "\n".join(lines) + "\n"


def value(t: int, z: int, channel: int) -> int:
    return 1000 * channel + 100 * z + t


def constant_page(t: int, z: int, channel: int) -> np.ndarray:
    return np.full(SHAPE, value(t, z, channel), np.uint16)


def write_acquisition(folder: Path, stem: str, *, channels=(1, 2), planes=3, flyback=1,
                      time_points=4, files=2, page=constant_page) -> list[Path]:
    """Pages in ScanImage's order (time, slice incl. flyback, channel), the frame data in
    every page's Software tag and frame-varying data in its ImageDescription, split over
    ``files`` files ``<stem>_0000k.tif``. ``page(t, z, channel)`` makes each page;
    flyback pages hold :data:`FLYBACK`."""
    software = _frame_data(channels, planes, flyback)
    pages = []
    for t in range(time_points):
        for z in range(planes + (flyback if planes > 1 else 0)):
            for c in channels:
                pages.append(page(t, z, c) if z < planes else
                             np.full(SHAPE, FLYBACK, np.uint16))
    per_file = -(-len(pages) // files)
    paths = []
    for k in range(files):
        path = folder / f"{stem}_{k + 1:05d}.tif"
        with tifffile.TiffWriter(path, bigtiff=True) as tif:  # as ScanImage 2016+ writes
            for i, page in enumerate(pages[k * per_file:(k + 1) * per_file]):
                n = k * per_file + i
                tif.write(page, software=software, metadata=None, contiguous=False,
                          description=f"frameNumbers = {n + 1}\nacquisitionNumbers = 1\n"
                                      f"frameTimestamps_sec = {n / 30:.6f}\n")
        paths.append(path)
    return paths


def test_tifffile_reads_the_written_files_as_scanimage(tmp_path):
    path = write_acquisition(tmp_path, "a", files=1)[0]
    assert is_scanimage(path)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_scanimage and tif.series[0].kind == "scanimage"


def test_two_files_two_channels_three_planes_with_flyback_land_where_they_belong(tmp_path):
    files = write_acquisition(tmp_path, "vol", channels=(1, 2), planes=3, flyback=1,
                              time_points=4, files=2)
    with ScanImageAcquisition.open(files) as acq:
        layout = acq.layout
        assert layout.channels == (1, 2) and layout.planes == 3 and layout.flyback == 1
        assert layout.plane_spacing == 5.0 and layout.volume_rate == pytest.approx(7.5)
        assert layout.zoom == 2.0
        assert layout.pixel_size == pytest.approx(300 / SHAPE[1])  # field width / pixels
        for channel in (1, 2):
            movie = acq.movie(channel)
            assert movie.shape == (4, 3, *SHAPE)
            whole = movie[:]
            assert not (whole == FLYBACK).any()
            for t in range(4):
                for z in range(3):
                    assert (whole[t, z] == value(t, z, channel)).all(), (t, z, channel)
            np.testing.assert_array_equal(movie[2:3], whole[2:3])  # lazily, page by page


def test_a_single_plane_acquisition_is_a_movie_per_channel(tmp_path):
    files = write_acquisition(tmp_path, "plane", channels=(2, 3), planes=1, flyback=0,
                              time_points=5, files=2)
    with ScanImageAcquisition.open(files) as acq:
        assert acq.layout.planes == 1 and acq.layout.frame_rate == 30.0
        movie = acq.movie(3)
        assert movie.shape == (5, *SHAPE)
        assert [int(movie[t][0, 0]) for t in range(5)] == [value(t, 0, 3) for t in range(5)]
        with pytest.raises(TiffImportError, match="channel 1 was not saved; saved channels: "
                                                  r"\[2, 3\]"):
            acq.movie(1)


def test_files_are_grouped_by_stem_and_counter(tmp_path):
    a = write_acquisition(tmp_path, "a", files=2)
    b = write_acquisition(tmp_path, "b", files=3, time_points=6)
    plain = tmp_path / "plain_00001.tif"  # counter-like name, no ScanImage metadata
    tifffile.imwrite(plain, np.zeros((3, *SHAPE), np.uint16))
    other = tmp_path / "z.tif"
    tifffile.imwrite(other, np.zeros((3, *SHAPE), np.uint16))
    groups = group_acquisitions(tmp_path.glob("*.tif"))
    assert groups == [a, b, [plain], [other]]


def test_a_layout_the_page_count_cannot_hold_names_the_file(tmp_path):
    files = write_acquisition(tmp_path, "bad", files=1)
    data = tifffile.TiffFile(files[0])
    pages = [p.asarray() for p in data.pages][:-1]  # one page short
    software = data.pages.first.software
    data.close()
    with tifffile.TiffWriter(files[0], bigtiff=True) as tif:
        for page in pages:
            tif.write(page, software=software, metadata=None, contiguous=False)
    with pytest.raises(TiffImportError, match=rf"{files[0].name}: the acquisition holds "
                                              r"31 pages, which is not a whole number"):
        ScanImageAcquisition.open(files)


def test_layout_defaults_and_a_slow_stack_is_refused(tmp_path):
    assert ScanImageLayout.from_frame_data({}) == ScanImageLayout()
    files = write_acquisition(tmp_path, "slow", files=1)
    text = _frame_data((1, 2), 3, 1).replace("framesPerSlice = 1", "framesPerSlice = 4")
    pages = [np.zeros(SHAPE, np.uint16)] * (4 * 4 * 4 * 2)
    with tifffile.TiffWriter(files[0], bigtiff=True) as tif:
        for page in pages:
            tif.write(page, software=text, metadata=None, contiguous=False)
    with pytest.raises(TiffImportError, match="4 frames per slice"):
        ScanImageAcquisition.open(files)
    with pytest.raises(TiffImportError, match="file not found"):
        ScanImageAcquisition.open([tmp_path / "missing_00001.tif"])
