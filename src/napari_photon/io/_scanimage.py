"""ScanImage acquisitions: several files, interleaved channels and planes, one movie each.

ScanImage splits an acquisition over ``<stem>_00001.tif``, ``<stem>_00002.tif``, ... and
saves its pages interleaved: for each volume, for each slice (flyback slices included
unless ScanImage discarded them), for each frame of the slice, one page per saved channel.
The layout is in the non-varying frame data every page carries in its Software tag (and
ScanImage 2016+ also in the BigTIFF header), read here with tifffile's parser
(``matlabstr2py``):

* ``SI.hChannels.channelSave``: the channels saved, e.g. ``[1;2]``;
* ``SI.hStackManager.numSlices`` (``actualNumSlices``) and ``SI.hFastZ.enable`` /
  ``SI.hStackManager.enable``: planes of a volume;
* ``SI.hFastZ.numDiscardFlybackFrames`` with ``SI.hFastZ.discardFlybackFrames``: flyback
  slices per volume, in the file when ScanImage did not discard them;
* ``SI.hStackManager.framesPerSlice``: frames per slice of a single-plane acquisition;
* ``SI.hRoiManager.scanFrameRate`` / ``scanVolumeRate``: rates;
* ``SI.hStackManager.stackZStepSize`` (``actualStackZStepSize``): plane spacing, um;
* ``SI.hRoiManager.scanZoomFactor``: zoom;
* ``SI.hRoiManager.imagingFovUm`` (the field's corners, um) over
  ``SI.hRoiManager.pixelsPerLine``: pixel size, um.

:func:`group_acquisitions` groups a folder's files; :meth:`ScanImageAcquisition.open`
reads one lazily, page by page, and :meth:`~ScanImageAcquisition.movie` gives the movie
of one channel: (t, y, x) for one plane, (t, z, y, x) for a volume.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .._frames import Frames, index_frames
from ._tiff import TiffImportError

__all__ = ["ScanImageAcquisition", "ScanImageLayout", "ScanImageMovie",
           "group_acquisitions", "is_scanimage", "is_scanimage_acquisition"]

_COUNTER = re.compile(r"^(?P<stem>.+)_(?P<counter>\d{5})\.tiff?$", re.IGNORECASE)


def is_scanimage(path: str | Path) -> bool:
    """Whether tifffile recognises ``path`` as a ScanImage file."""
    try:
        with tifffile.TiffFile(path) as tif:
            return bool(tif.is_scanimage)
    except (tifffile.TiffFileError, OSError, ValueError):
        return False


def is_scanimage_acquisition(files: list[Path] | tuple[Path, ...]) -> bool:
    """Whether a group from :func:`group_acquisitions` is a ScanImage acquisition (its
    files named ``<stem>_<counter>.tif`` and carrying ScanImage metadata)."""
    return bool(files) and bool(_COUNTER.match(Path(files[0]).name)) and \
        is_scanimage(files[0])


def group_acquisitions(paths: Iterable[str | Path]) -> list[list[Path]]:
    """Group files into acquisitions, in sorted order: ScanImage files sharing a stem
    (``<stem>_<5-digit counter>.tif``) are one acquisition, ordered by counter; any other
    file is an acquisition of its own."""
    groups: dict[str, list[tuple[int, Path]]] = {}
    singles: list[list[Path]] = []
    for path in sorted(Path(p) for p in paths):
        match = _COUNTER.match(path.name)
        if match and is_scanimage(path):
            key = str(path.parent / match["stem"])
            groups.setdefault(key, []).append((int(match["counter"]), path))
        else:
            singles.append([path])
    found = singles + [[p for _, p in sorted(files)] for files in groups.values()]
    return sorted(found, key=lambda files: files[0].name)


def _number(value: Any, default: float | None = None) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _pixel_size(data: dict) -> float | None:
    """um per pixel along a line: the imaging field's width over the pixels per line."""
    pixels = _number(data.get("SI.hRoiManager.pixelsPerLine"))
    try:
        corners = np.asarray(data.get("SI.hRoiManager.imagingFovUm"), float).reshape(-1, 2)
    except (TypeError, ValueError):
        return None
    if not pixels or pixels <= 0 or len(corners) < 2 or not np.isfinite(corners).all():
        return None
    width = float(np.ptp(corners[:, 0]))
    return width / pixels if width > 0 else None


