"""The Mouse -> Session -> Recording tree of a pipeline schema, with downstream status.

:func:`load_tree` runs a handful of queries (one per table, one aggregation per status
column), whatever the number of recordings; nothing reads movie data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._filter import KeyFilter, filterable_attributes

__all__ = [
    "NOT_APPLICABLE",
    "MouseNode",
    "PipelineTables",
    "RecordingNode",
    "RecordingStatus",
    "SessionNode",
    "load_tree",
]

RecordingKind = Literal["recording", "volume"]
#: status value of a table that does not exist (yet) for this kind of recording
NOT_APPLICABLE = None

_INFO = ("n_frames", "height", "width", "frame_rate", "source_file")


@dataclass(frozen=True)
class PipelineTables:
    """The pipeline tables the browser reads, bound to one schema.

    Attributes
    ----------
    mouse, session, recording, volume : DataJoint tables
    motion, rois, traces : DataJoint tables
        Downstream of ``recording``.
    curation : DataJoint table or None
        The curated versions of ROI sets (``Curation``); None: the "Curated" column does
        not apply.
    """

    mouse: Any
    session: Any
    recording: Any
    volume: Any
    motion: Any
    rois: Any
    traces: Any
    curation: Any = None

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> PipelineTables:
        """The tables of a :class:`napari_photon.pipeline.Pipeline`."""
        return cls(
            mouse=pipeline.Mouse(),
            session=pipeline.Session(),
            recording=pipeline.Recording(),
            volume=pipeline.VolumeRecording(),
            motion=pipeline.MotionCorrected(),
            rois=pipeline.ROI(),
            traces=pipeline.Trace(),
            curation=pipeline.Curation(),
        )

    def filter_attributes(self) -> dict[str, Any]:
        """Attributes the filter box may use."""
        return filterable_attributes((self.mouse, self.session, self.recording, self.volume))

    def table(self, kind: RecordingKind) -> Any:
        return self.recording if kind == "recording" else self.volume


@dataclass(frozen=True)
class RecordingStatus:
    """What exists downstream of one recording.

    Each count is a number of rows (0 = not yet), or None when the table does not apply
    to this kind of recording (e.g. volumes have no motion correction yet). ``curated``
    counts the curated versions of the recording's ROI sets.
    """

    motion: int | None = NOT_APPLICABLE
    rois: int | None = NOT_APPLICABLE
    n_rois: int | None = None
    traces: int | None = NOT_APPLICABLE
    curated: int | None = NOT_APPLICABLE

    def text(self, column: str) -> str:
        """Display text of one status column: ``"n/a"``, ``"-"`` (none) or a summary."""
        value = getattr(self, column)
        if value is NOT_APPLICABLE:
            return "n/a"
        if not value:
            return "-"
        if column == "rois" and self.n_rois is not None:
            return f"{self.n_rois}" if value == 1 else f"{self.n_rois} ({value} sets)"
        if column == "traces":
            return f"{value}"
        if column == "curated":
            return f"{value} version" if value == 1 else f"{value} versions"
        return "yes" if value == 1 else f"yes ({value})"


@dataclass(frozen=True)
class RecordingNode:
    """One recording (2D movie) or volume recording (4D movie)."""

    kind: RecordingKind
    key: dict
    n_frames: int
    height: int
    width: int
    n_planes: int | None = None
    frame_rate: float | None = None
    source_file: str = ""
    status: RecordingStatus = field(default_factory=RecordingStatus)

    @property
    def label(self) -> str:
        name = self.source_file.replace("\\", "/").rsplit("/", 1)[-1]
        kind = "volume " if self.kind == "volume" else ""
        return f"{kind}#{self.key['recording_num']}" + (f"  {name}" if name else "")

    @property
    def shape_text(self) -> str:
        planes = f"{self.n_planes} x " if self.n_planes else ""
        return f"{self.n_frames} x {planes}{self.height} x {self.width}"


@dataclass(frozen=True)
class SessionNode:
    key: dict
    recordings: tuple[RecordingNode, ...] = ()
    experimenter: str = ""

    @property
    def label(self) -> str:
        who = f"  ({self.experimenter})" if self.experimenter else ""
        return f"{self.key['session_date']}{who}"


@dataclass(frozen=True)
class MouseNode:
    key: dict
    sessions: tuple[SessionNode, ...] = ()
    strain: str = ""

    @property
    def label(self) -> str:
        strain = f"  ({self.strain})" if self.strain else ""
        return f"mouse_id {self.key['mouse_id']}{strain}"

    def recordings(self) -> Iterable[RecordingNode]:
        for session in self.sessions:
            yield from session.recordings


def _present(table: Any, names: Iterable[str]) -> list[str]:
    """Those of ``names`` that ``table`` has (secondary attributes may come and go)."""
    heading = set(table.heading.names)
    return [n for n in names if n in heading]


def _pk(table: Any, row: dict) -> tuple:
    return tuple(row[k] for k in table.primary_key)


def _counts(parent: Any, child: Any, **extra: str) -> dict[tuple, dict]:
    """``{parent key: {"n": rows of child, **extra}}`` for parents that have child rows."""
    rows = parent.aggr(child, n="count(*)", exclude_nonmatching=True, **extra).to_dicts()
    return {_pk(parent, row): row for row in rows}


def _status(tables: PipelineTables, restricted: Any) -> dict[tuple, RecordingStatus]:
    motion = _counts(restricted, tables.motion)
    rois = _counts(restricted, tables.rois, n_rois="max(n_rois)")
    traces = _counts(restricted, tables.traces)
    curated = None if tables.curation is None else _counts(restricted, tables.curation)
    statuses = {}
    for row in restricted.proj().to_dicts():
        pk = _pk(restricted, row)
        roi = rois.get(pk, {})
        statuses[pk] = RecordingStatus(
            motion=motion.get(pk, {}).get("n", 0),
            rois=roi.get("n", 0),
            n_rois=int(roi["n_rois"]) if roi.get("n_rois") is not None else None,
            traces=traces.get(pk, {}).get("n", 0),
            curated=None if curated is None else curated.get(pk, {}).get("n", 0),
        )
    return statuses


def _recordings(tables: PipelineTables, kind: RecordingKind, query: Any) -> list[RecordingNode]:
    table = tables.table(kind)
    rows = query.proj(*_present(table, (*_INFO, "n_planes"))).to_dicts(
        order_by=list(table.primary_key)
    )
    statuses = _status(tables, query) if kind == "recording" else {}
    nodes = []
    for row in rows:
        key = {k: row[k] for k in table.primary_key}
        rate = row.get("frame_rate")
        nodes.append(
            RecordingNode(
                kind=kind,
                key=key,
                n_frames=int(row["n_frames"]),
                height=int(row["height"]),
                width=int(row["width"]),
                n_planes=int(row["n_planes"]) if row.get("n_planes") is not None else None,
                frame_rate=None if rate is None or math.isnan(rate) else float(rate),
                source_file=str(row.get("source_file") or ""),
                status=statuses.get(_pk(table, row), RecordingStatus()),
            )
        )
    return nodes


def load_tree(tables: PipelineTables, key_filter: KeyFilter | None = None) -> list[MouseNode]:
    """Mice, their sessions and recordings, restricted by ``key_filter``.

    A filter term restricts the level that has its attribute and, through it, the levels
    above and below: ``recording_num=2`` keeps the sessions and mice that have a
    recording 2; ``strain=C57BL/6J`` keeps those mice with all their sessions.

    Parameters
    ----------
    tables : PipelineTables
    key_filter : KeyFilter, optional

    Returns
    -------
    list of MouseNode
        Sorted by mouse, session date and recording number.
    """
    key_filter = key_filter or KeyFilter()
    mice = key_filter.restrict(tables.mouse)
    sessions = key_filter.restrict(tables.session) & mice.proj()
    leaves: dict[str, Any] = {}
    for kind in ("recording", "volume"):
        table = tables.table(kind)
        reachable = (
            set(table.heading.names)
            | set(tables.session.heading.names)
            | set(tables.mouse.heading.names)
        )
        if key_filter.attributes <= reachable:
            leaves[kind] = key_filter.restrict(table) & sessions.proj()
    session_level = set(tables.session.heading.names) | set(tables.mouse.heading.names)
    below_sessions = not key_filter.attributes <= session_level

    nodes = {kind: _recordings(tables, kind, query) for kind, query in leaves.items()}
    by_session: dict[tuple, list[RecordingNode]] = {}
    for kind in ("recording", "volume"):
        for node in nodes.get(kind, []):
            by_session.setdefault(_pk(tables.session, node.key), []).append(node)

    session_rows = sessions.proj(*_present(tables.session, ["experimenter"])).to_dicts(
        order_by=list(tables.session.primary_key)
    )
    by_mouse: dict[tuple, list[SessionNode]] = {}
    for row in session_rows:
        pk = _pk(tables.session, row)
        recordings = by_session.get(pk, [])
        if below_sessions and not recordings:
            continue
        recordings.sort(key=lambda n: (n.key["recording_num"], n.kind))
        node = SessionNode(
            key={k: row[k] for k in tables.session.primary_key},
            recordings=tuple(recordings),
            experimenter=str(row.get("experimenter") or ""),
        )
        by_mouse.setdefault(_pk(tables.mouse, row), []).append(node)

    mouse_level = set(tables.mouse.heading.names)
    below_mice = not key_filter.attributes <= mouse_level
    result = []
    mouse_rows = mice.proj(*_present(tables.mouse, ["strain"])).to_dicts(
        order_by=list(tables.mouse.primary_key)
    )
    for row in mouse_rows:
        sessions_of = by_mouse.get(_pk(tables.mouse, row), [])
        if below_mice and not sessions_of:
            continue
        result.append(
            MouseNode(
                key={k: row[k] for k in tables.mouse.primary_key},
                sessions=tuple(sessions_of),
                strain=str(row.get("strain") or ""),
            )
        )
    return result
