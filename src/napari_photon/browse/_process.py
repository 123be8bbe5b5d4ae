"""Processing one recording: preview a step's result, then commit it through populate.

A *step* is one Computed table with its parameter table: motion correction
(``MotionCorrected`` x ``MotionParams``) or ROI detection (``ROI`` x ``RoiParams``).

* :func:`preview` runs the table's own ``make`` for one key inside a
  :func:`~napari_photon.storage.dry_run`: the rows ``make`` inserts (into the table and
  its part tables) are kept in memory, nothing stored. A ``<photon@>`` value is read
  through block by block as the codec would read it (with the same progress and cancel
  checks), so whatever ``make`` learns while a movie streams (e.g. registration QC) is
  there; the movie itself stays lazy.
* :func:`commit` runs ``populate`` restricted to that key, the code path every populate
  takes (transaction, ``make``, clean-up of a failed or cancelled insert), so the stored
  row is exactly what populate stores with those parameters.

Both report progress and honour cancellation through :func:`napari_photon.pipeline.reporting`
set by the caller (see :mod:`napari_photon.browse._runner`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._open import open_recording, recording_layers
from ._params import ParameterField, ParameterSet, enum_choices, parameter_fields, parameter_sets
from ._tree import PipelineTables

__all__ = [
    "AlreadyStored",
    "Preview",
    "ProcessStep",
    "commit",
    "preview",
    "process_key",
    "steps",
    "upstream_keys",
]


class AlreadyStored(Exception):
    """The result for this key is stored already."""


@dataclass(frozen=True)
class ProcessStep:
    """One processing step of the pipeline.

    Attributes
    ----------
    name : str
        ``"motion"`` or ``"rois"``.
    title : str
        For people: ``"Motion correction"``, ``"ROI detection"``.
    target : DataJoint table class
        The Computed table the step fills.
    params : DataJoint table class
        Its parameter table.
    upstream : DataJoint table class
        The table whose rows the step processes (Recording, MotionCorrected).
    pipeline : Pipeline
        The pipeline the tables belong to (commit populates through it).
    function : callable
        The algorithm ``make`` calls with the parameter set's ``params`` as keyword
        arguments (``motion.estimate_motion``, ``rois.detect_rois``).
    """

    name: str
    title: str
    target: Any
    params: Any
    upstream: Any
    pipeline: Any
    function: Callable[..., Any]

    def parameter_sets(self) -> list[ParameterSet]:
        return parameter_sets(self.params())

    def fields(self) -> list[ParameterField]:
        """The function's tunable keyword arguments (what a form can edit)."""
        return parameter_fields(self.function)

    def methods(self) -> list[str]:
        """The ``method`` values a form may choose ([] without such a column): those the
        parameter table allows, but ``imported`` (results made elsewhere, never run)."""
        return [m for m in enum_choices(self.params(), "method") if m != "imported"]


#: the processing steps' names and titles, in the order a user runs them
STEP_TITLES = {"motion": "Motion correction", "rois": "ROI detection"}


def steps(pipeline: Any) -> dict[str, ProcessStep]:
    """The processing steps of a :class:`~napari_photon.pipeline.Pipeline`, by name."""
    from .. import motion, rois

    return {
        "motion": ProcessStep(
            "motion",
            STEP_TITLES["motion"],
            pipeline.MotionCorrected,
            pipeline.MotionParams,
            pipeline.Recording,
            pipeline,
            motion.estimate_motion,
        ),
        "rois": ProcessStep(
            "rois",
            STEP_TITLES["rois"],
            pipeline.ROI,
            pipeline.RoiParams,
            pipeline.MotionCorrected,
            pipeline,
            rois.detect_rois,
        ),
    }


def upstream_keys(step: ProcessStep, recording: dict) -> list[dict]:
    """Keys of the upstream rows of ``recording`` the step can process.

    For motion correction that is the recording itself; for ROI detection, each of its
    motion-corrected versions (one per motion parameter set).
    """
    upstream = step.upstream()
    restriction = {k: recording[k] for k in ("mouse_id", "session_date", "recording_num")}
    return [dict(k) for k in (upstream & restriction).keys(order_by=list(upstream.primary_key))]


def process_key(step: ProcessStep, upstream_key: dict, parameter_set: ParameterSet) -> dict:
    """The target table's primary key for an upstream row and a parameter set."""
    key = {**upstream_key, **parameter_set.key}
    return {name: key[name] for name in step.target.primary_key}


def describe_key(key: dict) -> str:
    """``name=value, ...`` of a key, for messages."""
    return ", ".join(f"{name}={value}" for name, value in key.items())


