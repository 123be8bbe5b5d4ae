"""The curation dock's trace plot: read the selected ROIs' traces (a worker), follow the
viewer's frame, and move the viewer to a clicked frame (mixed into :class:`CurateRois`)."""

from __future__ import annotations

from typing import Any

__all__ = ["TracesMixin"]


class TracesMixin:
    """The traces of the selected ROIs in the dock's plot."""

    # -- traces ----------------------------------------------------------------------------------
    def _show_traces(self, roi_ids: list[int]) -> None:
        self._trace_request += 1
        request = self._trace_request
        if not roi_ids or self.model is None:
            self.plot.show_traces({})
            self.tracesShown.emit([])
            return
        model = self.model
        self.plot.set_message(f"Reading the traces of ROI {', '.join(map(str, roi_ids[:8]))}…")
        self._traces.start(
            model.traces,
            roi_ids[:8],
            returned=lambda traces: self._traces_read(request, roi_ids, traces),
            errored=self._error,
        )

    def _traces_read(self, request: int, roi_ids: list[int], traces: dict) -> None:
        if request != self._trace_request:
            return
        self.plot.show_traces({r: traces[r] for r in roi_ids if r in traces})
        self.plot.set_frame(self.viewer.dims.current_step[0])
        if not traces:
            self.plot.set_message("No traces stored for these ROIs (populate Trace first).")
        self.tracesShown.emit(list(roi_ids))

    def _step_changed(self, _event: Any = None) -> None:
        self.plot.set_frame(self.viewer.dims.current_step[0])

    def _frame_clicked(self, frame: int) -> None:
        if self.viewer.dims.ndim >= 3:
            last = int(self.viewer.dims.nsteps[0]) - 1
            self.viewer.dims.set_current_step(0, min(frame, last))