@dataclass(frozen=True)
class ScanImageLayout:
    """How an acquisition's pages are laid out, from its ScanImage metadata.

    Attributes
    ----------
    channels : tuple of int
        Channels saved, in page order (ScanImage numbers them from 1).
    planes : int
        Planes of a volume (1: a single-plane acquisition).
    flyback : int
        Flyback slices saved after the planes of each volume (skipped when read).
    frames_per_slice : int
        Frames per slice, for volumes (1 with fast z).
    frame_rate : float or None
        Frames per second (of one plane).
    volume_rate : float or None
        Volumes per second, for volumes.
    plane_spacing : float or None
        Distance between planes, um.
    zoom : float or None
    pixel_size : float or None
        um per pixel, from the imaging field of view.
    """

    channels: tuple[int, ...] = (1,)
    planes: int = 1
    flyback: int = 0
    frames_per_slice: int = 1
    frame_rate: float | None = None
    volume_rate: float | None = None
    plane_spacing: float | None = None
    zoom: float | None = None
    pixel_size: float | None = None

    @classmethod
    def from_frame_data(cls, data: dict) -> ScanImageLayout:
        """The layout described by ScanImage's non-varying frame data."""
        saved = data.get("SI.hChannels.channelSave", 1)
        channels = tuple(int(c) for c in np.atleast_1d(np.asarray(saved)).ravel())
        stack = bool(data.get("SI.hFastZ.enable", False) or data.get("SI.hStackManager.enable",
                                                                     False))
        planes = int(_number(data.get("SI.hStackManager.actualNumSlices",
                                      data.get("SI.hStackManager.numSlices")), 1) or 1)
        planes = planes if stack else 1
        flyback = int(_number(data.get("SI.hFastZ.numDiscardFlybackFrames"), 0) or 0)
        if planes == 1 or data.get("SI.hFastZ.discardFlybackFrames", False):
            flyback = 0  # not in the file
        per_slice = int(_number(data.get("SI.hStackManager.framesPerSlice"), 1) or 1)
        return cls(
            channels=channels or (1,),
            planes=planes,
            flyback=flyback,
            frames_per_slice=per_slice if planes > 1 else 1,
            frame_rate=_number(data.get("SI.hRoiManager.scanFrameRate")),
            volume_rate=_number(data.get("SI.hRoiManager.scanVolumeRate")) if planes > 1
            else None,
            plane_spacing=_number(data.get("SI.hStackManager.actualStackZStepSize",
                                           data.get("SI.hStackManager.stackZStepSize"))),
            zoom=_number(data.get("SI.hRoiManager.scanZoomFactor")),
            pixel_size=_pixel_size(data),
        )

    @property
    def pages_per_time_point(self) -> int:
        """Pages of one time point: a frame of every channel, or a volume of them."""
        if self.planes == 1:
            return len(self.channels)
        return (self.planes + self.flyback) * self.frames_per_slice * len(self.channels)

    def page(self, t: int, z: int, channel_index: int) -> int:
        """Index (across files) of the page of time point ``t``, plane ``z``, channel."""
        if self.planes == 1:
            return t * len(self.channels) + channel_index
        per_slice = self.frames_per_slice * len(self.channels)
        return t * self.pages_per_time_point + z * per_slice + channel_index


def _frame_data(tif: tifffile.TiffFile) -> dict:
    meta = tif.scanimage_metadata or {}
    data = dict(meta.get("FrameData") or {})
    if not data:
        software = tif.pages.first.software
        if software.startswith("SI."):
            data = tifffile.matlabstr2py(software)
    return data if isinstance(data, dict) else {}