def is_stored(step: ProcessStep, key: dict) -> bool:
    return len(step.target & key) > 0


@dataclass
class Preview:
    """What ``make`` would insert for ``key``, not stored.

    Attributes
    ----------
    step : ProcessStep
    key : dict
    rows : list of dict
        The rows ``make`` handed to ``insert``/``insert1``. ``<photon@>`` values are the
        lazy sources ``make`` would encode (e.g. ``Stabilized``), nothing written.
    parts : dict
        ``{part name: rows}`` inserted into part tables (e.g. ``MotionCorrected.QC``).
    """

    step: ProcessStep
    key: dict
    rows: list[dict] = field(default_factory=list)
    parts: dict[str, list[dict]] = field(default_factory=dict)

    def summary(self) -> str:
        """A line about the result, e.g. ``"shift_y: -2.9 .. 3.1"``, ``"n_rois: 12"``."""
        import numpy as np

        if not self.rows:
            return "no rows"
        row = self.rows[0]
        parts = []
        for name, value in row.items():
            if name in self.step.target.primary_key:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parts.append(f"{name}: {value:g}")
            elif isinstance(value, np.ndarray) and value.ndim == 1 and value.size:
                parts.append(f"{name}: {value.min():.2f} .. {value.max():.2f}")
        if len(self.rows) > 1:
            parts.insert(0, f"{len(self.rows)} rows")
        return "; ".join(parts) or f"{len(self.rows)} row(s)"


def _part_names(table: Any) -> list[str]:
    import datajoint as dj

    return [
        name
        for name, value in vars(type(table)).items()
        if isinstance(value, type) and issubclass(value, dj.Part)
    ]


def preview(step: ProcessStep, key: dict) -> Preview:
    """Run the step's ``make`` for ``key`` in a dry run, storing nothing.

    The step's table and its part tables must honour
    :func:`~napari_photon.storage.dry_run` (:class:`~napari_photon.storage.DryRunTable`,
    which every :class:`~napari_photon.storage.PhotonTable` is).

    Raises
    ------
    napari_photon.storage.Cancelled
        When the caller's :func:`napari_photon.pipeline.reporting` asks to cancel.
    """
    from ..storage import DryRunTable, dry_run, remove_on_failure

    table = step.target()
    parts = {name: getattr(type(table), name) for name in _part_names(table)}
    for honours in (type(table), *parts.values()):
        if not issubclass(honours, DryRunTable):  # its inserts would be stored
            raise TypeError(f"{honours.__name__} cannot be previewed: its inserts do not "
                            "honour dry runs (make DryRunTable its first base)")
    # anything make writes by other routes goes if it fails
    with dry_run() as run, remove_on_failure():
        table.make(dict(key))
    return Preview(step, dict(key), rows=run.rows_of(table),
                   parts={name: run.rows_of(part) for name, part in parts.items()})


def commit(step: ProcessStep, key: dict) -> dict:
    """Compute and store the step's result for ``key`` through ``populate``.

    Returns
    -------
    dict
        The stored row's primary key.

    Raises
    ------
    AlreadyStored
        When the row exists already.
    LookupError
        When populate had nothing to do for ``key`` (no upstream row or parameter set).
    napari_photon.storage.Cancelled
        When cancelled: populate's transaction is rolled back and the zarr removed.
    """
    key = {name: key[name] for name in step.target.primary_key}
    if is_stored(step, key):
        raise AlreadyStored(f"{step.target.__name__} already holds {describe_key(key)}")
    results = step.pipeline.populate(key, tables=(step.target,))
    for result in results:
        if result.errors:
            raise RuntimeError(result.errors[0][1])
    if not is_stored(step, key):
        raise LookupError(
            f"populate stored nothing for {describe_key(key)}: is the upstream row "
            f"({step.upstream.__name__}) there, and the parameter set?"
        )
    return key


def committed_layers(step: ProcessStep, key: dict) -> list:
    """Layer data of what :func:`commit` stored for ``key``, read back lazily: the
    corrected movie of a motion step, the ROIs of an ROI step."""
    all_steps = steps(step.pipeline)
    motion = {k: key[k] for k in all_steps["motion"].params.primary_key}
    tables = PipelineTables.from_pipeline(step.pipeline)
    if step.name == "motion":
        opened = open_recording(tables, "recording", key, motion=motion)
        return recording_layers(opened, roles=("corrected",))
    rois = {k: key[k] for k in all_steps["rois"].params.primary_key}
    opened = open_recording(tables, "recording", key, motion=motion, rois=rois)
    return recording_layers(opened, roles=("rois",))
