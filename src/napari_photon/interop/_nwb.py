"""NWB export: one file per recording, the movie streamed from its ``<photon@>`` store.

What goes where (NWB 2, pynwb):

* ``Subject`` and the session (``NWBFile``): the mouse, the session date, experimenter, notes;
* ``acquisition/TwoPhotonSeries``: the raw movie in photon counts (``units="photons"``,
  float32, what ``PhotonMovie.photons("algebraic")`` gives) or digitizer levels
  (``"levels"``: ``gain * photons + zero_level`` of the recording's calibration),
  streamed block by block through an hdmf chunk iterator into a chunked, gzip-compressed
  HDF5 dataset: memory stays at a few blocks whatever the movie's size;
* ``processing/ophys``: per motion-parameter set, the shifts (``MotionShifts_m<id>``, a
  TimeSeries of (y, x) pixels); per ROI set, a ``PlaneSegmentation_m<id>_r<id>`` (image
  masks, every metric of ``ROI.roi_metrics`` as a column) and its traces as
  ``RoiResponseSeries``: ``Fluorescence/F_…``, ``Fluorescence/Neuropil_…`` (mean photons
  per pixel) and ``DfOverF/DfOverF_…``; per ``Activity`` row, its events and fitted
  calcium as ``Deconvolved/Events_…_a<id>`` and ``Deconvolved/Denoised_…_a<id>``.

A ``VolumeRecording`` is exported the same way, its movie (t, z, y, x) written as NWB's
(frames, x, y, z) with the planes last, the imaging rate its volume rate and the plane
spacing the third grid spacing; the pipeline computes nothing from volumes, so there is
no processing module.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NwbExportError", "export_recording"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
UNITS = ("photons", "levels")


class NwbExportError(ValueError):
    """A recording that cannot be exported as asked; the message says why."""


def _movie_iterator(view: Any, frames_per_chunk: int, progress: ProgressCallback | None
                    ) -> Any:
    """An hdmf chunk iterator over ``view``: a buffer of a shard's frames at a time
    (hdmf is imported here: pynwb is an optional extra)."""
    from hdmf.data_utils import GenericDataChunkIterator

    class MovieIterator(GenericDataChunkIterator):
        def __init__(self) -> None:
            shape = tuple(int(n) for n in view.shape)
            per = max(1, min(int(frames_per_chunk), shape[0]))
            super().__init__(chunk_shape=(min(per, 64), *shape[1:]),
                             buffer_shape=(per, *shape[1:]), display_progress=False)

        def _get_data(self, selection: tuple) -> np.ndarray:
            frames = selection[0]
            block = np.asarray(view[frames], dtype=np.float32)
            if progress is not None:
                progress(int(frames.stop or view.shape[0]), int(view.shape[0]))
            return block[(slice(None), *selection[1:])]

        def _get_maxshape(self) -> tuple:
            return tuple(int(n) for n in view.shape)

        def _get_dtype(self) -> np.dtype:
            return np.dtype(np.float32)

    return MovieIterator()


class _Levels:
    """Digitizer levels of a photon view: ``gain * photons + zero_level``."""

    def __init__(self, photons: Any, gain: float, zero_level: float) -> None:
        self.photons, self.gain, self.zero = photons, float(gain), float(zero_level)
        self.shape = photons.shape

    def __getitem__(self, index: Any) -> np.ndarray:
        return (np.asarray(self.photons[index], np.float32) * np.float32(self.gain)
                + np.float32(self.zero))


class _PlanesLast:
    """A (t, z, y, x) view read as (t, y, x, z), NWB's order for volumes."""

    def __init__(self, volumes: Any) -> None:
        self.volumes = volumes
        t, z, y, x = volumes.shape
        self.shape = (t, y, x, z)

    def __getitem__(self, frames: slice) -> np.ndarray:
        return np.moveaxis(np.asarray(self.volumes[frames], np.float32), 1, -1)


def _version() -> str:
    from .. import __version__

    return __version__


