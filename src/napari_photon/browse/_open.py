"""Opening a recording: which lazy movies, projections and masks to show, as layer data.

Everything here returns napari *layer data tuples* ``(data, kwargs, layer_type)``, plain
Python that the widgets hand to napari. Movies are dask arrays with one frame per chunk;
building them reads row metadata and one frame per movie (for the contrast limits),
never the whole movie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._viewer_layers import (
    CORRECTED_NAME,
    MOVIE_LAYER,
    RAW_NAME,
    ROIS_NAME,
    center_frame,
    contrast_limits,
    masks_to_labels,
)
from ._tree import PipelineTables, RecordingKind

__all__ = [
    "DISPLAYS",
    "METADATA_KEY",
    "OpenedRecording",
    "layer_metadata",
    "movie_view",
    "open_recording",
    "recording_key",
    "recording_label",
    "recording_layers",
]

Display = Literal["stabilized", "photons"]
#: how movies can be shown: variance-stabilized values (default) or photon counts
DISPLAYS: tuple[str, ...] = ("stabilized", "photons")
#: layer.metadata entry with napari-photon's details (the DataJoint key is under "key")
METADATA_KEY = "napari_photon"
LayerData = tuple[Any, dict, str]

_IMAGE_SUFFIX = "_image"


@dataclass
class OpenedRecording:
    """A recording's stored results, fetched lazily (movies) or small (images, masks).

    Attributes
    ----------
    kind : {"recording", "volume"}
    key : dict
        The recording's primary key.
    schema : str
    movie : PhotonMovie
        The raw movie.
    corrected : PhotonMovie or None
        Motion-corrected movie of ``motion_key``.
    motion_key : dict or None
        Key of the MotionCorrected row shown.
    images : dict
        ``{name: 2D array}``: projections and summary images (``mean``, ``max``,
        ``correlation``, ``reference``) of the rows shown.
    masks : ndarray of bool or None
        ``(n_rois, y, x)``; ``masks[roi_id]`` is ROI ``roi_id`` (its label value in a
        Labels layer is ``roi_id + 1``, 0 being the background).
    roi_key : dict or None
        Key of the ROI row shown.
    """

    kind: RecordingKind
    key: dict
    schema: str
    movie: Any
    corrected: Any = None
    motion_key: dict | None = None
    images: dict[str, np.ndarray] = field(default_factory=dict)
    image_keys: dict[str, tuple[str, dict]] = field(default_factory=dict)
    masks: np.ndarray | None = None
    roi_key: dict | None = None

    @property
    def label(self) -> str:
        return recording_label(self.key, self.kind)


#: the movie column of each kind of recording (the design document's names)
MOVIE_FIELDS = {"recording": "raw_movie", "volume": "volume_movie"}


def recording_label(key: dict, kind: str = "recording") -> str:
    """Short layer-name prefix of a recording, e.g. ``"mouse 1 2024-01-15 #1"``."""
    volume = " volume" if kind == "volume" else ""
    return f"mouse {key['mouse_id']} {key['session_date']}{volume} #{key['recording_num']}"


def recording_key(key: dict) -> dict:
    """The recording part (mouse, session date, recording number) of a pipeline key."""
    return {name: key[name] for name in ("mouse_id", "session_date", "recording_num")}


def _image_attributes(table: Any) -> list[str]:
    """Blob attributes that hold 2D summary images (``mean_image``, ``reference_image``...)."""
    return [
        name
        for name, attr in table.heading.attributes.items()
        if name.endswith(_IMAGE_SUFFIX) and not attr.in_key
    ]


def _first_key(query: Any, order: list[str]) -> dict | None:
    keys = query.keys(order_by=order, limit=1)
    return dict(keys[0]) if keys else None


def open_recording(
    tables: PipelineTables,
    kind: RecordingKind,
    key: dict,
    *,
    motion: dict | None = None,
    rois: dict | None = None,
) -> OpenedRecording:
    """Fetch what a recording shows: the raw movie and, when present, its results.

    Reads row metadata and small blobs (summary images, ROI masks); movies stay lazy.

    Parameters
    ----------
    tables : PipelineTables
    kind : {"recording", "volume"}
    key : dict
        The recording's primary key (extra attributes are ignored).
    motion, rois : dict, optional
        Restrict which MotionCorrected / ROI row is shown (e.g. ``{"motion_params_id": 2}``);
        default: the one with the lowest parameter ids.
    """
    table = tables.table(kind)
    found = (table & {name: key[name] for name in table.primary_key}).keys()
    if not found:
        raise LookupError(f"no {table.__class__.__name__} row with key {key}")
    key = dict(found[0])
    opened = OpenedRecording(
        kind=kind,
        key=key,
        schema=table.database,
        movie=(table & key).fetch1(MOVIE_FIELDS[kind]),
    )
    if kind != "recording":
        return opened
    motion_query = tables.motion & key & (motion or {})
    opened.motion_key = _first_key(motion_query, list(tables.motion.primary_key))
    if opened.motion_key is not None:
        row = tables.motion & opened.motion_key
        opened.corrected = row.fetch1("corrected_movie")
        _add_images(opened, row, tables.motion)
        roi_query = tables.rois & opened.motion_key & (rois or {})
        opened.roi_key = _first_key(roi_query, list(tables.rois.primary_key))
    if opened.roi_key is not None:
        row = tables.rois & opened.roi_key
        opened.masks = np.asarray(row.fetch1("roi_masks"), dtype=bool)
        _add_images(opened, row, tables.rois)
    return opened


def _parts(table: Any) -> list[tuple[str, Any]]:
    """``(name, part table)`` of a table class's part tables."""
    import datajoint as dj

    return [
        (name, value())
        for name, value in vars(type(table)).items()
        if isinstance(value, type) and issubclass(value, dj.Part)
    ]


