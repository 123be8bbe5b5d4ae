"""Process-wide signals between the docks: "a pipeline was opened", "its data changed".

The docks are separate napari dock widgets that know nothing of each other. When the
browser opens a pipeline, the other docks take it as the one they work on. When one of
them stores something (a commit from the Process dock, a populate run), the others reload
what they show from the database: the browser its tree's per-recording status, the
Populate dock its counts.
"""

from __future__ import annotations

from qtpy.QtCore import QObject, Signal

__all__ = ["PipelineChanges", "pipeline_changes"]


class PipelineChanges(QObject):
    """Emits ``changed(schema, origin)`` after the dock ``origin`` stored rows in ``schema``
    (a database name; ``""`` when not known: every listener reloads), and
    ``opened(pipeline)`` when the browser opened a
    :class:`~napari_photon.pipeline.Pipeline`."""

    changed = Signal(str, object)
    opened = Signal(object)


_HUB: PipelineChanges | None = None


def pipeline_changes() -> PipelineChanges:
    """The process-wide hub (created on first use, in the GUI thread)."""
    global _HUB
    if _HUB is None:
        _HUB = PipelineChanges()
    return _HUB