def _start_time(session_date: Any) -> datetime.datetime:
    day = session_date if isinstance(session_date, datetime.date) else \
        datetime.date.fromisoformat(str(session_date))
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.timezone.utc)


def _identifier(database: str, key: dict) -> str:
    text = database + "|" + "|".join(f"{k}={key[k]}" for k in sorted(key))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "napari-photon:" + text))


def _grid(pixel_size: float | None, plane_spacing: float | None = None,
          volume: bool = False) -> dict:
    """The imaging plane's pixel (and plane) spacing, when the acquisition recorded it."""
    if pixel_size is None or not pixel_size > 0:
        return {}
    spacing = [float(pixel_size)] * 2
    if volume:
        if plane_spacing is None or not plane_spacing > 0:
            return {}
        spacing.append(float(plane_spacing))
    return {"grid_spacing": spacing, "grid_spacing_unit": "micrometers"}


def _one_recording(pipeline: Any, key: dict) -> tuple[dict, bool]:
    """The one ``Recording`` or ``VolumeRecording`` row ``key`` selects, and whether it is
    a volume."""
    rows = pipeline.Recording & key
    volumes = pipeline.VolumeRecording & key
    if len(rows) + len(volumes) != 1:
        raise NwbExportError(f"{key} selects {len(rows)} recordings and {len(volumes)} "
                             "volume recordings; expected exactly one")
    return (rows.fetch1(), False) if len(rows) else (volumes.fetch1(), True)