def _add_images(opened: OpenedRecording, row: Any, table: Any) -> None:
    """Add the 2D ``*_image`` blobs of ``row`` and of its part rows (first come first)."""
    row_key = dict(row.keys()[0])
    sources = [(table.__class__.__name__, table)]
    sources += [(f"{table.__class__.__name__}.{n}", part) for n, part in _parts(table)]
    for source, source_table in sources:
        names = _image_attributes(source_table)
        query = source_table & row_key
        if not names or len(query) != 1:
            continue
        values = query.fetch1(*names) if len(names) > 1 else (query.fetch1(names[0]),)
        for name, value in zip(names, values, strict=True):
            short = name[: -len(_IMAGE_SUFFIX)]
            if value is None or short in opened.images:
                continue  # e.g. ROI's mean image repeats the motion QC's
            image = np.asarray(value)
            if image.ndim < 2:
                continue
            opened.images[short] = image
            opened.image_keys[short] = (source, row_key)


def movie_view(movie: Any, display: Display = "stabilized") -> tuple[Any, list[float]]:
    """A lazy dask view of ``movie`` and its contrast limits (from one frame).

    Parameters
    ----------
    movie : PhotonMovie
    display : {"stabilized", "photons"}
        Variance-stabilized values, or photon counts (algebraic inverse: each pixel's own
        count, so sums over pixels stay unbiased).
    """
    if display not in DISPLAYS:
        raise ValueError(f"display must be one of {DISPLAYS}, got {display!r}")
    source = movie if display == "stabilized" else movie.photons("algebraic")
    return source.to_dask(1), contrast_limits(center_frame(source))


def layer_metadata(
    key: dict, *, table: str, row_key: dict, role: str, schema: str, **extra: Any
) -> dict:
    """``layer.metadata`` of a pipeline layer: ``{"key": key, "napari_photon": {...}}``.

    Parameters
    ----------
    key : dict
        The recording's primary key (what other widgets look for).
    table : str
        Table the layer's data came from.
    row_key : dict
        Primary key of that row.
    role : str
        ``raw``, ``corrected``, ``image``, ``rois`` or ``preview``.
    schema : str
    """
    return {
        "key": dict(key),
        METADATA_KEY: {
            "schema": schema,
            "table": table,
            "row_key": dict(row_key),
            "role": role,
            **extra,
        },
    }


def _axis_labels(ndim: int) -> tuple[str, ...]:
    return ("t", "z", "y", "x") if ndim == 4 else ("t", "y", "x")


def recording_layers(
    opened: OpenedRecording,
    display: Display = "stabilized",
    *,
    roles: tuple[str, ...] = ("raw", "corrected", "image", "rois"),
) -> list[LayerData]:
    """Layer data tuples for ``opened``, bottom to top.

    Raw movie, corrected movie (shown; the raw one hidden when a corrected one exists),
    summary images (hidden), ROI masks as labels (label value ``roi_id + 1``).

    Parameters
    ----------
    opened : OpenedRecording
    display : {"stabilized", "photons"}
    roles : tuple of str
        Which kinds of layer to build.
    """
    prefix = opened.label
    layers: list[LayerData] = []
    table = "VolumeRecording" if opened.kind == "volume" else "Recording"
    movies = [("raw", opened.movie, table, opened.key, RAW_NAME)]
    if opened.corrected is not None:
        movies.append(
            ("corrected", opened.corrected, "MotionCorrected", opened.motion_key, CORRECTED_NAME)
        )
    for role, movie, source, row_key, name in movies:
        if role not in roles:
            continue
        data, limits = movie_view(movie, display)
        layers.append(
            (
                data,
                {
                    "name": f"{prefix} {name}",
                    "contrast_limits": limits,
                    **MOVIE_LAYER,
                    "axis_labels": _axis_labels(movie.ndim),
                    "visible": role == "corrected" or opened.corrected is None,
                    "metadata": layer_metadata(
                        opened.key,
                        table=source,
                        row_key=row_key,
                        role=role,
                        schema=opened.schema,
                        field=MOVIE_FIELDS[opened.kind] if role == "raw" else "corrected_movie",
                        display=display,
                    ),
                },
                "image",
            )
        )
    if "image" in roles:
        for name, image in opened.images.items():
            source, row_key = opened.image_keys[name]
            layers.append(
                (
                    image,
                    {
                        "name": f"{prefix} {name}",
                        "contrast_limits": contrast_limits(image),
                        "colormap": "gray",
                        "rgb": False,
                        "visible": False,
                        "metadata": layer_metadata(
                            opened.key,
                            table=source,
                            row_key=row_key,
                            role="image",
                            schema=opened.schema,
                            field=f"{name}{_IMAGE_SUFFIX}",
                        ),
                    },
                    "image",
                )
            )
    if "rois" in roles and opened.masks is not None:
        layers.append(
            (
                masks_to_labels(opened.masks),
                {
                    "name": f"{prefix} {ROIS_NAME}",
                    "opacity": 0.5,
                    "metadata": layer_metadata(
                        opened.key,
                        table="ROI",
                        row_key=opened.roi_key or {},
                        role="rois",
                        schema=opened.schema,
                        field="roi_masks",
                        n_rois=len(opened.masks),
                    ),
                },
                "labels",
            )
        )
    return layers
