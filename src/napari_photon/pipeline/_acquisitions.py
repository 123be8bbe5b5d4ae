"""What a session folder holds: acquisitions, numbered as ``recording_num``.

A plain TIFF stack is one acquisition; ScanImage's ``<stem>_00001.tif``, ``_00002.tif``,
... are one acquisition together, one per saved channel (each its own ``recording_num``,
its channel recorded). Numbers follow the sorted file names (an acquisition sorts by its
first file), then the channels in ScanImage's order.

The functional channel, the one motion correction, ROIs and traces are computed for, is
``NAPARI_PHOTON_FUNCTIONAL_CHANNEL`` (a ScanImage channel number) when it is set and the
acquisition saved that channel, else the first channel saved.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..calibration import Calibration
from ..io import (
    ScanImageAcquisition,
    TiffImportError,
    TiffMovie,
    group_acquisitions,
    is_scanimage_acquisition,
)
from ._subjects import session_folder

FUNCTIONAL_CHANNEL_VARIABLE = "NAPARI_PHOTON_FUNCTIONAL_CHANNEL"


@dataclass(frozen=True)
class Acquisition:
    """One future ``Recording`` / ``VolumeRecording`` row of a session.

    Attributes
    ----------
    number : int
        Its ``recording_num``.
    files : tuple of Path
    channel : int or None
        The ScanImage channel; None for a plain TIFF stack.
    functional : bool
        Whether it is the functional channel (plain stacks always are).
    """

    number: int
    files: tuple[Path, ...]
    channel: int | None = None
    functional: bool = True

    @property
    def name(self) -> str:
        more = f" (+{len(self.files) - 1} files)" if len(self.files) > 1 else ""
        channel = f" channel {self.channel}" if self.channel is not None else ""
        return f"{self.files[0].name}{more}{channel}"


@dataclass(frozen=True)
class OpenMovie:
    """An acquisition opened for import."""

    array: Any
    frame_rate: float | None
    plane_spacing: float | None
    calibration: Calibration | None
    zoom: float | None = None
    pixel_size: float | None = None

    @property
    def ndim(self) -> int:
        return len(self.array.shape)


def functional_channel(saved: tuple[int, ...]) -> int:
    """The channel of ``saved`` that is processed (see the module docstring)."""
    text = os.environ.get(FUNCTIONAL_CHANNEL_VARIABLE, "").strip()
    if text:
        try:
            wanted = int(text)
        except ValueError:
            raise TiffImportError(
                f"{FUNCTIONAL_CHANNEL_VARIABLE}={text!r}: expected a ScanImage channel "
                "number such as 1 or 2") from None
        if wanted in saved:
            return wanted
    return saved[0]


def session_acquisitions(key: dict) -> list[Acquisition]:
    """The session's acquisitions, numbered (see the module docstring).

    Raises
    ------
    TiffImportError
        No TIFF stacks in the session folder, or a ScanImage acquisition that cannot be
        opened.
    """
    folder = session_folder(key)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".tif", ".tiff"))
    if not files:
        raise TiffImportError(f"no TIFF stacks (*.tif, *.tiff) in {folder}")
    found: list[Acquisition] = []
    for group in group_acquisitions(files):
        channels = _scanimage_channels(tuple(group), *_stamps(group))
        if channels is None:
            found.append(Acquisition(len(found) + 1, tuple(group)))
            continue
        chosen = functional_channel(channels)
        for channel in channels:
            found.append(Acquisition(len(found) + 1, tuple(group), channel,
                                     channel == chosen))
    return found


def _stamps(files: list[Path]) -> tuple:
    return tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@functools.lru_cache(maxsize=1024)
def _scanimage_channels(files: tuple[Path, ...], *stamps: Any) -> tuple[int, ...] | None:
    """The saved channels of a ScanImage group; None for a plain stack (cached until
    the files change)."""
    if not is_scanimage_acquisition(files):
        return None
    with ScanImageAcquisition.open(files) as acquisition:
        return acquisition.layout.channels


@contextmanager
def open_acquisition(acquisition: Acquisition) -> Iterator[OpenMovie]:
    """The acquisition's movie, open for the block of the ``with``."""
    if acquisition.channel is None:
        with TiffMovie.open(acquisition.files[0]) as tiff:
            yield OpenMovie(tiff.array, tiff.frame_rate, tiff.plane_spacing, tiff.calibration)
        return
    with ScanImageAcquisition.open(acquisition.files) as scan:
        layout = scan.layout
        rate = layout.volume_rate if layout.planes > 1 else layout.frame_rate
        yield OpenMovie(scan.movie(acquisition.channel), rate, layout.plane_spacing, None,
                        layout.zoom, layout.pixel_size)


def dimensions(acquisition: Acquisition) -> int | str:
    """3 or 4 for a readable acquisition, "problem" otherwise."""
    return _dimensions(acquisition, *_stamps(list(acquisition.files)))


@functools.lru_cache(maxsize=4096)
def _dimensions(acquisition: Acquisition, *stamps: Any) -> int | str:
    try:
        with open_acquisition(acquisition) as movie:
            return movie.ndim
    except TiffImportError:
        return "problem"