def export_recording(pipeline: Any, key: dict, path: str | Path, *, units: str = "photons",
                     progress: ProgressCallback | None = None) -> Path:
    """Write the recording ``key`` and everything computed from it to an NWB file.

    Parameters
    ----------
    pipeline : Pipeline
    key : dict
        A ``Recording`` or ``VolumeRecording`` primary key (``mouse_id``,
        ``session_date``, ``recording_num``).
    path : str or Path
        The ``.nwb`` file to write; written to ``<stem>.part.nwb`` and renamed when whole.
    units : {"photons", "levels"}
    progress : callable(done, total), optional
        Frames of the movie written.

    Raises
    ------
    NwbExportError
        An unknown ``units``, a key that is not one recording, or levels asked of a
        recording without a calibration.
    """
    try:
        from hdmf.backends.hdf5.h5_utils import H5DataIO
        from pynwb import NWBHDF5IO, NWBFile, TimeSeries
        from pynwb.file import Subject
        from pynwb.ophys import OpticalChannel, TwoPhotonSeries
    except ImportError as err:  # pragma: no cover - the nwb extra is in the test extra
        raise NwbExportError(
            f"NWB export needs pynwb: pip install 'napari-photon[nwb]' ({err})") from None
    if units not in UNITS:
        raise NwbExportError(f"units must be one of {UNITS}, not {units!r}")
    recording, volume = _one_recording(pipeline, key)
    key = {k: recording[k] for k in pipeline.Recording.primary_key}
    session = (pipeline.Session & key).fetch1()
    mouse = (pipeline.Mouse & key).fetch1()
    movie = recording["volume_movie" if volume else "raw_movie"]
    rate = float(recording["frame_rate"] or 30.0)
    view = movie.photons("algebraic")
    unit = "photons"
    if units == "levels":
        calibration = recording.get("calibration")
        if not calibration:
            raise NwbExportError(f"{key} has no calibration: export it in photons")
        view = _Levels(view, calibration["gain"], calibration.get("zero_level", 0.0))
        unit = "digitizer levels"
    if volume:
        view = _PlanesLast(view)

    nwbfile = NWBFile(
        session_description=session["notes"] or "two-photon calcium imaging",
        identifier=_identifier(pipeline.database, key),
        session_start_time=_start_time(session["session_date"]),
        experimenter=[session["experimenter"]] if session["experimenter"] else None,
        session_id=f"{key['mouse_id']}_{key['session_date']}",
        source_script=f"napari-photon {_version()} (export nwb)",
        source_script_file_name="napari_photon/interop/_nwb.py",
    )
    birth = mouse.get("date_of_birth")
    if not birth:
        logger.warning("mouse %s has no date_of_birth: the NWB file has no subject age, "
                       "which nwbinspector and DANDI flag as critical", key["mouse_id"])
    nwbfile.subject = Subject(
        subject_id=str(key["mouse_id"]), species="Mus musculus", strain=mouse["strain"],
        sex=mouse["sex"], date_of_birth=_start_time(birth) if birth else None)
    device = nwbfile.create_device(name="Microscope", description="two-photon microscope")
    channel = OpticalChannel(name="OpticalChannel", description="functional channel",
                             emission_lambda=float("nan"))
    plane = nwbfile.create_imaging_plane(
        name="ImagingPlane", optical_channel=channel, imaging_rate=rate,
        description=f"recording {key['recording_num']} of the session "
                    f"({recording.get('source_file') or 'no file recorded'})",
        device=device, excitation_lambda=float("nan"), indicator="unknown",
        location="unknown",
        **_grid(recording.get("pixel_size"), recording.get("plane_spacing"), volume))
    data = H5DataIO(_movie_iterator(view, movie.frames_per_chunk, progress),
                    compression="gzip", compression_opts=4)
    series = TwoPhotonSeries(
        name="TwoPhotonSeries", data=data, imaging_plane=plane, rate=rate, unit=unit,
        starting_time=0.0,
        description=f"raw movie in {unit}, from the <photon@{movie.store}> column "
                    "(variance-stabilized, quantized at half a noise SD)")
    nwbfile.add_acquisition(series)
    if not volume:
        _add_processing(pipeline, key, nwbfile, plane, rate, TimeSeries)

    path = Path(path)
    part = path.with_name(path.stem + ".part.nwb")
    try:
        with NWBHDF5IO(str(part), "w") as io:
            io.write(nwbfile)
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _add_processing(pipeline: Any, key: dict, nwbfile: Any, plane: Any, rate: float,
                    time_series: Any) -> None:
    """Motion shifts, ROI sets and their traces into ``processing/ophys``."""
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation

    corrected = (pipeline.MotionCorrected & key).proj("shift_x", "shift_y").to_dicts()
    roi_sets = (pipeline.ROI & key).to_dicts()
    if not corrected and not roi_sets:
        return
    ophys = nwbfile.create_processing_module(
        name="ophys", description="motion correction, ROIs and traces by napari-photon")
    for row in corrected:
        ophys.add(time_series(
            name=f"MotionShifts_m{row['motion_params_id']}",
            data=np.stack([np.asarray(row["shift_y"]), np.asarray(row["shift_x"])], axis=1),
            unit="pixels", rate=rate, starting_time=0.0,
            description="(y, x) shift applied to each frame, motion parameter set "
                        f"{row['motion_params_id']}"))
    if not roi_sets:
        return
    segmentation = ImageSegmentation(name="ImageSegmentation")
    fluorescence = Fluorescence(name="Fluorescence")
    dff = DfOverF(name="DfOverF")
    deconvolved = Fluorescence(name="Deconvolved")
    ophys.add(segmentation)
    series = (segmentation, fluorescence, dff, plane, rate)
    for row in roi_sets:
        suffix = f"m{row['motion_params_id']}_r{row['roi_params_id']}"
        masks = np.asarray(row["roi_masks"], bool)
        columns = {name: (f"napari-photon ROI metric {name}", np.asarray(values).tolist())
                   for name, values in sorted((row.get("roi_metrics") or {}).items())
                   if np.shape(values) == (len(masks),)}
        segment = _add_roi_set(
            series, suffix, f"ROIs of motion set {row['motion_params_id']}, ROI parameter "
            f"set {row['roi_params_id']}; roi_id i is row i", masks, columns,
            (pipeline.Trace & row).to_dicts(order_by="roi_id"))
        for activity in (pipeline.Activity & row).to_dicts(order_by="activity_params_id"):
            events = (pipeline.Activity.Trace & activity).to_dicts(order_by="roi_id")
            if events and len(masks):
                _add_events(deconvolved, segment,
                            f"{suffix}_a{activity['activity_params_id']}", events,
                            float(activity["frame_rate"]))
        for curation in (pipeline.Curation & row).to_dicts(order_by="curation_id"):
            rois = (pipeline.Curation.Mask & curation).to_dicts(order_by="roi_id")
            if not rois:
                continue
            columns = {
                "label": ("the curator's verdict: cell, not cell or unsure",
                          [r["label"] for r in rois]),
                "origin": ("detected, merged, split, drawn or imported",
                           [r["origin"] for r in rois]),
            }
            _add_roi_set(
                series, f"{suffix}_c{curation['curation_id']}",
                f"curated version {curation['curation_id']} of {suffix} by "
                f"{curation['curator']} ({curation['note'] or 'no note'}); roi_id i is row i",
                np.stack([np.asarray(r["mask"], bool) for r in rois]), columns,
                (pipeline.CuratedTrace & curation).to_dicts(order_by="roi_id"))