@dataclass
class ScanImageAcquisition:
    """One acquisition over one or more ScanImage files, opened for page-wise reading.

    Use :meth:`open`; :meth:`close` (or ``with``) closes the files.

    Attributes
    ----------
    files : list of Path
    layout : ScanImageLayout
    time_points : int
        Frames (single plane) or volumes.
    frame_shape : tuple of int
        (y, x) of a page.
    dtype : numpy.dtype
    """

    files: list[Path]
    layout: ScanImageLayout
    time_points: int
    frame_shape: tuple[int, int]
    dtype: np.dtype
    _handles: list[Any] = field(default_factory=list, repr=False)
    _starts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def open(cls, files: Iterable[str | Path]) -> ScanImageAcquisition:
        """Open an acquisition's files (in order) and check its layout.

        Raises
        ------
        TiffImportError
            A file that is missing, not ScanImage, or of another frame shape, or a page
            count the layout cannot hold; the message names the file.
        """
        files = [Path(f) for f in files]
        handles, starts, total = [], [], 0
        try:
            for path in files:
                if not path.is_file():
                    raise TiffImportError(f"{path}: file not found")
                try:
                    tif = tifffile.TiffFile(path)
                except (tifffile.TiffFileError, OSError, ValueError) as err:
                    raise TiffImportError(f"{path}: not a readable TIFF ({err})") from None
                handles.append(tif)
                if not tif.is_scanimage:
                    raise TiffImportError(f"{path}: no ScanImage metadata")
                starts.append(total)
                total += len(tif.pages)
            first = handles[0].pages.first
            layout = ScanImageLayout.from_frame_data(_frame_data(handles[0]))
            if layout.planes > 1 and layout.frames_per_slice > 1:
                raise TiffImportError(
                    f"{files[0]}: a volume of {layout.frames_per_slice} frames per slice (a "
                    "slow stack); expected one frame per slice (fast z)")
            for path, tif in zip(files, handles):
                if tuple(tif.pages.first.shape) != tuple(first.shape):
                    raise TiffImportError(
                        f"{path}: pages of shape {tif.pages.first.shape}, the acquisition's "
                        f"first file has {first.shape}")
            per = layout.pages_per_time_point
            if total % per:
                raise TiffImportError(
                    f"{files[-1]}: the acquisition holds {total} pages, which is not a whole "
                    f"number of time points of {per} pages ({len(layout.channels)} channel(s) "
                    f"x {layout.planes} plane(s) + {layout.flyback} flyback x "
                    f"{layout.frames_per_slice} frame(s) per slice), as its ScanImage "
                    "metadata claims")
        except BaseException:
            for tif in handles:
                tif.close()
            raise
        return cls(files=files, layout=layout, time_points=total // per,
                   frame_shape=tuple(first.shape), dtype=np.dtype(first.dtype),
                   _handles=handles, _starts=starts)

    def read_page(self, index: int) -> np.ndarray:
        """Page ``index`` counted across the files."""
        file = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self._handles[file].pages[index - self._starts[file]].asarray()

    def movie(self, channel: int) -> ScanImageMovie:
        """The movie of ScanImage channel ``channel`` (a saved channel's number)."""
        if channel not in self.layout.channels:
            raise TiffImportError(
                f"{self.files[0]}: channel {channel} was not saved; saved channels: "
                f"{list(self.layout.channels)}")
        return ScanImageMovie(self, self.layout.channels.index(channel))

    def close(self) -> None:
        for tif in self._handles:
            tif.close()
        self._handles = []

    def __enter__(self) -> ScanImageAcquisition:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ScanImageMovie(Frames):
    """One channel of an acquisition as a lazy movie (a
    :class:`~napari_photon._frames.FrameSource`): (t, y, x), or (t, z, y, x) for volumes;
    pages are read only when frames are."""

    def __init__(self, acquisition: ScanImageAcquisition, channel_index: int) -> None:
        self.acquisition = acquisition
        self.channel_index = channel_index
        layout = acquisition.layout
        planes = (layout.planes,) if layout.planes > 1 else ()
        self.shape = (acquisition.time_points, *planes, *acquisition.frame_shape)
        self.dtype = acquisition.dtype

    def _read(self, t0: int, t1: int) -> np.ndarray:
        layout = self.acquisition.layout
        out = np.empty((t1 - t0, *self.shape[1:]), self.dtype)
        for i, t in enumerate(range(t0, t1)):
            if layout.planes == 1:
                out[i] = self.acquisition.read_page(layout.page(t, 0, self.channel_index))
            else:
                for z in range(layout.planes):
                    out[i, z] = self.acquisition.read_page(
                        layout.page(t, z, self.channel_index))
        return out

    def __getitem__(self, index: Any) -> np.ndarray:
        return index_frames(self, self._read, index)

    def _dask_prefix(self) -> str:
        return f"scanimage-{self.acquisition.files[0]}-{self.channel_index}"
