"""The curation dock's Files and Commit tabs: start from another tool's ROIs, export the
set, commit it as a new version (mixed into :class:`CurateRois`)."""

from __future__ import annotations

from .. import browse
from ._worker import readable, show_message

__all__ = ["FilesCommitMixin"]


class FilesCommitMixin:
    """Import, export and commit (the dock provides ``model``, ``message``, ``_error``)."""

    # -- files -----------------------------------------------------------------------------------
    def import_rois(self, kind: str, path: str) -> None:
        """Curate the ROIs of a ``kind`` file (suite2p folder, ImageJ zip, CaImAn HDF5)
        instead; a file of another frame size shows why and changes nothing."""
        if self.model is None:
            self._error("Open a recording's ROIs first.")
            return
        try:
            self.model.import_rois(kind, path)
        except (ValueError, LookupError, OSError) as err:
            self._error(f"Cannot start from {path}: {readable(err)}")
            return
        self._show_versions(self.versions)
        show_message(self.message, f"Curating {len(self.model.rois)} ROIs from {kind}: {path}")

    def export_rois(self, kind: str, path: str) -> None:
        """Write the current set for ``kind`` (suite2p folder or ImageJ RoiSet zip)."""
        if self.model is None:
            self._error("Open a recording's ROIs first.")
            return
        try:
            written = self.model.export_rois(kind, path)
        except (ValueError, OSError) as err:
            self._error(f"Cannot export to {path}: {readable(err)}")
            return
        show_message(self.message, "Wrote " + ", ".join(str(p) for p in written))

    # -- commit ----------------------------------------------------------------------------------
    def commit(self, curator: str = "", note: str = "") -> None:
        """Store the curated set as a new version, then compute its traces (a worker)."""
        model = self.model
        if model is None:
            return
        if not curator:
            self._error("Name the curator before committing.")
            return

        def job() -> tuple[dict, list[dict]]:
            key = model.commit(curator=curator, note=note)
            return key, browse.curation_versions(model.inputs.pipeline, model.inputs.roi_key)

        show_message(self.message, "Committing…")
        self._pool.start(job, returned=self._committed, errored=self._error)

    def _committed(self, found: tuple[dict, list[dict]]) -> None:
        from ._changes import pipeline_changes

        key, versions = found
        self._show_versions(versions)
        self.draft_bar.offer(None)
        show_message(
            self.message,
            f"Committed curation {key.get('curation_id')} of {self._prefix()} with its traces.",
        )
        self.committed.emit(key)
        pipeline_changes().changed.emit(self.model.inputs.schema, self)