def _add_events(deconvolved: Any, segment: Any, suffix: str, events: list[dict],
                rate: float) -> None:
    """An ``Activity`` row's inferred events (and fitted calcium) as RoiResponseSeries."""
    _add_series(segment, suffix, events, rate, (
        (deconvolved, f"Events_{suffix}", "events", "dF/F",
         "inferred spike amplitudes (OASIS), dF/F units"),
        (deconvolved, f"Denoised_{suffix}", "denoised", "dF/F",
         "the fitted calcium trace (OASIS), dF/F"),
    ))


def _add_series(segment: Any, suffix: str, rows: list[dict], rate: float,
                specs: tuple) -> None:
    """For each ``(container, name, column, unit, text)`` of ``specs``, the column of
    ``rows`` (one per ROI, by ``roi_id``) as a RoiResponseSeries over ``segment``; a
    column some row lacks is left out."""
    region = segment.create_roi_table_region(
        region=[r["roi_id"] for r in rows], description=f"ROIs of {suffix}")
    ophys = segment.parent.parent  # ImageSegmentation's processing module
    for container, name, column, unit, text in specs:
        if any(r[column] is None for r in rows):
            continue
        if container.parent is None:  # in the module before its series link the ROI table
            ophys.add(container)
        values = np.stack([np.asarray(r[column], np.float32) for r in rows], axis=1)
        container.create_roi_response_series(name=name, data=values, rois=region,
                                             unit=unit, rate=rate, starting_time=0.0,
                                             description=text)


def _add_roi_set(series: tuple, suffix: str, description: str, masks: np.ndarray,
                 columns: dict, traces: list[dict]) -> Any:
    """One PlaneSegmentation (masks, ``columns``) and its traces' RoiResponseSeries; the
    PlaneSegmentation is returned."""
    segmentation, fluorescence, dff, plane, rate = series
    segment = segmentation.create_plane_segmentation(
        name=f"PlaneSegmentation_{suffix}", imaging_plane=plane, description=description)
    for mask in masks:
        segment.add_roi(image_mask=mask.astype(np.float32))
    for name, (text, values) in columns.items():
        segment.add_column(name=name, description=text, data=values)
    if traces and len(masks):
        _add_series(segment, suffix, traces, rate, (
            (fluorescence, f"F_{suffix}", "fluorescence", "photons per pixel",
             "mean photons per pixel inside each ROI"),
            (fluorescence, f"Neuropil_{suffix}", "neuropil", "photons per pixel",
             "mean photons per pixel in each ROI's neuropil annulus"),
            (dff, f"DfOverF_{suffix}", "dff", "dF/F",
             "dF/F of the neuropil-corrected fluorescence"),
        ))
    return segment
